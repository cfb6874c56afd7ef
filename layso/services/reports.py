"""Wait-time figures, every one derived from the hall's event log (table `event`).

Plain functions over a Session (no Flask). The ticket table's time columns are never read:
a ticket's story is rebuilt from its `ticket.*` events, and counters' open time from their
`counter.changed` events, so the figures are exactly what the append-only log says.
The rows themselves (one per ticket, the ticket log and the CSV export) are built in
:mod:`layso.services.report_rows`; this module computes the figures over them and re-exports
the rows' names, so callers import from here alone.

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
- `expired`: tickets still waiting or held when the hall's day ended (hết giờ, see
  :mod:`layso.services.day_end`): their own figure, neither served nor no-show; a ticket that
  expired without a call is late when it waited longer than its target up to the expiry.
- `no_show_rate` = tickets whose final state is no-show ÷ tickets called at least once.
- `bookings` (of the range's days, :func:`booking_figures`): how many per state, and their own
  `no_show_rate` = bookings that ended no-show (never checked in, or called and absent) ÷
  bookings served or no-show; cancelled and still open bookings are left out.
- `satisfaction_rate` = satisfied ratings ÷ ratings; satisfied = the top two levels of the
  rating's scale (4 and 3 of 4), as `layso.services.ratings.is_satisfied` defines it.
- `official_ratings`: every rating mapped onto the three levels of the state's official
  evaluation, whatever the hall's scale (3, 4 or 5) was when it was given: the top level is
  `very_satisfied` (Rất hài lòng), the second `satisfied` (Hài lòng), every lower level
  `dissatisfied` (Không hài lòng) — so `satisfaction_rate` = (very_satisfied + satisfied) ÷ rated.
- by=kind: the figures of the intake areas and of the results areas (trả kết quả) apart;
  a ticket counts for the kind of the area that issued its number.
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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.events import Ev
from layso.models import Booking, BookingState, Counter, Event, Hall
from layso.services.common import tz
from layso.services.ratings import OFFICIAL_LEVELS

# the per-ticket rows live in report_rows; the names callers take from here stay importable here
from layso.services.report_rows import (
    GROUPINGS,
    STATES,
    VISIT_ENDS,
    Filters,
    TicketRow,
    day_bounds,
    load_rows,
    row_dict,
    service_names,
    ticket_log,
    today,
    users_by_id,
)

__all__ = [
    "GROUPINGS",
    "STATES",
    "Filters",
    "TicketRow",
    "activity",
    "clerk_today",
    "day_bounds",
    "figures",
    "load_rows",
    "percentile",
    "row_dict",
    "summary",
    "ticket_log",
    "today",
]

KIND_LABELS = {
    "intake": "Tiếp nhận hồ sơ / Intake",
    "results": "Trả kết quả / Results",
}

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
        "expired": sum(1 for r in rows if r.state == "expired"),
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
        elif by == "kind":
            key = r.area_kind
            labels[key] = KIND_LABELS.get(key, key)
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

    order = list(services) if by == "service" else list(KIND_LABELS) if by == "kind" else None
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
        "bookings": booking_figures(session, hall, first, last),
    }


def booking_figures(session: Session, hall: Hall, first: date, last: date) -> dict[str, Any]:
    """Bookings of these days: how many, per state, and the no-show rate — no-shows ÷ bookings
    whose outcome is known (served or no-show; cancelled and still open ones left out)."""
    rows = session.execute(
        sa.select(Booking.state, sa.func.count())
        .where(
            Booking.hall_id == hall.id,
            Booking.business_date >= first,
            Booking.business_date <= last,
        )
        .group_by(Booking.state)
    ).all()
    by_state = {s.value: 0 for s in BookingState}
    for state, n in rows:
        by_state[state.value if hasattr(state, "value") else str(state)] = int(n)
    settled = by_state["served"] + by_state["no_show"]
    return {
        "total": sum(by_state.values()),
        "by_state": by_state,
        "no_show": by_state["no_show"],
        "no_show_rate": round(by_state["no_show"] / settled, 4) if settled else None,
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
