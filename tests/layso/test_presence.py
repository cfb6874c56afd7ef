"""Device presence with two server processes (two monitors on one database, in one test
process, with the controlled clock): a device beating to one is not called gone by the other."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from layso.db import Database
from layso.events import Ev
from layso.models import Device, DeviceKind, Event
from layso.monitor import Monitor
from layso.services import alerts
from layso.services.accounts import Principal
from layso.services.common import get_hall
from layso.services.config import update_hall

pytestmark = pytest.mark.usefixtures("demo")


def _display(db: Database) -> Principal:
    with db.read() as s:
        d = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.DISPLAY)).one()
        return Principal("device", d.id, d.hall_id, d.kind.value, d.name)


def _health(db: Database, device: int) -> dict[str, Any]:
    with db.read() as s:
        d = s.get(Device, device)
        assert d is not None
        return dict(d.health or {})


def test_a_device_beating_to_one_process_is_not_called_gone_by_another(
    db: Database, clock: Any
) -> None:
    alerts.forget()
    with db.write() as s:
        update_hall(
            s,
            get_hall(s, "demo", lock=True),
            {"alert_settings": {"device_offline_s": 30}},
            user=None,
            now=clock(),
        )
    display = _display(db)
    a, b = Monitor(db, clock, 0), Monitor(db, clock, 0)
    a.joined("sid-a", "demo", display)
    assert a.beat("sid-a", {"version": "wall@1"}) == {"ok": True}
    assert _health(db, display.id)["online"] is True
    b.sweep()  # b starts after: it adopts the device the database calls online

    for _ in range(6):  # two minutes: the display keeps beating to a, never to b
        clock.advance(20)
        a.beat("sid-a", {"version": "wall@1"})
        a.sweep()
        b.sweep()

    assert _health(db, display.id)["online"] is True
    with db.read() as s:  # never called offline, not even for a moment
        statuses = [
            e.payload["online"]
            for e in s.scalars(sa.select(Event).where(Event.name == Ev.DEVICE_STATUS))
        ]
        raised = s.scalar(sa.select(sa.func.count()).where(Event.name == Ev.ALERT_RAISED))
    assert statuses == [True] and raised == 0

    a.left("sid-a")  # it goes away for good: the one that knew it calls it gone
    clock.advance(31)
    a.sweep()
    assert _health(db, display.id)["online"] is False
    with db.read() as s:
        assert set(alerts.open_alerts(s, get_hall(s, "demo"))) == {f"device_offline:{display.id}"}


def test_a_device_still_connected_between_two_beats_is_never_called_offline(
    db: Database, clock: Any
) -> None:
    """A hall's threshold shorter than the pages' 25 s between beats: a connected device stays
    online (before, it went offline and back at every beat, each time with an alert)."""
    alerts.forget()
    with db.write() as s:
        update_hall(
            s,
            get_hall(s, "demo", lock=True),
            {"alert_settings": {"device_offline_s": 10}},
            user=None,
            now=clock(),
        )
    display = _display(db)
    m = Monitor(db, clock, 0)
    m.joined("sid-1", "demo", display)
    assert m.beat("sid-1", {"version": "wall@1"}) == {"ok": True}
    for _ in range(10):  # 25 s between beats, a sweep every 5 s
        for _ in range(5):
            clock.advance(5)
            m.sweep()
        m.beat("sid-1", {"version": "wall@1"})

    assert _health(db, display.id)["online"] is True
    with db.read() as s:
        statuses = [
            e.payload["online"]
            for e in s.scalars(sa.select(Event).where(Event.name == Ev.DEVICE_STATUS))
        ]
        raised = s.scalar(sa.select(sa.func.count()).where(Event.name == Ev.ALERT_RAISED))
    assert statuses == [True] and raised == 0

    m.left("sid-1")  # the connection ends: its silence starts now
    clock.advance(9)
    m.sweep()
    assert _health(db, display.id)["online"] is True
    clock.advance(1)
    m.sweep()
    assert _health(db, display.id)["online"] is False
    with db.read() as s:
        assert set(alerts.open_alerts(s, get_hall(s, "demo"))) == {f"device_offline:{display.id}"}


def test_a_flood_of_beats_is_refused_beyond_a_small_burst(db: Database, clock: Any) -> None:
    display = _display(db)
    m = Monitor(db, clock, 0)
    m.joined("sid-1", "demo", display)

    answers = [m.beat("sid-1", {"audio_blocked": i % 2 == 0}) for i in range(20)]

    refused = [a for a in answers if not a["ok"]]
    assert answers[:5] == [{"ok": True}] * 5
    assert len(refused) >= 14 and all(a["error"] == "too_many" for a in refused)
    with db.read() as s:  # a status per accepted beat at most, not per beat sent
        count = s.scalar(sa.select(sa.func.count()).where(Event.name == Ev.DEVICE_STATUS))
    assert count is not None and count <= 6
