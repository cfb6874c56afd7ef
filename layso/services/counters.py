"""What a clerk does at a counter: open, call next by the hall's priority policy, serve, close."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso import serializers as ser
from layso.events import Ev
from layso.models import (
    Counter,
    CounterService,
    CounterState,
    Hall,
    PriorityPolicy,
    Role,
    Service,
    Ticket,
    TicketStatus,
    User,
)
from layso.services.common import (
    counter_changed,
    get_counter,
    get_service,
    queue_changed,
    record,
)

logger = logging.getLogger(__name__)

MAX_REASON = 100


def _current(session: Session, counter: Counter) -> Ticket | None:
    return session.get(Ticket, counter.current_ticket_id) if counter.current_ticket_id else None


def _require_clerk(counter: Counter, user: User) -> None:
    if counter.clerk_id != user.id:
        raise errors.NotYourCounter(counter=counter.number)


def _require_open(counter: Counter) -> None:
    if counter.state == CounterState.CLOSED:
        raise errors.CounterClosed(counter=counter.number)
    if counter.state == CounterState.PAUSED:
        raise errors.CounterPaused(counter=counter.number)


def _require_current(session: Session, counter: Counter, *allowed: TicketStatus) -> Ticket:
    ticket = _current(session, counter)
    if ticket is None:
        raise errors.NoCurrentTicket(counter=counter.number)
    if allowed and ticket.status not in allowed:
        raise errors.InvalidTransition(
            ticket=ticket.display_number, status=ticket.status.value, action="changed this way"
        )
    return ticket


def _ticket_event(
    session: Session,
    hall: Hall,
    name: Ev,
    ticket: Ticket,
    counter: Counter | None,
    user: User | None,
    now: datetime,
    **extra: object,
) -> None:
    record(
        session,
        hall,
        name,
        {
            "ticket": ser.ticket(hall, ticket),
            "counter": counter.number if counter else None,
            **extra,
        },
        now=now,
        ticket=ticket,
        counter=counter,
        user=user,
    )


# --- opening and closing ------------------------------------------------------------------


def open_counter(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime, move: bool = False
) -> Counter:
    """Sign a clerk in at a counter; one clerk per counter, one counter per clerk."""
    counter = get_counter(session, hall, number)
    if counter.clerk_id not in (None, user.id):
        raise errors.CounterTaken(counter=number)
    elsewhere = session.scalars(
        sa.select(Counter).where(Counter.clerk_id == user.id, Counter.id != counter.id)
    ).one_or_none()
    if elsewhere is not None:
        if not move:
            raise errors.ClerkElsewhere(counter=elsewhere.number)
        close_counter(session, hall, elsewhere.number, user=user, now=now)
    if counter.clerk_id == user.id and counter.state != CounterState.CLOSED:
        return counter  # already here: opening twice changes nothing
    counter.clerk_id = user.id
    counter.clerk = user
    counter.state = CounterState.OPEN
    counter.pause_reason = None
    counter.state_since = now
    session.flush()
    counter_changed(session, hall, counter, now)
    for link in counter.links:
        queue_changed(session, hall, link.service, now)
    logger.info("hall %s: %s opened counter %s", hall.slug, user.username, number)
    return counter


def close_counter(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime
) -> Counter:
    """Sign the clerk out; the counter's ticket must be resolved first."""
    counter = get_counter(session, hall, number)
    if counter.clerk_id != user.id and user.role == Role.CLERK:
        raise errors.NotYourCounter(counter=number)
    current = _current(session, counter)
    if current is not None:
        raise errors.CounterBusy(counter=number, ticket=current.display_number)
    if counter.state == CounterState.CLOSED and counter.clerk_id is None:
        return counter
    counter.clerk_id = None
    counter.clerk = None
    counter.state = CounterState.CLOSED
    counter.pause_reason = None
    counter.state_since = now
    session.flush()
    counter_changed(session, hall, counter, now)
    for link in counter.links:
        queue_changed(session, hall, link.service, now)
    return counter


