"""Which waiting ticket a counter calls next: its few candidates, then the priority policy and
the merge rule of booked and walk-in tickets.

The merge rule (issue 14), in order:

1. A ticket transferred to this very counter comes first (oldest first).
2. A checked-in booking's ticket (``booked_for`` set) is callable from its ``queued_at``: the
   slot time minus the area's lead (services/bookings.py). Before that it waits and is not a
   candidate at all. A booking checked in late, or a remote number, is a plain walk-in.
3. The hall's priority policy (strict / interleaved / weighted) chooses between the priority
   class and the ordinary class exactly as without bookings, looking at each class's longest
   waiting callable ticket.
4. Within the chosen class a callable booking goes before the walk-ins, unless the class's
   oldest walk-in has waited longer than its area's target wait (``target_wait_min``): then
   that walk-in goes first. Bookings among themselves, and walk-ins among themselves, go by
   queue order (``queued_at``, then id): bookings by slot time, walk-ins oldest first.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.models import (
    Counter,
    CounterService,
    Hall,
    PriorityPolicy,
    Service,
    Ticket,
    TicketStatus,
)
from layso.services.common import by_id, from_row, on_connection

__all__ = ["Candidate", "callable_now", "candidates", "choose_next"]


class Waiting(Protocol):
    """What the choice reads of a waiting ticket (a :class:`Ticket` or a :class:`Candidate`)."""

    @property
    def id(self) -> int: ...
    @property
    def target_counter_id(self) -> int | None: ...
    @property
    def booked_for(self) -> datetime | None: ...
    @property
    def queued_at(self) -> datetime: ...
    @property
    def priority(self) -> str | None: ...
    @property
    def service(self) -> Service: ...


W = TypeVar("W", bound=Waiting)


class Candidate:
    """A ticket that may be called next, as its row: the choice reads a few of its columns
    (and its area's target wait only when a booking and a walk-in compete), and only the
    ticket chosen becomes the session's :class:`Ticket` (:meth:`ticket`). A counter with
    several areas, priorities and bookings has up to nine candidates; building each as an
    ORM object cost about as much as reading it."""

    __slots__ = (
        "_row", "_session", "id", "target_counter_id", "booked_for", "queued_at", "priority"
    )  # fmt: skip

    def __init__(self, session: Session, row: Any) -> None:
        self._row, self._session = row, session
        self.id: int = row.id
        self.target_counter_id: int | None = row.target_counter_id
        self.booked_for: datetime | None = row.booked_for
        self.queued_at: datetime = row.queued_at
        self.priority: str | None = row.priority

    @property
    def service(self) -> Service:
        service = by_id(self._session, Service, self._row.service_id)
        assert service is not None  # a ticket's area is never deleted under it (foreign key)
        return service

    def ticket(self) -> Ticket:
        """The session's object of this ticket: the one already there, else made from the row
        as a load would make it."""
        return from_row(self._session, Ticket, self._row._asdict())


def callable_now(ticket: Waiting, now: datetime) -> bool:
    """A waiting ticket may be called: walk-ins always, bookings from slot time − lead."""
    return ticket.booked_for is None or ticket.queued_at <= now


def candidates(session: Session, counter: Counter, now: datetime) -> list[Candidate]:
    """The few waiting tickets that can be next at this counter, oldest first: the oldest sent
    to it, and in each of its areas, per class (priority, ordinary), the oldest callable
    booking and the oldest walk-in.

    Every policy of :func:`choose_next` picks among these (within a kind the oldest always
    wins), so a call reads at most one row per kind and area, in one statement (each part by
    index, LIMIT 1), however long the queues are.
    """
    params = {"hall_id": counter.hall_id, "counter_id": counter.id, "now": now}
    return [Candidate(session, row) for row in on_connection(session, _CANDIDATES, params)]


def _candidates_statement() -> sa.Select[Any]:
    """:func:`candidates`' statement, built once (parameters: hall_id, counter_id, now):
    building its parts and their cache key cost more than running it.

    Each part is the first ticket of one area and kind in queue order, the first entry of one
    range of ix_ticket_lane (hall, status, area, priority or not, booked or not, queued_at),
    one per area of the counter: with all the areas in one ``IN``, the database read and
    sorted every waiting ticket of them to find the first."""
    t, link = Ticket.__table__.c, CounterService.__table__
    counter_id = sa.bindparam("counter_id", type_=sa.Integer)
    now = sa.bindparam("now", type_=t.queued_at.type)
    hall_id = sa.bindparam("hall_id", type_=sa.Integer)
    waiting = (t.hall_id == hall_id, t.status == TicketStatus.WAITING)

    def first(*where: Any) -> Any:
        return sa.select(t.id).where(*waiting, *where).order_by(t.queued_at, t.id).limit(1)

    # each kind as ix_ticket_lane's expressions, so that it is one range of that index
    booked = (t.booked_for.is_(None) == sa.false(), t.queued_at <= now)
    walk_in = (t.booked_for.is_(None) == sa.true(),)
    sent_here = first(t.target_counter_id == counter_id).subquery()
    parts = [sa.select(sent_here.c.id)]
    for cls in (t.priority.is_(None) == sa.false(), t.priority.is_(None) == sa.true()):
        for kind in (booked, walk_in):
            in_area = first(
                t.service_id == link.c.service_id, t.target_counter_id.is_(None), *kind, cls
            )
            parts.append(
                sa.select(in_area.scalar_subquery().label("id")).where(
                    link.c.counter_id == counter_id
                )
            )
    ids = sa.union_all(*parts).subquery()
    table = Ticket.__table__  # the whole rows, run on the connection (Candidate)
    return (
        sa.select(table)
        .where(table.c.id.in_(sa.select(ids.c.id)))
        .order_by(table.c.queued_at, table.c.id)
    )


_CANDIDATES = _candidates_statement()


def _merge(tickets: list[W], now: datetime) -> W | None:
    """Rule 4 within one class (`tickets` oldest first, all callable)."""
    booked = [t for t in tickets if t.booked_for is not None]
    walk_ins = [t for t in tickets if t.booked_for is None]
    if not booked or not walk_ins:
        return (booked or walk_ins or [None])[0]
    walk_in = walk_ins[0]
    if now - walk_in.queued_at > timedelta(minutes=walk_in.service.target_wait_min):
        return walk_in
    return booked[0]


def choose_next(hall: Hall, counter: Counter, waiting: Sequence[W], now: datetime) -> W | None:
    """Pick by the rules in this module's docstring.

    `waiting` is ordered oldest first (by queued_at, then id); it may hold bookings not yet
    callable, which are skipped.
    """
    direct = [t for t in waiting if t.target_counter_id == counter.id]
    if direct:
        return direct[0]
    ready = [t for t in waiting if callable_now(t, now)]
    if not ready:
        return None
    priority = [t for t in ready if t.priority]
    normal = [t for t in ready if not t.priority]
    policy = hall.priority_policy
    if policy == PriorityPolicy.STRICT:
        return _merge(priority or normal, now)
    if policy == PriorityPolicy.INTERLEAVED:
        if priority and (not normal or counter.calls_since_priority >= hall.priority_interleave):
            return _merge(priority, now)
        return _merge(normal, now)

    # weighted: a priority ticket's wait counts `priority_weight` times; the class whose
    # longest-waiting ticket scores higher is served
    def score(t: W) -> tuple[float, float]:
        waited = (now - t.queued_at).total_seconds()
        weight = hall.priority_weight if t.priority else 1.0
        return (-waited * weight, t.queued_at.timestamp())

    head = min(ready, key=score)
    return _merge(priority if head.priority else normal, now)
