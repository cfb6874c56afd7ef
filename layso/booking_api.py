"""HTTP API of appointments and remote numbers (issue 14): thin edges over services/bookings.py.

Public (no sign-in; rate-limited per client address, and per phone when booking):
- ``GET  /api/v1/halls/{hall}/booking``: the areas that take bookings, with their rules;
- ``GET  /api/v1/halls/{hall}/booking/{service}/days``: today … the last bookable day;
- ``GET  /api/v1/halls/{hall}/booking/{service}/days/{date}``: that day's slots and free places;
- ``POST /api/v1/halls/{hall}/bookings``: book (``Idempotency-Key`` replays a retry);
- ``GET | DELETE /api/v1/halls/{hall}/bookings/{code}``: the booking (masked) / cancel it.

Kiosk (device token) or staff:
- ``POST /api/v1/halls/{hall}/check-in`` with ``code`` or ``phone``: the ticket, printed like a
  kiosk ticket (its print job in the same transaction); a second check-in gives the same ticket.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from layso import errors
from layso import serializers as ser
from layso.apidoc import IDEMPOTENCY_KEY, doc, obj, ref
from layso.limits import rate_limit
from layso.models import DeviceKind, Hall, Role, Service
from layso.services import bookings as bk
from layso.services import idempotency as idem
from layso.services.common import get_hall, get_service
from layso.web import db, field_str, hall_context, json_body, now, public_base_url

bp = Blueprint("booking_api", __name__, url_prefix="/api/v1")

BOOKING = ref("Booking")
CHECK_IN_ROLES = (DeviceKind.KIOSK.value, Role.CLERK.value, Role.MANAGER.value, Role.ADMIN.value)
SERVICE_PATH = {"service": {"type": "string", "maxLength": 20}}
DAY_PATH = {"day": {"type": "string", "format": "date"}}
CODE_PATH = {"code": {"type": "string", "maxLength": 20}}


@bp.errorhandler(errors.LaysoError)
def _refused(e: errors.LaysoError) -> ResponseReturnValue:
    """Refusals as everywhere (``error.code``, ``error.message`` in the asked language), plus
    ``message_vi`` and ``message_en``: a citizen's page and the kiosk show both languages."""
    from layso.web import lang

    body = e.body(lang())
    body["error"]["message_vi"] = e.message("vi")
    body["error"]["message_en"] = e.message("en")
    resp = jsonify(body)
    resp.status_code = e.status
    retry_after = getattr(e, "retry_after", None)
    if retry_after:
        resp.headers["Retry-After"] = str(retry_after)
    return resp


def id_key() -> str:
    """The key ID numbers are hashed with: LAYSO_ID_HASH_KEY, else the server's secret key."""
    return str(current_app.config.get("LAYSO_ID_HASH_KEY") or current_app.config["SECRET_KEY"])


def _address() -> str:
    return request.remote_addr or "?"


@contextmanager
def _public_hall(slug: str, *, write: bool = False) -> Iterator[tuple[Session, Hall]]:
    database = db()
    with database.write() if write else database.read() as s:
        yield s, get_hall(s, slug, lock=write)


def _service(s: Session, hall: Hall, code: str) -> Service:
    service = get_service(s, hall, code[:20])
    if not service.active:
        raise errors.UnknownService(service=code[:20])
    return service


def _day(text: str) -> date:
    """A date as YYYY-MM-DD, in a plausible century (a booking's horizon is days, not ages)."""
    try:
        day = date.fromisoformat(text[:10])
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 2199:
        raise errors.BadRequest(
            vi="Ngày phải viết dạng YYYY-MM-DD, trong khoảng năm 2000–2199.",
            en="The date must be YYYY-MM-DD, between the years 2000 and 2199.",
        )
    return day


AREA = obj(
    {
        "code": {"type": "string"},
        "name": {"type": "string"},
        "name_en": {"type": "string"},
        "remote_number": {"type": "boolean", "description": "a remote number for today now"},
        "require_id": {"type": "boolean"},
        "days_ahead": {"type": "integer"},
        "checkin_before_min": {"type": "integer"},
        "checkin_after_min": {"type": "integer"},
        "has_slots": {"type": "boolean"},
    }
)


@bp.get("/halls/<slug>/booking")
@doc(
    "The areas that take bookings or remote numbers, with their rules",
    who="anyone",
    ok=(
        200,
        "the hall and its areas",
        obj(
            {
                "hall": {"type": "object"},
                "today": {"type": "string", "format": "date", "description": "the hall's today"},
                "areas": {"type": "array", "items": AREA},
            }
        ),
    ),
    errors=(404, 429),
    tag="public",
)
def areas(slug: str) -> ResponseReturnValue:
    rate_limit("book_read", _address())
    with _public_hall(slug) as (s, hall):
        out = []
        for service in hall.services:
            rules = bk.rules_for(s, hall, service)
            if not (service.active and rules.enabled):
                continue
            has_slots = bk.has_templates(s, hall, service) and any(
                bk.slots(s, hall, service, d, now()) for d in _days(hall, rules)
            )
            remote = bk.remote_number_open(s, hall, service, now())
            if not (has_slots or remote):
                continue
            out.append(
                {
                    "code": service.code,
                    "name": service.name,
                    "name_en": service.name_en,
                    "remote_number": remote,
                    "require_id": rules.require_id,
                    "days_ahead": rules.days_ahead,
                    "checkin_before_min": rules.checkin_before_min,
                    "checkin_after_min": rules.checkin_after_min,
                    "has_slots": has_slots,
                }
            )
        today = bk.business_date(hall, now()).isoformat()
        return jsonify({"hall": ser.hall(hall), "today": today, "areas": out})


