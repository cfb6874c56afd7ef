"""Manager API of bookings under /api/v1: the set-up under ``/config/bookings`` (slot templates,
closures, rules, the merge rule in words) and the day's bookings (phone and ID masked) with
their export under ``/reports/bookings`` (the citizens' ``/bookings`` are layso.booking_api).

The logic is :mod:`layso.services.config.booking_setup` (set-up) over
:mod:`layso.services.bookings` (the bookings themselves)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from layso.apidoc import doc, query
from layso.services.config import booking_setup as setup
from layso.services.reports import today
from layso.web import hall_context, json_body, now
from manager import export
from manager.api import MANAGERS, _actor, _attachment, api
from manager.schemas import ANY_OBJ, DELETED, WHO, XLSX, config_doc

DAY_Q = [
    query("date", {"type": "string", "format": "date"}, description="the day (today)"),
    query("service", {"type": "string"}, description="one area's code (all areas)"),
]


@api.get("/halls/<slug>/config/bookings")
@doc(
    "Bookings' set-up: rules (hall and areas), slot templates, closures, and the merge rule "
    "in words (Vietnamese and English, with this hall's numbers)",
    who=WHO,
    ok=(200, "the set-up", ANY_OBJ),
    errors=(401, 403, 404),
    tag="manager",
)
def bookings_setup(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS) as c:
        return jsonify(setup.setup_view(c.session, c.hall))


@api.patch("/halls/<slug>/config/bookings/rules")
@config_doc(
    "Change booking rules of the hall, or of one area with ?service=CODE (null: follow the "
    "hall / the default)",
    200,
    "rules",
)
def bookings_rules(slug: str) -> ResponseReturnValue:
    data = json_body()
    code = request.args.get("service") or None
    with hall_context(slug, *MANAGERS, write=True) as c:
        rules = setup.update_rules(c.session, c.hall, code, data, user=_actor(c), now=now())
        return jsonify({"rules": rules})


@api.post("/halls/<slug>/config/bookings/templates")
@config_doc(
    "Add a slot template: {service, weekdays [0–6, 0 = Monday], start, end (HH:MM), slot_min, "
    "capacity, active}",
    201,
    "template",
)
def bookings_template_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        t = setup.add_template(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"template": t}), 201


@api.patch("/halls/<slug>/config/bookings/templates/<int:template_id>")
@config_doc("Change a slot template", 200, "template")
def bookings_template_edit(slug: str, template_id: int) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        t = setup.update_template(c.session, c.hall, template_id, data, user=_actor(c), now=now())
        return jsonify({"template": t})


@api.delete("/halls/<slug>/config/bookings/templates/<int:template_id>")
@doc(
    "Delete a slot template (bookings already made keep their slot; audited)",
    who=WHO,
    ok=(200, "deleted", DELETED),
    errors=(401, 403, 404),
    tag="manager",
)
def bookings_template_delete(slug: str, template_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        setup.delete_template(c.session, c.hall, template_id, user=_actor(c), now=now())
        return jsonify({"deleted": template_id})


@api.post("/halls/<slug>/config/bookings/closures")
@config_doc(
    "Close a day to bookings (a holiday): {day: YYYY-MM-DD, service: CODE or none for the "
    "whole hall, reason, reason_en}",
    201,
    "closure",
)
def bookings_closure_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        closure = setup.add_closure(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"closure": closure}), 201


@api.delete("/halls/<slug>/config/bookings/closures/<int:closure_id>")
@doc(
    "Open a closed day again (audited)",
    who=WHO,
    ok=(200, "deleted", DELETED),
    errors=(401, 403, 404),
    tag="manager",
)
def bookings_closure_delete(slug: str, closure_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        setup.delete_closure(c.session, c.hall, closure_id, user=_actor(c), now=now())
        return jsonify({"deleted": closure_id})


@api.get("/halls/<slug>/reports/bookings")
@doc(
    "A day's bookings with their state (booked, checked_in, called, served, no_show, "
    "cancelled), phone and ID masked; ?format=csv or xlsx for a file",
    who=WHO,
    ok=(200, "the bookings and counts per state", ANY_OBJ),
    errors=(400, 401, 403, 404),
    params=[
        *DAY_Q,
        query("format", {"enum": ["json", "csv", "xlsx"]}, description="json (default)"),
    ],
    media={"text/csv": {"type": "string"}, XLSX: {"type": "string", "format": "binary"}},
    tag="manager",
)
def bookings_day(slug: str) -> ResponseReturnValue:
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv", "xlsx"):
        raise setup.bad(
            "'format' phải là json, csv hoặc xlsx.", "'format' must be json, csv or xlsx."
        )
    with hall_context(slug, *MANAGERS) as c:
        raw = request.args.get("date")
        day = setup.parse_day(raw, "date") if raw else today(c.hall, now())
        body = setup.day_view(c.session, c.hall, day, request.args.get("service") or None)
        timezone = c.hall.timezone
    name = f"layso-{slug}-bookings-{body['date']}"
    if fmt == "csv":
        data = export.csv_bytes(body["bookings"], export.BOOKING_COLUMNS)
        return _attachment(data, "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        data = export.xlsx_bytes(
            body["bookings"],
            title=f"{slug} {body['date']}",
            timezone=timezone,
            columns=export.BOOKING_COLUMNS,
            sheet="Dat lich",
        )
        return _attachment(data, XLSX, f"{name}.xlsx")
    return jsonify(body)
