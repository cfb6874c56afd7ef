"""The hall's snapshot and its event log, for screens that start or catch up."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import serializers as ser
from layso.events import Ev
from layso.models import (
    Counter,
    Device,
    Event,
    Hall,
    Notice,
    PriorityReason,
    Service,
    Ticket,
    TicketStatus,
)
from layso.services.common import business_date, iso, service_summary

REPLAY_LIMIT = 1000  # a client further behind than this gets a fresh snapshot instead
RECENT_CALLS = 10


# What each kind of device renders of the hall's shared events: it is sent those and no others
# (its own device and counter audiences bring the rest, e.g. print.job, rating.requested).
# People (clerks, managers) hear every event of the hall.
_CALLS = {Ev.TICKET_CALLED, Ev.TICKET_RECALLED, Ev.COUNTER_CHANGED, Ev.CONFIG_CHANGED}
DEVICE_RENDERS: dict[str, frozenset[str]] = {
    "display": frozenset({*_CALLS, Ev.QUEUE_CHANGED}),
    "counter-display": frozenset(_CALLS),
    "kiosk": frozenset({Ev.QUEUE_CHANGED, Ev.CONFIG_CHANGED}),
    "rating-pad": frozenset({Ev.CONFIG_CHANGED}),
    "print-agent": frozenset({Ev.CONFIG_CHANGED}),
}


def renders(kind: str | None, name: str) -> bool:
    """Whether a principal (a device of this kind, or a person: None) gets this hall event."""
    return kind is None or name in DEVICE_RENDERS.get(kind, frozenset())


def device_event(name: str, payload: dict[str, Any]) -> dict[str, Any]:
    """An event as devices receive it (the same object when nothing in it is for staff only)."""
    return ser.counter_for_device(payload) if name == Ev.COUNTER_CHANGED else payload


def device_state(state: dict[str, Any]) -> dict[str, Any]:
    """The hall's snapshot as devices receive it: no clerk's login name."""
    return {**state, "counters": [ser.counter_for_device(c) for c in state["counters"]]}


def list_services(session: Session, hall: Hall, now: datetime) -> list[dict[str, Any]]:
    services = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id).order_by(Service.position, Service.id)
    )
    return [service_summary(session, hall, s, now) for s in services if s.active]


def hall_state(session: Session, hall: Hall, now: datetime) -> dict[str, Any]:
    """Everything a screen needs to start, as of the hall's current seq (one read snapshot)."""
    today = business_date(hall, now)
    counters = list(
        session.scalars(
            sa.select(Counter).where(Counter.hall_id == hall.id).order_by(Counter.number)
        )
    )
    tickets = {
        t.id: t
        for t in session.scalars(
            sa.select(Ticket).where(
                Ticket.hall_id == hall.id,
                sa.or_(
                    Ticket.status.in_(
                        [
                            TicketStatus.WAITING,
                            TicketStatus.CALLED,
                            TicketStatus.SERVING,
                            TicketStatus.HELD,
                        ]
                    ),
                    sa.and_(Ticket.business_date == today, Ticket.called_at.is_not(None)),
                ),
            )
        )
    }
    open_ = [t for t in tickets.values() if t.status == TicketStatus.WAITING]
    open_.sort(key=lambda t: (t.queued_at, t.id))
    recent = sorted(
        (t for t in tickets.values() if t.called_at and t.business_date == today),
        key=lambda t: t.called_at or now,
        reverse=True,
    )[:RECENT_CALLS]
    printers = [
        {
            "device": d.id,
            "name": d.name,
            "kind": d.kind.value,
            "state": d.printer_state,
            "detail": d.printer_detail,
            "at": iso(hall, d.printer_state_at),
        }
        for d in session.scalars(
            sa.select(Device).where(
                Device.hall_id == hall.id,
                Device.revoked_at.is_(None),
                Device.printer_state.is_not(None),
            )
        )
    ]
    return {
        "seq": hall.event_seq,
        "hall": hall.slug,
        "at": iso(hall, now),
        "business_date": today.isoformat(),
        "info": ser.hall(hall),
        "services": list_services(session, hall, now),
        "counters": [
            ser.counter(hall, c, tickets.get(c.current_ticket_id or -1)) for c in counters
        ],
        "waiting": [ser.ticket(hall, t) for t in open_],
        "held": [ser.ticket(hall, t) for t in tickets.values() if t.status == TicketStatus.HELD],
        "recent_calls": [ser.ticket(hall, t) for t in recent],
        "notices": [
            {"text": n.text, "text_en": n.text_en}
            for n in session.scalars(
                sa.select(Notice)
                .where(Notice.hall_id == hall.id, Notice.active.is_(True))
                .order_by(Notice.position, Notice.id)
            )
        ],
        "priority_reasons": [
            ser.priority_reason(r)
            for r in session.scalars(
                sa.select(PriorityReason)
                .where(PriorityReason.hall_id == hall.id, PriorityReason.active.is_(True))
                .order_by(PriorityReason.position, PriorityReason.id)
            )
        ],
        "printers": printers,
    }


def events_after(
    session: Session,
    hall: Hall,
    after: int,
    audiences: Iterable[str],
    limit: int = REPLAY_LIMIT,
    *,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The hall's events after seq `after` that these audiences may see, oldest first; for a
    device (`kind`), only the hall events its kind renders, as devices receive them: the same
    events the hub sends it live, so its catch-up finds nothing missing."""
    query = sa.select(Event.name, Event.payload).where(
        Event.hall_id == hall.id, Event.seq > after, Event.audience.in_(list(audiences))
    )
    if kind is not None:
        shown = sorted(DEVICE_RENDERS.get(kind, frozenset()))
        query = query.where(sa.or_(Event.audience != "hall", Event.name.in_(shown)))
    rows = session.execute(query.order_by(Event.seq).limit(limit)).all()
    if kind is not None:
        return [{"name": name, **device_event(name, payload)} for name, payload in rows]
    return [{"name": name, **payload} for name, payload in rows]


def oldest_seq(session: Session, hall: Hall) -> int:
    return session.scalar(sa.select(sa.func.min(Event.seq)).where(Event.hall_id == hall.id)) or 0
