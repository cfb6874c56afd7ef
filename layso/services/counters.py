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
    CounterState,
    Hall,
    Role,
    Service,
    Ticket,
    TicketStatus,
    User,
)
from layso.services import pauses
from layso.services.common import (
    by_id,
    counter_changed,
    figures_later,
    follow_ticket,
    get_counter,
    get_service,
    on_connection,
    queue_changed,
    queue_figures,
    record,
    set_loaded,
    with_service,
    write_now,
)
from layso.services.next_ticket import candidates as _candidates
from layso.services.next_ticket import choose_next

logger = logging.getLogger(__name__)

MAX_REASON = 100


def _current(session: Session, counter: Counter) -> Ticket | None:
    """The counter's ticket, with its area (every event about it names the area)."""
    if not counter.current_ticket_id:
        return None
    ticket = by_id(session, Ticket, counter.current_ticket_id)
    if ticket is not None:
        with_service(session, ticket)
    return ticket


def _require_clerk(counter: Counter, user: User) -> None:
    if counter.clerk_id != user.id:
        raise errors.NotYourCounter(counter=counter.number)


def _require_open(counter: Counter) -> None:
    if counter.state == CounterState.CLOSED:
        raise errors.CounterClosed(counter=counter.number)
    if counter.state == CounterState.PAUSED:
        raise errors.CounterPaused(counter=counter.number)


def _clerk_counter(
    session: Session, hall: Hall, number: int, user: User, *, open_: bool = False
) -> Counter:
    """The counter `number`, which must be this clerk's (and open and serving, with `open_`)."""
    counter = get_counter(session, hall, number)
    _require_clerk(counter, user)
    if open_:
        _require_open(counter)
    return counter


def _require_free(session: Session, counter: Counter) -> None:
    current = _current(session, counter)
    if current is not None:
        raise errors.CounterBusy(counter=counter.number, ticket=current.display_number)


def _set_state(
    session: Session,
    hall: Hall,
    counter: Counter,
    state: CounterState,
    now: datetime,
    *,
    reason: str | None = None,
    code: str | None = None,
) -> None:
    """Move the counter to `state` and tell its screens and the queues it serves."""
    counter.state = state
    counter.pause_reason = reason
    counter.pause_code = code
    counter.state_since = now
    session.flush()
    counter_changed(session, hall, counter, now)
    for link in counter.links:
        queue_changed(session, hall, link.service, now)


def _release(
    session: Session,
    hall: Hall,
    counter: Counter,
    ticket: Ticket,
    user: User,
    now: datetime,
    status: TicketStatus,
    event: Ev,
) -> None:
    """The current ticket leaves the counter as `status`; the counter is free again."""
    _leave(session, counter, ticket, now, status)
    _ticket_event(session, hall, event, ticket, counter, user, now)


def _leave(
    session: Session,
    counter: Counter,
    ticket: Ticket,
    now: datetime,
    status: TicketStatus,
    *,
    free: bool = True,
) -> None:
    """Write the ticket's new `status` and the free counter (before any event is recorded).
    Without `free`, the caller writes the counter's next ticket itself (a call follows)."""
    if status != TicketStatus.HELD:
        write_now(session, ticket, status=status, finished_at=now)
    else:
        write_now(session, ticket, status=status)
    if free:
        write_now(session, counter, current_ticket_id=None)
    follow_ticket(session, ticket)
    session.flush()


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
) -> dict[str, Any]:
    """Record the event; the ticket as the event shows it (not to be changed: the event's)."""
    body = ser.ticket(hall, ticket)
    record(
        session,
        hall,
        name,
        {"ticket": body, "counter": counter.number if counter else None, **extra},
        now=now,
        ticket=ticket,
        counter=counter,
        user=user,
    )
    return body


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
    _set_state(session, hall, counter, CounterState.OPEN, now)
    logger.info("hall %s: %s opened counter %s", hall.slug, user.username, number)
    return counter


def close_counter(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime
) -> Counter:
    """Sign the clerk out; the counter's ticket must be resolved first."""
    counter = get_counter(session, hall, number)
    if counter.clerk_id != user.id and user.role == Role.CLERK:
        raise errors.NotYourCounter(counter=number)
    _require_free(session, counter)
    if counter.state == CounterState.CLOSED and counter.clerk_id is None:
        return counter
    counter.clerk_id = None
    counter.clerk = None
    _set_state(session, hall, counter, CounterState.CLOSED, now)
    return counter


