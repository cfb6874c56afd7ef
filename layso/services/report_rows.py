"""The hall's event log as one row per ticket: each ticket's story rebuilt from its `ticket.*`
events, filtered and laid out for the ticket log and the CSV export (the definitions of every
field are in :mod:`layso.services.reports`, whose figures are computed over these rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.events import Ev
from layso.models import Event, Hall, Service, ServiceKind, User
from layso.services.common import iso, tz
from layso.services.ratings import is_satisfied, official_level

TICKET_EVENTS = (
    Ev.TICKET_ISSUED,
    Ev.TICKET_CALLED,
    Ev.TICKET_RECALLED,
    Ev.TICKET_STARTED,
    Ev.TICKET_FINISHED,
    Ev.TICKET_NO_SHOW,
    Ev.TICKET_TRANSFERRED,
    Ev.TICKET_CANCELLED,
    Ev.TICKET_HELD,
    Ev.TICKET_EXPIRED,
    Ev.TICKET_DOSSIER,
    Ev.TICKET_RATED,
)
# the state a ticket is in right after each event
STATE_AFTER = {
    Ev.TICKET_ISSUED: "waiting",
    Ev.TICKET_CALLED: "called",
    Ev.TICKET_RECALLED: "called",
    Ev.TICKET_STARTED: "serving",
    Ev.TICKET_FINISHED: "done",
    Ev.TICKET_NO_SHOW: "no_show",
    Ev.TICKET_TRANSFERRED: "waiting",
    Ev.TICKET_CANCELLED: "cancelled",
    Ev.TICKET_HELD: "held",
    Ev.TICKET_EXPIRED: "expired",
}
STATES = ("waiting", "called", "serving", "held", "done", "no_show", "cancelled", "expired")
GROUPINGS = ("service", "kind", "counter", "clerk", "hour", "day")
VISIT_ENDS = (Ev.TICKET_FINISHED, Ev.TICKET_TRANSFERRED, Ev.TICKET_HELD)


# --- one row per ticket ----------------------------------------------------------------------


@dataclass
class Call:
    at: datetime
    seq: int
    kind: str  # called | recalled
    counter: int | None


@dataclass
class TicketRow:
    """A ticket's story as told by its events."""

    id: int
    display_number: str = ""
    number: int = 0
    area: str = ""
    served_area: str = ""
    priority: str | None = None
    state: str = "waiting"
    issued_at: datetime | None = None
    calls: list[Call] = field(default_factory=list)
    starts: list[tuple[datetime, int]] = field(default_factory=list)  # (at, seq)
    finished_at: datetime | None = None
    no_show_at: datetime | None = None
    cancelled_at: datetime | None = None
    expired_at: datetime | None = None
    dossier_code: str | None = None
    area_kind: str = "intake"
    transfers: list[dict[str, Any]] = field(default_factory=list)
    counter: int | None = None
    clerk_id: int | None = None
    rating: int | None = None
    rating_scale: int | None = None
    rating_reasons: list[str] = field(default_factory=list)
    target_wait_s: int | None = None
    late: bool = False

    @property
    def first_called_at(self) -> datetime | None:
        return self.calls[0].at if self.calls else None

    @property
    def last_called_at(self) -> datetime | None:
        return self.calls[-1].at if self.calls else None

    @property
    def started_at(self) -> datetime | None:
        return self.starts[-1][0] if self.starts else None

    @property
    def recalls(self) -> list[datetime]:
        return [c.at for c in self.calls if c.kind == "recalled"]

    @property
    def wait_s(self) -> int | None:
        if self.issued_at is None or not self.calls:
            return None
        return _seconds(self.calls[0].at - self.issued_at)

    @property
    def walk_s(self) -> int | None:
        if not self.starts:
            return None
        start_at, start_seq = self.starts[-1]
        before = [c for c in self.calls if c.seq < start_seq]
        return _seconds(start_at - before[-1].at) if before else None

    @property
    def service_s(self) -> int | None:
        if self.finished_at is None or not self.starts:
            return None
        return _seconds(self.finished_at - self.starts[-1][0])

    @property
    def called(self) -> bool:
        return bool(self.calls)

    def satisfied(self) -> bool | None:
        return is_satisfied(self.rating, self.rating_scale)

    def official_level(self) -> str | None:
        """The rating on the official three-level scale (see `official_ratings`)."""
        return official_level(self.rating, self.rating_scale)


def _seconds(delta: timedelta) -> int:
    return round(delta.total_seconds())


