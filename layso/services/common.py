"""What every service shares: the hall lock, the event log, time and queue figures."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from layso import errors
from layso import serializers as ser
from layso.db import PendingEvent, queue_event
from layso.events import Ev
from layso.models import (
    Booking,
    BookingState,
    Counter,
    CounterState,
    Event,
    Hall,
    Service,
    Ticket,
    TicketStatus,
    User,
)
from layso.serializers import iso

DEFAULT_SERVICE_S = 300  # before the day's first finished ticket, assume five minutes
RECENT_SERVICE_SAMPLE = 20
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def tz(hall: Hall) -> ZoneInfo:
    return ZoneInfo(hall.timezone)


def business_date(hall: Hall, now: datetime) -> date:
    """The hall's local date: the day its numbers belong to."""
    return now.astimezone(tz(hall)).date()


# the statements of every write's first lookups, built once (building one costs about as much
# as running it); each takes its values as parameters
_HALL = sa.select(Hall).where(Hall.slug == sa.bindparam("slug", type_=sa.String))
_HALL_LOCKED = _HALL.with_for_update()
_SERVICE = sa.select(Service).where(
    Service.hall_id == sa.bindparam("hall_id", type_=sa.Integer),
    Service.code == sa.bindparam("code", type_=sa.String),
)
_COUNTER = sa.select(Counter).where(
    Counter.hall_id == sa.bindparam("hall_id", type_=sa.Integer),
    Counter.number == sa.bindparam("number", type_=sa.Integer),
)


def by_id(session: Session, stmt: sa.Select[Any], model: type[Any], id_: int) -> Any:
    """``session.get(model, id_)`` through a statement built once (``stmt``, parameter ``id``,
    which may carry loader options): the object already in the session when it is there,
    else one query. Session.get builds its query, and applies its options, on every call."""
    found = session.identity_map.get(identity_key(model, id_))
    if found is not None:
        return found
    return session.scalars(stmt, {"id": id_}).one_or_none()


def get_hall(session: Session, slug: str, *, lock: bool = False) -> Hall:
    """Load a hall; with lock, serialize this hall's writers (a row lock on PostgreSQL)."""
    stmt = _HALL_LOCKED if lock else _HALL
    hall = session.scalars(stmt, {"slug": slug}).one_or_none()
    if hall is None:
        raise errors.UnknownHall(hall=slug)
    return hall


def get_service(session: Session, hall: Hall, code: str) -> Service:
    service = session.scalars(_SERVICE, {"hall_id": hall.id, "code": code}).one_or_none()
    if service is None:
        raise errors.UnknownService(service=code)
    return service


def get_counter(session: Session, hall: Hall, number: int) -> Counter:
    counter = session.scalars(_COUNTER, {"hall_id": hall.id, "number": number}).one_or_none()
    if counter is None:
        raise errors.UnknownCounter(counter=number)
    return counter


