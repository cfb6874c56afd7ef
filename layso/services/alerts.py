"""Live alerts for managers, on the hall's event log: each has a start and an end.

An alert is a condition of the hall that a manager should act on while it matters: a ticket
waiting past its area's target wait (warning, then critical), too many waiting in an area, an
open counter idle while people wait, a counter paused too long, a printer low on or out of
paper, a device gone silent. :func:`evaluate` works out, from the rows as they are at ``now``,
which alerts should be open, and compares them with those open in the log: the difference is a
list of :class:`Change` (raise or clear). :func:`apply` writes them as ``alert.raised`` /
``alert.cleared`` events (audience managers), each with the alert's stable ``key``. Evaluating
again changes nothing (idempotent), and after a restart the open alerts are read back from the
log (:func:`open_alerts`), never raised twice.

A level is part of the key (``ticket_wait:17:critical``): a ticket past the critical wait
clears its warning and raises a critical alert, each once.

The thresholds are per hall (``Hall.alert_settings``, null = :data:`DEFAULTS`), edited by
managers through :func:`check_settings` (the hall's configuration, validated and audited).
"""

from __future__ import annotations

import threading
import weakref
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.events import Ev
from layso.models import (
    Counter,
    CounterService,
    CounterState,
    Device,
    DeviceKind,
    Event,
    Hall,
    Service,
    Ticket,
    TicketStatus,
)
from layso.services.common import business_date, record, tz
from layso.services.config.validation import bad
from layso.services.report_rows import day_bounds

DEFAULTS: dict[str, Any] = {
    "wait_warning_factor": 1.0,  # × the area's target wait: warning
    "wait_critical_factor": 1.5,  # × the area's target wait: critical
    "max_waiting": 20,  # people waiting in one area
    "max_waiting_by_service": {},  # {area code: people}, overrides max_waiting
    "idle_counter_min": 5,  # an open counter with no ticket while people wait
    "pause_max_min": 30,  # a counter paused this long
    "device_offline_s": 90,  # a device silent this long is offline
    # delivery through the hall's notifier channels (layso.services.notify): off, critical
    # (critical alerts only) or all; the phone an SMS / ZNS channel sends them to, if any
    "notify": "off",
    "notify_phone": None,
}
NOTIFY_LEVELS = ("off", "critical", "all")
# (key, Vietnamese label, low, high, whole number?)
_BOUNDS: list[tuple[str, str, float, float, bool]] = [
    ("wait_warning_factor", "Hệ số cảnh báo chờ", 0.1, 10, False),
    ("wait_critical_factor", "Hệ số nghiêm trọng", 0.1, 20, False),
    ("max_waiting", "Số người chờ tối đa", 1, 10_000, True),
    ("idle_counter_min", "Phút quầy rảnh", 1, 240, True),
    ("pause_max_min", "Phút tạm dừng tối đa", 1, 600, True),
    ("device_offline_s", "Giây mất kết nối", 3, 86_400, True),
]

KINDS = (
    "ticket_wait",
    "queue_length",
    "counter_idle",
    "counter_paused",
    "printer_paper",
    "device_offline",
)
PAPER_LEVELS = {"paper_low": "warning", "paper_out": "critical"}


def settings(hall: Hall) -> dict[str, Any]:
    """The hall's thresholds, its own over the defaults."""
    return {**DEFAULTS, **(hall.alert_settings or {})}


