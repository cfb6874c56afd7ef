"""Appointments and remote numbers: slots, booking, cancelling, check-in, expiry and purge.

No Flask: the caller passes the time (``now``), the hall (locked for writes, as every write in
Layso) and, for ID numbers, the server's hashing key. Everything happens in the caller's
transaction and appends events to the hall's log (:func:`layso.services.common.record`).

Vocabulary
- A **booking** (:class:`layso.models.Booking`) is for one area and one business day: either an
  appointment (``slot_start`` set, a slot of the area's :class:`SlotTemplate`) or a **remote
  number** for today (``slot_start`` null). Its ``code`` (6 characters of :data:`CODE_ALPHABET`,
  no 0/O/1/I) is what the citizen types or scans at the kiosk.
- **Rules** (:class:`Rules`, :func:`rules_for`): a hall's :class:`BookingRule` row (service_id
  null) and the area's row, whose non-null fields win; :data:`DEFAULTS` below them.
- **State**: booked → checked_in (a ticket was issued) → called → served, or no_show, or
  cancelled. The ticket drives it after check-in (:func:`follow_ticket`, called by the counter
  and ticket services); a booking never checked in becomes no_show once its day is over
  (:func:`expire`).

The API others build on
- ``rules_for(session, hall, service) -> Rules``; ``set_rules(session, hall, service|None, **f)``
- ``bookable_days(session, hall, service, now)``, ``slots(session, hall, service, day, now)``
  → list of :class:`Slot` (with ``free`` places)
- ``book(session, hall, service_code=, day=, slot=, phone=, id_number=, id_key=, now=)``
  → Booking; refusals are :mod:`layso.errors` with stable codes (booking_closed, bad_phone,
  id_required, bad_id_number, day_out_of_range, day_closed, no_such_slot, slot_past, slot_full,
  kept_for_walk_ins, quota_per_day, quota_per_area, remote_numbers_off, remote_number_not_today)
- ``find(session, hall, code)``, ``cancel(session, hall, booking, now=)``
- ``check_in(session, hall, code=|phone=, now=, device_id=, print_state=) -> CheckIn``
  (the ticket through :func:`layso.services.tickets.issue_ticket`; the caller adds the print
  job in the same transaction, as ``POST /tickets`` does)
- ``follow_ticket(session, ticket)``: keep a booking's state in step with its ticket
- ``expire(session, hall, now)``, ``purge(session, hall, now) -> int``: day-end no-shows and
  the deletion of personal data after ``retention_days`` (run by the server every few hours,
  and by ``layso bookings purge``)
- ``public(hall, booking)``: the booking as pages and exports show it (phone and ID masked);
  ``mask_phone``, ``mask_id``, ``normalize_phone``, ``normalize_id``, ``hash_id``

The merge rule (how a checked-in booking's ticket is called against walk-ins) lives in
:mod:`layso.services.next_ticket`; this module only sets the ticket's ``booked_for`` (the slot
time) and ``queued_at`` (when it becomes callable: slot time minus the area's lead).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.events import Ev
from layso.models import (
    Booking,
    BookingRule,
    BookingState,
    Closure,
    DailyNumber,
    Hall,
    Service,
    SlotTemplate,
    Ticket,
)
from layso.serializers import iso
from layso.services import notify
from layso.services.common import (
    business_date,
    follow_ticket,
    get_service,
    is_open_at,
    record,
    tz,
)
from layso.services.notify import turn
from layso.services.tickets import Issued, issue_ticket

logger = logging.getLogger(__name__)

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed safely
CODE_LEN = 6
ACTIVE = (BookingState.BOOKED, BookingState.CHECKED_IN, BookingState.CALLED, BookingState.SERVED)


@dataclass(frozen=True)
class Rules:
    """A hall's or an area's booking settings (see :class:`layso.models.BookingRule`)."""

    enabled: bool = True
    remote_numbers: bool = False
    days_ahead: int = 6  # today … today + 6
    per_person_day: int = 2  # bookings per phone / ID per day, all areas (Hà Nội: 2)
    per_person_area_day: int = 1  # … and per area (Hà Nội: 1)
    walk_in_reserve: int = 0  # the area's last numbers of a day, never booked
    checkin_before_min: int = 15
    checkin_after_min: int = 10
    lead_min: int = 5  # a checked-in booking is callable from slot time minus this
    require_id: bool = False
    retention_days: int = 30


DEFAULTS = Rules()
RULE_FIELDS = tuple(f.name for f in fields(Rules))


@dataclass(frozen=True)
class Slot:
    start: datetime  # UTC
    local: str  # "08:15", hall-local
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)


@dataclass(frozen=True)
class CheckIn:
    """What a check-in did: the booking, its ticket (new, or the one it already had)."""

    booking: Booking
    ticket: Ticket
    issued: Issued | None  # None when the booking was already checked in (a retry)
    late: bool
    message_vi: str
    message_en: str


# --- rules -----------------------------------------------------------------------------------


def _rule_rows(session: Session, hall: Hall, service: Service | None) -> list[BookingRule]:
    ids = [None] if service is None else [None, service.id]
    rows = session.scalars(
        sa.select(BookingRule).where(
            BookingRule.hall_id == hall.id,
            sa.or_(
                BookingRule.service_id.is_(None),
                BookingRule.service_id.in_([i for i in ids if i is not None]),
            ),
        )
    ).all()
    return sorted(rows, key=lambda r: r.service_id is not None)  # hall first, the area wins


def rules_for(session: Session, hall: Hall, service: Service | None) -> Rules:
    """The effective rules of an area (or of the hall, service None)."""
    rules = DEFAULTS
    for row in _rule_rows(session, hall, service):
        given = {k: getattr(row, k) for k in RULE_FIELDS if getattr(row, k) is not None}
        rules = replace(rules, **given)
    return rules


def set_rules(session: Session, hall: Hall, service: Service | None, **values: Any) -> BookingRule:
    """Set some fields of the hall's (service None) or an area's rules; None clears a field
    (an area then follows the hall, the hall the default)."""
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise errors.BadRequest(
            vi=f"Không có thiết lập {', '.join(sorted(unknown))}.",
            en=f"No such setting: {', '.join(sorted(unknown))}.",
        )
    for k, v in values.items():
        if v is None:
            continue
        if isinstance(DEFAULTS.__getattribute__(k), bool):
            if not isinstance(v, bool):
                raise errors.BadRequest(vi=f"{k}: cần đúng/sai.", en=f"{k}: give true or false.")
        elif not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= 3650:
            raise errors.BadRequest(
                vi=f"{k}: cần một số nguyên từ 0 đến 3650.", en=f"{k}: give a whole number 0–3650."
            )
    row = session.scalars(
        sa.select(BookingRule).where(
            BookingRule.hall_id == hall.id,
            BookingRule.service_id.is_(None)
            if service is None
            else BookingRule.service_id == service.id,
        )
    ).first()
    if row is None:
        row = BookingRule(hall_id=hall.id, service_id=service.id if service else None)
        session.add(row)
    for k, v in values.items():
        setattr(row, k, v)
    session.flush()
    return row


# --- personal data -----------------------------------------------------------------------------


def normalize_phone(text: str | None) -> str:
    """A Vietnamese phone number as 10 (mobile) or 11 (landline) digits from 0: '+84 912-345-678'
    and '84912345678' become '0912345678'. Anything else is refused (bad_phone)."""
    digits = re.sub(r"[\s.\-()]", "", text or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = "0" + digits[2:]
    if not re.fullmatch(r"0[1-9]\d{8,9}", digits):
        raise errors.BadPhone()
    return digits


def normalize_id(text: str | None) -> str:
    """A citizen ID (CCCD) number: exactly 12 digits, spaces ignored."""
    digits = re.sub(r"\s", "", text or "")
    if not re.fullmatch(r"\d{12}", digits):
        raise errors.BadIdNumber()
    return digits


def hash_id(id_key: str | bytes, id_number: str) -> str:
    """HMAC-SHA256 of the ID number under the server's key: equal IDs match, none can be read
    back (nor found by hashing all 10^12 numbers without the key)."""
    key = id_key.encode() if isinstance(id_key, str) else id_key
    return hmac.new(key, b"layso-id:" + id_number.encode(), hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    """'0912345678' → '091****678'."""
    if not phone:
        return None
    return phone[:3] + "*" * (len(phone) - 6) + phone[-3:]


def mask_id(id_last: str | None) -> str | None:
    """The ID's last digits as they may be shown: '*********789'."""
    return "*" * (12 - len(id_last)) + id_last if id_last else None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LEN))


