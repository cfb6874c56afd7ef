"""What every service shares: the hall lock, the event log, time and queue figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any, NamedTuple, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_dict, instance_state, set_committed_value
from sqlalchemy.orm.util import identity_key

from layso import errors, rawsql
from layso import serializers as ser
from layso.db import QUEUE_NEWS, PendingEvent, queue_event
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

M = TypeVar("M")

DEFAULT_SERVICE_S = 300  # before the day's first finished ticket, assume five minutes
RECENT_SERVICE_SAMPLE = 20
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def tz(hall: Hall) -> ZoneInfo:
    return ZoneInfo(hall.timezone)


def business_date(hall: Hall, now: datetime) -> date:
    """The hall's local date: the day its numbers belong to."""
    return now.astimezone(tz(hall)).date()


# the statements of every write's first lookups, built once (building one costs about as much
# as running it) on the tables (Core: :func:`load_rows` makes the objects); each takes its
# values as parameters
_HALL_T, _SERVICE_T, _COUNTER_T = Hall.__table__, Service.__table__, Counter.__table__
_HALL = sa.select(_HALL_T).where(_HALL_T.c.slug == sa.bindparam("slug", type_=sa.String))
_HALL_LOCKED = _HALL.with_for_update()
_SERVICE = sa.select(_SERVICE_T).where(
    _SERVICE_T.c.hall_id == sa.bindparam("hall_id", type_=sa.Integer),
    _SERVICE_T.c.code == sa.bindparam("code", type_=sa.String),
)
_COUNTER = sa.select(_COUNTER_T).where(
    _COUNTER_T.c.hall_id == sa.bindparam("hall_id", type_=sa.Integer),
    _COUNTER_T.c.number == sa.bindparam("number", type_=sa.Integer),
)


def on_connection(session: Session, stmt: Any, params: dict[str, Any]) -> sa.CursorResult[Any]:
    """Run a Core statement on the session's connection, after the session's pending changes
    are flushed as before any ORM statement (so that it sees this transaction's changes). The
    ORM's own execution of the same statement costs several times more."""
    return rawsql.execute(session, stmt, params)


def as_stored(value: Any) -> Any:
    """A value as the database hands it back: an aware datetime in UTC (models.UTCDateTime)."""
    return value.astimezone(UTC) if isinstance(value, datetime) else value


def load_rows(
    session: Session, model: type[M], stmt: sa.Select[Any], params: dict[str, Any]
) -> list[M]:
    """The objects of the rows a Core select of ``model``'s whole table finds, as an ORM load
    gives them: one already in the session stays as it is, else a new persistent object is
    filled from its row (clean, every column loaded). An ORM select costs several times more
    than the same statement on the connection (:func:`on_connection`); these lookups start
    every write."""
    rows = on_connection(session, stmt, params).mappings().all()
    return [from_row(session, model, row) for row in rows]


def from_row(session: Session, model: type[M], row: Any) -> M:
    """The session's object of this row of ``model``'s table (every column, by key): the one
    already in the session, as it is, else a new one made from the row (:func:`as_loaded`)."""
    key = _row_key(model, row)
    found = session.identity_map.get(key)
    return found if found is not None else _loaded(session, model, row, key)  # type: ignore[no-any-return]


def as_loaded(session: Session, model: type[M], row: Any) -> M:
    """A persistent object of ``model`` filled from ``row`` (every column, by key), clean, as
    a load from the database leaves it; the row must not be in the session yet.

    The same steps as SQLAlchemy's own loader for a new row (``orm.loading``): a new instance,
    its identity key and session set on its state, the state added to the identity map, the
    values put in its dict. ``make_transient_to_detached`` then ``Session.add`` (the way a
    detached object joins a session, with its attach events and checks) cost five times as
    much, some 20 µs an object, seven objects a call. Like the loader it fires no attach
    event; it fires no ``load`` event either, and none is listened for (a test holds it)."""
    key = _row_key(model, row)
    if key in session.identity_map:  # as Session.add refuses it: two objects for one row
        raise sa.exc.InvalidRequestError(f"{key} is already in the session")
    return _loaded(session, model, row, key)


def _row_key(model: type[Any], row: Any) -> Any:
    """The identity key of ``model``'s row (a one-column primary key, by its key in ``row``)."""
    return identity_key(model, row[sa.inspect(model).primary_key[0].key])


def _loaded(session: Session, model: type[M], row: Any, key: Any) -> M:
    """:func:`as_loaded` of a row whose identity ``key`` is known not to be in the session."""
    obj = sa.inspect(model).class_manager.new_instance()
    state = instance_state(obj)
    state.key = key
    state.identity_token = None
    state.session_id = session.hash_key
    session.identity_map._add_unpresent(state, key)
    instance_dict(obj).update(row)
    return obj  # type: ignore[no-any-return]