def check_settings(value: Any, hall: Hall) -> dict[str, Any] | None:
    """A manager's thresholds (any subset of :data:`DEFAULTS`), validated whole; null resets."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise bad("Ngưỡng cảnh báo phải là một đối tượng.", "alert_settings must be an object.")
    unknown = sorted(set(value) - set(DEFAULTS))
    if unknown:
        raise bad(
            f"Ngưỡng cảnh báo không hợp lệ: {', '.join(unknown)}.",
            f"Unknown alert setting(s): {', '.join(unknown)}.",
        )
    out = {k: v for k, v in (hall.alert_settings or {}).items() if k in DEFAULTS}
    for key, label, lo, hi, whole in _BOUNDS:
        if key not in value:
            continue
        v = value[key]
        ok = not isinstance(v, bool) and isinstance(v, int if whole else int | float)
        if not ok or not lo <= v <= hi:
            kind_vi, kind_en = ("số nguyên", "a whole number") if whole else ("số", "a number")
            raise bad(
                f"'{label}' ({key}) phải là {kind_vi} từ {lo:g} đến {hi:g}.",
                f"'{key}' must be {kind_en} from {lo:g} to {hi:g}.",
            )
        out[key] = v if whole else float(v)
    if "notify" in value:
        if value["notify"] not in NOTIFY_LEVELS:
            raise bad(
                "Gửi cảnh báo (notify) phải là off, critical hoặc all.",
                "notify must be off, critical or all.",
            )
        out["notify"] = value["notify"]
    if "notify_phone" in value:
        from layso.services.notify import normalize_phone

        phone = value["notify_phone"]
        if phone is not None and (
            not isinstance(phone, str) or len(phone) > 20 or normalize_phone(phone) is None
        ):
            raise bad(
                "Số điện thoại nhận cảnh báo không hợp lệ (số di động Việt Nam).",
                "notify_phone must be a Vietnamese mobile number, or null.",
            )
        out["notify_phone"] = normalize_phone(phone) if phone else None
    if "max_waiting_by_service" in value:
        by = value["max_waiting_by_service"]
        if not isinstance(by, dict) or not all(
            isinstance(k, str)
            and 1 <= len(k) <= 20
            and isinstance(v, int)
            and not isinstance(v, bool)
            and 1 <= v <= 10_000
            for k, v in by.items()
        ):
            raise bad(
                "Số người chờ tối đa theo lĩnh vực: {mã lĩnh vực: số nguyên 1–10000}.",
                "max_waiting_by_service is {area code: a whole number 1-10000}.",
            )
        out["max_waiting_by_service"] = dict(by)
    merged = {**DEFAULTS, **out}
    if merged["wait_critical_factor"] <= merged["wait_warning_factor"]:
        raise bad(
            "Hệ số nghiêm trọng phải lớn hơn hệ số cảnh báo.",
            "wait_critical_factor must be greater than wait_warning_factor.",
        )
    return out


@dataclass
class Alert:
    """One alert: what (kind, level), about what (service, counter, device, ticket), why."""

    key: str
    kind: str
    level: str
    message: str
    message_en: str
    service: str | None = None
    counter: int | None = None
    device: int | None = None
    ticket: int | None = None
    values: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "level": self.level,
            "message": self.message,
            "message_en": self.message_en,
            "service": self.service,
            "counter": self.counter,
            "device": self.device,
            "ticket": self.ticket,
            "values": self.values,
        }


@dataclass
class Change:
    """Raise ``alert``, or clear the open alert ``key`` (``open`` is its raised event body)."""

    action: str  # "raise" | "clear"
    key: str
    alert: Alert | None = None
    open: dict[str, Any] | None = None


# --- the alerts open in the log ----------------------------------------------------------------

ALERT_EVENTS = (Ev.ALERT_RAISED, Ev.ALERT_CLEARED)
#: what an alert is and what it is about: a cleared event repeats these of its raised one
SUBJECT = ("key", "kind", "level", "service", "counter", "device", "ticket")
# per database engine, per hall id: (last seq folded, {key: raised body}); guarded by _fold_lock
_open: weakref.WeakKeyDictionary[Any, dict[int, tuple[int, dict[str, dict[str, Any]]]]] = (
    weakref.WeakKeyDictionary()
)
_fold_lock = threading.Lock()


def open_alerts(session: Session, hall: Hall) -> dict[str, dict[str, Any]]:
    """The alerts raised and not cleared, by key, read back from the log (what this process
    has already folded is kept: each call reads only the alert events after it)."""
    bind = session.get_bind()
    with _fold_lock:
        seen, known = _open.setdefault(bind, {}).get(hall.id, (0, {}))
        known = dict(known)
    rows = session.execute(
        sa.select(Event.seq, Event.name, Event.payload)
        .where(Event.hall_id == hall.id, Event.seq > seen, Event.name.in_(ALERT_EVENTS))
        .order_by(Event.seq)
    ).all()
    for seq, name, payload in rows:
        if name == Ev.ALERT_RAISED:
            known[payload["key"]] = payload
        else:
            known.pop(payload["key"], None)
        seen = max(seen, seq)
    with _fold_lock:
        _open.setdefault(bind, {})[hall.id] = (seen, known)
    return dict(known)


def forget(session: Session | None = None) -> None:
    """Drop what this process folded (tests that rewrite the log)."""
    with _fold_lock:
        if session is None:
            _open.clear()
        else:
            _open.pop(session.get_bind(), None)


# --- what should be open -------------------------------------------------------------------------


def _minutes(seconds: float) -> int:
    return int(seconds // 60)


def wanted(session: Session, hall: Hall, now: datetime) -> dict[str, Alert]:
    """Every alert the hall's rows call for at ``now``, by key."""
    cfg = settings(hall)
    out: dict[str, Alert] = {}
    today = business_date(hall, now)
    services = {
        s.id: s
        for s in session.scalars(
            sa.select(Service).where(Service.hall_id == hall.id, Service.active.is_(True))
        )
    }
    waiting_today = (
        Ticket.hall_id == hall.id,
        Ticket.status == TicketStatus.WAITING,
        Ticket.business_date == today,
    )
    # each area's waiting count and longest-waiting ticket, counted by the database: the sweep
    # runs on the server's event loop, and a morning queue made into ORM objects held every
    # request and screen up for milliseconds per hall, every few seconds
    counts: dict[int, int] = {}
    oldest: dict[int, datetime] = {}
    for service_id, count, first in session.execute(
        sa.select(Ticket.service_id, sa.func.count(), sa.func.min(Ticket.queued_at))
        .where(*waiting_today)
        .group_by(Ticket.service_id)
    ):
        counts[service_id], oldest[service_id] = count, first

    # a ticket waiting past its area's target: only the tickets that have waited longer than
    # the least patient area's first level are read (a second of slack for the rounding)
    factor = min(cfg["wait_warning_factor"], cfg["wait_critical_factor"])
    patience = min((s.target_wait_min for s in services.values()), default=0) * 60 * factor
    late = (
        session.execute(
            sa.select(Ticket.id, Ticket.service_id, Ticket.display_number, Ticket.queued_at)
            .where(
                *waiting_today,
                Ticket.service_id.in_(list(services)),
                Ticket.queued_at <= now - timedelta(seconds=patience - 1),
            )
            .order_by(Ticket.id)
        ).all()
        if services
        else []
    )
    for t in late:
        service = services[t.service_id]
        waited = (now - t.queued_at).total_seconds()
        target = service.target_wait_min * 60
        level = None
        if waited >= target * cfg["wait_critical_factor"]:
            level = "critical"
        elif waited >= target * cfg["wait_warning_factor"]:
            level = "warning"
        if level:
            m = _minutes(waited)
            out_key = f"ticket_wait:{t.id}:{level}"
            out[out_key] = Alert(
                out_key,
                "ticket_wait",
                level,
                f"Số {t.display_number} ({service.name}) đã chờ {m} phút, "
                f"quá thời gian chờ tối đa {service.target_wait_min} phút.",
                f"Ticket {t.display_number} ({service.name_en or service.code}) has waited "
                f"{m} min, past the {service.target_wait_min} min target.",
                service=service.code,
                ticket=t.id,
                values={
                    "display_number": t.display_number,
                    "waited_s": round(waited),
                    "target_s": target,
                },
            )

    # too many waiting in an area
    by_code = cfg["max_waiting_by_service"]
    for sid, service in services.items():
        count = counts.get(sid, 0)
        limit = by_code.get(service.code, cfg["max_waiting"])
        if count >= limit:
            key = f"queue_length:{service.code}"
            out[key] = Alert(
                key,
                "queue_length",
                "warning",
                f"{service.name}: {count} người đang chờ (ngưỡng {limit}).",
                f"{service.name_en or service.code}: {count} waiting (threshold {limit}).",
                service=service.code,
                values={"waiting": count, "threshold": limit},
            )

    counters = list(
        session.scalars(
            sa.select(Counter).where(
                Counter.hall_id == hall.id,
                Counter.state.in_([CounterState.OPEN, CounterState.PAUSED]),
            )
        )
    )
    links: dict[int, list[int]] = defaultdict(list)
    for counter_id, service_id in session.execute(
        sa.select(CounterService.counter_id, CounterService.service_id).where(
            CounterService.counter_id.in_([c.id for c in counters])
        )
    ):
        links[counter_id].append(service_id)
    for c in counters:
        since = c.state_since or now
        if c.state == CounterState.PAUSED:
            paused = (now - since).total_seconds()
            if paused >= cfg["pause_max_min"] * 60:
                key = f"counter_paused:{c.number}"
                reason = c.pause_reason or ""
                out[key] = Alert(
                    key,
                    "counter_paused",
                    "warning",
                    f"Quầy {c.number} tạm dừng đã {_minutes(paused)} phút"
                    + (f" ({reason})." if reason else "."),
                    f"Counter {c.number} has been paused for {_minutes(paused)} min.",
                    counter=c.number,
                    values={
                        "paused_s": round(paused),
                        "reason": reason,
                        "pause_code": c.pause_code,
                        "threshold_s": cfg["pause_max_min"] * 60,
                    },
                )
            continue
        if c.current_ticket_id is not None:
            continue
        queue = [sid for sid in links.get(c.id, ()) if counts.get(sid)]
        if not queue:
            continue
        # the counter's last ticket today: called, or finished (a read of today's tickets, not
        # of the whole log); opening, pausing and resuming set state_since
        last_here = session.scalar(
            sa.select(sa.func.max(sa.func.coalesce(Ticket.finished_at, Ticket.called_at))).where(
                Ticket.business_date == today, Ticket.counter_id == c.id
            )
        )
        first = min(oldest[sid] for sid in queue)
        waiting = sum(counts[sid] for sid in queue)
        idle_from = max(x for x in (since, last_here, first) if x is not None)
        idle = (now - idle_from).total_seconds()
        if idle >= cfg["idle_counter_min"] * 60:
            key = f"counter_idle:{c.number}"
            out[key] = Alert(
                key,
                "counter_idle",
                "warning",
                f"Quầy {c.number} đang mở nhưng chưa gọi số đã {_minutes(idle)} phút, "
                f"trong khi {waiting} người đang chờ.",
                f"Counter {c.number} is open and idle for {_minutes(idle)} min while "
                f"{waiting} wait.",
                counter=c.number,
                values={
                    "idle_s": round(idle),
                    "waiting": waiting,
                    "threshold_s": cfg["idle_counter_min"] * 60,
                },
            )

    devices = session.scalars(
        sa.select(Device).where(Device.hall_id == hall.id, Device.revoked_at.is_(None))
    )
    for d in devices:
        # the printer's own state: the server's printer (kept on its kiosks) or the print
        # agent's (print.status, its print results, its beats). A kiosk's beat only repeats
        # what its last print told it: for a kiosk printing through an agent that would be a
        # second alert about the same printer, left behind when the agent's paper is back
        paper = d.printer_state or (
            (d.health or {}).get("paper") if d.kind == DeviceKind.PRINT_AGENT else None
        )
        if paper in PAPER_LEVELS:
            key = f"printer_paper:{d.id}:{paper}"
            low = paper == "paper_low"
            out[key] = Alert(
                key,
                "printer_paper",
                PAPER_LEVELS[paper],
                f"Máy in của {d.name} {'sắp hết giấy' if low else 'hết giấy'}.",
                f"The printer of {d.name} is {'low on paper' if low else 'out of paper'}.",
                device=d.id,
                values={"state": paper, "device_name": d.name},
            )
        health = d.health or {}
        if health.get("online") is False:
            key = f"device_offline:{d.id}"
            out[key] = Alert(
                key,
                "device_offline",
                "critical",
                f"Thiết bị {d.name} ({d.kind.value}) mất kết nối từ "
                f"{_local_hm(hall, health.get('last_seen'))}.",
                f"Device {d.name} ({d.kind.value}) offline since "
                f"{_local_hm(hall, health.get('last_seen'))}.",
                device=d.id,
                values={
                    "device_name": d.name,
                    "device_kind": d.kind.value,
                    "last_seen": health.get("last_seen"),
                },
            )
    return out


