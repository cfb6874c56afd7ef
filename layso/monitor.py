"""The hall's watchman in a running server: device heartbeats and the alerts evaluator.

* ``device.heartbeat`` (namespace ``/hall``), sent by every device page (``hall.js``) and print
  agent every ~25 s: ``{"version": text, "paper": state, "audio_blocked": bool}`` (paper from
  kiosks and print agents only, audio from displays only). The sender is the device of the
  connection (never named in the message); the answer is ``{"ok": true}`` or ``{"ok": false,
  "error": code, "message": "Vietnamese / English"}`` and a bad beat changes nothing.
* A green thread (:meth:`Monitor.loop`, started by ``layso run``) wakes every
  ``LAYSO_ALERT_INTERVAL`` seconds: it marks silent devices offline, writes back online the
  devices beating here that the database calls offline, then evaluates every hall's alerts
  (:func:`layso.services.alerts.evaluate`) off the request path — a read first, and a write
  under the hall's lock only when something is to be raised or cleared.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, request

from layso.db import Database
from layso.events import Ev
from layso.hub import NAMESPACE, socketio
from layso.models import Device, DeviceKind, Hall
from layso.services import alerts, health, printing
from layso.services.accounts import Principal
from layso.services.common import get_hall

logger = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 5.0
BEAT_BURST = 5  # beats a connection may send at once (connect, audio blocked, unlocked ...)
BEAT_REFILL_S = 2.0  # then one more every this many seconds: a flood never floods the database


class Monitor:
    """Presence of this process's devices, and the periodic sweep."""

    def __init__(self, db: Database, clock: Callable[[], datetime], interval: float) -> None:
        self.db = db
        self.clock = clock
        self.interval = interval
        self.presence = health.Presence()
        self.started = False
        self.adopted = False
        self.buckets: dict[str, tuple[float, float]] = {}  # sid -> (beats left, at)

    # --- connections and beats --------------------------------------------------------------

    def joined(self, sid: str, hall: str, principal: Principal) -> None:
        if principal.kind != "device":
            return
        # memory only: the device's first beat (right after it connects) writes it online
        self.presence.joined(sid, hall, principal.id, principal.role, self.clock())

    def left(self, sid: str) -> None:
        self.presence.left(sid, self.clock())
        self.buckets.pop(sid, None)

    def allowed(self, sid: str) -> bool:
        """A token bucket per connection."""
        moment = self.clock().timestamp()
        left, at = self.buckets.get(sid, (float(BEAT_BURST), moment))
        left = min(float(BEAT_BURST), left + (moment - at) / BEAT_REFILL_S)
        if left < 1:
            self.buckets[sid] = (left, moment)
            return False
        self.buckets[sid] = (left - 1, moment)
        return True

    def beat(self, sid: str, data: Any) -> dict[str, Any]:
        sender = self.presence.sender(sid)
        if sender is None:
            return {
                "ok": False,
                "error": "not_a_device",
                "message": "Chỉ thiết bị mới gửi nhịp tim. / Only devices send heartbeats.",
            }
        try:
            fields = health.parse_beat(sender.kind, data)
        except health.BadBeat as e:
            return {"ok": False, "error": "bad_heartbeat", "message": f"{e.vi} / {e.en}"}
        if not self.allowed(sid):  # a bad beat writes nothing: only good ones count
            return {
                "ok": False,
                "error": "too_many",
                "message": "Gửi nhịp tim quá dày, vui lòng chậm lại. / Too many heartbeats; slow "
                "down.",
            }
        self.presence.beat(sid, fields, self.clock())
        self.persist_if_changed(sender.hall, sender.device, online=True)
        if sender.kind == DeviceKind.PRINT_AGENT.value and "paper" in fields:
            self.agent_paper(sender.hall, sender.device, fields["paper"])
        return {"ok": True}

    def agent_paper(self, slug: str, device: int, paper: str) -> None:
        """A print agent's beat is its printer's state as it reads it now (DLE EOT): the
        printer state kept on its row (from ``print.status`` and its print results, which the
        board and the paper alert read first) follows it, or a paper_out reported by
        ``print.status`` would outlive the paper put back in. A read, and a write only when
        it differs."""
        with self.db.read() as s:
            row = s.get(Device, device)
            if row is None or row.printer_state == paper:
                return
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            row = s.get(Device, device)
            if row is None or row.revoked_at is not None:
                return
            detail = None if paper in ("ok", "paper_low") else row.printer_detail
            printing.set_agent_state(s, hall, device, paper, detail, now=self.clock())

    def persist_if_changed(self, slug: str, device: int, *, online: bool) -> None:
        new = self.presence.health(device, online)
        if new is None:
            return
        now = self.clock()
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            if health.persist(s, hall, device, new, now):
                self.presence.persisted_as(device, new)

    # --- the sweep ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start the sweep (once per process)."""
        if self.started or self.interval <= 0:
            return
        self.started = True
        socketio.start_background_task(self.loop)

    def loop(self) -> None:
        self.warm()
        while True:
            socketio.sleep(self.interval)
            try:
                self.sweep()
            except Exception:  # a database hiccup: try again next time
                logger.exception("monitor: the sweep failed this time")

    def warm(self) -> None:
        """Evaluate every hall's alerts once at start, writing nothing: the first sweep built
        its statements (SQLAlchemy compiles each on first use) in some 30 ms during which the
        server served nobody, a few seconds into a running hall; at start nobody waits yet."""
        now = self.clock()
        try:
            with self.db.read() as s:
                for hall in s.scalars(sa.select(Hall)):
                    alerts.evaluate(s, hall, now)
        except Exception:  # the sweep will say what is wrong
            logger.debug("monitor: the warm-up failed", exc_info=True)

    def sweep(self) -> int:
        """One round: devices, then every hall's alerts; the number of alert changes written."""
        now = self.clock()
        self.presence.connected(now)
        with self.db.read() as s:
            halls = list(s.scalars(sa.select(Hall)))
            limits = {h.slug: float(alerts.settings(h)["device_offline_s"]) for h in halls}
            if not self.adopted:
                self.adopted = True
                for d, slug in s.execute(
                    sa.select(Device, Hall.slug)
                    .join(Hall, Hall.id == Device.hall_id)
                    .where(Device.revoked_at.is_(None), Device.health.is_not(None))
                ):
                    if (d.health or {}).get("online"):
                        self.presence.adopt(slug, d.id, d.kind.value, d.health, now)
            # the two sets are disjoint (seen within the hall's limit, or not): one read for both
            alive = self.presence.alive(now, limits)
            silent = self.presence.silent(now, limits)
            stored: dict[int, Any] = {}
            if alive or silent:
                stored = dict(
                    s.execute(
                        sa.select(Device.id, Device.health).where(
                            Device.id.in_([x.device for x in alive + silent])
                        )
                    ).all()
                )
            for a in alive:
                if (stored.get(a.device) or {}).get("online") is False:
                    self.presence.persisted_as(a.device, stored[a.device])
        for seen in silent:
            # another process may have seen it since (it touches last_seen, below)
            last = _seen_at((stored.get(seen.device) or {}).get("last_seen"))
            if last is not None and (now - last).total_seconds() < limits[seen.hall]:
                self.presence.seen_elsewhere(seen.device, last)
                continue
            self.persist_if_changed(seen.hall, seen.device, online=False)
        for a in alive:
            self.persist_if_changed(a.hall, a.device, online=True)
        self.touch(alive, limits, now)
        written = 0
        for h in halls:
            socketio.sleep(0)  # requests and screens go first: a province has many halls
            written += self.evaluate(h.slug)
        return written

    def touch(self, alive: list[health.Seen], limits: dict[str, float], now: datetime) -> None:
        """Keep the last-seen time of this process's live devices in the database, at most every
        third of the offline threshold (never per beat, no event): with several server
        processes, the one a device is not connected to reads it there before calling it gone."""
        due = []
        for a in alive:
            persisted = self.presence.persisted(a.device) or {}
            last = _seen_at(persisted.get("last_seen"))
            if persisted.get("online") and (
                last is None or (now - last).total_seconds() >= limits.get(a.hall, 90) / 3
            ):
                due.append(a.device)
        if not due:
            return
        with self.db.write() as s:
            for device in s.scalars(sa.select(Device).where(Device.id.in_(due))):
                seen_at = self.presence.last_seen(device.id)
                if not device.health or not device.health.get("online") or seen_at is None:
                    continue
                device.health = {**device.health, "last_seen": seen_at.isoformat()}
                self.presence.persisted_as(device.id, device.health)

    def evaluate(self, slug: str) -> int:
        now = self.clock()
        with self.db.read() as s:
            hall = get_hall(s, slug)
            if not alerts.evaluate(s, hall, now):
                return 0
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            return len(alerts.run(s, hall, now))


def _seen_at(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def monitor() -> Monitor | None:
    return current_app.extensions.get("layso.monitor")  # type: ignore[no-any-return]


@socketio.on(Ev.DEVICE_HEARTBEAT, namespace=NAMESPACE)
def heartbeat(data: Any = None) -> dict[str, Any]:
    """Sent by every device page and print agent every ~25 s: its version and state."""
    m = monitor()
    if m is None:
        return {"ok": False, "error": "unavailable", "message": "Không có. / Not available."}
    return m.beat(request.sid, data)  # type: ignore[attr-defined]


def init_app(app: Flask, db: Database, interval: float = DEFAULT_INTERVAL_S) -> Monitor:
    m = Monitor(db, app.extensions["layso.clock"], interval)
    app.extensions["layso.monitor"] = m
    return m