def _load_one(
    session: Session, model: type[M], stmt: sa.Select[Any], params: dict[str, Any]
) -> M | None:
    """:func:`load_rows` of a statement that finds at most one row."""
    found = load_rows(session, model, stmt, params)
    return found[0] if found else None


_UPDATES: dict[tuple[Any, tuple[str, ...]], Any] = {}


def write_now(session: Session, obj: Any, **values: Any) -> None:
    """UPDATE these columns of ``obj``'s row at once and keep them on the object as written.

    One Core UPDATE by primary key, built once per table and set of columns; the object is
    left clean for them (nothing for a later flush to write). The unit of work's flush of the
    same change costs about ten times the UPDATE. Other pending changes stay pending."""
    mapper = sa.inspect(obj).mapper
    table = mapper.local_table
    key = (table, tuple(values))
    stmt = _UPDATES.get(key)
    if stmt is None:
        [pk] = table.primary_key.columns
        stmt = _UPDATES[key] = (
            sa.update(table)
            .where(pk == sa.bindparam("pk_", type_=pk.type))
            .values({k: sa.bindparam(k, type_=table.c[k].type) for k in values})
        )
    pk_ = mapper.primary_key_from_instance(obj)[0]
    rawsql.execute(session, stmt, {"pk_": pk_, **values}, flush=False)
    set_loaded(obj, {k: as_stored(v) for k, v in values.items()})


def set_loaded(obj: Any, values: dict[str, Any]) -> None:
    """``set_committed_value`` of each of these attributes (columns, or many-to-one
    relationships): the object holds them as loaded, nothing to flush for them.

    On an object with no change pending, nothing expired and no loader set per attribute (the
    usual case: loaded by this transaction, written by Core), that is putting them in its dict,
    which is all ``set_committed_value`` then does; else it is asked for each, as before."""
    state = instance_state(obj)
    if state.committed_state or state.expired or state.expired_attributes or state.callables:
        for k, v in values.items():
            set_committed_value(obj, k, v)
    else:
        state.dict.update(values)


_BY_ID: dict[Any, sa.Select[Any]] = {}


def by_id(session: Session, model: type[M], id_: int) -> M | None:
    """``session.get(model, id_)`` for a one-column key, without its per-call work: the object
    already in the session when it is there, else one Core select (built once per table)
    whose row becomes the object (:func:`load_rows`)."""
    found = session.identity_map.get(identity_key(model, id_))
    if found is not None:
        return found  # type: ignore[no-any-return]
    stmt = _BY_ID.get(model)
    if stmt is None:
        table = sa.inspect(model).local_table
        [pk] = table.primary_key.columns
        stmt = _BY_ID[model] = sa.select(table).where(pk == sa.bindparam("id", type_=pk.type))
    return _load_one(session, model, stmt, {"id": id_})


def with_service(session: Session, ticket: Ticket) -> Service:
    """The ticket's area, set on it (every event about a ticket names its area): the one in
    the session, else read by :func:`by_id` instead of the relationship's lazy load."""
    state = sa.inspect(ticket)
    if "service" not in state.unloaded:
        return ticket.service
    service = by_id(session, Service, ticket.service_id)
    set_committed_value(ticket, "service", service)
    return service  # type: ignore[return-value]


def get_hall(session: Session, slug: str, *, lock: bool = False) -> Hall:
    """Load a hall; with lock, serialize this hall's writers (a row lock on PostgreSQL)."""
    hall = _load_one(session, Hall, _HALL_LOCKED if lock else _HALL, {"slug": slug})
    if hall is None:
        raise errors.UnknownHall(hall=slug)
    return hall


def get_service(session: Session, hall: Hall, code: str) -> Service:
    service = _load_one(session, Service, _SERVICE, {"hall_id": hall.id, "code": code})
    if service is None:
        raise errors.UnknownService(service=code)
    return service


def get_counter(session: Session, hall: Hall, number: int) -> Counter:
    counter = _load_one(session, Counter, _COUNTER, {"hall_id": hall.id, "number": number})
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

    The row is written, with the others of this transaction not yet written, in one INSERT
    (:func:`write_events`): before the next statement the session runs, before a flush, at
    the latest before the commit, so that any read in this transaction sees it. The hall's new
    seq is kept on the hall object as already written (no unit-of-work flush of the hall) and
    stored once, before the commit: one UPDATE for all of the transaction's events."""
    if ticket is not None and name in _TURN_EVENTS:
        from layso.services.notify import turn

        # before the hall's seq moves: its contact is read without this event
        turn.ticket_event(session, hall, name, ticket, now)
    seq = hall.event_seq + 1
    set_loaded(hall, {"event_seq": seq})
    payload = {"seq": seq, "hall": hall.slug, "at": iso(hall, now), **fields}
    session.info.setdefault(_EVENT_ROWS, []).append(
        {
            "hall_id": hall.id,
            "seq": seq,
            "name": str(name),
            "at": now,
            "ticket_id": ticket.id if ticket else None,
            "counter_id": counter.id if counter else None,
            "user_id": user.id if user else None,
            "audience": audience,
            "payload": payload,
        }
    )
    session.info.setdefault(_EVENT_SEQS, {})[hall.id] = seq
    queue_event(session, PendingEvent(hall.slug, name, audience, payload))