def _local_hm(hall: Hall, iso_text: str | None) -> str:
    if not iso_text:
        return "?"
    try:
        return datetime.fromisoformat(iso_text).astimezone(tz(hall)).strftime("%H:%M:%S")
    except ValueError:
        return "?"


def evaluate(session: Session, hall: Hall, now: datetime) -> list[Change]:
    """What to raise and what to clear so that the log's open alerts are those wanted at now."""
    want = wanted(session, hall, now)
    have = open_alerts(session, hall)
    changes = [Change("clear", key, open=body) for key, body in have.items() if key not in want]
    changes += [Change("raise", key, alert=a) for key, a in want.items() if key not in have]
    return changes


def _deliver(
    session: Session,
    hall: Hall,
    cfg: dict[str, Any],
    body: dict[str, Any],
    name: str,
    now: datetime,
) -> None:
    """Hand the alert to the hall's notifier channels when the hall asked for it (its level)."""
    if cfg["notify"] == "off" or (cfg["notify"] == "critical" and body.get("level") != "critical"):
        return
    from layso.services import notify

    if name == Ev.ALERT_RAISED:
        text, text_en = body["message"], body["message_en"]
    else:
        text = f"Đã hết cảnh báo: {body.get('message') or body['key']}"
        text_en = f"Alert cleared: {body.get('message_en') or body['key']}"
    notify.enqueue(
        session,
        hall,
        notify.Message(
            kind=str(name),  # "alert.raised" / "alert.cleared": a channel's kinds may pick them
            text=text,
            text_en=text_en,
            recipient=cfg["notify_phone"],
            data={k: body.get(k) for k in SUBJECT},
            ticket_id=body.get("ticket"),
        ),
        now=now,
    )


