"""The hall's wall display, the counter display over each counter, and the spoken call.

Pages: ``/display`` (a TV, full screen, no input) and ``/counter-display`` (a small screen over
one counter); both are opened once with ``?token=DEVICE_TOKEN`` and then live on the hub.
API: ``GET /api/v1/halls/{hall}/audio/call.wav`` (chime + the hall's call sentence, spoken
offline by espeak-ng and cached under the instance folder) and
``GET /api/v1/halls/{hall}/display/settings`` (the display device's zone filter).
"""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint(
    "display",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/display/static",
)

from display import views  # noqa: E402
from display.views import init_app  # noqa: E402

__all__ = ["bp", "init_app", "views"]