_EVENT_COLUMNS = (
    "hall_id", "seq", "name", "at", "ticket_id", "counter_id", "user_id", "audience", "payload"
)  # fmt: skip
_INSERT_EVENTS = Event.__table__.insert()  # several rows in one statement, on PostgreSQL
_INSERT_EVENT = sa.insert(Event.__table__).values(
    {k: sa.bindparam(k, type_=Event.__table__.c[k].type) for k in _EVENT_COLUMNS}
)
_STORE_SEQ = (
    sa.update(Hall.__table__)
    .where(Hall.__table__.c.id == sa.bindparam("hall"))
    .values(event_seq=sa.bindparam("seq", type_=sa.BigInteger))
)
_EVENT_ROWS = "layso.event_rows"
_EVENT_SEQS = "layso.event_seqs"


def write_events(session: Session) -> None:
    """Insert the events recorded and not yet written, in one statement: sqlite3's
    executemany (one C loop), or one multi-row VALUES on PostgreSQL (pg8000's executemany is
    a round trip per row). Run by the session's hooks below; the reads made on the connection
    instead (:func:`load_rows`, :func:`queue_figures`) read no events."""
    rows = session.info.pop(_EVENT_ROWS, None)
    if not rows:
        return
    if len(rows) > 1 and session.get_bind().dialect.name != "sqlite":
        session.connection().execute(_INSERT_EVENTS.values(rows))
    else:
        rawsql.execute_many(session, _INSERT_EVENT, rows)


@sa.event.listens_for(Session, "do_orm_execute")
def _write_events_before_a_statement(state: Any) -> None:
    if _EVENT_ROWS in state.session.info:
        write_events(state.session)


@sa.event.listens_for(Session, "before_flush")
def _write_events_before_a_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    write_events(session)


@sa.event.listens_for(Session, "before_commit")
def _store_events(session: Session) -> None:
    """The events not yet written, then each hall's last seq of this transaction."""
    write_events(session)
    seqs = session.info.pop(_EVENT_SEQS, None)
    if not seqs:
        return
    for hall_id, seq in seqs.items():
        rawsql.execute(session, _STORE_SEQ, {"hall": hall_id, "seq": seq}, flush=False)


@sa.event.listens_for(Session, "after_soft_rollback")
def _drop_events(session: Session, _previous: Any) -> None:
    session.info.pop(_EVENT_ROWS, None)
    session.info.pop(_EVENT_SEQS, None)


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
    rows = on_connection(
        session,
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
    """The area's queue moved: record its new length and estimate (``figures``, or ``waiting``
    and ``model``, when the caller has just read them in this transaction), then tell the
    holders now near their turn (nobody to tell: no read, when ``figures`` says so).

    Under the server this only notes the area: :mod:`layso.services.queue_news` records one
    ``queue.changed`` for it after the commit, with the figures as they are then, however many
    writes moved it meanwhile (:func:`figures_later` says when)."""
    news = session.info.get(QUEUE_NEWS)
    if news is not None:
        news.later(session, hall, service)
        return
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


def figures_later(session: Session) -> bool:
    """Whether this write's queue.changed is recorded after it (the caller need not read
    figures for it)."""
    return QUEUE_NEWS in session.info


def counter_changed(
    session: Session,
    hall: Hall,
    counter: Counter,
    now: datetime,
    *,
    shown: dict[str, Any] | None = None,
    cause: str | None = None,
) -> None:
    """Record the counter's ``counter.changed``; `shown`: its ticket as an event of this
    transaction just drew it, in the same state (not drawn twice); `cause`: the name of that
    event when it is a call or a start that tells all of this change to some devices
    (:data:`layso.services.state.DEVICE_KNOWS`), else None."""
    current = None
    if shown is None and counter.current_ticket_id:
        current = by_id(session, Ticket, counter.current_ticket_id)
    fields = ser.counter_event(hall, counter, current, shown=shown)
    fields["cause"] = cause
    record(session, hall, Ev.COUNTER_CHANGED, fields, now=now, counter=counter)


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