def clean_code(text: str | None) -> str:
    """What a person typed or a scanner sent: upper case, no spaces or dashes; a QR of a URL
    ending in the code (…/dat-lich/ma/AB3XY7) gives its last part."""
    text = (text or "").strip()
    if "/" in text:
        text = text.rstrip("/").rsplit("/", 1)[-1]
    return re.sub(r"[\s\-]", "", text).upper()[:20]


# --- days and slots ----------------------------------------------------------------------------


def _local(hall: Hall, day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=tz(hall)).astimezone(UTC)


def closure_on(session: Session, hall: Hall, service: Service, day: date) -> Closure | None:
    return session.scalars(
        sa.select(Closure).where(
            Closure.hall_id == hall.id,
            Closure.day == day,
            sa.or_(Closure.service_id.is_(None), Closure.service_id == service.id),
        )
    ).first()


def last_day(hall: Hall, rules: Rules, now: datetime) -> date:
    return business_date(hall, now) + timedelta(days=rules.days_ahead)


def _slot_starts(session: Session, hall: Hall, service: Service, day: date) -> dict[datetime, int]:
    """Every slot start of the area's templates on this day (within the hall's and the area's
    hours) → its capacity (templates that overlap add up)."""
    found: dict[datetime, int] = {}
    templates = session.scalars(
        sa.select(SlotTemplate).where(
            SlotTemplate.hall_id == hall.id,
            SlotTemplate.service_id == service.id,
            SlotTemplate.active.is_(True),
        )
    )
    for t in templates:
        if day.weekday() not in (t.weekdays or []):
            continue
        start, end = _local(hall, day, t.start), _local(hall, day, t.end)
        step = timedelta(minutes=max(1, t.slot_min))
        at = start
        while at < end:
            local = at.astimezone(tz(hall))
            if is_open_at(hall.hours, local) and is_open_at(service.hours, local):
                found[at] = found.get(at, 0) + t.capacity
            at += step
    return found


