"""Manager API under /api/v1: the wait-time log, summaries, and the hall's configuration."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from layso import errors
from layso import serializers as ser
from layso.models import Role, User
from layso.openapi import H, _obj, _op
from layso.services import config as configure
from layso.services import reports
from layso.web import Context, hall_context, json_body, now, query_int
from manager import export

api = Blueprint("manager_api", __name__, url_prefix="/api/v1")

MANAGERS = (Role.MANAGER.value, Role.ADMIN.value)
MAX_DAYS = 366
MIN_YEAR, MAX_YEAR = 2000, 2100  # report dates outside these years are refused (400)
MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _bad(vi: str, en: str) -> errors.LaysoError:
    return configure.bad(vi, en)


def _date(name: str, default: date) -> date:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        if len(raw) != 10 or not raw.isascii():
            raise ValueError
        day = date.fromisoformat(raw)
    except ValueError:
        raise _bad(
            f"'{name}' phải là ngày dạng YYYY-MM-DD.", f"'{name}' must be a date YYYY-MM-DD."
        ) from None
    if not MIN_YEAR <= day.year <= MAX_YEAR:
        raise _bad(
            f"'{name}' phải là ngày trong các năm {MIN_YEAR}–{MAX_YEAR}.",
            f"'{name}' must be a date in the years {MIN_YEAR}–{MAX_YEAR}.",
        )
    return day


def date_range(c: Context) -> tuple[date, date]:
    """from/to (inclusive, the hall's local days); both default to today."""
    today = reports.today(c.hall, now())
    first = _date("from", today)
    last = _date("to", first if request.args.get("from") else today)
    if last < first:
        raise _bad("'to' phải sau hoặc bằng 'from'.", "'to' must not be before 'from'.")
    if (last - first).days >= MAX_DAYS:
        raise _bad(
            f"Khoảng thời gian tối đa {MAX_DAYS} ngày.",
            f"A report covers at most {MAX_DAYS} days.",
        )
    return first, last


def _int_arg(name: str, default: int | None, lo: int, hi: int) -> int | None:
    return query_int(name, default, lo, hi)


def _filters() -> reports.Filters:
    status = request.args.get("status") or None
    if status is not None and status not in reports.STATES:
        raise _bad(
            f"'status' phải là một trong: {', '.join(reports.STATES)}.",
            f"'status' must be one of {', '.join(reports.STATES)}.",
        )
    late = (request.args.get("late_only") or "").lower()
    if late not in ("", "0", "1", "true", "false"):
        raise _bad("'late_only' phải là true hoặc false.", "'late_only' must be true or false.")
    service = request.args.get("service") or None
    clerk = request.args.get("clerk") or None
    if (service and len(service) > 20) or (clerk and len(clerk) > 60):
        raise _bad("Bộ lọc quá dài.", "A filter value is too long.")
    return reports.Filters(
        service=service,
        counter=_int_arg("counter", None, 0, 1_000_000),
        clerk=clerk,
        status=status,
        late_only=late in ("1", "true"),
    )


def _attachment(body: bytes, mimetype: str, filename: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@api.get("/halls/<slug>/reports/tickets")
def report_tickets(slug: str) -> ResponseReturnValue:
    """The wait-time log: one row per ticket issued in the range."""
    fmt = request.args.get("format", "json")
    if fmt not in FORMATS:
        raise _bad("'format' phải là json, csv hoặc xlsx.", "'format' must be json, csv or xlsx.")
    limit = _int_arg("limit", DEFAULT_LIMIT, 1, MAX_LIMIT) or DEFAULT_LIMIT
    offset = _int_arg("offset", 0, 0, 10**9) or 0
    page = _int_arg("page", None, 1, 10**6)
    if page is not None:
        offset = (page - 1) * limit
    filters = _filters()
    with hall_context(slug, *MANAGERS) as c:
        first, last = date_range(c)
        page = {"offset": offset, "limit": limit} if fmt == "json" else {}
        total, data = reports.ticket_log(c.session, c.hall, first, last, now(), filters, **page)
        timezone = c.hall.timezone
    name = f"layso-{slug}-{first.isoformat()}_{last.isoformat()}"
    if fmt == "csv":
        return _attachment(export.csv_bytes(data), "text/csv; charset=utf-8", f"{name}.csv")
    if fmt == "xlsx":
        title = f"{slug} {first.isoformat()} – {last.isoformat()}"
        body = export.xlsx_bytes(data, title=title, timezone=timezone)
        return _attachment(body, XLSX, f"{name}.xlsx")
    return jsonify(
        {
            "hall": slug,
            "from": first.isoformat(),
            "to": last.isoformat(),
            "timezone": timezone,
            "total": total,
            "limit": limit,
            "offset": offset,
            "rows": data,
        }
    )


@api.get("/halls/<slug>/reports/summary")
def report_summary(slug: str) -> ResponseReturnValue:
    """Figures per area, counter, clerk, hour or day, and for the whole range."""
    by = request.args.get("by", "service")
    if by not in reports.GROUPINGS:
        raise _bad(
            "'by' phải là service, counter, clerk, hour hoặc day.",
            "'by' must be service, counter, clerk, hour or day.",
        )
    with hall_context(slug, *MANAGERS) as c:
        first, last = date_range(c)
        return jsonify(reports.summary(c.session, c.hall, first, last, by, now()))


# --- configuration ---------------------------------------------------------------------------


def _actor(c: Context) -> User | None:
    return c.session.get(User, c.principal.id) if c.principal.kind == "user" else None


@api.get("/halls/<slug>/config")
def config_get(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS) as c:
        return jsonify(configure.configuration(c.session, c.hall, now()))


@api.patch("/halls/<slug>/config/hall")
def config_hall(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        hall = configure.update_hall(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"hall": hall})


@api.post("/halls/<slug>/config/services")
def config_service_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        s = configure.add_service(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"service": configure.service_dict(c.session, c.hall, s, now())}), 201


@api.patch("/halls/<slug>/config/services/<code>")
def config_service_edit(slug: str, code: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        s = configure.update_service(c.session, c.hall, code, data, user=_actor(c), now=now())
        return jsonify({"service": configure.service_dict(c.session, c.hall, s, now())})


@api.post("/halls/<slug>/config/counters")
def config_counter_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        x = configure.add_counter(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"counter": ser.counter_settings(x)}), 201


@api.patch("/halls/<slug>/config/counters/<int:number>")
def config_counter_edit(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        x = configure.update_counter(c.session, c.hall, number, data, user=_actor(c), now=now())
        return jsonify({"counter": ser.counter_settings(x)})


@api.post("/halls/<slug>/config/users")
def config_user_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        u = configure.add_user(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"user": configure.user_dict(u, {})}), 201


@api.patch("/halls/<slug>/config/users/<username>")
def config_user_edit(slug: str, username: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        u = configure.update_user(c.session, c.hall, username, data, user=_actor(c), now=now())
        return jsonify({"user": configure.user_dict(u, {})})


@api.post("/halls/<slug>/config/users/<username>/password")
def config_user_password(slug: str, username: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        u = configure.reset_password(
            c.session,
            c.hall,
            username,
            data.get("password"),
            user=_actor(c),
            now=now(),
            keep_session=c.principal.session_id,  # one's own new password keeps this page in
        )
        return jsonify({"user": configure.user_dict(u, {})})


def _base_url() -> str:
    return str(current_app.config.get("LAYSO_PUBLIC_URL") or request.host_url).rstrip("/")


@api.post("/halls/<slug>/config/devices")
def config_device_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        d, token = configure.issue_device(c.session, c.hall, data, user=_actor(c), now=now())
        numbers = {x.id: x.number for x in c.hall.counters}
        body: dict[str, Any] = {
            "device": configure.device_dict(c.hall, d, numbers),
            "token": token,
        }
    page = configure.DEVICE_PAGES.get(body["device"]["kind"])
    if page:
        body["url"] = f"{_base_url()}{page}?token={token}"
    else:
        body["command"] = (
            f"layso print-agent --server {_base_url()} --token {token} --printer usb://VID:PID"
        )
    return jsonify(body), 201


@api.post("/halls/<slug>/config/devices/<int:device_id>/revoke")
def config_device_revoke(slug: str, device_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        d = configure.revoke_device(c.session, c.hall, device_id, user=_actor(c), now=now())
        numbers = {x.id: x.number for x in c.hall.counters}
        return jsonify({"device": configure.device_dict(c.hall, d, numbers)})


@api.post("/halls/<slug>/config/notices")
def config_notice_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        n = configure.add_notice(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"notice": configure.notice_dict(n)}), 201


@api.patch("/halls/<slug>/config/notices/<int:notice_id>")
def config_notice_edit(slug: str, notice_id: int) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        n = configure.update_notice(c.session, c.hall, notice_id, data, user=_actor(c), now=now())
        return jsonify({"notice": configure.notice_dict(n)})


@api.delete("/halls/<slug>/config/notices/<int:notice_id>")
def config_notice_delete(slug: str, notice_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        configure.delete_notice(c.session, c.hall, notice_id, user=_actor(c), now=now())
        return jsonify({"deleted": notice_id})


# --- OpenAPI ---------------------------------------------------------------------------------

WHO = "a manager or admin of the hall"
DATE_Q = [
    {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "first day (the hall's local date), default today",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "last day, inclusive; default `from` (or today)",
        "schema": {"type": "string", "format": "date"},
    },
]
DEFINITIONS = (
    "A ticket belongs to the range when its ticket.issued event is on one of the range's days "
    "in the hall's time zone. Every figure comes from the event log, not the ticket row. "
    "Times are the hall's local time with offset. wait_s = first ticket.called − "
    "ticket.issued; walk_s = last ticket.started − the last call (called or recalled) before "
    "it (the last call counts for walk); service_s = ticket.finished − last ticket.started. "
    "area = the area that issued the number (its queue and target wait); served_area = the "
    "area at the end (after transfers). counter/clerk = those of the ticket's last handling "
    "event. late = called with wait_s above the area's target, or never called and waiting "
    "(or cancelled) beyond it, measured to the cancellation or to now (at most the end of its "
    "day)."
)
SUMMARY_DEFS = (
    "Percentiles interpolate linearly between closest ranks (Excel PERCENTILE.INC). "
    "within_target_rate = called tickets with wait_s ≤ target ÷ (called tickets + never-called "
    "tickets already late). no_show_rate = final no-shows ÷ tickets called at least once. "
    "satisfaction_rate = ratings in the top two levels of their scale ÷ ratings, compared with "
    "the hall's satisfaction_target (meets_target). official_ratings maps every rating onto "
    "the state's official three levels, whatever its scale: top level = very_satisfied (Rất hài "
    "lòng), second = satisfied (Hài lòng), every lower level = dissatisfied (Không hài lòng). "
    "For by=counter and by=clerk: open_s = time "
    "the counter was open (counter.changed state 'open'; for a clerk, the counters they were "
    "signed in at), serving_s = ticket.started until that visit ends (finished, transferred, "
    "held), idle_s = open_s − serving_s (includes waiting for called citizens to walk up), all "
    "within the range's days up to now. A ticket counts for the area that issued it, the hour "
    "and day it was issued, and the counter and clerk of its last handling event."
)
FIGURES = _obj(
    {
        "issued": {"type": "integer"},
        "called": {"type": "integer"},
        "served": {"type": "integer"},
        "no_show": {"type": "integer"},
        "cancelled": {"type": "integer"},
        "wait_median_s": {"type": ["number", "null"]},
        "wait_p90_s": {"type": ["number", "null"]},
        "walk_mean_s": {"type": ["number", "null"]},
        "service_mean_s": {"type": ["number", "null"]},
        "within_target_rate": {"type": ["number", "null"]},
        "no_show_rate": {"type": ["number", "null"]},
        "satisfaction_rate": {"type": ["number", "null"]},
        "satisfaction_target": {"type": "number"},
        "ratings": {"type": "object", "additionalProperties": {"type": "integer"}},
        "official_ratings": {
            "type": "object",
            "properties": {
                "very_satisfied": {"type": "integer"},
                "satisfied": {"type": "integer"},
                "dissatisfied": {"type": "integer"},
            },
        },
        "open_s": {"type": "integer"},
        "serving_s": {"type": "integer"},
        "idle_s": {"type": "integer"},
    }
)
ROW = _obj(
    {
        "id": {"type": "integer"},
        "display_number": {"type": "string"},
        "area": {"type": "string"},
        "served_area": {"type": "string"},
        "priority": {"type": ["string", "null"]},
        "state": {"enum": list(reports.STATES)},
        "issued_at": {"type": "string", "format": "date-time"},
        "first_called_at": {"type": ["string", "null"], "format": "date-time"},
        "recalls": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        "last_called_at": {"type": ["string", "null"], "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "no_show_at": {"type": ["string", "null"], "format": "date-time"},
        "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
        "wait_s": {"type": ["integer", "null"]},
        "walk_s": {"type": ["integer", "null"]},
        "service_s": {"type": ["integer", "null"]},
        "late": {"type": "boolean"},
        "counter": {"type": ["integer", "null"]},
        "clerk": {"type": ["string", "null"]},
        "rating": {"type": ["integer", "null"]},
    }
)
ANY_OBJ = {"type": "object"}
CONFIG_ERRS = (400, 401, 403, 404, 409)


def _path_param(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _cfg(summary: str, ok: str, result: str, *, body: bool = True, params: Any = ()) -> Any:
    return _op(
        summary + " (writes an audit entry and a config.changed event)",
        WHO,
        [H, *params],
        (ok, "done", _obj({result: ANY_OBJ})),
        *CONFIG_ERRS,
        body=ANY_OBJ if body else None,
        tag="manager",
    )


def openapi_paths() -> dict[str, Any]:
    tickets = _op(
        "The wait-time log: one row per ticket (JSON page, or all rows as CSV / XLSX)",
        WHO,
        [
            H,
            *DATE_Q,
            {
                "name": "format",
                "in": "query",
                "required": False,
                "schema": {"enum": list(FORMATS)},
                "description": "csv is UTF-8 with a BOM; xlsx has local date-times",
            },
            {"name": "service", "in": "query", "required": False, "schema": {"type": "string"}},
            {
                "name": "counter",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": 1_000_000},
            },
            {"name": "clerk", "in": "query", "required": False, "schema": {"type": "string"}},
            {
                "name": "status",
                "in": "query",
                "required": False,
                "schema": {"enum": list(reports.STATES)},
            },
            {"name": "late_only", "in": "query", "required": False, "schema": {"type": "boolean"}},
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
            },
            {
                "name": "offset",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 0, "maximum": 10**9},
            },
            {
                "name": "page",
                "in": "query",
                "required": False,
                "schema": {"type": "integer", "minimum": 1, "maximum": 10**6},
            },
        ],
        (
            "200",
            "the rows (JSON), or a CSV / XLSX attachment",
            _obj(
                {
                    "total": {"type": "integer"},
                    "limit": {"type": "integer"},
                    "offset": {"type": "integer"},
                    "rows": {"type": "array", "items": ROW},
                }
            ),
        ),
        400,
        401,
        403,
        404,
        tag="manager",
    )
    tickets["description"] += " " + DEFINITIONS
    tickets["responses"]["200"]["content"]["text/csv"] = {"schema": {"type": "string"}}
    tickets["responses"]["200"]["content"][XLSX] = {
        "schema": {"type": "string", "format": "binary"}
    }
    summary = _op(
        "Figures per area, counter, clerk, hour or day, and for the whole range",
        WHO,
        [
            H,
            *DATE_Q,
            {
                "name": "by",
                "in": "query",
                "required": False,
                "schema": {"enum": list(reports.GROUPINGS)},
            },
        ],
        (
            "200",
            "groups and total",
            _obj(
                {
                    "by": {"type": "string"},
                    "satisfaction_target": {"type": "number"},
                    "groups": {
                        "type": "array",
                        "items": {
                            "allOf": [
                                FIGURES,
                                _obj({"key": {}, "label": {"type": "string"}}),
                            ]
                        },
                    },
                    "total": FIGURES,
                }
            ),
        ),
        400,
        401,
        403,
        404,
        tag="manager",
    )
    summary["description"] += " " + DEFINITIONS + " " + SUMMARY_DEFS
    code = _path_param("code", {"type": "string", "maxLength": 20})
    number = _path_param("counter", {"type": "integer", "minimum": 0, "maximum": 1_000_000})
    username = _path_param("username", {"type": "string", "maxLength": 60})
    ident = _path_param("id", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1})
    return {
        "/halls/{hall}/reports/tickets": {"get": tickets},
        "/halls/{hall}/reports/summary": {"get": summary},
        "/halls/{hall}/config": {
            "get": _op(
                "The hall's whole configuration: hall, areas, counters, users, devices, notices",
                WHO,
                [H],
                ("200", "configuration", ANY_OBJ),
                401,
                403,
                404,
                tag="manager",
            )
        },
        "/halls/{hall}/config/hall": {
            "patch": _cfg(
                "Change the hall's settings (name, time zone, hours, priority policy, voice "
                "template, rating scale and labels, satisfaction target)",
                "200",
                "hall",
            )
        },
        "/halls/{hall}/config/services": {"post": _cfg("Add a service area", "201", "service")},
        "/halls/{hall}/config/services/{code}": {
            "patch": _cfg("Change a service area", "200", "service", params=[code])
        },
        "/halls/{hall}/config/counters": {"post": _cfg("Add a counter", "201", "counter")},
        "/halls/{hall}/config/counters/{counter}": {
            "patch": _cfg("Change a counter's name or areas", "200", "counter", params=[number])
        },
        "/halls/{hall}/config/users": {"post": _cfg("Add a user", "201", "user")},
        "/halls/{hall}/config/users/{username}": {
            "patch": _cfg(
                "Change a user's name, role or active flag", "200", "user", params=[username]
            )
        },
        "/halls/{hall}/config/users/{username}/password": {
            "post": _cfg("Set a new password", "200", "user", params=[username])
        },
        "/halls/{hall}/config/devices": {
            "post": _cfg(
                "Register a device; its token and page URL are returned once", "201", "device"
            )
        },
        "/halls/{hall}/config/devices/{id}/revoke": {
            "post": _cfg("Revoke a device's token", "200", "device", body=False, params=[ident])
        },
        "/halls/{hall}/config/notices": {"post": _cfg("Add a ticker notice", "201", "notice")},
        "/halls/{hall}/config/notices/{id}": {
            "patch": _cfg("Change a ticker notice", "200", "notice", params=[ident]),
            "delete": _op(
                "Delete a ticker notice (writes an audit entry and a config.changed event)",
                WHO,
                [H, ident],
                ("200", "deleted", _obj({"deleted": {"type": "integer"}})),
                401,
                403,
                404,
                tag="manager",
            ),
        },
    }
