"""Wait-time figures, every one derived from the hall's event log (table `event`).

Plain functions over a Session (no Flask). The ticket table's time columns are never read:
a ticket's story is rebuilt from its `ticket.*` events, and counters' open time from their
`counter.changed` events, so the figures are exactly what the append-only log says.

Definitions (also in the OpenAPI description of the two report endpoints):

- A ticket belongs to the range when its `ticket.issued` event falls on one of the range's
  days in the hall's time zone. Its `area` is the area that issued its number (its queue and
  its target wait); `served_area` is the area it was in at the end (differs after a transfer).
- `wait_s` = first `ticket.called` − `ticket.issued` (null when never called).
- `walk_s` = last `ticket.started` − the last call (`ticket.called` or `ticket.recalled`) before
  that start: the last call counts for the walk.
- `service_s` = `ticket.finished` − last `ticket.started` (null unless finished).
- `counter` / `clerk`: the counter and clerk of the ticket's last handling event (call, recall,
  start, finish, no-show, transfer, hold): where the visit ended.
- `late`: called with `wait_s` above the area's target; or never called and still waiting (or
  cancelled) longer than the target, measured up to the cancellation, or to `now` (at most the
  end of the day it was issued).
- Percentiles (median = p50, p90) interpolate linearly between the closest ranks (Excel's
  PERCENTILE.INC, numpy's default).
- `within_target_rate` = called tickets with `wait_s` ≤ target ÷ (called tickets + tickets
  never called that are already late). A ticket still waiting within its target is not counted.
- `no_show_rate` = tickets whose final state is no-show ÷ tickets called at least once.
- `satisfaction_rate` = satisfied ratings ÷ ratings; satisfied = the top two levels of the
  rating's scale (4 and 3 of 4), as `layso.services.ratings.is_satisfied` defines it.
- `official_ratings`: every rating mapped onto the three levels of the state's official
  evaluation, whatever the hall's scale (3, 4 or 5) was when it was given: the top level is
  `very_satisfied` (Rất hài lòng), the second `satisfied` (Hài lòng), every lower level
  `dissatisfied` (Không hài lòng) — so `satisfaction_rate` = (very_satisfied + satisfied) ÷ rated.
- Counter and clerk time (by=counter or by=clerk), within the range's days up to `now`:
  `open_s` = time the counter was open (from `counter.changed`: state "open"; paused and closed
  time excluded) — for a clerk, the open time of the counters they were signed in at;
  `serving_s` = time between a `ticket.started` and the end of that visit (finished,
  transferred or held) there; `idle_s` = `open_s` − `serving_s` (it includes the time spent
  waiting for called citizens to walk up).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.events import Ev
from layso.models import Counter, Event, Hall, Service, User
from layso.services.common import iso, tz
from layso.services.ratings import OFFICIAL_LEVELS, is_satisfied, official_level

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
}
STATES = ("waiting", "called", "serving", "held", "done", "no_show", "cancelled")
GROUPINGS = ("service", "counter", "clerk", "hour", "day")
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
    targets = _targets(session, hall)
    out = sorted(
        (r for r in rows.values() if r.issued_at is not None),
        key=lambda r: (r.issued_at or start, r.id),
    )
    zone = tz(hall)
    for row in out:
        row.target_wait_s = targets.get(row.area)
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
    if name not in (Ev.TICKET_ISSUED, Ev.TICKET_CANCELLED):
        row.counter = counter if counter is not None else row.counter
        row.clerk_id = user_id if user_id is not None else row.clerk_id


def _targets(session: Session, hall: Hall) -> dict[str, int]:
    return {
        code: minutes * 60
        for code, minutes in session.execute(
            sa.select(Service.code, Service.target_wait_min).where(Service.hall_id == hall.id)
        )
    }


def _is_late(row: TicketRow, now: datetime, zone: Any) -> bool:
    if row.target_wait_s is None or row.issued_at is None:
        return False
    if row.wait_s is not None:
        return row.wait_s > row.target_wait_s
    if row.cancelled_at is not None:
        until = row.cancelled_at
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


# --- summaries -------------------------------------------------------------------------------


def percentile(values: list[int], p: float) -> float | None:
    """Linear interpolation between closest ranks (PERCENTILE.INC); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    k = (len(xs) - 1) * p
    lo = math.floor(k)
    hi = min(lo + 1, len(xs) - 1)
    return round(xs[lo] + (xs[hi] - xs[lo]) * (k - lo), 1)