def pause_counter(
    session: Session, hall: Hall, number: int, *, user: User, reason: str, now: datetime
) -> Counter:
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise errors.BadRequest(
            vi="Vui lòng chọn lý do tạm dừng (tối đa 100 ký tự).",
            en="Give a reason for the pause (100 characters at most).",
        )
    if counter.state != CounterState.OPEN:
        raise (
            errors.CounterPaused(counter=number)
            if counter.state == CounterState.PAUSED
            else errors.CounterClosed(counter=number)
        )
    current = _current(session, counter)
    if current is not None:
        raise errors.CounterBusy(counter=number, ticket=current.display_number)
    counter.state = CounterState.PAUSED
    counter.pause_reason = reason
    counter.state_since = now
    counter_changed(session, hall, counter, now)
    for link in counter.links:
        queue_changed(session, hall, link.service, now)
    return counter


def resume_counter(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime
) -> Counter:
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    if counter.state != CounterState.PAUSED:
        raise errors.InvalidTransition(
            ticket=f"#{number}", status=counter.state.value, action="resumed"
        )
    counter.state = CounterState.OPEN
    counter.pause_reason = None
    counter.state_since = now
    counter_changed(session, hall, counter, now)
    for link in counter.links:
        queue_changed(session, hall, link.service, now)
    return counter


# --- choosing the next ticket ---------------------------------------------------------------


def _candidates(session: Session, counter: Counter) -> list[Ticket]:
    """The few waiting tickets that can be next at this counter, oldest first: the oldest sent
    to it, else the oldest priority and the oldest ordinary ticket of its areas' queues.

    Every policy of :func:`choose_next` picks among these (within a class the oldest always
    wins), so a call reads at most three rows by index however long the queues are.
    """
    waiting = [Ticket.hall_id == counter.hall_id, Ticket.status == TicketStatus.WAITING]
    oldest = (Ticket.queued_at, Ticket.id)

    def first(*where: Any) -> Ticket | None:
        stmt = sa.select(Ticket).where(*waiting, *where).order_by(*oldest).limit(1)
        return session.scalars(stmt).first()

    direct = first(Ticket.target_counter_id == counter.id)
    if direct is not None:
        return [direct]
    areas = sa.select(CounterService.service_id).where(CounterService.counter_id == counter.id)
    queue = (Ticket.target_counter_id.is_(None), Ticket.service_id.in_(areas))
    found = [first(*queue, Ticket.priority.is_not(None)), first(*queue, Ticket.priority.is_(None))]
    return sorted((t for t in found if t is not None), key=lambda t: (t.queued_at, t.id))


def choose_next(
    hall: Hall, counter: Counter, waiting: list[Ticket], now: datetime
) -> Ticket | None:
    """Pick by the hall's priority policy; among equals the oldest waiting goes first.

    `waiting` is ordered oldest first. Tickets transferred to this very counter come first.
    """
    if not waiting:
        return None
    direct = [t for t in waiting if t.target_counter_id == counter.id]
    if direct:
        return direct[0]
    priority = [t for t in waiting if t.priority]
    normal = [t for t in waiting if not t.priority]
    policy = hall.priority_policy
    if policy == PriorityPolicy.STRICT:
        return (priority or normal)[0]
    if policy == PriorityPolicy.INTERLEAVED:
        if priority and (not normal or counter.calls_since_priority >= hall.priority_interleave):
            return priority[0]
        return normal[0] if normal else None

    # weighted: a priority ticket's wait counts `priority_weight` times
    def score(t: Ticket) -> tuple[float, float]:
        waited = (now - t.queued_at).total_seconds()
        weight = hall.priority_weight if t.priority else 1.0
        return (-waited * weight, t.queued_at.timestamp())

    return min(waiting, key=score)


