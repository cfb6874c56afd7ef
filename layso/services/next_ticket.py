"""Which waiting ticket a counter calls next: its few candidates, then the priority policy."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.models import Counter, CounterService, Hall, PriorityPolicy, Ticket, TicketStatus

__all__ = ["candidates", "choose_next"]


def candidates(session: Session, counter: Counter) -> list[Ticket]:
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
