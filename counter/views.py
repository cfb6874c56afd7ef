"""The clerk's counter page, the citizen's rating pad, and the clerk's own figures of today."""

from __future__ import annotations

from urllib.parse import quote

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from layso.apidoc import doc, obj
from layso.models import Role
from layso.services.reports import clerk_today
from layso.web import db, hall_context, load_principal, now

bp = Blueprint(
    "counter",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/counter/static",
)

USERS = (Role.CLERK.value, Role.MANAGER.value, Role.ADMIN.value)

FIGURES = obj(
    {
        "business_date": {"type": "string", "format": "date"},
        "served": {"type": "integer"},
        "no_show": {"type": "integer"},
        "mean_service_s": {"type": ["integer", "null"]},
        "ratings": {"type": "integer"},
        "satisfied": {"type": "integer"},
        "satisfaction_rate": {"type": ["number", "null"]},
        "satisfaction_target": {"type": "number"},
    },
    ["served", "no_show", "mean_service_s", "ratings", "satisfaction_rate"],
)


@bp.get("/counter")
def counter_page() -> ResponseReturnValue:
    """The clerk's work screen; signing in first when there is no session."""
    with db().read() as s:
        principal = load_principal(s)
    if principal is None or principal.kind != "user":
        target = request.full_path.rstrip("?") if request.query_string else request.path
        return redirect(f"/login?next={quote(target, safe='/')}")
    return render_template("counter/counter.html", reprint=_serves("POST", REPRINT_SAMPLE))


#: any ticket's reprint address: the page offers "IN LẠI" only where the server serves it
REPRINT_SAMPLE = "/api/v1/halls/demo/tickets/1/reprint"


def _serves(method: str, path: str) -> bool:
    """Whether one of the app's routes answers this method and path."""
    try:
        current_app.url_map.bind("localhost").match(path, method=method)
    except HTTPException:
        return False
    return True


@bp.get("/rating")
def rating_page() -> ResponseReturnValue:
    """The citizen's smiley pad; the device token comes once as ?token= and is remembered."""
    return render_template("counter/rating.html", device_page=True)


@bp.get("/api/v1/halls/<slug>/me/today")
@doc(
    "The caller's own figures today: served, no-shows, mean service time, "
    "satisfaction rate (ratings in the top levels of the scale)",
    who="a clerk, manager or admin of the hall (session or API token)",
    ok=(200, "the figures", obj({"today": FIGURES})),
    errors=(401, 403, 404),
)
def my_today(slug: str) -> ResponseReturnValue:
    """The signed-in user's own figures for the hall's business day."""
    with hall_context(slug, *USERS) as c:
        return jsonify({"today": clerk_today(c.session, c.hall, c.principal.id, now())})