def _call(
    session: Session, hall: Hall, counter: Counter, ticket: Ticket, user: User, now: datetime
) -> Ticket:
    # the hall lock already serializes this hall's writers; the guarded UPDATE is the last word
    # that a ticket is called at most once at a time, even if that lock were ever bypassed
    from_status = ticket.status
    changed = session.execute(
        sa.update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == from_status)
        .values(status=TicketStatus.CALLED)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise errors.TicketNotWaiting(ticket=ticket.display_number)
    session.refresh(ticket)
    ticket.counter_id = counter.id
    ticket.counter = counter
    ticket.clerk_id = user.id
    ticket.target_counter_id = None
    ticket.called_at = now
    ticket.first_called_at = ticket.first_called_at or now
    ticket.call_count += 1
    counter.current_ticket_id = ticket.id
    if ticket.priority:
        counter.calls_since_priority = 0
    else:
        counter.calls_since_priority += 1
    session.flush()
    _ticket_event(
        session, hall, Ev.TICKET_CALLED, ticket, counter, user, now, call_count=ticket.call_count
    )
    queue_changed(session, hall, ticket.service, now)
    counter_changed(session, hall, counter, now)
    logger.info("hall %s: counter %s called %s", hall.slug, counter.number, ticket.display_number)
    return ticket


def call_next(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime
) -> Ticket | None:
    """Call the next ticket for the counter; a ticket being served is finished first."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    _require_open(counter)
    current = _current(session, counter)
    if current is not None:
        if current.status != TicketStatus.SERVING:
            raise errors.CounterBusy(counter=number, ticket=current.display_number)
        _finish(session, hall, counter, current, user, now)
    ticket = choose_next(hall, counter, _candidates(session, counter), now)
    if ticket is None:
        return None
    return _call(session, hall, counter, ticket, user, now)


def call_number(
    session: Session,
    hall: Hall,
    number: int,
    *,
    user: User,
    ticket_number: int,
    service_code: str,
    now: datetime,
) -> Ticket:
    """Call a given number of today (waiting, held or a late no-show) at this counter."""
    from layso.services.common import business_date

    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    _require_open(counter)
    current = _current(session, counter)
    if current is not None:
        raise errors.CounterBusy(counter=number, ticket=current.display_number)
    service = get_service(session, hall, service_code)
    ticket = session.scalars(
        sa.select(Ticket).where(
            Ticket.issued_service_id == service.id,
            Ticket.business_date == business_date(hall, now),
            Ticket.number == ticket_number,
        )
    ).one_or_none()
    if ticket is None:
        raise errors.UnknownTicket()
    if ticket.status not in (TicketStatus.WAITING, TicketStatus.HELD, TicketStatus.NO_SHOW):
        raise errors.TicketNotWaiting(ticket=ticket.display_number)
    if ticket.status == TicketStatus.HELD and ticket.counter_id not in (None, counter.id):
        raise errors.TicketNotWaiting(ticket=ticket.display_number)
    return _call(session, hall, counter, ticket, user, now)


# --- acting on the current ticket -----------------------------------------------------------


def recall(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """Call the current ticket again: the last call is the one that counts for walk time."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    _require_open(counter)
    ticket = _require_current(session, counter, TicketStatus.CALLED)
    ticket.call_count += 1
    ticket.called_at = now
    _ticket_event(
        session, hall, Ev.TICKET_RECALLED, ticket, counter, user, now, call_count=ticket.call_count
    )
    return ticket