def apply(session: Session, hall: Hall, changes: list[Change], now: datetime) -> list[Change]:
    """Write the changes to the log (the caller holds the hall's lock and commits), and hand
    them to the notifier when the hall's ``notify`` setting asks for it."""
    cfg = settings(hall)
    out = []
    for ch in changes:
        if ch.action == "raise" and ch.alert is not None:
            body = ch.alert.fields()
            record(session, hall, Ev.ALERT_RAISED, body, now=now, audience="managers")
            _deliver(session, hall, cfg, body, Ev.ALERT_RAISED, now)
            out.append(ch)
        elif ch.action == "clear" and ch.open is not None:
            raised_at = datetime.fromisoformat(ch.open["at"])
            out.append(ch)
            record(
                session,
                hall,
                Ev.ALERT_CLEARED,
                {
                    **{k: ch.open.get(k) for k in SUBJECT},
                    "key": ch.key,
                    "raised_seq": ch.open.get("seq"),
                    "raised_at": ch.open.get("at"),
                    "duration_s": max(0, round((now - raised_at).total_seconds())),
                },
                now=now,
                audience="managers",
            )
            _deliver(session, hall, cfg, ch.open, Ev.ALERT_CLEARED, now)
    return out


def run(session: Session, hall: Hall, now: datetime) -> list[Change]:
    """Evaluate and write in one go (the caller holds the hall's lock)."""
    return apply(session, hall, evaluate(session, hall, now), now)