def _days(hall: Hall, rules: bk.Rules) -> list[date]:
    """Today … the area's last bookable day (the dates :func:`bk.bookable_days` lists, without
    its free places and closures: slots() reads those per day)."""
    today = bk.business_date(hall, now())
    return [today + timedelta(days=n) for n in range(rules.days_ahead + 1)]


@bp.get("/halls/<slug>/booking/<service>/days")
@doc(
    "Today … the last bookable day of an area: free places, closures, remote number",
    who="anyone",
    path=SERVICE_PATH,
    ok=(200, "the days", obj({"days": {"type": "array", "items": {"type": "object"}}})),
    errors=(404, 429),
    tag="public",
)
def days(slug: str, service: str) -> ResponseReturnValue:
    rate_limit("book_read", _address())
    with _public_hall(slug) as (s, hall):
        svc = _service(s, hall, service)
        return jsonify({"days": bk.bookable_days(s, hall, svc, now())})


@bp.get("/halls/<slug>/booking/<service>/days/<day>")
@doc(
    "The slots of one day of an area still ahead, with their free places",
    who="anyone",
    path={**SERVICE_PATH, **DAY_PATH},
    ok=(
        200,
        "the slots (time: HH:MM in the hall's zone)",
        obj({"date": {"type": "string"}, "slots": {"type": "array", "items": {"type": "object"}}}),
    ),
    errors=(400, 404, 429),
    tag="public",
)
def day_slots(slug: str, service: str, day: str) -> ResponseReturnValue:
    rate_limit("book_read", _address())
    when = _day(day)
    with _public_hall(slug) as (s, hall):
        svc = _service(s, hall, service)
        slots = bk.slots(s, hall, svc, when, now())
        return jsonify(
            {
                "date": when.isoformat(),
                "slots": [
                    {
                        "time": x.local,
                        "start": ser.iso(hall, x.start),
                        "capacity": x.capacity,
                        "free": x.free,
                    }
                    for x in slots
                ],
            }
        )


def _booking_body(hall: Hall, booking: Any) -> dict[str, Any]:
    return {
        **bk.public(hall, booking),
        "page_url": f"{public_base_url().rstrip('/')}/dat-lich/ma/{booking.code}",
        "qr_url": f"/dat-lich/ma/{booking.code}/qr.svg",
    }


@bp.post("/halls/<slug>/bookings")
@doc(
    "Book a slot, or (slot null) take a remote number for today",
    who="anyone (rate-limited per address and per phone)",
    body=obj(
        {
            "service": {"type": "string", "maxLength": 20},
            "date": {"type": "string", "format": "date"},
            "slot": {"type": ["string", "null"], "description": "HH:MM; null: remote number"},
            "phone": {"type": "string", "maxLength": 30},
            "id_number": {
                "type": ["string", "null"],
                "description": "12-digit CCCD where the hall requires it (kept only as a hash)",
            },
        },
        ["service", "date", "phone"],
    ),
    params=[IDEMPOTENCY_KEY],
    ok=(201, "the booking: code, QR, masked phone", obj({"booking": BOOKING}, ["booking"])),
    also={200: ("the same booking again, for a repeated Idempotency-Key", None)},
    errors=(400, 404, 409, 422, 429),
    tag="public",
    notes="Refusals (409/400) carry a stable error code: booking_closed, bad_phone, id_required, "
    "bad_id_number, day_out_of_range, day_closed, no_such_slot, slot_past, slot_full, "
    "kept_for_walk_ins, quota_per_day, quota_per_area, remote_numbers_off, "
    "remote_number_not_today, service_closed. Logged as booking.created (managers).",
)
def create(slug: str) -> ResponseReturnValue:
    data = json_body()
    service = field_str(data, "service", max_len=20) or ""
    when = _day(field_str(data, "date", max_len=10) or "")
    slot = field_str(data, "slot", required=False, max_len=5)
    phone = field_str(data, "phone", max_len=30)
    id_number = field_str(data, "id_number", required=False, max_len=20)
    key = idem.parse_key(request.headers.get(idem.HEADER))
    digest = idem.fingerprint(data)
    rate_limit("book", _address())
    with _public_hall(slug, write=True) as (s, hall):
        if key is not None:
            stored = idem.lookup(s, hall, key, "booking|public", digest)
            if stored is not None:
                resp = jsonify(stored.body)
                resp.headers["Idempotent-Replayed"] = "true"
                return resp, 200
        try:
            rate_limit("book_phone", bk.normalize_phone(phone))
        except errors.BadPhone:
            pass  # book() says why
        booking = bk.book(
            s,
            hall,
            service_code=service,
            day=when,
            slot=slot,
            phone=phone,
            id_number=id_number,
            id_key=id_key(),
            now=now(),
        )
        body = {"booking": _booking_body(hall, booking)}
        if key is not None:
            idem.remember(s, hall, key, "booking|public", digest, 201, body, now=now())
    return jsonify(body), 201