def has_templates(session: Session, hall: Hall, service: Service) -> bool:
    """Whether the area has any active slot template (one cheap read before computing days)."""
    found = session.scalar(
        sa.select(SlotTemplate.id)
        .where(
            SlotTemplate.hall_id == hall.id,
            SlotTemplate.service_id == service.id,
            SlotTemplate.active.is_(True),
        )
        .limit(1)
    )
    return found is not None


def _booked_per_slot(session: Session, hall: Hall, service: Service, day: date) -> dict[Any, int]:
    rows = session.execute(
        sa.select(Booking.slot_start, sa.func.count())
        .where(
            Booking.hall_id == hall.id,
            Booking.service_id == service.id,
            Booking.business_date == day,
            Booking.state != BookingState.CANCELLED,
        )
        .group_by(Booking.slot_start)
    ).all()
    return {start: int(n) for start, n in rows}


def slots(session: Session, hall: Hall, service: Service, day: date, now: datetime) -> list[Slot]:
    """The area's slots of a day that are still ahead, with their free places; none on a
    closed day or outside the booking horizon."""
    rules = rules_for(session, hall, service)
    today = business_date(hall, now)
    if not (rules.enabled and service.active) or not today <= day <= last_day(hall, rules, now):
        return []
    if closure_on(session, hall, service, day) is not None:
        return []
    return _open_day_slots(session, hall, service, day, now)


def _open_day_slots(
    session: Session, hall: Hall, service: Service, day: date, now: datetime
) -> list[Slot]:
    """:func:`slots` of a day already known bookable (in the horizon, not closed)."""
    booked = _booked_per_slot(session, hall, service, day)
    return [
        Slot(at, at.astimezone(tz(hall)).strftime("%H:%M"), cap, booked.get(at, 0))
        for at, cap in sorted(_slot_starts(session, hall, service, day).items())
        if at > now
    ]


