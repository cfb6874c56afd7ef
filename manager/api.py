"""Manager API under /api/v1: the wait-time log, summaries, and the hall's configuration."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, jsonify, request
from flask.typing import ResponseReturnValue

from layso import errors
from layso import serializers as ser
from layso.apidoc import doc, obj
from layso.models import Role, User
from layso.services import config as configure
from layso.services import day_end, official, reports
from layso.services.config.validation import reject_unknown
from layso.web import Context, hall_context, json_body, now, public_base_url, query_int
from manager import export
from manager.official_xlsx import official_xlsx_bytes
from manager.schemas import (
    ANY_OBJ,
    DATE_Q,
    DELETED,
    FORMATS,
    MAX_LIMIT,
    OFFICIAL,
    SUMMARY,
    TICKET_PARAMS,
    TICKET_ROWS,
    WHO,
    XLSX,
    config_doc,
    report_doc,
)

api = Blueprint("manager_api", __name__, url_prefix="/api/v1")

MANAGERS = (Role.MANAGER.value, Role.ADMIN.value)
MAX_DAYS = 366
MIN_YEAR, MAX_YEAR = 2000, 2100  # report dates outside these years are refused (400)
DEFAULT_LIMIT = 100


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
    search = (request.args.get("q") or "").strip() or None
    kind = request.args.get("kind") or None
    if (service and len(service) > 20) or (clerk and len(clerk) > 60):
        raise _bad("Bộ lọc quá dài.", "A filter value is too long.")
    if search and len(search) > 40:
        raise _bad("Từ khóa tìm kiếm tối đa 40 ký tự.", "A search is at most 40 characters.")
    if kind is not None and kind not in ("intake", "results"):
        raise _bad("'kind' phải là intake hoặc results.", "'kind' must be intake or results.")
    return reports.Filters(
        service=service,
        counter=_int_arg("counter", None, 0, 1_000_000),
        clerk=clerk,
        status=status,
        late_only=late in ("1", "true"),
        kind=kind,
        search=search,
    )


def _attachment(body: bytes, mimetype: str, filename: str) -> Response:
    resp = Response(body, mimetype=mimetype)
    resp.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    resp.headers["Cache-Control"] = "no-store"
    return resp


@api.get("/halls/<slug>/reports/tickets")
@report_doc(
    "The wait-time log: one row per ticket (JSON page, or all rows as CSV / XLSX)",
    TICKET_PARAMS,
    ("the rows (JSON), or a CSV / XLSX attachment", TICKET_ROWS),
    media={"text/csv": {"type": "string"}, XLSX: {"type": "string", "format": "binary"}},
)
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
@report_doc("Figures per area, counter, clerk, hour or day, and for the whole range", *SUMMARY)
def report_summary(slug: str) -> ResponseReturnValue:
    """Figures per area, counter, clerk, hour or day, and for the whole range."""
    by = request.args.get("by", "service")
    if by not in reports.GROUPINGS:
        raise _bad(
            "'by' phải là service, kind, counter, clerk, hour hoặc day.",
            "'by' must be service, kind, counter, clerk, hour or day.",
        )
    with hall_context(slug, *MANAGERS) as c:
        first, last = date_range(c)
        return jsonify(reports.summary(c.session, c.hall, first, last, by, now()))


@api.get("/halls/<slug>/reports/official")
@report_doc(
    "The official satisfaction evaluation (three levels, rate against the target), JSON or XLSX",
    *OFFICIAL,
    media={XLSX: {"type": "string", "format": "binary"}},
)
def report_official(slug: str) -> ResponseReturnValue:
    """Every rating on the state's three levels, per area, counter, clerk, month or quarter."""
    by = request.args.get("by", "area")
    if by not in official.OFFICIAL_GROUPINGS:
        raise _bad(
            "'by' phải là area, counter, clerk, month hoặc quarter.",
            "'by' must be area, counter, clerk, month or quarter.",
        )
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "xlsx"):
        raise _bad("'format' phải là json hoặc xlsx.", "'format' must be json or xlsx.")
    with hall_context(slug, *MANAGERS) as c:
        first, last = date_range(c)
        report = official.official_report(c.session, c.hall, first, last, by, now())
        made_on = reports.today(c.hall, now())
    if fmt == "xlsx":
        body = official_xlsx_bytes(report, made_on=made_on)
        name = f"danh-gia-hai-long-{slug}-{first.isoformat()}_{last.isoformat()}-{by}.xlsx"
        return _attachment(body, XLSX, name)
    return jsonify(report)


