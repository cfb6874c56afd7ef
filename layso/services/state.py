"""The hall's snapshot and its event log, for screens that start or catch up."""

from __future__ import annotations

import time
import weakref
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
# Screens whose whole picture is in the snapshot get it (one frame, shared by the screens
# joining at the same seq) once they are further behind than this: after a network blip a
# hall's screens all reconnect at once, and each replaying hundreds of events, read and sent one
# by one, kept the server too busy to answer their pings, so they dropped and came back again
# (benchmarks/load.py, 500 displays). The print agent and the rating pad replay up to
# REPLAY_LIMIT: their jobs and rating requests come only as events.
SCREEN_REPLAY_LIMIT = {"display": 50, "counter-display": 50, "kiosk": 50}
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


# A counter.changed recorded with a call or a start names that event as its ``cause``; the
# devices below already learn from the cause itself all of the change they render (the call's
# ticket.called carries the counter and its new ticket; a call needs the counter open), so they
# are not sent it. A display shows a counter's number alike while called and while served; a
# counter's own display says "Mời" or "Đang phục vụ", so a start still reaches it. At a hall's
# busiest that is one frame fewer per call for every screen (measured with
# benchmarks/fanout.py: 1,000 displays all had a call p99 176-178 -> 118-126 ms).
DEVICE_KNOWS: dict[str, frozenset[str]] = {
    "display": frozenset({Ev.TICKET_CALLED, Ev.TICKET_STARTED}),
    "counter-display": frozenset({Ev.TICKET_CALLED}),
}


def renders(kind: str | None, name: str, payload: dict[str, Any] | None = None) -> bool:
    """Whether a principal (a device of this kind, or a person: None) gets this hall event
    (with its `payload`, a counter.changed that the device already knows of is left out)."""
    if kind is None:
        return True
    if name not in DEVICE_RENDERS.get(kind, frozenset()):
        return False
    if name == Ev.COUNTER_CHANGED and payload is not None:
        return payload.get("cause") not in DEVICE_KNOWS.get(kind, frozenset())
    return True


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


SNAPSHOT_REUSE_S = 2.0  # a snapshot at the same seq is reused this long (the clock moves on)
Snapshot = dict[str, Any]
# per database engine (weakly: a disposed engine takes its snapshots with it), then per
# (hall, seq, minute): (reusable until, for people, for devices)
_snapshots: weakref.WeakKeyDictionary[Any, dict[tuple[int, int, datetime], Any]] = (
    weakref.WeakKeyDictionary()
)


def shared_state(session: Session, hall: Hall, now: datetime) -> tuple[Snapshot, Snapshot]:
    """The hall's snapshot for people and for devices, made once per seq and minute and reused
    for SNAPSHOT_REUSE_S by every screen that asks meanwhile: a thousand displays reconnecting
    after a restart cost one snapshot, not a thousand (each is some forty queries). Nothing in
    the log changed since (same seq) and open hours go by the minute, so only the estimates can
    be up to SNAPSHOT_REUSE_S old; ``at`` is always now. Callers must not change the dicts."""
    minute = now.replace(second=0, microsecond=0)
    cache = _snapshots.setdefault(session.get_bind(), {})
    key = (hall.id, hall.event_seq, minute)
    moment = time.monotonic()
    hit = cache.get(key)
    if hit is None or hit[0] <= moment:
        for old, (until, _, _) in list(cache.items()):
            if until <= moment:
                cache.pop(old, None)
        state = hall_state(session, hall, now)
        hit = (moment + SNAPSHOT_REUSE_S, state, device_state(state))
        cache[key] = hit
    at = ser.iso(hall, now)
    return {**hit[1], "at": at}, {**hit[2], "at": at}


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
    query = sa.select(Event.name, Event.payload, Event.audience).where(
        Event.hall_id == hall.id, Event.seq > after, Event.audience.in_(list(audiences))
    )
    if kind is not None:
        shown = sorted(DEVICE_RENDERS.get(kind, frozenset()))
        query = query.where(sa.or_(Event.audience != "hall", Event.name.in_(shown)))
    rows = session.execute(query.order_by(Event.seq).limit(limit)).all()
    if kind is not None:
        return [
            {"name": name, **device_event(name, payload)}
            for name, payload, audience in rows
            if audience != "hall" or renders(kind, name, payload)
        ]
    return [{"name": name, **payload} for name, payload, _audience in rows]


def replay_limit(kind: str | None) -> int:
    """How far behind a client (a device of this kind, or a person: None) may be replayed."""
    return SCREEN_REPLAY_LIMIT.get(kind or "", REPLAY_LIMIT)


def oldest_seq(session: Session, hall: Hall) -> int:
    return session.scalar(sa.select(sa.func.min(Event.seq)).where(Event.hall_id == hall.id)) or 0
