"""A server killed mid-day loses no ticket, call or rating, and screens catch up."""

from __future__ import annotations

import signal
import threading
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

pytestmark = pytest.mark.server


class Display:
    """A python-socketio client of /hall that records every event it receives."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, dict]] = []
        self.seq: int | None = None
        self.token = token
        self.changed = threading.Condition()
        self.client = socketio.Client(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1
        )

        @self.client.on("*", namespace="/hall")
        def any_event(name: str, body: dict) -> None:
            with self.changed:
                if name == "snapshot":
                    self.seq = body["seq"]
                else:
                    self.seq = max(self.seq or 0, body["seq"])
                self.events.append((name, body))
                self.changed.notify_all()

        self.client.connect(
            url, namespaces=["/hall"], transports=["websocket"], auth=self.auth, wait_timeout=10
        )

    def auth(self) -> dict:
        return {"token": self.token, "hall": "demo", "after": self.seq}

    def wait_for(self, predicate: Any, timeout: float = 15) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: predicate(self.events), timeout), self.events[-5:]


def test_sigkill_mid_day_loses_nothing_and_the_display_catches_up(
    tmp_path: Path, server_env_factory: Any, demo_seed: Any, servers: Any
) -> None:
    env = server_env_factory(tmp_path / "instance")
    demo = demo_seed(env)
    server = servers(env, tmp_path / "a.log")
    base = f"{server.url}/api/v1/halls/demo"
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    clerk = {"Authorization": f"Bearer {demo['counters'][1]['token']}"}
    pad = {"Authorization": f"Bearer {demo['counters'][1]['rating_pad']}"}
    display = Display(server.url, demo["devices"]["display"])
    display.wait_for(lambda ev: any(n == "snapshot" for n, _ in ev))
    t1 = requests.post(f"{base}/tickets", json={"service": "TP"}, headers=kiosk, timeout=10)
    t1 = t1.json()["ticket"]
    requests.post(f"{base}/counters/2/next", headers=clerk, timeout=10)
    requests.post(f"{base}/counters/2/start", headers=clerk, timeout=10)
    requests.post(f"{base}/counters/2/finish", headers=clerk, timeout=10)
    assert (
        requests.post(
            f"{base}/tickets/{t1['id']}/rating", json={"score": 4}, headers=pad, timeout=10
        ).status_code
        == 201
    )

    # the finish's queue figures are recorded just after it (services/queue_news): the display
    # sees the counter free, then a queue.changed after it; only then is the hall at rest
    def free_then_figures(ev: list[tuple[str, dict]]) -> bool:
        free = [
            b["seq"]
            for n, b in ev
            if n == "counter.changed" and b["counter"] == 2 and b["ticket"] is None
        ]
        return bool(free) and any(n == "queue.changed" and b["seq"] > free[-1] for n, b in ev)

    display.wait_for(free_then_figures)
    before = requests.get(f"{base}/state", headers=kiosk, timeout=10).json()

    server.stop(signal.SIGKILL)
    restarted = servers(env, tmp_path / "b.log", port=server.port)
    after = requests.get(f"{base}/state", headers=kiosk, timeout=10).json()
    t2 = requests.post(f"{base}/tickets", json={"service": "TP"}, headers=kiosk, timeout=10)
    t2 = t2.json()["ticket"]
    requests.post(f"{base}/counters/2/next", headers=clerk, timeout=10)

    assert restarted.port == server.port
    assert after["seq"] == before["seq"]
    assert after["counters"] == before["counters"]
    assert t2["display_number"] == "1002"  # the day's numbering carried on
    again = requests.post(
        f"{base}/tickets/{t1['id']}/rating", json={"score": 1}, headers=pad, timeout=10
    )
    assert again.status_code == 409  # the rating survived the kill
    display.wait_for(
        lambda ev: any(n == "ticket.called" and b["ticket"]["id"] == t2["id"] for n, b in ev)
    )
    seqs = [b["seq"] for n, b in display.events if n != "snapshot"]
    assert seqs == sorted(set(seqs)), "each event once, in order"
    display.client.disconnect()
