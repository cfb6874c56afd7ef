"""Manager pages: live board, wait-time log, reports, configuration, suggestions and audit.

`bp` serves the pages under /manager; `manager.api` adds the report and configuration endpoints
under /api/v1 (registered by `init_app`).
"""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint(
    "manager",
    __name__,
    url_prefix="/manager",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",  # under url_prefix: /manager/static
)


def init_app(app: Flask) -> None:
    """The report and configuration endpoints (a blueprint of their own, under /api/v1)."""
    from manager import (  # noqa: F401  (their endpoints, on the same blueprint)
        bookings_api,
        notify_api,
    )
    from manager.api import api

    app.register_blueprint(api)


from manager import views  # noqa: E402,F401
