"""Device heartbeats and their loss against the real server, with real python-socketio clients:
a device beats, goes away, and after the hall's N seconds managers see it offline (an alert);
it comes back and the alert clears. Bad beats are refused and change nothing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

from tests.conftest import Server, seed_demo_instance, server_env, start_server

pytestmark = pytest.mark.server

WAIT_S = 30  # an upper bound while awaiting an event; never reached when things work
OFFLINE_S = 3


class Client:
    """A /hall client that records every event and lets the test await one."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.events: list[tuple[str, Any]] = []
        self.cond = threading.Condition()
        self.sio = socketio.Client(reconnection=False)

        @self.sio.on("*", namespace="/hall")
        def record(name: str, body: Any = None) -> None:
            with self.cond:
                self.events.append((name, body))
                self.cond.notify_all()

    def connect(self) -> Client:
        self.sio.connect(
            self.url,
            auth={"token": self.token, "hall": "demo"},
            namespaces=["/hall"],
            transports=["websocket"],
            wait_timeout=10,
        )
        return self

    def beat(self, body: Any) -> Any:
        return self.sio.call("device.heartbeat", body, namespace="/hall", timeout=10)

    def wait_for(self, name: str, where: Callable[[Any], bool] = lambda b: True) -> Any:
        def found() -> Any:
            return next((b for n, b in self.events if n == name and where(b)), None)

        with self.cond:
            if not self.cond.wait_for(lambda: found() is not None, timeout=WAIT_S):
                raise AssertionError(f"no {name} within {WAIT_S} s; saw {self.events[-10:]}")
            return found()

    def named(self, name: str) -> list[Any]:
        with self.cond:
            return [b for n, b in self.events if n == name]


@pytest.fixture(params=["eventlet", "gevent"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    env = server_env(
        tmp_path / "instance", LAYSO_ASYNC_MODE=request.param, LAYSO_ALERT_INTERVAL="0.3"
    )
    demo = seed_demo_instance(env)
    srv = start_server(env, tmp_path / "server.log")
    yield srv, demo
    srv.stop()


@pytest.fixture
def clients() -> Iterator[Callable[[str, str], Client]]:
    made: list[Client] = []

    def make(url: str, token: str) -> Client:
        c = Client(url, token)
        made.append(c)
        return c

    yield make
    for c in made:
        if c.sio.connected:
            c.sio.disconnect()


def _manager_get(server: Server, demo: Any, path: str) -> Any:
    r = requests.get(
        f"{server.url}/api/v1/halls/demo/{path}",
        headers={"Authorization": f"Bearer {demo['manager']['token']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text
    return r.json()


def _device_id(server: Server, demo: Any, kind: str) -> int:
    devices = _manager_get(server, demo, "alerts")["devices"]
    return int(next(d["device"] for d in devices if d["kind"] == kind))


def _configure(server: Server, demo: Any, body: dict[str, Any]) -> None:
    r = requests.patch(
        f"{server.url}/api/v1/halls/demo/config/hall",
        json=body,
        headers={"Authorization": f"Bearer {demo['manager']['token']}"},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_a_display_that_goes_away_is_offline_after_n_seconds_and_back_when_it_returns(
    server: tuple[Server, Any], clients: Callable[[str, str], Client]
) -> None:
    srv, demo = server
    _configure(srv, demo, {"alert_settings": {"device_offline_s": OFFLINE_S}})
    display_id = _device_id(srv, demo, "display")
    manager = clients(srv.url, demo["manager"]["token"]).connect()
    snapshot = manager.wait_for("snapshot")
    assert snapshot["alerts"] == []
    display = clients(srv.url, demo["devices"]["display"]).connect()

    assert display.beat({"version": "wall-7", "audio_blocked": True}) == {"ok": True}

    online = manager.wait_for("device.status", lambda b: b["device"] == display_id)
    assert online["online"] is True and online["version"] == "wall-7"
    assert online["audio_blocked"] is True
    board = {d["device"]: d for d in _manager_get(srv, demo, "alerts")["devices"]}
    assert board[display_id]["online"] is True and board[display_id]["version"] == "wall-7"
    assert board[display_id]["last_seen"] is not None

    display.sio.disconnect()
    key = f"device_offline:{display_id}"
    raised = manager.wait_for("alert.raised", lambda b: b["key"] == key)
    assert raised["kind"] == "device_offline" and raised["level"] == "critical"
    offline = manager.named("device.status")[-1]
    assert offline["device"] == display_id and offline["online"] is False
    assert [a["key"] for a in _manager_get(srv, demo, "alerts")["alerts"]] == [key]

    again = clients(srv.url, demo["devices"]["display"]).connect()
    assert again.beat({"version": "wall-7", "audio_blocked": False}) == {"ok": True}
    cleared = manager.wait_for("alert.cleared", lambda b: b["key"] == key)
    assert cleared["duration_s"] >= 0
    assert _manager_get(srv, demo, "alerts")["alerts"] == []
    assert len(manager.named("alert.raised")) == 1  # raised once, cleared once


def test_a_print_agent_reports_paper_low_in_its_beat_and_managers_get_an_alert(
    server: tuple[Server, Any], clients: Callable[[str, str], Client]
) -> None:
    srv, demo = server
    agent_id = _device_id(srv, demo, "print-agent")
    manager = clients(srv.url, demo["manager"]["token"]).connect()
    manager.wait_for("snapshot")
    agent = clients(srv.url, demo["devices"]["print-agent"]).connect()

    assert agent.beat({"version": "agent-0.1", "paper": "paper_low"}) == {"ok": True}

    key = f"printer_paper:{agent_id}:paper_low"
    raised = manager.wait_for("alert.raised", lambda b: b["key"] == key)
    assert raised["level"] == "warning" and "sắp hết giấy" in raised["message"]
    assert agent.beat({"paper": "ok"}) == {"ok": True}
    manager.wait_for("alert.cleared", lambda b: b["key"] == key)


BAD_BEATS = [
    "alive",
    {"version": 7},
    {"version": ""},
    {"version": "x" * 41},
    {"paper": "ok"},  # a display has no printer
    {"audio_blocked": "yes"},
    {"battery": 50},
]


def test_bad_beats_are_refused_in_both_languages_and_change_nothing(
    server: tuple[Server, Any], clients: Callable[[str, str], Client]
) -> None:
    srv, demo = server
    display = clients(srv.url, demo["devices"]["display"]).connect()
    clerk = clients(srv.url, demo["counters"][0]["token"]).connect()

    answers = [display.beat(body) for body in BAD_BEATS]
    from_a_person = clerk.beat({"version": "x"})

    for answer in answers:
        assert answer["ok"] is False and answer["error"] == "bad_heartbeat", answer
        assert " / " in answer["message"]  # Vietnamese / English
    assert from_a_person["ok"] is False and from_a_person["error"] == "not_a_device"
    display_id = _device_id(srv, demo, "display")
    board = {d["device"]: d for d in _manager_get(srv, demo, "alerts")["devices"]}
    assert board[display_id]["online"] is None  # never written
