"""Device health: who is online, last seen, page version, paper state, audio blocked.

Every device page (kiosk, display, counter display, rating pad) and print agent beats over the
hub every ~25 s (``device.heartbeat``). Beats are kept in memory (:class:`Presence`, one per
server process): the database is written only when something a manager sees changes — a device
comes online or goes offline, its page version, paper state or audio state changes — as the
device's ``health`` and a ``device.status`` event to managers. A device silent (no beat, no
connection) for the hall's ``device_offline_s`` is offline; the alerts evaluator raises
``device_offline`` from the persisted state, and clears it when the device is back.

Several server processes each know the devices connected to them; a process that finds the
database saying "offline" for a device that beats to it writes it back online on its next
sweep (:meth:`Presence.reconcile`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.events import Ev
from layso.models import Device, DeviceKind, Hall
from layso.serializers import iso
from layso.services.common import record

PAPER_STATES = ("ok", "paper_low", "paper_out", "offline", "error", "unknown")
PAPER_KINDS = (DeviceKind.KIOSK.value, DeviceKind.PRINT_AGENT.value)
AUDIO_KINDS = (DeviceKind.DISPLAY.value, DeviceKind.COUNTER_DISPLAY.value)
SHOWN = ("version", "paper", "audio_blocked")  # what a beat carries that managers see
MAX_VERSION = 40


class BadBeat(ValueError):
    """A heartbeat that is not what a device sends: (Vietnamese, English)."""

    def __init__(self, vi: str, en: str) -> None:
        super().__init__(en)
        self.vi, self.en = vi, en


def parse_beat(kind: str, data: Any) -> dict[str, Any]:
    """The fields of a heartbeat from a device of ``kind``; BadBeat when it is malformed."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise BadBeat("Nhịp tim phải là một đối tượng.", "a heartbeat is an object")
    unknown = sorted(set(data) - set(SHOWN))
    if unknown:
        raise BadBeat(
            f"Trường không hợp lệ: {', '.join(unknown)}.", f"unknown field(s): {', '.join(unknown)}"
        )
    out: dict[str, Any] = {}
    version = data.get("version")
    if version is not None:
        if (
            not isinstance(version, str)
            or not 1 <= len(version) <= MAX_VERSION
            or not version.isprintable()
            or any(0xD800 <= ord(ch) <= 0xDFFF for ch in version)
        ):
            raise BadBeat(
                f"Phiên bản trang phải là chuỗi 1–{MAX_VERSION} ký tự in được.",
                f"version must be 1-{MAX_VERSION} printable characters",
            )
        out["version"] = version
    paper = data.get("paper")
    if paper is not None:
        if kind not in PAPER_KINDS:
            raise BadBeat(
                "Chỉ ki-ốt và trình in báo trạng thái giấy.",
                "only kiosks and print agents report paper",
            )
        if paper not in PAPER_STATES:
            raise BadBeat(
                f"Trạng thái giấy phải là một trong: {', '.join(PAPER_STATES)}.",
                f"paper must be one of {', '.join(PAPER_STATES)}",
            )
        out["paper"] = paper
    audio = data.get("audio_blocked")
    if audio is not None:
        if kind not in AUDIO_KINDS:
            raise BadBeat(
                "Chỉ màn hình báo trạng thái âm thanh.", "only displays report audio_blocked"
            )
        if not isinstance(audio, bool):
            raise BadBeat(
                "audio_blocked phải là true hoặc false.", "audio_blocked must be a boolean"
            )
        out["audio_blocked"] = audio
    return out


@dataclass
class Seen:
    """What this process knows of one device."""

    hall: str
    device: int
    kind: str
    last_seen: datetime
    sids: set[str] = field(default_factory=set)
    shown: dict[str, Any] = field(default_factory=dict)  # version, paper, audio_blocked
    persisted: dict[str, Any] | None = None  # the health last written (or read back)
    beaten: bool = False  # a device that never beats (an old page) is not tracked


