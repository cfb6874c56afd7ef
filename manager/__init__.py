"""Manager pages: live board, wait-time log, reports, configuration, suggestions and audit.

`bp` serves the pages under /manager; `manager.api` adds the report and configuration endpoints
under /api/v1 (registered by `init_app`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask

bp = Blueprint(
    "manager",
    __name__,
    url_prefix="/manager",
    template_folder="templates",
    static_folder="static",
    static_url_path="/static",
)


def init_app(app: Flask) -> None:
    from manager.api import api

    app.register_blueprint(api)


def OPENAPI_PATHS() -> dict[str, Any]:  # noqa: N802 - the name layso.openapi looks for
    from manager.api import openapi_paths

    return openapi_paths()


from manager import views  # noqa: E402,F401
