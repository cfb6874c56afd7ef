"""End of the hall's day: tickets still waiting (or held) at closing time expire (hết giờ).

:func:`close_due` is a plain function over (session, hall, now), run by the server's periodic
green thread (``layso.cli.start_day_end``) and by tests with a set clock. It is idempotent
(an expired ticket is final) and catches up: every ticket of a past business day that is still
waiting or held expires whenever it next runs (after a restart, a night switched off).

- Closing time: the end of the last opening range of that weekday in ``Hall.hours``. A hall
  without hours, or a day it is closed, ends at midnight (the business day's end).
- Opt-out: a manager may keep today's queue open past closing time (``Hall.keep_open_on`` =
  today, logged); the queue then stays open until midnight, when those tickets expire too.
- Each expired ticket gets a ``ticket.expired`` event in the log (its story stays in the log
  and in the reports, as its own figure ``expired``: not a no-show, not served), and each
  area whose queue changed a ``queue.changed``.
- Called or serving tickets are the clerk's: they are left alone.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso import serializers as ser
from layso.events import Ev
from layso.models import AuditEntry, Hall, Service, Ticket, TicketStatus, User
from layso.services.common import business_date, queue_changed, record, tz

OPEN_STATUSES = (TicketStatus.WAITING, TicketStatus.HELD)


def closing_time(hall: Hall, day: date) -> datetime:
    """When the hall's day ends (UTC): the end of that weekday's last range, else midnight."""
    zone = tz(hall)
    midnight = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
    hours: dict[str, Any] | None = hall.hours
    if not hours:
        return midnight
    if day.weekday() not in hours.get("days", list(range(7))):
        return midnight
    ranges = hours.get("ranges") or []
    if not ranges:
        return midnight
    last_end = max(time.fromisoformat(b) for _a, b in ranges)
    return datetime.combine(day, last_end, zone).astimezone(UTC)


def kept_open(hall: Hall, now: datetime) -> bool:
    return hall.keep_open_on == business_date(hall, now)


def due_before(hall: Hall, now: datetime) -> date:
    """Tickets of business days before this date expire now (today included once closed)."""
    today = business_date(hall, now)
    if now >= closing_time(hall, today) and not kept_open(hall, now):
        return today + timedelta(days=1)
    return today


def _due(hall: Hall, now: datetime) -> tuple[Any, ...]:
    """The tickets whose day has ended and that are still waiting or held."""
    return (
        Ticket.hall_id == hall.id,
        Ticket.status.in_(OPEN_STATUSES),
        Ticket.business_date < due_before(hall, now),
    )


def any_due(session: Session, hall: Hall, now: datetime) -> bool:
    """Whether :func:`close_due` has anything to expire: one read by index, no lock, so that the
    server's pass every half minute takes no hall's write lock when nothing is due."""
    return session.scalar(sa.select(Ticket.id).where(*_due(hall, now)).limit(1)) is not None


def close_due(session: Session, hall: Hall, now: datetime) -> list[Ticket]:
    """Expire every waiting or held ticket whose day has ended; the tickets expired."""
    tickets = list(
        session.scalars(
            sa.select(Ticket)
            .where(*_due(hall, now))
            .order_by(Ticket.business_date, Ticket.queued_at, Ticket.id)
        )
    )
    if not tickets:
        return []
    areas: dict[int, Service] = {}
    for ticket in tickets:
        was = ticket.status.value
        ticket.status = TicketStatus.EXPIRED
        ticket.finished_at = now
        session.flush()
        record(
            session,
            hall,
            Ev.TICKET_EXPIRED,
            {
                "ticket": ser.ticket(hall, ticket),
                "counter": None,
                "was": was,
                "closing_time": ser.iso(hall, closing_time(hall, ticket.business_date)),
            },
            now=now,
            ticket=ticket,
        )
        areas[ticket.service_id] = ticket.service
    for service in areas.values():
        queue_changed(session, hall, service, now)
    return tickets


def set_keep_open(
    session: Session, hall: Hall, keep_open: bool, *, user: User | None, now: datetime
) -> dict[str, Any]:
    """A manager keeps today's queue open past closing time (or takes that back); logged."""
    if not isinstance(keep_open, bool):
        raise errors.BadRequest(
            vi="'keep_open' phải là true hoặc false.", en="'keep_open' must be true or false."
        )
    today = business_date(hall, now)
    new = today if keep_open else None
    if hall.keep_open_on != new:
        hall.keep_open_on = new
        session.add(
            AuditEntry(
                hall_id=hall.id,
                user_id=user.id if user else None,
                action="day.keep_open" if keep_open else "day.close_on_time",
                detail={"date": today.isoformat()},
                at=now,
            )
        )
        record(
            session,
            hall,
            Ev.DAY_CHANGED,
            day_state(hall, now),
            now=now,
            user=user,
            audience="managers",
        )
    return day_state(hall, now)


def day_state(hall: Hall, now: datetime) -> dict[str, Any]:
    today = business_date(hall, now)
    return {
        "business_date": today.isoformat(),
        "closing_time": ser.iso(hall, closing_time(hall, today)),
        "keep_open": kept_open(hall, now),
    }