def get_ticket(session: Session, hall: Hall, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.hall_id != hall.id:
        raise errors.UnknownTicket()
    return ticket


def is_open_at(hours: dict[str, Any] | None, local: datetime) -> bool:
    """Whether opening hours {"days": [0..6], "ranges": [["07:30","11:30"], ...]} include local."""
    if not hours:
        return True
    days = hours.get("days", list(range(7)))
    if local.weekday() not in days:
        return False
    ranges = hours.get("ranges") or [["00:00", "23:59"]]
    now_t = local.time()
    return any(time.fromisoformat(a) <= now_t < time.fromisoformat(b) for a, b in ranges)


def service_is_open(hall: Hall, service: Service, now: datetime) -> bool:
    local = now.astimezone(tz(hall))
    return service.active and is_open_at(hall.hours, local) and is_open_at(service.hours, local)


def record(
    session: Session,
    hall: Hall,
    name: Ev,
    fields: dict[str, Any],
    *,
    now: datetime,
    ticket: Ticket | None = None,
    counter: Counter | None = None,
    user: User | None = None,
    audience: str = "hall",
) -> None:
    """Append an event to the hall's log (next seq) and queue it for emission after commit.

    The row is written with the transaction's next flush, all of that flush's events in one
    INSERT (:func:`_write_events`), not as an ORM object each."""
    if ticket is not None and name in _TURN_EVENTS:
        from layso.services.notify import turn

        # before the hall's seq moves: its contact is read without flushing this event first
        turn.ticket_event(session, hall, name, ticket, now)
    hall.event_seq += 1  # the hall is now dirty: the next flush writes the events too
    payload = {"seq": hall.event_seq, "hall": hall.slug, "at": iso(hall, now), **fields}
    session.info.setdefault(_EVENT_ROWS, []).append(
        {
            "hall_id": hall.id,
            "seq": hall.event_seq,
            "name": str(name),
            "at": now,
            "ticket_id": ticket.id if ticket else None,
            "counter_id": counter.id if counter else None,
            "user_id": user.id if user else None,
            "audience": audience,
            "payload": payload,
        }
    )
    queue_event(session, PendingEvent(hall.slug, name, audience, payload))


_EVENT_ROWS = "layso.event_rows"


@sa.event.listens_for(Session, "before_flush")
def _write_events_on_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    _write_events(session)


@sa.event.listens_for(Session, "before_commit")
def _write_events(session: Session) -> None:
    """Insert the events recorded since the last flush, in one statement (before the flush
    that writes the hall's new seq, and before any query that could read them)."""
    rows = session.info.pop(_EVENT_ROWS, None)
    if not rows:
        return
    conn = session.connection()
    if len(rows) == 1 or conn.dialect.name == "sqlite":
        conn.execute(Event.__table__.insert(), rows)  # sqlite3's executemany: one C loop
    else:  # one multi-row VALUES: pg8000's executemany is a round trip per row
        conn.execute(Event.__table__.insert().values(rows))


@sa.event.listens_for(Session, "after_soft_rollback")
def _drop_events(session: Session, _previous: Any) -> None:
    session.info.pop(_EVENT_ROWS, None)


# a ticket's "your turn" notices follow these (layso.services.notify.turn)
_TURN_EVENTS = frozenset(
    {
        Ev.TICKET_CALLED,
        Ev.TICKET_CANCELLED,
        Ev.TICKET_NO_SHOW,
        Ev.TICKET_FINISHED,
        Ev.TICKET_EXPIRED,
    }
)


def mean_service_s(session: Session, hall: Hall, service: Service, now: datetime) -> float:
    """Mean service time of the area's most recent finished tickets today."""
    rows = session.execute(
        sa.select(Ticket.started_at, Ticket.finished_at)
        .where(
            Ticket.service_id == service.id,
            Ticket.business_date == business_date(hall, now),
            Ticket.status == TicketStatus.DONE,
            Ticket.started_at.is_not(None),
        )
        .order_by(Ticket.finished_at.desc())
        .limit(RECENT_SERVICE_SAMPLE)
    ).all()
    samples = [(f - s).total_seconds() for s, f in rows if f and s]
    return sum(samples) / len(samples) if samples else float(DEFAULT_SERVICE_S)


def open_counters_for(session: Session, service: Service) -> int:
    from layso.models import CounterService

    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Counter)
            .join(CounterService, CounterService.counter_id == Counter.id)
            .where(
                Counter.hall_id == service.hall_id,
                CounterService.service_id == service.id,
                Counter.state == CounterState.OPEN,
            )
        )
        or 0
    )


def wait_model(session: Session, hall: Hall, service: Service, now: datetime) -> tuple[float, int]:
    """What a wait estimate rests on: the recent mean service time and the open counters."""
    return mean_service_s(session, hall, service, now), max(1, open_counters_for(session, service))


