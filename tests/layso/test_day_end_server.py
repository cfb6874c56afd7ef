"""The real server closes yesterday's queue as it starts (catch-up after a night switched off):
a hub client sees the ticket expire, the log and the kiosk's queue agree."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import socketio

from layso.db import Database
from layso.services.common import get_hall
from layso.services.tickets import issue_ticket

pytestmark = pytest.mark.server


def test_the_server_expires_yesterdays_waiting_ticket_at_start(
    tmp_path: Path, server_env_factory: Any, demo_seed: Any, servers: Any
) -> None:
    env = server_env_factory(tmp_path / "instance")
    demo = demo_seed(env)
    database = Database(f"sqlite:///{tmp_path / 'instance' / 'layso.sqlite3'}")
    yesterday = datetime.now(UTC) - timedelta(days=1)
    with database.write() as s:
        hall = get_hall(s, "demo", lock=True)
        ticket_id = issue_ticket(s, hall, service_code="DD", priority=None, now=yesterday).ticket.id
        after = hall.event_seq
    database.dispose()

    server = servers(env, tmp_path / "server.log")
    events: list[tuple[str, dict]] = []
    seen = threading.Condition()
    client = socketio.Client(reconnection=False)

    @client.on("*", namespace="/hall")
    def any_event(name: str, body: dict) -> None:
        with seen:
            events.append((name, body))
            seen.notify_all()

    # a manager's screen that last saw the ticket issued: replay, then live
    token = demo["manager"]["token"]
    client.connect(
        server.url,
        namespaces=["/hall"],
        transports=["websocket"],
        auth={"token": token, "hall": "demo", "after": after},
        wait_timeout=10,
    )
    with seen:
        assert seen.wait_for(
            lambda: (
                any(n == "ticket.expired" and b["ticket"]["id"] == ticket_id for n, b in events)
                and any(n == "queue.changed" and b["service"] == "DD" for n, b in events)
            ),
            timeout=15,
        ), events[-5:]
    client.disconnect()

    base = f"{server.url}/api/v1/halls/demo"
    auth = {"Authorization": f"Bearer {demo['manager']['token']}"}
    local_day = yesterday.astimezone(ZoneInfo("Asia/Ho_Chi_Minh")).date().isoformat()
    log = requests.get(
        f"{base}/reports/tickets", params={"from": local_day}, headers=auth, timeout=10
    ).json()
    row = next(r for r in log["rows"] if r["id"] == ticket_id)
    assert row["state"] == "expired" and row["expired_at"] is not None
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    state = requests.get(f"{base}/state", headers=kiosk, timeout=10).json()
    assert next(s for s in state["services"] if s["code"] == "DD")["waiting"] == 0
