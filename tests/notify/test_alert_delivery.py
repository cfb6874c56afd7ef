"""Alerts handed to the notifier's channels (issue 15): only when the hall asks for it, at the
level it asks for, through a webhook stub on loopback."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import Device, DeviceKind, NotifyOutbox
from layso.services import alerts
from layso.services.common import get_hall
from layso.services.notify.outbox import Sender

pytestmark = pytest.mark.usefixtures("demo")

ENV = {"LAYSO_WEBHOOK_SECRET": "webhook-secret-for-tests"}


def _evaluate(db: Any, clock: Any) -> list[tuple[str, str]]:
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        return [(c.action, c.key) for c in alerts.run(s, hall, clock())]


def _paper(db: Any, state: str) -> int:
    with db.write() as s:
        agent = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.PRINT_AGENT)).one()
        agent.printer_state = state
        return agent.id


def test_critical_alerts_reach_a_webhook_channel_when_the_hall_asks_for_them(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable, client: Any
) -> None:
    alerts.forget()
    stub = stubs()
    status, _ = api.post(
        "notify/channels",
        tokens("manager"),
        {
            "kind": "webhook",
            "name": "ops",
            "settings": {"url": f"{stub.url}/hook", "kinds": ["alert."]},
        },
    )
    assert status == 201
    agent = _paper(db, "paper_low")
    assert _evaluate(db, clock) == [("raise", f"printer_paper:{agent}:paper_low")]
    with db.read() as s:  # notify is off by default: nothing handed over
        assert s.scalar(sa.select(sa.func.count()).select_from(NotifyOutbox)) == 0

    r = client.patch(
        "/api/v1/halls/demo/config/hall",
        json={"alert_settings": {"notify": "critical"}},
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    assert r.status_code == 200
    _paper(db, "paper_out")
    changes = sorted(_evaluate(db, clock))
    assert changes == [
        ("clear", f"printer_paper:{agent}:paper_low"),
        ("raise", f"printer_paper:{agent}:paper_out"),
    ]
    assert Sender(db, clock, env=ENV, retry_s=10, attempts=3, timeout_s=2).run_once() == 1

    [req] = stub.wait_for(1)
    body = req.json()
    assert body["kind"] == "alert.raised"  # the warning's clearing was not critical: not sent
    assert body["data"]["level"] == "critical" and body["data"]["device"] == agent
    assert "hết giấy" in body["text"] and "out of paper" in body["text_en"]


def test_bad_notify_settings_are_refused(tokens: Callable, client: Any) -> None:
    for bad in ({"notify": "sometimes"}, {"notify_phone": "12"}, {"notify_phone": 5}):
        r = client.patch(
            "/api/v1/halls/demo/config/hall",
            json={"alert_settings": bad},
            headers={"Authorization": f"Bearer {tokens('manager')}"},
        )
        assert r.status_code == 400, bad
