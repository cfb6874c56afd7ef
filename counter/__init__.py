"""The counter role: the clerk's counter page and the citizen's rating pad."""

from counter.views import bp

__all__ = ["bp"]