# --- the end of the day -------------------------------------------------------------------

DAY = obj(
    {
        "business_date": {"type": "string", "format": "date"},
        "closing_time": {"type": "string", "format": "date-time"},
        "keep_open": {"type": "boolean"},
    }
)
DAY_NOTES = (
    "At the hall's closing time (the end of that weekday's last range in the hall's hours; "
    "midnight when it has none) the tickets still waiting or held expire (status expired, "
    "event ticket.expired; hết giờ): not served, not no-shows, their own figure in the "
    "reports. Past days' open tickets expire whenever the server runs (catch-up after a "
    "restart). keep_open=true keeps today's queue open past closing time (until midnight)."
)


@api.get("/halls/<slug>/day")
@doc(
    "Today's closing time and whether the queue is kept open past it",
    who=WHO,
    ok=(200, "today", DAY),
    errors=(401, 403, 404),
    tag="manager",
    notes=DAY_NOTES,
)
def day_get(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS) as c:
        return jsonify(day_end.day_state(c.hall, now()))


@api.post("/halls/<slug>/day/keep-open")
@doc(
    "Keep today's queue open past closing time, or close it on time again (audited, logged "
    "as day.changed)",
    who=WHO,
    body=obj({"keep_open": {"type": "boolean"}}, required=["keep_open"]),
    ok=(200, "today", DAY),
    errors=(400, 401, 403, 404),
    tag="manager",
    notes=DAY_NOTES,
)
def day_keep_open(slug: str) -> ResponseReturnValue:
    data = json_body()
    reject_unknown(data, {"keep_open"})
    if "keep_open" not in data:
        raise _bad("Thiếu 'keep_open' (true hoặc false).", "'keep_open' is missing.")
    with hall_context(slug, *MANAGERS, write=True) as c:
        state = day_end.set_keep_open(
            c.session, c.hall, data["keep_open"], user=_actor(c), now=now()
        )
        return jsonify(state)


# --- configuration ---------------------------------------------------------------------------


def _actor(c: Context) -> User | None:
    return c.session.get(User, c.principal.id) if c.principal.kind == "user" else None


@api.get("/halls/<slug>/config")
@doc(
    "The hall's whole configuration: hall, areas, counters, users, devices, notices",
    who=WHO,
    ok=(200, "configuration", ANY_OBJ),
    errors=(401, 403, 404),
    tag="manager",
)
def config_get(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS) as c:
        return jsonify(configure.configuration(c.session, c.hall, now()))


@api.patch("/halls/<slug>/config/hall")
@config_doc(
    "Change the hall's settings (name, time zone, hours, priority policy, voice "
    "template, rating scale and labels, satisfaction target)",
    200,
    "hall",
)
def config_hall(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        hall = configure.update_hall(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"hall": hall})


@api.post("/halls/<slug>/config/services")
@config_doc("Add a service area", 201, "service")
def config_service_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        s = configure.add_service(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"service": configure.service_dict(c.session, c.hall, s, now())}), 201


@api.patch("/halls/<slug>/config/services/<code>")
@config_doc("Change a service area", 200, "service")
def config_service_edit(slug: str, code: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        s = configure.update_service(c.session, c.hall, code, data, user=_actor(c), now=now())
        return jsonify({"service": configure.service_dict(c.session, c.hall, s, now())})


@api.post("/halls/<slug>/config/counters")
@config_doc("Add a counter", 201, "counter")
def config_counter_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        x = configure.add_counter(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"counter": ser.counter_settings(x)}), 201


@api.patch("/halls/<slug>/config/counters/<int:number>")
@config_doc("Change a counter's name or areas", 200, "counter")
def config_counter_edit(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        x = configure.update_counter(c.session, c.hall, number, data, user=_actor(c), now=now())
        return jsonify({"counter": ser.counter_settings(x)})


@api.post("/halls/<slug>/config/users")
@config_doc("Add a user", 201, "user")
def config_user_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        u = configure.add_user(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"user": configure.user_dict(u, {})}), 201


