"""The counter role: the clerk's counter page and the citizen's rating pad."""

from counter.views import bp, openapi_paths

OPENAPI_PATHS = openapi_paths

__all__ = ["OPENAPI_PATHS", "bp"]