def day_bounds(hall: Hall, first: date, last: date) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the hall's local days first..last."""
    zone = tz(hall)
    start = datetime.combine(first, time(0), zone).astimezone(UTC)
    end = datetime.combine(last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def today(hall: Hall, now: datetime) -> date:
    return now.astimezone(tz(hall)).date()


def load_rows(
    session: Session,
    hall: Hall,
    first: date,
    last: date,
    now: datetime,
    *,
    handled_by: int | None = None,
) -> list[TicketRow]:
    """Every ticket issued on the range's days, rebuilt from its events, oldest first.

    `handled_by` (a user id) only narrows the loading to tickets with at least one event of that
    user (a ticket's clerk is always one of them); the rows themselves are the same.
    """
    start, end = day_bounds(hall, first, last)
    issued_q = sa.select(Event.ticket_id).where(
        Event.hall_id == hall.id,
        Event.name == Ev.TICKET_ISSUED,
        Event.at >= start,
        Event.at < end,
    )
    if handled_by is not None:
        issued_q = issued_q.where(
            Event.ticket_id.in_(
                sa.select(Event.ticket_id).where(
                    Event.hall_id == hall.id,
                    Event.user_id == handled_by,
                    Event.at >= start,
                    Event.ticket_id.is_not(None),
                )
            )
        )
    issued = issued_q.scalar_subquery()
    events = session.execute(
        sa.select(Event.name, Event.at, Event.seq, Event.ticket_id, Event.user_id, Event.payload)
        .where(
            Event.hall_id == hall.id,
            Event.ticket_id.in_(issued),
            Event.name.in_(TICKET_EVENTS),
        )
        .order_by(Event.seq)
    ).all()
    rows: dict[int, TicketRow] = {}
    for name, at, seq, ticket_id, user_id, payload in events:
        row = rows.get(ticket_id)
        if row is None:
            row = rows[ticket_id] = TicketRow(id=ticket_id)
        _apply(row, name, at, seq, user_id, payload)
    areas = _areas(session, hall)
    out = sorted(
        (r for r in rows.values() if r.issued_at is not None),
        key=lambda r: (r.issued_at or start, r.id),
    )
    zone = tz(hall)
    for row in out:
        row.target_wait_s, kind = areas.get(row.area, (None, None))
        row.area_kind = kind.value if kind is not None else "intake"
        row.late = _is_late(row, now, zone)
    return out


def _apply(
    row: TicketRow, name: str, at: datetime, seq: int, user_id: int | None, payload: dict
) -> None:
    ticket = payload.get("ticket") or {}
    counter = payload.get("counter")
    if name == Ev.TICKET_ISSUED:
        row.issued_at = at
        row.display_number = str(ticket.get("display_number", ""))
        row.number = int(ticket.get("number") or 0)
        row.area = row.served_area = str(ticket.get("issued_service") or ticket.get("service"))
        row.priority = ticket.get("priority")
    elif name in (Ev.TICKET_CALLED, Ev.TICKET_RECALLED):
        row.calls.append(Call(at, seq, name.split(".")[1], counter))
    elif name == Ev.TICKET_STARTED:
        row.starts.append((at, seq))
    elif name == Ev.TICKET_FINISHED:
        row.finished_at = at
    elif name == Ev.TICKET_NO_SHOW:
        row.no_show_at = at
    elif name == Ev.TICKET_CANCELLED:
        row.cancelled_at = at
    elif name == Ev.TICKET_EXPIRED:
        row.expired_at = at
    elif name == Ev.TICKET_DOSSIER:
        row.dossier_code = ticket.get("dossier_code")
    elif name == Ev.TICKET_TRANSFERRED:
        row.served_area = str(payload.get("to_service") or row.served_area)
        row.transfers.append(
            {
                "at": at,
                "from_counter": counter,
                "to_service": payload.get("to_service"),
                "to_counter": payload.get("to_counter"),
            }
        )
    elif name == Ev.TICKET_RATED:
        row.rating = int(payload["score"])
        row.rating_scale = int(payload.get("scale") or 4)
        row.rating_reasons = list(payload.get("reasons") or [])
        return  # a rating does not change who handled the ticket
    if name in STATE_AFTER:
        row.state = STATE_AFTER[name]
    if name not in (Ev.TICKET_ISSUED, Ev.TICKET_CANCELLED, Ev.TICKET_EXPIRED):
        row.counter = counter if counter is not None else row.counter
        row.clerk_id = user_id if user_id is not None else row.clerk_id


def _areas(session: Session, hall: Hall) -> dict[str, tuple[int, ServiceKind]]:
    """Each area's wait target (seconds) and kind, by code, in one query."""
    return {
        code: (minutes * 60, kind)
        for code, minutes, kind in session.execute(
            sa.select(Service.code, Service.target_wait_min, Service.kind).where(
                Service.hall_id == hall.id
            )
        )
    }


def _is_late(row: TicketRow, now: datetime, zone: Any) -> bool:
    if row.target_wait_s is None or row.issued_at is None:
        return False
    if row.wait_s is not None:
        return row.wait_s > row.target_wait_s
    if row.cancelled_at is not None:
        until = row.cancelled_at
    elif row.expired_at is not None:
        until = row.expired_at
    else:
        local_day = row.issued_at.astimezone(zone).date()
        day_end = datetime.combine(local_day + timedelta(days=1), time(0), zone)
        until = min(now, day_end.astimezone(UTC))
    return _seconds(until - row.issued_at) > row.target_wait_s


@dataclass(frozen=True)
class Filters:
    service: str | None = None
    counter: int | None = None
    clerk: str | None = None
    status: str | None = None
    late_only: bool = False
    kind: str | None = None
    # a search: part of the number or of the dossier code, any case
    search: str | None = None


def filter_rows(rows: Iterable[TicketRow], f: Filters, users: dict[int, User]) -> list[TicketRow]:
    out = []
    for r in rows:
        if f.service and r.area != f.service:
            continue
        if f.counter is not None and r.counter != f.counter:
            continue
        if f.clerk and (r.clerk_id is None or users[r.clerk_id].username != f.clerk):
            continue
        if f.status and r.state != f.status:
            continue
        if f.late_only and not r.late:
            continue
        if f.kind and r.area_kind != f.kind:
            continue
        if f.search:
            needle = f.search.casefold()
            if (
                needle not in r.display_number.casefold()
                and needle not in (r.dossier_code or "").casefold()
            ):
                continue
        out.append(r)
    return out


def users_by_id(session: Session, hall: Hall) -> dict[int, User]:
    """Users who may appear in the hall's events (its own, and hall-less admins)."""
    return {
        u.id: u
        for u in session.scalars(
            sa.select(User).where(sa.or_(User.hall_id == hall.id, User.hall_id.is_(None)))
        )
    }


def service_names(session: Session, hall: Hall) -> dict[str, Service]:
    return {
        s.code: s
        for s in session.scalars(
            sa.select(Service)
            .where(Service.hall_id == hall.id)
            .order_by(Service.position, Service.id)
        )
    }


def row_dict(
    hall: Hall, row: TicketRow, users: dict[int, User], services: dict[str, Service]
) -> dict[str, Any]:
    """A log row as the API sends it: times in the hall's zone with offset, durations in s."""
    clerk = users.get(row.clerk_id) if row.clerk_id is not None else None
    area = services.get(row.area)
    return {
        "id": row.id,
        "date": row.issued_at.astimezone(tz(hall)).date().isoformat() if row.issued_at else None,
        "display_number": row.display_number,
        "number": row.number,
        "area": row.area,
        "area_name": area.name if area else row.area,
        "area_kind": row.area_kind,
        "served_area": row.served_area,
        "priority": row.priority,
        "state": row.state,
        "issued_at": iso(hall, row.issued_at),
        "first_called_at": iso(hall, row.first_called_at),
        "recalls": [iso(hall, at) for at in row.recalls],
        "last_called_at": iso(hall, row.last_called_at),
        "call_count": len(row.calls),
        "started_at": iso(hall, row.started_at),
        "finished_at": iso(hall, row.finished_at),
        "no_show_at": iso(hall, row.no_show_at),
        "cancelled_at": iso(hall, row.cancelled_at),
        "expired_at": iso(hall, row.expired_at),
        "transfers": [
            {**t, "at": iso(hall, t["at"])}  # from_counter, to_service, to_counter
            for t in row.transfers
        ],
        "wait_s": row.wait_s,
        "walk_s": row.walk_s,
        "service_s": row.service_s,
        "target_wait_s": row.target_wait_s,
        "late": row.late,
        "counter": row.counter,
        "clerk": clerk.username if clerk else None,
        "clerk_name": clerk.full_name if clerk else None,
        "rating": row.rating,
        "rating_scale": row.rating_scale,
        "rating_reasons": row.rating_reasons,
        "dossier_code": row.dossier_code,
    }


def ticket_log(
    session: Session,
    hall: Hall,
    first: date,
    last: date,
    now: datetime,
    filters: Filters,
    *,
    offset: int = 0,
    limit: int | None = None,
) -> tuple[int, list[dict[str, Any]]]:
    """The wait-time log: (rows matching the filters, the rows from offset, at most limit)."""
    users = users_by_id(session, hall)
    rows = filter_rows(load_rows(session, hall, first, last, now), filters, users)
    services = service_names(session, hall)
    page = rows[offset : offset + limit] if limit is not None else rows[offset:]
    return len(rows), [row_dict(hall, r, users, services) for r in page]