class Presence:
    """Devices seen by this process, kept in memory (thread-safe)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.devices: dict[int, Seen] = {}
        self.by_sid: dict[str, int] = {}

    def joined(self, sid: str, hall: str, device: int, kind: str, at: datetime) -> None:
        with self.lock:
            seen = self.devices.get(device)
            if seen is None:
                seen = self.devices[device] = Seen(hall, device, kind, at)
            seen.sids.add(sid)
            seen.last_seen = at
            self.by_sid[sid] = device

    def left(self, sid: str, at: datetime) -> None:
        """A connection ended: the device's silence starts now."""
        with self.lock:
            device = self.by_sid.pop(sid, None)
            seen = self.devices.get(device) if device is not None else None
            if seen is not None:
                seen.sids.discard(sid)
                seen.last_seen = max(seen.last_seen, at)

    def connected(self, now: datetime) -> None:
        """A device with a connection open to this process is seen now: silent means no beat
        and no connection. (Beats come every ~25 s, and a hall's threshold may be shorter; a
        page that hangs stops answering the hub's pings and is disconnected.)"""
        with self.lock:
            for seen in self.devices.values():
                if seen.sids and now > seen.last_seen:
                    seen.last_seen = now

    def sender(self, sid: str) -> Seen | None:
        with self.lock:
            device = self.by_sid.get(sid)
            return self.devices.get(device) if device is not None else None

    def beat(self, sid: str, fields: dict[str, Any], at: datetime) -> Seen | None:
        """Note a beat; the device's record (a copy), or None when the sid is no device."""
        with self.lock:
            device = self.by_sid.get(sid)
            seen = self.devices.get(device) if device is not None else None
            if seen is None:
                return None
            seen.last_seen = at
            seen.shown.update(fields)
            seen.beaten = True
            return Seen(
                seen.hall,
                seen.device,
                seen.kind,
                at,
                set(seen.sids),
                dict(seen.shown),
                seen.persisted,
                True,
            )

    def health(self, device: int, online: bool) -> dict[str, Any] | None:
        """The health to persist for a device now, or None when it is what was persisted."""
        with self.lock:
            seen = self.devices.get(device)
            if seen is None or not (seen.beaten or seen.persisted):
                return None
            new = {"online": online, **seen.shown}
            old = seen.persisted or {}
            if {k: old.get(k) for k in new} == new and "last_seen" in old:
                return None
            return {**new, "last_seen": seen.last_seen.isoformat()}

    def persisted_as(self, device: int, health: dict[str, Any]) -> None:
        with self.lock:
            seen = self.devices.get(device)
            if seen is not None:
                seen.persisted = dict(health)

    def silent(self, now: datetime, offline_after_s: dict[str, float]) -> list[Seen]:
        """Devices last seen longer ago than their hall's threshold and not yet persisted as
        offline (the threshold per hall slug)."""
        out = []
        with self.lock:
            for seen in self.devices.values():
                limit = offline_after_s.get(seen.hall)
                if limit is None or not seen.persisted or seen.persisted.get("online") is False:
                    continue
                if (now - seen.last_seen).total_seconds() >= limit:
                    out.append(seen)
        return out

    def alive(self, now: datetime, offline_after_s: dict[str, float]) -> list[Seen]:
        """Devices seen recently enough to be online."""
        with self.lock:
            return [
                s
                for s in self.devices.values()
                if s.beaten
                and (now - s.last_seen).total_seconds() < offline_after_s.get(s.hall, 90)
            ]

    def adopt(
        self, hall: str, device: int, kind: str, health: dict[str, Any], at: datetime
    ) -> None:
        """A device the database says is online but this process has never seen (after a
        restart): its silence starts now, so it goes offline if it does not come back."""
        with self.lock:
            if device not in self.devices:
                seen = Seen(hall, device, kind, at, persisted=dict(health))
                seen.shown = {k: health[k] for k in SHOWN if k in health}
                self.devices[device] = seen

    def persisted(self, device: int) -> dict[str, Any] | None:
        with self.lock:
            seen = self.devices.get(device)
            return dict(seen.persisted) if seen and seen.persisted else None

    def seen_elsewhere(self, device: int, at: datetime) -> None:
        """Another process saw the device at ``at``: its silence here starts then."""
        with self.lock:
            seen = self.devices.get(device)
            if seen is not None and at > seen.last_seen:
                seen.last_seen = at

    def last_seen(self, device: int) -> datetime | None:
        with self.lock:
            seen = self.devices.get(device)
            return seen.last_seen if seen else None


def persist(
    session: Session, hall: Hall, device_id: int, health: dict[str, Any], now: datetime
) -> bool:
    """Write a device's new health and tell managers (device.status); False when the device is
    not this hall's or is revoked. The caller holds the hall's lock."""
    device = session.get(Device, device_id)
    if device is None or device.hall_id != hall.id or device.revoked_at is not None:
        return False
    old = device.health or {}
    device.health = dict(health)
    record(
        session,
        hall,
        Ev.DEVICE_STATUS,
        {
            "device": device.id,
            "device_name": device.name,
            "kind": device.kind.value,
            **health,
            "was_online": old.get("online"),
        },
        now=now,
        audience="managers",
    )
    return True


def device_list(
    session: Session, hall: Hall, presence: Presence | None = None
) -> list[dict[str, Any]]:
    """Every live device of the hall with its health, for the manager board."""
    out = []
    for d in session.scalars(
        sa.select(Device)
        .where(Device.hall_id == hall.id, Device.revoked_at.is_(None))
        .order_by(Device.kind, Device.id)
    ):
        health = d.health or {}
        seen = presence.last_seen(d.id) if presence is not None else None
        last = health.get("last_seen")
        if seen is not None and (last is None or seen.isoformat() > last):
            last = seen.isoformat()
        out.append(
            {
                "device": d.id,
                "name": d.name,
                "kind": d.kind.value,
                "counter": d.counter.number if d.counter else None,
                "online": health.get("online"),  # null: never reported
                "last_seen": iso(hall, datetime.fromisoformat(last)) if last else None,
                "version": health.get("version"),
                "paper": d.printer_state or health.get("paper"),
                "audio_blocked": health.get("audio_blocked"),
            }
        )
    return out