def _queue_figures_statement() -> sa.Select[Any]:
    """The statement of :func:`queue_figures`, built once (parameters: hall, service, day), on
    the tables (Core: run on the connection, it skips the ORM's per-statement work)."""
    from layso.models import CounterService, TicketContact

    ticket, counter = Ticket.__table__.c, Counter.__table__.c
    link, contact = CounterService.__table__.c, TicketContact.__table__.c
    hall_id = sa.bindparam("hall_id", type_=sa.Integer)
    service_id = sa.bindparam("service_id", type_=sa.Integer)
    waiting = (
        ticket.hall_id == hall_id,
        ticket.service_id == service_id,
        ticket.status == TicketStatus.WAITING,
    )
    count = sa.select(sa.func.count()).select_from(Ticket.__table__).where(*waiting)
    prio = sa.select(sa.func.count(ticket.priority)).where(*waiting)
    open_counters = (
        sa.select(sa.func.count())
        .select_from(Counter.__table__)
        .join(CounterService.__table__, link.counter_id == counter.id)
        .where(
            counter.hall_id == hall_id,  # the hall's counters, not every hall's (index on hall)
            link.service_id == service_id,
            counter.state == CounterState.OPEN,
        )
    )
    recent = (
        sa.select(ticket.started_at, ticket.finished_at)
        .where(
            ticket.service_id == service_id,
            ticket.business_date == sa.bindparam("day", type_=sa.Date),
            ticket.status == TicketStatus.DONE,
            ticket.started_at.is_not(None),
        )
        .order_by(ticket.finished_at.desc())
        .limit(RECENT_SERVICE_SAMPLE)
        .subquery()
    )
    # what notify.turn.queue_moved reads when there is any: waiting tickets with a phone to tell
    phones = (
        sa.select(sa.func.count())
        .select_from(TicketContact.__table__)
        .join(Ticket.__table__, ticket.id == contact.ticket_id)
        .where(
            contact.hall_id == hall_id,
            contact.phone.is_not(None),
            contact.near_at.is_(None),
            *waiting,  # the queue's waiting tickets (ix_ticket_queue), then each one's contact
        )
    )
    one = sa.select(sa.literal(1).label("one")).subquery()
    return sa.select(
        count.scalar_subquery(),
        prio.scalar_subquery(),
        open_counters.scalar_subquery(),
        phones.scalar_subquery(),
        recent.c.started_at,
        recent.c.finished_at,
    ).select_from(one.outerjoin(recent, sa.true()))


_QUEUE_FIGURES = _queue_figures_statement()


class QueueFigures(NamedTuple):
    """An area's queue as one write sees it: what queue.changed says and what it rests on."""

    waiting: int
    priority: int  # waiting tickets with a priority
    model: tuple[float, int]  # wait_model: recent mean service time, open counters
    phones: int  # waiting tickets whose holder left a phone and is not yet told "near"


def queue_figures(session: Session, hall: Hall, service: Service, now: datetime) -> QueueFigures:
    """An area's :class:`QueueFigures` in one statement: the counts as scalar subqueries beside
    the recent service times (joined to a one-row select, so that an area with no finished
    ticket today still gives one row). The statement is built once: building it costs more
    than running it."""
    rows = session.execute(
        _QUEUE_FIGURES,
        {"hall_id": hall.id, "service_id": service.id, "day": business_date(hall, now)},
    ).all()
    samples = [(f - s).total_seconds() for *_, s, f in rows if f and s]
    mean = sum(samples) / len(samples) if samples else float(DEFAULT_SERVICE_S)
    first = rows[0]
    return QueueFigures(
        int(first[0] or 0), int(first[1] or 0), (mean, max(1, int(first[2] or 0))), int(first[3])
    )


def estimate_wait_s(
    session: Session,
    hall: Hall,
    service: Service,
    ahead: int,
    now: datetime,
    model: tuple[float, int] | None = None,
) -> int:
    """People ahead × recent mean service time ÷ open counters serving the area.

    ``model``: :func:`wait_model`'s answer when the caller already has it (one write that
    estimates twice reads it once)."""
    mean, counters = model or wait_model(session, hall, service, now)
    return round(ahead * mean / counters)