def pause_counter(
    session: Session, hall: Hall, number: int, *, user: User, reason: str, now: datetime
) -> Counter:
    """Pause with a reason: a code of the hall's list (or its Vietnamese name), or free text."""
    counter = _clerk_counter(session, hall, number, user)
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise errors.BadRequest(
            vi="Vui lòng chọn lý do tạm dừng (tối đa 100 ký tự).",
            en="Give a reason for the pause (100 characters at most).",
        )
    code, reason = pauses.resolve(hall, reason)
    if counter.state != CounterState.OPEN:
        raise (
            errors.CounterPaused(counter=number)
            if counter.state == CounterState.PAUSED
            else errors.CounterClosed(counter=number)
        )
    _require_free(session, counter)
    _set_state(session, hall, counter, CounterState.PAUSED, now, reason=reason, code=code)
    return counter


def resume_counter(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime
) -> Counter:
    counter = _clerk_counter(session, hall, number, user)
    if counter.state != CounterState.PAUSED:
        raise errors.InvalidTransition(
            ticket=f"#{number}", status=counter.state.value, action="resumed"
        )
    _set_state(session, hall, counter, CounterState.OPEN, now)
    return counter


_T = Ticket.__table__.c
#: the guarded UPDATE of a call, built once on the table (Core: a statement built per call and
#: run through the ORM cost several times what the UPDATE itself does)
_CALL = (
    sa.update(Ticket.__table__)
    .where(_T.id == sa.bindparam("ticket"), _T.status == sa.bindparam("was"))
    .values(
        status=TicketStatus.CALLED,
        counter_id=sa.bindparam("counter"),
        clerk_id=sa.bindparam("clerk"),
        target_counter_id=None,
        called_at=sa.bindparam("now", type_=_T.called_at.type),
        first_called_at=sa.func.coalesce(
            _T.first_called_at, sa.bindparam("first", type_=_T.first_called_at.type)
        ),
        call_count=_T.call_count + 1,
    )
    .returning(_T.first_called_at, _T.call_count)
)


def _call(
    session: Session, hall: Hall, counter: Counter, ticket: Ticket, user: User, now: datetime
) -> Ticket:
    # the hall lock already serializes this hall's writers; the guarded UPDATE is the last word
    # that a ticket is called at most once at a time, even if that lock were ever bypassed. It
    # writes every column of the call at once and returns what it counted, so the ticket in
    # memory is set to what the row now holds without reading it back.
    called = on_connection(
        session,
        _CALL,
        {
            "ticket": ticket.id,
            "was": ticket.status,
            "counter": counter.id,
            "clerk": user.id,
            "now": now,
            "first": now,
        },
    ).one_or_none()
    if called is None:
        raise errors.TicketNotWaiting(ticket=ticket.display_number)
    set_loaded(
        ticket,
        {
            "status": TicketStatus.CALLED,
            "counter_id": counter.id,
            "counter": counter,
            "clerk_id": user.id,
            "target_counter_id": None,
            "target_counter": None,
            "called_at": now,
            "first_called_at": called.first_called_at,
            "call_count": called.call_count,
        },
    )
    service = with_service(session, ticket)
    # before the counter changes; none to read when queue.changed is recorded after the commit
    figures = None if figures_later(session) else queue_figures(session, hall, service, now)
    follow_ticket(session, ticket)
    shown = _ticket_event(
        session, hall, Ev.TICKET_CALLED, ticket, counter, user, now, call_count=ticket.call_count
    )
    # after the called event, whose notice reads the ticket's contact: nothing to flush before
    write_now(
        session,
        counter,
        current_ticket_id=ticket.id,
        calls_since_priority=0 if ticket.priority else counter.calls_since_priority + 1,
    )
    queue_changed(session, hall, service, now, figures=figures)
    # the counter is open (a call needs it) and its clerk the same: the call says the rest
    counter_changed(session, hall, counter, now, shown=shown, cause=str(Ev.TICKET_CALLED))
    logger.info("hall %s: counter %s called %s", hall.slug, counter.number, ticket.display_number)
    return ticket