def current(session: Session, hall: Hall) -> list[dict[str, Any]]:
    """The open alerts, most severe first, then oldest first: the manager board's list."""
    rank = {"critical": 0, "warning": 1}
    items = open_alerts(session, hall).values()
    return sorted(items, key=lambda a: (rank.get(a.get("level"), 2), a.get("seq", 0)))


# --- reports -------------------------------------------------------------------------------------


def report(session: Session, hall: Hall, first: date, last: date, now: datetime) -> dict[str, Any]:
    """Alerts of the days first..last by kind (and level): how many were raised and their total
    open time (an alert still open counts up to now)."""
    start, end = day_bounds(hall, first, last)
    rows = session.execute(
        sa.select(Event.name, Event.payload, Event.at)
        .where(
            Event.hall_id == hall.id,
            Event.name.in_(ALERT_EVENTS),
            Event.at < end,
        )
        .order_by(Event.seq)
    ).all()
    raised: dict[str, tuple[datetime, dict[str, Any]]] = {}
    spans: list[tuple[datetime, datetime, dict[str, Any]]] = []
    for name, payload, at in rows:
        if name == Ev.ALERT_RAISED:
            raised[payload["key"]] = (at, payload)
        else:
            began = raised.pop(payload["key"], None)
            if began is not None:
                spans.append((began[0], at, began[1]))
    for at, payload in raised.values():
        spans.append((at, min(now, end), payload))
    by_kind: dict[str, dict[str, Any]] = {}
    total = {"alerts": 0, "open_s": 0, "still_open": len(raised)}
    for a, b, payload in spans:
        if a >= end or b < start or (b == start and a < start):
            continue  # wholly outside the range
        seconds = max(0, round((min(b, end) - max(a, start)).total_seconds()))
        row = by_kind.setdefault(
            payload["kind"], {"kind": payload["kind"], "alerts": 0, "open_s": 0, "critical": 0}
        )
        row["alerts"] += 1
        row["open_s"] += seconds
        row["critical"] += payload.get("level") == "critical"
        total["alerts"] += 1
        total["open_s"] += seconds
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "total": total,
        "by_kind": [by_kind[k] for k in KINDS if k in by_kind],
    }