@bp.get("/halls/<slug>/bookings/<code>")
@doc(
    "A booking by its code (phone and ID masked)",
    who="anyone with the code",
    path=CODE_PATH,
    ok=(200, "the booking", obj({"booking": BOOKING})),
    errors=(404, 429),
    tag="public",
)
def show(slug: str, code: str) -> ResponseReturnValue:
    rate_limit("book_read", _address())
    with _public_hall(slug) as (s, hall):
        return jsonify({"booking": _booking_body(hall, bk.find(s, hall, code))})


@bp.delete("/halls/<slug>/bookings/<code>")
@doc(
    "Cancel a booking not yet checked in (again: the same answer)",
    who="anyone with the code",
    path=CODE_PATH,
    ok=(200, "the cancelled booking", obj({"booking": BOOKING})),
    errors=(404, 409, 429),
    tag="public",
    notes="Logged as booking.cancelled. Once checked in, the ticket's phone page cancels.",
)
def cancel(slug: str, code: str) -> ResponseReturnValue:
    rate_limit("book", _address())
    with _public_hall(slug, write=True) as (s, hall):
        booking = bk.cancel(s, hall, bk.find(s, hall, code), now=now())
        return jsonify({"booking": _booking_body(hall, booking)})


CHECKED_IN = obj(
    {
        "booking": BOOKING,
        "ticket": ref("Ticket"),
        "late": {"type": "boolean", "description": "after the window: a walk-in ticket"},
        "already": {"type": "boolean", "description": "checked in before: the same ticket"},
        "message": obj({"vi": {"type": "string"}, "en": {"type": "string"}}),
    },
    ["booking", "ticket", "message"],
)


@bp.post("/halls/<slug>/check-in")
@doc(
    "Check a booking in (by code, or today's booking by phone): its ticket, printed",
    who="kiosk, clerk, manager",
    body=obj(
        {
            "code": {"type": "string", "maxLength": 200, "description": "typed or scanned"},
            "phone": {"type": "string", "maxLength": 30},
        }
    ),
    ok=(201, "the new ticket (with its code, like POST /tickets)", CHECKED_IN),
    also={200: ("already checked in: the same ticket, nothing printed again", CHECKED_IN)},
    errors=(400, 401, 403, 404, 409, 422, 429),
    notes="Too early: 409 check_in_too_early with details.come_back (HH:MM). Late (after the "
    "window): a walk-in ticket, late true. A retry or a second scan answers 200 with the same "
    "ticket (already true) and prints nothing: no Idempotency-Key needed. Logged as "
    "booking.checked_in and ticket.issued.",
)
def check_in(slug: str) -> ResponseReturnValue:
    data = json_body()
    code = field_str(data, "code", required=False, max_len=200)
    phone = field_str(data, "phone", required=False, max_len=30)
    if not code and not phone:
        raise errors.BadRequest(
            vi="Nhập mã đặt lịch hoặc số điện thoại.", en="Give the booking code or the phone."
        )

    with hall_context(slug, *CHECK_IN_ROLES, write=True) as c:
        rate_limit("issue", f"{c.principal.kind}:{c.principal.id}")
        device_id = c.principal.id if c.principal.kind == "device" else None
        printing = current_app.extensions.get("layso.printer")
        prints = device_id is not None and (
            printing is None or printing.will_print(c.session, c.hall.id, device_id)
        )
        done = bk.check_in(
            c.session,
            c.hall,
            code=code,
            phone=phone,
            now=now(),
            device_id=device_id,
            print_state="pending" if prints else "none",
        )
        ticket = done.ticket
        if done.issued is not None and printing is not None:
            printing.issued(
                c.session,
                c.hall,
                ticket,
                base_url=printing.base_url(),
                position=(done.issued.ahead, done.issued.estimated_wait_s),
            )
        if done.issued is not None:
            ahead, wait = done.issued.ahead, done.issued.estimated_wait_s
        else:
            from layso.services.tickets import position

            ahead, wait = position(c.session, c.hall, ticket, now())
        body = {
            "booking": bk.public(c.hall, done.booking),
            "ticket": ser.ticket_for_holder(c.hall, ticket, ahead, wait, public_base_url()),
            "late": done.late,
            "already": done.issued is None,
            "message": {"vi": done.message_vi, "en": done.message_en},
        }
    return jsonify(body), 200 if done.issued is None else 201
