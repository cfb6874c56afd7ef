"""Issuing tickets: gap-free daily numbers per area, position in the queue, rating, suggestions."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from layso import errors, rawsql
from layso import serializers as ser
from layso.events import Ev
from layso.models import (
    Counter,
    DailyNumber,
    Device,
    Hall,
    PriorityPolicy,
    PriorityReason,
    Rating,
    Service,
    Suggestion,
    Ticket,
    TicketStatus,
    User,
)
from layso.services.common import (
    QueueFigures,
    as_loaded,
    as_stored,
    business_date,
    estimate_wait_s,
    follow_ticket,
    get_service,
    queue_changed,
    queue_figures,
    record,
    service_is_open,
    wait_model,
)

logger = logging.getLogger(__name__)

MAX_TEXT = 2000
MAX_CONTACT = 200


@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    ahead: int
    estimated_wait_s: int


def format_number(service: Service, number: int) -> str:
    """'A' + 23 in A001–A999 → 'A023'; 1023 in 1001–1999 → '1023'."""
    width = len(str(service.last_number))
    return f"{service.prefix}{number:0{width}d}"


def numbers_left(session: Session, service: Service, day: date) -> int | None:
    """How many numbers the area can still give today; None when unlimited by a cap."""
    issued = (
        session.scalar(
            sa.select(DailyNumber.issued).where(
                DailyNumber.service_id == service.id, DailyNumber.business_date == day
            )
        )
        or 0
    )
    in_range = (service.last_number - service.first_number) // service.step + 1 - issued
    capped = service.daily_cap - issued if service.daily_cap else in_range
    return max(0, min(in_range, capped))


def _bump_statement(dialect: str) -> Any:
    """INSERT ... ON CONFLICT DO UPDATE ... RETURNING of the (area, day) counter, per dialect,
    built once on the table (Core: the ORM's bulk-insert path costs several times more)."""
    stmt = _BUMP.get(dialect)
    if stmt is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        table = DailyNumber.__table__
        stmt = _BUMP[dialect] = (
            insert(table)
            .values(
                service_id=sa.bindparam("service_id", type_=sa.Integer),
                business_date=sa.bindparam("day", type_=sa.Date),
                issued=1,
            )
            .on_conflict_do_update(
                index_elements=[table.c.service_id, table.c.business_date],
                set_={"issued": table.c.issued + 1},
            )
            .returning(table.c.issued)
        )
    return stmt


_BUMP: dict[str, Any] = {}


def _bump_daily_number(session: Session, service: Service, day: date) -> int:
    """Take the next count for (area, day) in this transaction: atomic, rolled back with it."""
    stmt = _bump_statement(session.get_bind().dialect.name)
    params = {"service_id": service.id, "day": day}
    return int(rawsql.execute(session, stmt, params, flush=False).one()[0])


_TICKET = Ticket.__table__
#: the columns a new ticket's INSERT names (issue_ticket gives every one of them)
_NEW_TICKET = (
    "hall_id", "issued_service_id", "service_id", "business_date", "number", "display_number",
    "code", "priority", "status", "device_id", "issued_at", "queued_at", "print_state",
    "booked_for", "from_booking",
)  # fmt: skip
_INSERT_TICKET = (
    sa.insert(_TICKET)
    .values({k: sa.bindparam(k, type_=_TICKET.c[k].type) for k in _NEW_TICKET})
    .returning(_TICKET.c.id)
)
#: every column of a new ticket that the INSERT does not name: what the row holds
_UNSET = {c.key: None for c in _TICKET.columns} | {"call_count": 0}


def _insert_ticket(session: Session, values: dict[str, Any]) -> Ticket:
    """INSERT the ticket (Core, RETURNING its id) and give it back as a loaded, persistent
    object, as a load from the database would fill it (no UPDATE pending, nothing to read
    back). The ORM's bulk INSERT ... RETURNING of the whole entity cost about twice as much."""
    ticket_id = rawsql.execute(session, _INSERT_TICKET, values, flush=False).one()[0]
    row = _UNSET | values | {"id": ticket_id}
    return as_loaded(session, Ticket, {k: as_stored(v) for k, v in row.items()})


def issue_ticket(
    session: Session,
    hall: Hall,
    *,
    service_code: str,
    priority: str | None,
    now: datetime,
    device_id: int | None = None,
    print_state: str | None = None,
    booked_for: datetime | None = None,
    queued_at: datetime | None = None,
    from_booking: bool = False,
) -> Issued:
    """Give the next number of an area, unique and gap-free for the hall's business day.

    ``device_id``: the kiosk that issued it (None: a person at a counter or the manager pages).
    ``print_state``: "pending" when the caller creates the ticket's print job in this same
    transaction, "none" when nothing will print it; by default "pending" for a device's ticket.
    ``booked_for`` / ``queued_at`` / ``from_booking``: a checked-in booking's slot time (none
    when late or a remote number), its place in the queue (services/bookings.py) and that it
    came from a booking; a walk-in's queue place is ``now``.
    """
    service = get_service(session, hall, service_code)
    if not service_is_open(hall, service, now):
        raise errors.ServiceClosed(service=service.name)
    if priority is not None:
        reason = session.scalars(
            sa.select(PriorityReason).where(
                PriorityReason.hall_id == hall.id,
                PriorityReason.code == priority,
                PriorityReason.active.is_(True),
            )
        ).one_or_none()
        if reason is None:
            raise errors.UnknownPriority(priority=priority)
    day = business_date(hall, now)
    count = _bump_daily_number(session, service, day)
    number = service.first_number + (count - 1) * service.step
    if number > service.last_number or (service.daily_cap and count > service.daily_cap):
        raise errors.NumbersExhausted(service=service.name)  # rolls the bump back
    # one INSERT ... RETURNING id: the ticket is a persistent object without a unit-of-work flush
    values = dict(
        hall_id=hall.id,
        issued_service_id=service.id,
        service_id=service.id,
        business_date=day,
        number=number,
        display_number=format_number(service, number),
        code=secrets.token_urlsafe(12),
        priority=priority,
        status=TicketStatus.WAITING,
        device_id=device_id,
        issued_at=now,
        queued_at=queued_at or now,
        print_state=print_state or ("pending" if device_id is not None else "none"),
        booked_for=booked_for,
        from_booking=from_booking,
    )
    ticket = _insert_ticket(session, values)
    set_committed_value(ticket, "service", service)
    set_committed_value(ticket, "issued_service", service)
    figures: QueueFigures | None = None
    if queued_at is None:
        ahead, figures = _new_ticket_position(session, hall, ticket, now)
        waiting, model = figures.waiting, figures.model
    else:  # a checked-in booking: not necessarily the newest of its queue
        ahead, waiting = queue_position(session, hall, ticket)
        model = wait_model(session, hall, service, now)
    wait = estimate_wait_s(session, hall, service, ahead, now, model)
    record(
        session,
        hall,
        Ev.TICKET_ISSUED,
        {"ticket": ser.ticket(hall, ticket)},
        now=now,
        ticket=ticket,
    )
    queue_changed(session, hall, service, now, waiting=waiting, model=model, figures=figures)
    logger.info("hall %s: ticket %s issued", hall.slug, ticket.display_number)
    return Issued(ticket, ahead, wait)


def tickets_ahead(session: Session, hall: Hall, ticket: Ticket) -> int:
    """Waiting tickets that will be called before this one in its queue."""
    if ticket.status != TicketStatus.WAITING:
        return 0
    return queue_position(session, hall, ticket)[0]


def _new_ticket_position(
    session: Session, hall: Hall, ticket: Ticket, now: datetime
) -> tuple[int, QueueFigures]:
    """:func:`queue_position`'s ahead of a ticket just issued, by counting only, and the area's
    figures (:func:`queue_figures`, one statement): it is the newest of its queue (the hall's
    writers are serialized, so every other waiting ticket was queued before it), so all the
    others are ahead, or under the strict policy all priority ones (a priority ticket) or all
    of them (an ordinary one: priority tickets go first anyway)."""
    figures = queue_figures(session, hall, ticket.service, now)
    strict = hall.priority_policy == PriorityPolicy.STRICT and ticket.priority
    ahead = figures.priority if strict else figures.waiting
    return max(0, ahead - 1), figures


def queue_position(session: Session, hall: Hall, ticket: Ticket) -> tuple[int, int]:
    """(tickets ahead of this one, tickets waiting in its queue), in one read. In queue order;
    for a checked-in booking, only the bookings before it count in its class."""
    base = [
        Ticket.hall_id == hall.id,
        Ticket.status == TicketStatus.WAITING,
        Ticket.service_id == ticket.service_id,
    ]
    if ticket.status != TicketStatus.WAITING:
        return 0, session.scalar(sa.select(sa.func.count()).where(*base)) or 0
    earlier = sa.or_(
        Ticket.queued_at < ticket.queued_at,
        sa.and_(Ticket.queued_at == ticket.queued_at, Ticket.id < ticket.id),
    )
    if ticket.booked_for is not None:
        # the merge rule (services/next_ticket.py): within its class a booking goes before the
        # walk-ins, so only the bookings before it are ahead (a walk-in past its target wait
        # may still go first: this counts the usual case)
        earlier = sa.and_(earlier, Ticket.booked_for.is_not(None))
    if hall.priority_policy == PriorityPolicy.STRICT:
        if ticket.priority:
            cond = sa.and_(Ticket.priority.is_not(None), earlier)
        else:
            cond = sa.or_(Ticket.priority.is_not(None), earlier)
    else:
        cond = earlier
    ahead = sa.func.coalesce(sa.func.sum(sa.case((sa.and_(Ticket.id != ticket.id, cond), 1))), 0)
    row = session.execute(sa.select(ahead, sa.func.count()).where(*base)).one()
    return int(row[0]), int(row[1])


def position(session: Session, hall: Hall, ticket: Ticket, now: datetime) -> tuple[int, int]:
    """(tickets ahead, estimated wait in s) of a ticket; (0, 0) once it is no longer waiting."""
    ahead = tickets_ahead(session, hall, ticket)
    if ticket.status != TicketStatus.WAITING:
        return ahead, 0
    return ahead, estimate_wait_s(session, hall, ticket.service, ahead, now)


def find_ticket_by_code(session: Session, code: str) -> Ticket | None:
    if not code or len(code) > 32:
        return None
    return session.scalars(sa.select(Ticket).where(Ticket.code == code)).one_or_none()


def cancel_ticket(
    session: Session,
    hall: Hall,
    ticket: Ticket,
    *,
    now: datetime,
    user: User | None,
    by: str | None = None,
) -> Ticket:
    """Withdraw a waiting or held ticket (the citizen left). ``by``: who asked when it was
    not staff ("citizen": the phone page's "Hủy số"), said in the event."""
    if ticket.status not in (TicketStatus.WAITING, TicketStatus.HELD):
        raise errors.InvalidTransition(
            ticket=ticket.display_number, status=ticket.status.value, action="cancelled"
        )
    ticket.status = TicketStatus.CANCELLED
    ticket.finished_at = now
    follow_ticket(session, ticket)
    record(
        session,
        hall,
        Ev.TICKET_CANCELLED,
        {"ticket": ser.ticket(hall, ticket), "counter": None, **({"by": by} if by else {})},
        now=now,
        ticket=ticket,
        user=user,
    )
    queue_changed(session, hall, ticket.service, now)
    return ticket


def rate_ticket(
    session: Session,
    hall: Hall,
    ticket: Ticket,
    *,
    score: int,
    reasons: list[str],
    counter: Counter,
    now: datetime,
) -> Rating:
    """Record the citizen's rating of a served visit, once, from the counter that served it."""
    if ticket.counter_id != counter.id:
        raise errors.Forbidden(
            vi="Chỉ quầy đã phục vụ mới nhận đánh giá cho lượt này.",
            en="Only the counter that served this visit can take its rating.",
        )
    if ticket.status not in (TicketStatus.SERVING, TicketStatus.DONE):
        raise errors.NotRateable()
    if session.scalar(sa.select(Rating.id).where(Rating.ticket_id == ticket.id)) is not None:
        raise errors.AlreadyRated()
    if not 1 <= score <= hall.rating_scale:
        raise errors.BadRequest(
            vi=f"Điểm đánh giá phải từ 1 đến {hall.rating_scale}.",
            en=f"The score must be from 1 to {hall.rating_scale}.",
        )
    rating = Rating(
        hall_id=hall.id,
        ticket_id=ticket.id,
        counter_id=counter.id,
        clerk_id=ticket.clerk_id,
        service_id=ticket.service_id,
        score=score,
        scale=hall.rating_scale,
        reasons=reasons,
        at=now,
    )
    session.add(rating)
    session.flush()
    record(
        session,
        hall,
        Ev.TICKET_RATED,
        {
            "ticket": ser.ticket(hall, ticket),
            "counter": counter.number,
            "score": score,
            "scale": hall.rating_scale,
            "reasons": reasons,
        },
        now=now,
        ticket=ticket,
        counter=counter,
        audience="managers",
    )
    return rating


def add_suggestion(
    session: Session,
    hall: Hall,
    *,
    text: str,
    contact: str | None,
    now: datetime,
    device: Device | None,
) -> Suggestion:
    text = text.strip()
    if not text:
        raise errors.BadRequest(vi="Vui lòng nhập nội dung góp ý.", en="Please write a suggestion.")
    if len(text) > MAX_TEXT or (contact and len(contact) > MAX_CONTACT):
        raise errors.BadRequest(vi="Nội dung quá dài.", en="The text is too long.")
    suggestion = Suggestion(
        hall_id=hall.id,
        text=text,
        contact=(contact or "").strip() or None,
        at=now,
        device_id=device.id if device else None,
    )
    session.add(suggestion)
    session.flush()
    return suggestion