def bookable_days(
    session: Session, hall: Hall, service: Service, now: datetime
) -> list[dict[str, Any]]:
    """Today … the last bookable day: each with its free places, or why it is closed."""
    rules = rules_for(session, hall, service)
    today = business_date(hall, now)
    out = []
    if not (rules.enabled and service.active):
        return out
    for n in range(rules.days_ahead + 1):
        day = today + timedelta(days=n)
        closure = closure_on(session, hall, service, day)
        free = 0
        if closure is None:  # the day is in the horizon: no need for slots() to check it again
            free = sum(s.free for s in _open_day_slots(session, hall, service, day, now))
        out.append(
            {
                "date": day.isoformat(),
                "weekday": day.weekday(),
                "closed": closure is not None,
                "reason": closure.reason if closure else None,
                "reason_en": closure.reason_en if closure else None,
                "free": free,
                "remote_number": n == 0 and remote_number_open(session, hall, service, now),
            }
        )
    return out


def remote_number_open(session: Session, hall: Hall, service: Service, now: datetime) -> bool:
    rules = rules_for(session, hall, service)
    today = business_date(hall, now)
    local = now.astimezone(tz(hall))
    return (
        rules.enabled
        and rules.remote_numbers
        and service.active
        and closure_on(session, hall, service, today) is None
        and is_open_at(hall.hours, local)
        and is_open_at(service.hours, local)
        and _numbers_free(session, service, today, rules) > 0
    )


def _numbers_free(session: Session, service: Service, day: date, rules: Rules) -> int:
    """Numbers of the area's day not yet issued, promised to a booking or kept for walk-ins."""
    total = (service.last_number - service.first_number) // service.step + 1
    if service.daily_cap:
        total = min(total, service.daily_cap)
    issued = (
        session.scalar(
            sa.select(DailyNumber.issued).where(
                DailyNumber.service_id == service.id, DailyNumber.business_date == day
            )
        )
        or 0
    )
    promised = (
        session.scalar(
            sa.select(sa.func.count()).where(
                Booking.service_id == service.id,
                Booking.business_date == day,
                Booking.state == BookingState.BOOKED,
            )
        )
        or 0
    )
    return total - issued - promised - rules.walk_in_reserve


# --- booking -----------------------------------------------------------------------------------


def _count(session: Session, hall: Hall, day: date, who: Any, service: Service | None) -> int:
    where = [
        Booking.hall_id == hall.id,
        Booking.business_date == day,
        Booking.state.in_(ACTIVE),
        who,
    ]
    if service is not None:
        where.append(Booking.service_id == service.id)
    return session.scalar(sa.select(sa.func.count()).where(*where)) or 0


def _check_quota(
    session: Session, hall: Hall, service: Service, day: date, rules: Rules, people: list[Any]
) -> None:
    for who in people:
        if _count(session, hall, day, who, None) >= rules.per_person_day:
            raise errors.QuotaPerDay(limit=rules.per_person_day)
        if _count(session, hall, day, who, service) >= rules.per_person_area_day:
            raise errors.QuotaPerArea(limit=rules.per_person_area_day)


