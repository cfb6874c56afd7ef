"""The citizen's screens: the touchscreen kiosk that issues tickets, and the phone page that the
ticket's QR code opens (see :mod:`kiosk.views`)."""

from kiosk.views import bp

__all__ = ["bp"]