def start(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """The citizen has arrived at the counter: service begins."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED)
    ticket.status = TicketStatus.SERVING
    ticket.started_at = ticket.started_at or now
    _ticket_event(session, hall, Ev.TICKET_STARTED, ticket, counter, user, now)
    counter_changed(session, hall, counter, now)
    if hall.rating_on == "start":
        _request_rating(session, hall, counter, ticket, now)
    return ticket


def _request_rating(
    session: Session, hall: Hall, counter: Counter, ticket: Ticket, now: datetime
) -> None:
    record(
        session,
        hall,
        Ev.RATING_REQUESTED,
        {
            "ticket": ser.ticket(hall, ticket),
            "counter": counter.number,
            "scale": hall.rating_scale,
        },
        now=now,
        ticket=ticket,
        counter=counter,
        audience=f"counter:{counter.number}",
    )


def _finish(
    session: Session, hall: Hall, counter: Counter, ticket: Ticket, user: User, now: datetime
) -> None:
    ticket.status = TicketStatus.DONE
    ticket.finished_at = now
    counter.current_ticket_id = None
    session.flush()
    _ticket_event(session, hall, Ev.TICKET_FINISHED, ticket, counter, user, now)
    if hall.rating_on != "start":
        _request_rating(session, hall, counter, ticket, now)
    counter_changed(session, hall, counter, now)


def finish(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """Service is over; the rating pad asks the citizen how it went."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    ticket = _require_current(session, counter, TicketStatus.SERVING)
    _finish(session, hall, counter, ticket, user, now)
    queue_changed(session, hall, ticket.service, now)  # the estimate learns from this visit
    return ticket


def no_show(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """The called citizen did not come."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED)
    ticket.status = TicketStatus.NO_SHOW
    ticket.finished_at = now
    counter.current_ticket_id = None
    session.flush()
    _ticket_event(session, hall, Ev.TICKET_NO_SHOW, ticket, counter, user, now)
    counter_changed(session, hall, counter, now)
    return ticket


def hold(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """Set the current ticket aside (the citizen fetches a document) and free the counter."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED, TicketStatus.SERVING)
    ticket.status = TicketStatus.HELD
    counter.current_ticket_id = None
    session.flush()
    _ticket_event(session, hall, Ev.TICKET_HELD, ticket, counter, user, now)
    counter_changed(session, hall, counter, now)
    return ticket


def unhold(
    session: Session, hall: Hall, number: int, *, user: User, ticket_id: int, now: datetime
) -> Ticket:
    """Bring a held ticket back to this counter: it is called again."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    _require_open(counter)
    current = _current(session, counter)
    if current is not None:
        raise errors.CounterBusy(counter=number, ticket=current.display_number)
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.hall_id != hall.id:
        raise errors.UnknownTicket()
    if ticket.status != TicketStatus.HELD or ticket.counter_id != counter.id:
        raise errors.InvalidTransition(
            ticket=ticket.display_number, status=ticket.status.value, action="brought back here"
        )
    return _call(session, hall, counter, ticket, user, now)


def transfer(
    session: Session,
    hall: Hall,
    number: int,
    *,
    user: User,
    now: datetime,
    to_service: str | None = None,
    to_counter: int | None = None,
) -> Ticket:
    """Send the current ticket to another area's queue or to another counter, keeping its place."""
    if (to_service is None) == (to_counter is None):
        raise errors.BadRequest(
            vi="Chọn một lĩnh vực hoặc một quầy để chuyển.",
            en="Give either a service area or a counter to transfer to.",
        )
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED, TicketStatus.SERVING)
    old_service: Service = ticket.service
    target: Counter | None = None
    if to_service is not None:
        service = get_service(session, hall, to_service)
        if not service.active:
            raise errors.ServiceClosed(service=service.name)
        ticket.service_id = service.id
        ticket.service = service
        ticket.target_counter_id = None
    else:
        assert to_counter is not None
        target = get_counter(session, hall, to_counter)
        if target.id == counter.id:
            raise errors.BadRequest(
                vi="Không thể chuyển sang chính quầy này.",
                en="Cannot transfer to the same counter.",
            )
        ticket.target_counter_id = target.id
        ticket.target_counter = target
    ticket.status = TicketStatus.WAITING
    counter.current_ticket_id = None
    session.flush()
    _ticket_event(
        session,
        hall,
        Ev.TICKET_TRANSFERRED,
        ticket,
        counter,
        user,
        now,
        to_service=ticket.service.code,
        to_counter=target.number if target else None,
    )
    queue_changed(session, hall, old_service, now)
    if ticket.service_id != old_service.id:
        queue_changed(session, hall, ticket.service, now)
    counter_changed(session, hall, counter, now)
    return ticket


def counter_ticket(session: Session, counter: Counter) -> Ticket | None:
    return _current(session, counter)