def book(
    session: Session,
    hall: Hall,
    *,
    service_code: str,
    day: date,
    slot: str | None,
    phone: str | None,
    id_number: str | None = None,
    id_key: str | bytes = b"",
    now: datetime,
) -> Booking:
    """Book a slot ("08:15", hall-local, on `day`) or, with slot None, a remote number for
    today. Refusals change nothing and say why (see the module docstring for the codes)."""
    service = get_service(session, hall, service_code)
    rules = rules_for(session, hall, service)
    if not (rules.enabled and service.active):
        raise errors.BookingClosed(service=service.name)
    phone_n = normalize_phone(phone)
    id_n = None
    if id_number not in (None, ""):
        id_n = normalize_id(id_number)
    elif rules.require_id:
        raise errors.IdRequired()
    today = business_date(hall, now)
    if not today <= day <= last_day(hall, rules, now):
        raise errors.BadDay(last=last_day(hall, rules, now).strftime("%d/%m/%Y"))
    closure = closure_on(session, hall, service, day)
    if closure is not None:
        raise errors.DayClosed(
            day=day.strftime("%d/%m/%Y"),
            reason=closure.reason or "nghỉ",
            reason_en=closure.reason_en or closure.reason or "closed",
        )
    start: datetime | None = None
    if slot is None:
        if not rules.remote_numbers:
            raise errors.RemoteNumbersOff(service=service.name)
        if day != today:
            raise errors.RemoteNumberNotToday()
        local = now.astimezone(tz(hall))
        if not (is_open_at(hall.hours, local) and is_open_at(service.hours, local)):
            raise errors.ServiceClosed(service=service.name)
    else:
        try:
            start = _local(hall, day, slot)
        except ValueError:
            raise errors.NoSuchSlot(slot=slot[:8], day=day.strftime("%d/%m/%Y")) from None
        capacity = _slot_starts(session, hall, service, day).get(start)
        if capacity is None:
            raise errors.NoSuchSlot(slot=slot, day=day.strftime("%d/%m/%Y"))
        if start <= now:
            raise errors.SlotPast(slot=slot)
        if _booked_per_slot(session, hall, service, day).get(start, 0) >= capacity:
            raise errors.SlotFull(slot=slot, day=day.strftime("%d/%m/%Y"))
    if _numbers_free(session, service, day, rules) <= 0:
        raise errors.KeptForWalkIns(service=service.name, day=day.strftime("%d/%m/%Y"))
    id_h = hash_id(id_key, id_n) if id_n else None
    people = [Booking.phone == phone_n] + ([Booking.id_hash == id_h] if id_h else [])
    _check_quota(session, hall, service, day, rules, people)
    booking = Booking(
        hall_id=hall.id,
        service_id=service.id,
        business_date=day,
        slot_start=start,
        code=_unique_code(session, hall),
        phone=phone_n,
        id_hash=id_h,
        id_last=id_n[-3:] if id_n else None,
        state=BookingState.BOOKED,
        created_at=now,
    )
    booking.service = service
    session.add(booking)
    session.flush()
    _event(session, hall, Ev.BOOKING_CREATED, booking, now)
    logger.info("hall %s: booking %s for %s %s", hall.slug, booking.code, service.code, day)
    return booking


def _unique_code(session: Session, hall: Hall) -> str:
    while True:  # 32^6 ≈ 10^9 codes: a clash is rare, and checked
        code = new_code()
        taken = session.scalar(
            sa.select(Booking.id).where(Booking.hall_id == hall.id, Booking.code == code)
        )
        if taken is None:
            return code


def find(session: Session, hall: Hall, code: str | None) -> Booking:
    code = clean_code(code)
    booking = None
    if code:
        booking = session.scalars(
            sa.select(Booking).where(Booking.hall_id == hall.id, Booking.code == code)
        ).one_or_none()
    if booking is None:
        raise errors.UnknownBooking()
    return booking


def cancel(session: Session, hall: Hall, booking: Booking, *, now: datetime) -> Booking:
    """Cancel a booking not yet checked in; cancelling twice changes nothing. Once checked in
    the ticket is what to cancel (the phone page's "Hủy số")."""
    if booking.state == BookingState.CANCELLED:
        return booking
    if booking.state != BookingState.BOOKED:
        raise errors.BookingNotActive(
            code=booking.code, state=booking.state.value, action="hủy", action_en="cancelled"
        )
    booking.state = BookingState.CANCELLED
    booking.cancelled_at = now
    session.flush()
    _event(session, hall, Ev.BOOKING_CANCELLED, booking, now)
    return booking


# --- check-in ----------------------------------------------------------------------------------


def window(hall: Hall, rules: Rules, booking: Booking) -> tuple[datetime, datetime] | None:
    """When an appointment can be checked in (UTC); None for a remote number (all day)."""
    if booking.slot_start is None:
        return None
    return (
        booking.slot_start - timedelta(minutes=rules.checkin_before_min),
        booking.slot_start + timedelta(minutes=rules.checkin_after_min),
    )


def _hhmm(hall: Hall, at: datetime) -> str:
    return at.astimezone(tz(hall)).strftime("%H:%M")


def _for_phone(session: Session, hall: Hall, phone: str, now: datetime) -> Booking:
    """Of a phone's bookings today, the first by slot whose window has opened (else the first:
    its too-early answer says when to come back)."""
    rows = list(
        session.scalars(
            sa.select(Booking)
            .where(
                Booking.hall_id == hall.id,
                Booking.phone == phone,
                Booking.business_date == business_date(hall, now),
                Booking.state == BookingState.BOOKED,
            )
            .order_by(Booking.slot_start.is_(None), Booking.slot_start, Booking.id)
        )
    )
    if not rows:
        raise errors.UnknownBooking()
    for b in rows:
        w = window(hall, rules_for(session, hall, b.service), b)
        if w is None or w[0] <= now:
            return b
    return rows[0]