@api.patch("/halls/<slug>/config/users/<username>")
@config_doc("Change a user's name, role or active flag", 200, "user")
def config_user_edit(slug: str, username: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        u = configure.update_user(c.session, c.hall, username, data, user=_actor(c), now=now())
        return jsonify({"user": configure.user_dict(u, {})})


@api.post("/halls/<slug>/config/users/<username>/password")
@config_doc("Set a new password", 200, "user")
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
    return public_base_url().rstrip("/")


@api.post("/halls/<slug>/config/devices")
@config_doc("Register a device; its token and page URL are returned once", 201, "device")
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
@config_doc("Revoke a device's token", 200, "device", body=False)
def config_device_revoke(slug: str, device_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        d = configure.revoke_device(c.session, c.hall, device_id, user=_actor(c), now=now())
        numbers = {x.id: x.number for x in c.hall.counters}
        return jsonify({"device": configure.device_dict(c.hall, d, numbers)})


@api.post("/halls/<slug>/config/notices")
@config_doc("Add a ticker notice", 201, "notice")
def config_notice_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        n = configure.add_notice(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"notice": configure.notice_dict(n)}), 201


@api.patch("/halls/<slug>/config/notices/<int:notice_id>")
@config_doc("Change a ticker notice", 200, "notice")
def config_notice_edit(slug: str, notice_id: int) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        n = configure.update_notice(c.session, c.hall, notice_id, data, user=_actor(c), now=now())
        return jsonify({"notice": configure.notice_dict(n)})


@api.delete("/halls/<slug>/config/notices/<int:notice_id>")
@doc(
    "Delete a ticker notice (writes an audit entry and a config.changed event)",
    who=WHO,
    ok=(200, "deleted", DELETED),
    errors=(401, 403, 404),
    tag="manager",
)
def config_notice_delete(slug: str, notice_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        configure.delete_notice(c.session, c.hall, notice_id, user=_actor(c), now=now())
        return jsonify({"deleted": notice_id})


# --- running the hall: alerts, devices, pauses ---------------------------------------------------


@api.get("/halls/<slug>/alerts")
@doc(
    "The open alerts (most severe first) and every device's health, as the live board shows "
    "them; the hub sends alert.raised / alert.cleared / device.status to managers as they change",
    who=WHO,
    ok=(200, "alerts and devices", ANY_OBJ),
    errors=(401, 403, 404),
    tag="manager",
)
def open_alerts(slug: str) -> ResponseReturnValue:
    from layso.hub import manager_state

    with hall_context(slug, *MANAGERS) as c:
        state = manager_state(c.session, c.hall, {})
        return jsonify({"alerts": state["alerts"], "devices": state["devices"]})


@api.get("/halls/<slug>/reports/alerts")
@doc(
    "Alerts of the range by kind: how many were raised (and how many critical) and their total "
    "open time in seconds, from the alert.raised / alert.cleared events (one still open counts "
    "up to now)",
    who=WHO,
    params=DATE_Q,
    ok=(200, "alerts by kind", ANY_OBJ),
    errors=(400, 401, 403, 404),
    tag="manager",
)
def report_alerts(slug: str) -> ResponseReturnValue:
    from layso.services import alerts

    with hall_context(slug, *MANAGERS) as c:
        first, last = date_range(c)
        return jsonify(alerts.report(c.session, c.hall, first, last, now()))


@api.get("/halls/<slug>/reports/pauses")
@doc(
    "Time paused in the range by reason and by clerk (seconds and pauses), from the "
    "counter.changed events; a free-text reason counts as 'other' (its texts listed)",
    who=WHO,
    params=DATE_Q,
    ok=(200, "pauses by reason and clerk", ANY_OBJ),
    errors=(400, 401, 403, 404),
    tag="manager",
)
def report_pauses(slug: str) -> ResponseReturnValue:
    from layso.services import pauses

    with hall_context(slug, *MANAGERS) as c:
        first, last = date_range(c)
        return jsonify(pauses.pause_report(c.session, c.hall, first, last, now()))