def waiting_count(session: Session, service: Service) -> int:
    return (
        session.scalar(
            sa.select(sa.func.count()).where(
                Ticket.service_id == service.id, Ticket.status == TicketStatus.WAITING
            )
        )
        or 0
    )


def service_summary(
    session: Session, hall: Hall, service: Service, now: datetime
) -> dict[str, Any]:
    waiting = waiting_count(session, service)
    today = business_date(hall, now)
    issued = session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Ticket.number), None)).where(
            Ticket.issued_service_id == service.id, Ticket.business_date == today
        )
    )
    from layso.services.tickets import numbers_left

    left = numbers_left(session, service, today)
    return {
        "code": service.code,
        "name": service.name,
        "name_en": service.name_en,
        "kind": service.kind.value,
        "prefix": service.prefix,
        "waiting": waiting,
        "estimated_wait_s": estimate_wait_s(session, hall, service, waiting, now),
        "open": service_is_open(hall, service, now),
        "active": service.active,
        "exhausted": left == 0,
        "numbers_left": left,
        "last_number": issued,
        "target_wait_min": service.target_wait_min,
        "open_counters": open_counters_for(session, service),
        "procedures": [p.name for p in service.procedures],
        "position": service.position,
    }


def queue_changed(
    session: Session,
    hall: Hall,
    service: Service,
    now: datetime,
    *,
    waiting: int | None = None,
    model: tuple[float, int] | None = None,
    figures: QueueFigures | None = None,
) -> None:
    """Record the area's new queue length and estimate (``figures``, or ``waiting`` and
    ``model``, when the caller has just read them in this transaction), then tell the holders
    now near their turn (nobody to tell: no read, when ``figures`` says so)."""
    phones: int | None = None
    if figures is None and waiting is None:
        figures = queue_figures(session, hall, service, now)
    if figures is not None:
        waiting, model, phones = figures.waiting, figures.model, figures.phones
    record(
        session,
        hall,
        Ev.QUEUE_CHANGED,
        {
            "service": service.code,
            "waiting": waiting,
            "estimated_wait_s": estimate_wait_s(session, hall, service, waiting or 0, now, model),
        },
        now=now,
    )
    if phones == 0:
        return
    from layso.services.notify import turn

    turn.queue_moved(session, hall, service, now)  # tickets now near their turn are told


def counter_changed(session: Session, hall: Hall, counter: Counter, now: datetime) -> None:
    current = session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None
    record(
        session,
        hall,
        Ev.COUNTER_CHANGED,
        ser.counter_event(hall, counter, current),
        now=now,
        counter=counter,
    )


_BOOKING_FROM_TICKET = {
    TicketStatus.WAITING: BookingState.CHECKED_IN,
    TicketStatus.CALLED: BookingState.CALLED,
    TicketStatus.SERVING: BookingState.CALLED,
    TicketStatus.HELD: BookingState.CALLED,
    TicketStatus.DONE: BookingState.SERVED,
    TicketStatus.NO_SHOW: BookingState.NO_SHOW,
    TicketStatus.CANCELLED: BookingState.CANCELLED,
    TicketStatus.EXPIRED: BookingState.CHECKED_IN,  # the hall closed first: came, not served
}


def follow_ticket(session: Session, ticket: Ticket) -> None:
    """Keep the state of the booking a ticket was checked in from (if any) in step with the
    ticket (services/bookings.py): one UPDATE by the booking's unique ticket_id, none for a
    walk-in's ticket."""
    if not ticket.from_booking:
        return
    session.execute(
        sa.update(Booking)
        .where(Booking.ticket_id == ticket.id)
        .values(state=_BOOKING_FROM_TICKET[ticket.status])
        .execution_options(synchronize_session=False)
    )