def check_in(
    session: Session,
    hall: Hall,
    *,
    code: str | None = None,
    phone: str | None = None,
    now: datetime,
    device_id: int | None = None,
    print_state: str | None = None,
) -> CheckIn:
    """Check a booking in at the kiosk, by its code or (today) the phone it was booked with.

    - before the window: refused, check_in_too_early, with the time to come back (come_back);
    - in the window: a ticket of the area, booked_for = the slot, callable from slot − lead;
    - after the window: a plain walk-in ticket, and the message says so (late);
    - a remote number: a walk-in ticket that keeps the place taken when it was booked (at
      most the area's target wait ahead of a ticket taken now);
    - already checked in: the same ticket again, nothing new (a retry, a second scan).
    The ticket goes through :func:`issue_ticket` (gap-free number, ``ticket.issued``); the
    caller creates its print job in this same transaction."""
    if code:
        booking = find(session, hall, code)
    elif phone:
        booking = _for_phone(session, hall, normalize_phone(phone), now)
    else:
        raise errors.UnknownBooking()
    service = booking.service
    rules = rules_for(session, hall, service)
    today = business_date(hall, now)
    if booking.ticket_id is not None and booking.state != BookingState.CANCELLED:
        ticket = session.get(Ticket, booking.ticket_id)
        assert ticket is not None
        return CheckIn(booking, ticket, None, booking.late, *_said(hall, booking, ticket))
    if booking.state != BookingState.BOOKED:
        raise errors.BookingNotActive(
            code=booking.code,
            state=booking.state.value,
            action="xác nhận",
            action_en="checked in",
        )
    if booking.business_date != today:
        day = booking.business_date.strftime("%d/%m/%Y")
        raise errors.CheckInOtherDay(code=booking.code, day=day)
    w = window(hall, rules, booking)
    late = False
    booked_for: datetime | None = None
    queued_at: datetime | None = None
    if w is None:
        # a remote number keeps the place taken when it was booked, but never counts as having
        # waited longer than the area's target: checking in hours later jumps nobody's wait
        head_start = timedelta(minutes=service.target_wait_min)
        queued_at = min(now, max(booking.created_at, now - head_start))
    elif now < w[0]:
        raise errors.CheckInTooEarly(
            slot=_hhmm(hall, booking.slot_start),
            come_back=_hhmm(hall, w[0]),  # type: ignore[arg-type]
        )
    elif now > w[1]:
        late = True  # a plain walk-in from now
    else:
        booked_for = booking.slot_start
        assert booked_for is not None
        queued_at = booked_for - timedelta(minutes=rules.lead_min)  # slot order
    issued = issue_ticket(
        session,
        hall,
        service_code=service.code,
        priority=None,
        now=now,
        device_id=device_id,
        print_state=print_state,
        booked_for=booked_for,
        queued_at=queued_at,
        from_booking=True,
    )
    booking.state = BookingState.CHECKED_IN
    booking.checked_in_at = now
    booking.late = late
    booking.ticket_id = issued.ticket.id
    session.flush()
    if booking.phone and notify.normalize_phone(booking.phone) is not None:
        # "your turn is near" to the phone it was booked with (services/notify)
        turn.remember_phone(session, hall, issued.ticket, booking.phone, now=now)
    _event(session, hall, Ev.BOOKING_CHECKED_IN, booking, now, ticket=issued.ticket)
    return CheckIn(booking, issued.ticket, issued, late, *_said(hall, booking, issued.ticket))


def _said(hall: Hall, booking: Booking, ticket: Ticket) -> tuple[str, str]:
    n = ticket.display_number
    if booking.late:
        return (
            f"Bạn đến muộn so với giờ hẹn {_hhmm(hall, booking.slot_start)}: số {n} được xếp "  # type: ignore[arg-type]
            "như người đến trực tiếp.",
            f"You are late for your {_hhmm(hall, booking.slot_start)} booking: number {n} "  # type: ignore[arg-type]
            "joins the queue as a walk-in.",
        )
    if ticket.booked_for is not None:
        t = _hhmm(hall, ticket.booked_for)
        return (
            f"Đã xác nhận lịch hẹn {t}. Số của bạn là {n}; bạn sẽ được mời theo giờ hẹn.",
            f"Booking for {t} checked in. Your number is {n}; you will be called at your time.",
        )
    return (
        f"Đã xác nhận số từ xa. Số của bạn là {n}.",
        f"Remote number checked in. Your number is {n}.",
    )