def _mean(values: list[int]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def figures(rows: list[TicketRow], target: float) -> dict[str, Any]:
    """The figures of one group of tickets."""
    waits = [r.wait_s for r in rows if r.wait_s is not None]
    walks = [r.walk_s for r in rows if r.walk_s is not None]
    services = [r.service_s for r in rows if r.service_s is not None]
    called = [r for r in rows if r.called]
    within = sum(
        1
        for r in called
        if r.wait_s is not None and r.target_wait_s is not None and r.wait_s <= r.target_wait_s
    )
    late_uncalled = sum(1 for r in rows if not r.called and r.late)
    rated = [r for r in rows if r.rating is not None]
    top = sum(1 for r in rated if r.satisfied())
    breakdown: dict[str, int] = defaultdict(int)
    official = dict.fromkeys(OFFICIAL_LEVELS, 0)
    for r in rated:
        breakdown[str(r.rating)] += 1
        official[r.official_level() or "dissatisfied"] += 1
    no_show = sum(1 for r in rows if r.state == "no_show")
    satisfaction = _rate(top, len(rated))
    return {
        "issued": len(rows),
        "called": len(called),
        "served": sum(1 for r in rows if r.state == "done"),
        "no_show": no_show,
        "cancelled": sum(1 for r in rows if r.state == "cancelled"),
        "open": sum(1 for r in rows if r.state in ("waiting", "called", "serving", "held")),
        "transferred": sum(1 for r in rows if r.transfers),
        "wait_median_s": percentile(waits, 0.5),
        "wait_p90_s": percentile(waits, 0.9),
        "wait_max_s": max(waits) if waits else None,
        "walk_mean_s": _mean(walks),
        "service_mean_s": _mean(services),
        "within_target": within,
        "within_target_rate": _rate(within, len(called) + late_uncalled),
        "late": sum(1 for r in rows if r.late),
        "no_show_rate": _rate(no_show, len(called)),
        "rated": len(rated),
        "satisfied": top,
        "satisfaction_rate": satisfaction,
        "satisfaction_target": target,
        "meets_target": None if satisfaction is None else satisfaction >= target,
        "ratings": dict(sorted(breakdown.items(), key=lambda kv: -int(kv[0]))),
        "official_ratings": official,
    }


@dataclass
class Activity:
    open_s: float = 0.0
    serving_s: float = 0.0

    def as_dict(self) -> dict[str, int]:
        open_s, serving_s = round(self.open_s), round(self.serving_s)
        return {"open_s": open_s, "serving_s": serving_s, "idle_s": max(0, open_s - serving_s)}


def _overlap(a: datetime, b: datetime, start: datetime, end: datetime) -> float:
    lo, hi = max(a, start), min(b, end)
    return max(0.0, (hi - lo).total_seconds())


def activity(
    session: Session, hall: Hall, first: date, last: date, now: datetime
) -> tuple[dict[int, Activity], dict[str, Activity]]:
    """Open and serving time per counter number and per clerk username, within the range."""
    start, end = day_bounds(hall, first, last)
    end = min(end, now)
    by_counter: dict[int, Activity] = defaultdict(Activity)
    by_clerk: dict[str, Activity] = defaultdict(Activity)
    if end <= start:
        return by_counter, by_clerk
    numbers = dict(
        session.execute(
            sa.select(Counter.id, Counter.number).where(Counter.hall_id == hall.id)
        ).all()
    )
    users = {u.id: u.username for u in users_by_id(session, hall).values()}

    # open time: walk each counter's counter.changed events, starting from its last one before
    changes: dict[int, list[tuple[datetime, int, dict]]] = defaultdict(list)
    for counter_id in numbers:
        before = session.execute(
            sa.select(Event.at, Event.seq, Event.payload)
            .where(
                Event.hall_id == hall.id,
                Event.name == Ev.COUNTER_CHANGED,
                Event.counter_id == counter_id,
                Event.at < start,
            )
            .order_by(Event.at.desc(), Event.seq.desc())
            .limit(1)
        ).first()
        if before is not None:
            changes[counter_id].append((before[0], before[1], before[2]))
    for counter_id, at, seq, payload in session.execute(
        sa.select(Event.counter_id, Event.at, Event.seq, Event.payload)
        .where(
            Event.hall_id == hall.id,
            Event.name == Ev.COUNTER_CHANGED,
            Event.at >= start,
            Event.at < end,
        )
        .order_by(Event.at, Event.seq)
    ):
        if counter_id in numbers:
            changes[counter_id].append((at, seq, payload))
    for counter_id, items in changes.items():
        number = numbers[counter_id]
        for i, (at, _seq, payload) in enumerate(items):
            until = items[i + 1][0] if i + 1 < len(items) else end
            if payload.get("state") != "open":
                continue
            span = _overlap(at, until, start, end)
            by_counter[number].open_s += span
            if payload.get("clerk"):
                by_clerk[str(payload["clerk"])].open_s += span

    # serving time: from each ticket.started to the end of that visit at the counter
    serving: dict[int, tuple[datetime, int, int | None]] = {}
    for name, at, ticket_id, counter_id, user_id in session.execute(
        sa.select(Event.name, Event.at, Event.ticket_id, Event.counter_id, Event.user_id)
        .where(
            Event.hall_id == hall.id,
            Event.name.in_((Ev.TICKET_STARTED, *VISIT_ENDS)),
            Event.at >= start - timedelta(days=1),
            Event.at < end,
        )
        .order_by(Event.at, Event.seq)
    ):
        if name == Ev.TICKET_STARTED:
            if counter_id in numbers:
                serving[ticket_id] = (at, numbers[counter_id], user_id)
            continue
        began = serving.pop(ticket_id, None)
        if began is not None:
            _add_serving(by_counter, by_clerk, users, began, at, start, end)
    for began in serving.values():
        _add_serving(by_counter, by_clerk, users, began, end, start, end)
    return by_counter, by_clerk


def _add_serving(
    by_counter: dict[int, Activity],
    by_clerk: dict[str, Activity],
    users: dict[int, str],
    began: tuple[datetime, int, int | None],
    until: datetime,
    start: datetime,
    end: datetime,
) -> None:
    at, number, user_id = began
    span = _overlap(at, until, start, end)
    by_counter[number].serving_s += span
    if user_id is not None and user_id in users:
        by_clerk[users[user_id]].serving_s += span


def summary(
    session: Session, hall: Hall, first: date, last: date, by: str, now: datetime
) -> dict[str, Any]:
    """Figures per group (area, counter, clerk, hour or day of issue) and for the whole range."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    rows = load_rows(session, hall, first, last, now)
    users = users_by_id(session, hall)
    services = service_names(session, hall)
    target = hall.satisfaction_target
    zone = tz(hall)
    groups: dict[Any, list[TicketRow]] = defaultdict(list)
    labels: dict[Any, str] = {}
    for r in rows:
        if by == "service":
            key: Any = r.area
            labels[key] = services[key].name if key in services else key
        elif by == "counter":
            if r.counter is None:
                continue
            key = r.counter
        elif by == "clerk":
            if r.clerk_id is None:
                continue
            key = users[r.clerk_id].username
            labels[key] = users[r.clerk_id].full_name or key
        elif by == "hour":
            key = r.issued_at.astimezone(zone).hour if r.issued_at else 0
        else:
            key = r.issued_at.astimezone(zone).date().isoformat() if r.issued_at else ""
        groups[key].append(r)

    acts: dict[Any, Activity] = {}
    if by in ("counter", "clerk"):
        by_counter, by_clerk = activity(session, hall, first, last, now)
        acts = dict(by_counter if by == "counter" else by_clerk)
        for key, act in acts.items():
            if act.open_s > 0 or act.serving_s > 0:
                groups.setdefault(key, [])
        if by == "counter":
            names = dict(
                session.execute(
                    sa.select(Counter.number, Counter.name).where(Counter.hall_id == hall.id)
                ).all()
            )
            for key in groups:
                labels[key] = names.get(key) or f"Quầy {key}"
        else:
            by_name = {u.username: u for u in users.values()}
            for key in groups:
                labels.setdefault(key, by_name[key].full_name if key in by_name else key)
    if by == "hour":
        for key in groups:
            labels[key] = f"{key:02d}:00–{(key + 1) % 24:02d}:00"
    elif by == "day":
        for key in groups:
            labels[key] = key

    order = list(services) if by == "service" else None
    keys = sorted(groups, key=lambda k: (order.index(k) if order and k in order else 10**6, k))
    out_groups = []
    for key in keys:
        item = {"key": key, "label": labels.get(key, str(key)), **figures(groups[key], target)}
        if by in ("counter", "clerk"):
            item.update((acts.get(key) or Activity()).as_dict())
        out_groups.append(item)
    total = figures(rows, target)
    if by in ("counter", "clerk"):
        agg = Activity(
            open_s=sum(a.open_s for a in acts.values()),
            serving_s=sum(a.serving_s for a in acts.values()),
        )
        total.update(agg.as_dict())
    return {
        "hall": hall.slug,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "timezone": hall.timezone,
        "satisfaction_target": target,
        "groups": out_groups,
        "total": total,
    }


# --- one clerk's day -------------------------------------------------------------------------


def clerk_today(session: Session, hall: Hall, user_id: int, now: datetime) -> dict[str, Any]:
    """Served, no-shows, mean service time and satisfaction of one clerk on the hall's day.

    The same rows and `figures` as the manager's summary by=clerk for that day: the clerk's
    tickets are those whose last handling event was theirs.
    """
    day = today(hall, now)
    rows = load_rows(session, hall, day, day, now, handled_by=user_id)
    mine = figures([r for r in rows if r.clerk_id == user_id], hall.satisfaction_target)
    mean = mine["service_mean_s"]
    return {
        "business_date": day.isoformat(),
        "served": mine["served"],
        "no_show": mine["no_show"],
        "mean_service_s": None if mean is None else round(mean),
        "ratings": mine["rated"],
        "satisfied": mine["satisfied"],
        "satisfaction_rate": mine["satisfaction_rate"],
        "satisfaction_target": hall.satisfaction_target,
    }