def call_next(
    session: Session, hall: Hall, number: int, *, user: User, now: datetime
) -> Ticket | None:
    """Call the next ticket for the counter; a ticket being served is finished first."""
    counter = _clerk_counter(session, hall, number, user, open_=True)
    current = _current(session, counter)
    if current is not None:
        if current.status != TicketStatus.SERVING:
            raise errors.CounterBusy(counter=number, ticket=current.display_number)
        # the call below writes and announces the counter's new state: one counter.changed
        # and one UPDATE of the counter, not two
        _finish(session, hall, counter, current, user, now, announce=False)
    chosen = choose_next(hall, counter, _candidates(session, counter, now), now)
    if chosen is None:
        if current is not None:
            write_now(session, counter, current_ticket_id=None)
            counter_changed(session, hall, counter, now)
        return None
    return _call(session, hall, counter, chosen.ticket(), user, now)


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

    counter = _clerk_counter(session, hall, number, user, open_=True)
    _require_free(session, counter)
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
    counter = _clerk_counter(session, hall, number, user, open_=True)
    ticket = _require_current(session, counter, TicketStatus.CALLED)
    ticket.call_count += 1
    ticket.called_at = now
    _ticket_event(
        session, hall, Ev.TICKET_RECALLED, ticket, counter, user, now, call_count=ticket.call_count
    )
    return ticket


def start(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """The citizen has arrived at the counter: service begins."""
    counter = _clerk_counter(session, hall, number, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED)
    write_now(session, ticket, status=TicketStatus.SERVING, started_at=ticket.started_at or now)
    shown = _ticket_event(session, hall, Ev.TICKET_STARTED, ticket, counter, user, now)
    counter_changed(session, hall, counter, now, shown=shown, cause=str(Ev.TICKET_STARTED))
    if hall.rating_on == "start":
        _request_rating(session, hall, counter, ticket, now, shown)
    return ticket


def _request_rating(
    session: Session,
    hall: Hall,
    counter: Counter,
    ticket: Ticket,
    now: datetime,
    shown: dict[str, Any] | None = None,
) -> None:
    """Ask the counter's rating pad; `shown`: the ticket as the event just recorded shows it
    (the same state: not drawn twice)."""
    record(
        session,
        hall,
        Ev.RATING_REQUESTED,
        {
            "ticket": shown if shown is not None else ser.ticket(hall, ticket),
            "counter": counter.number,
            "scale": hall.rating_scale,
        },
        now=now,
        ticket=ticket,
        counter=counter,
        audience=f"counter:{counter.number}",
    )


def _finish(
    session: Session,
    hall: Hall,
    counter: Counter,
    ticket: Ticket,
    user: User,
    now: datetime,
    *,
    queue: bool = False,
    announce: bool = True,
) -> None:
    """Finish the ticket; with `queue`, tell its area's new estimate too (the estimate learns
    from this visit: the figures are read once the ticket is written, before any event).
    Without `announce`, the counter's change, and its row, are left to the caller (a call that
    follows in the same transaction writes and announces the counter's new state once)."""
    _leave(session, counter, ticket, now, TicketStatus.DONE, free=announce)
    read = queue and not figures_later(session)
    figures = queue_figures(session, hall, ticket.service, now) if read else None
    shown = _ticket_event(session, hall, Ev.TICKET_FINISHED, ticket, counter, user, now)
    if hall.rating_on != "start":
        _request_rating(session, hall, counter, ticket, now, shown)
    if announce:
        counter_changed(session, hall, counter, now)
    if queue:
        queue_changed(session, hall, ticket.service, now, figures=figures)


def finish(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """Service is over; the rating pad asks the citizen how it went."""
    counter = _clerk_counter(session, hall, number, user)
    ticket = _require_current(session, counter, TicketStatus.SERVING)
    _finish(session, hall, counter, ticket, user, now, queue=True)
    return ticket


def no_show(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """The called citizen did not come."""
    counter = _clerk_counter(session, hall, number, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED)
    _release(session, hall, counter, ticket, user, now, TicketStatus.NO_SHOW, Ev.TICKET_NO_SHOW)
    counter_changed(session, hall, counter, now)
    return ticket


def hold(session: Session, hall: Hall, number: int, *, user: User, now: datetime) -> Ticket:
    """Set the current ticket aside (the citizen fetches a document) and free the counter."""
    counter = _clerk_counter(session, hall, number, user)
    ticket = _require_current(session, counter, TicketStatus.CALLED, TicketStatus.SERVING)
    _release(session, hall, counter, ticket, user, now, TicketStatus.HELD, Ev.TICKET_HELD)
    counter_changed(session, hall, counter, now)
    return ticket


def unhold(
    session: Session, hall: Hall, number: int, *, user: User, ticket_id: int, now: datetime
) -> Ticket:
    """Bring a held ticket back to this counter: it is called again."""
    counter = _clerk_counter(session, hall, number, user, open_=True)
    _require_free(session, counter)
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
    counter = _clerk_counter(session, hall, number, user)
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