# --- following the ticket, the day's end, deleting personal data -------------------------------


def expire(session: Session, hall: Hall, now: datetime) -> int:
    """Bookings of past days never checked in become no_show (one event each); how many."""
    stale = list(
        session.scalars(
            sa.select(Booking).where(
                Booking.hall_id == hall.id,
                Booking.business_date < business_date(hall, now),
                Booking.state == BookingState.BOOKED,
            )
        )
    )
    for b in stale:
        b.state = BookingState.NO_SHOW
        _event(session, hall, Ev.BOOKING_NO_SHOW, b, now)
    session.flush()
    return len(stale)


def purge(session: Session, hall: Hall, now: datetime) -> int:
    """One hall (locked by the caller): expire its past days' bookings, then empty the phone,
    the ID hash and the ID's last digits of bookings whose day is more than `retention_days`
    ago (per area's rules). What stays (area, day, slot, state, times, ticket) carries no
    personal data. Returns how many bookings were emptied."""
    expire(session, hall, now)
    today = business_date(hall, now)
    total = 0
    for service in session.scalars(sa.select(Service).where(Service.hall_id == hall.id)):
        keep = rules_for(session, hall, service).retention_days
        total += session.execute(
            sa.update(Booking)
            .where(
                Booking.hall_id == hall.id,
                Booking.service_id == service.id,
                Booking.business_date < today - timedelta(days=keep),
                Booking.purged_at.is_(None),
            )
            .values(phone=None, id_hash=None, id_last=None, purged_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount
    if total:
        logger.info("hall %s: personal data of %s booking(s) deleted", hall.slug, total)
    return total


# --- how a booking is shown --------------------------------------------------------------------


def public(hall: Hall, booking: Booking) -> dict[str, Any]:
    """The booking as pages, events and exports show it: phone and ID masked, never the hash."""
    slot = booking.slot_start
    return {
        "code": booking.code,
        "service": booking.service.code,
        "service_name": booking.service.name,
        "service_name_en": booking.service.name_en,
        "date": booking.business_date.isoformat(),
        "slot": _hhmm(hall, slot) if slot else None,
        "slot_start": iso(hall, slot),
        "remote_number": slot is None,
        "state": booking.state.value,
        "late": booking.late,
        "phone": mask_phone(booking.phone),
        "id_number": mask_id(booking.id_last),
        "created_at": iso(hall, booking.created_at),
        "checked_in_at": iso(hall, booking.checked_in_at),
        "cancelled_at": iso(hall, booking.cancelled_at),
        "ticket": booking.ticket.display_number if booking.ticket else None,
    }


def _event(
    session: Session,
    hall: Hall,
    name: Ev,
    booking: Booking,
    now: datetime,
    *,
    ticket: Ticket | None = None,
) -> None:
    record(
        session,
        hall,
        name,
        {"booking": public(hall, booking)},
        now=now,
        ticket=ticket,
        audience="managers",
    )


def day_bookings(
    session: Session, hall: Hall, day: date, service: Service | None = None
) -> list[Booking]:
    """A day's bookings (for the managers' page and exports), by slot."""
    where = [Booking.hall_id == hall.id, Booking.business_date == day]
    if service is not None:
        where.append(Booking.service_id == service.id)
    return list(
        session.scalars(
            sa.select(Booking)
            .where(*where)
            .order_by(Booking.slot_start.is_(None), Booking.slot_start, Booking.id)
        )
    )


__all__ = [
    "CODE_ALPHABET",
    "DEFAULTS",
    "CheckIn",
    "Rules",
    "Slot",
    "book",
    "bookable_days",
    "cancel",
    "check_in",
    "clean_code",
    "closure_on",
    "day_bookings",
    "expire",
    "find",
    "follow_ticket",
    "has_templates",
    "hash_id",
    "mask_id",
    "mask_phone",
    "normalize_id",
    "normalize_phone",
    "public",
    "purge",
    "remote_number_open",
    "rules_for",
    "set_rules",
    "slots",
    "window",
]
