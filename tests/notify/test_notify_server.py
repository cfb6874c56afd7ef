"""The notifier on the real server: a ticket reaching N ahead is told exactly once per channel
through provider stubs on loopback, a hanging provider does not hold the queue, and what a
stopped server left in the outbox is sent by the next one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from notify_stubs import Answer

pytestmark = pytest.mark.server

SECRETS = {
    "LAYSO_WEBHOOK_SECRET": "hook-secret",
    "LAYSO_SMS_API_KEY": "sms-key",
    "LAYSO_ZALO_ACCESS_TOKEN": "zalo-token",
    "LAYSO_NOTIFY_RETRY_S": "0.2",
    "LAYSO_NOTIFY_TIMEOUT_S": "1",
    "LAYSO_NOTIFY_ATTEMPTS": "1000",
}


def until(read: Callable[[], Any], ok: Callable[[Any], Any], timeout: float = 30) -> Any:
    """Read until ``ok``: the server records a delivery after the provider has answered, and
    tells no one (polling the manager API, as a manager's page would)."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if ok(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


class Client:
    def __init__(self, url: str, demo: dict[str, Any]) -> None:
        self.url = url
        self.demo = demo

    def _auth(self, who: str) -> dict[str, str]:
        if who == "manager":
            token = self.demo["manager"]["token"]
        elif who.startswith("clerk"):
            token = self.demo["counters"][int(who[5:]) - 1]["token"]
        else:
            token = self.demo["devices"][who]
        return {"Authorization": f"Bearer {token}"}

    def call(self, method: str, path: str, who: str | None, body: Any = None) -> Any:
        url = (
            f"{self.url}{path}" if path.startswith("/") else f"{self.url}/api/v1/halls/demo/{path}"
        )
        r = requests.request(
            method, url, json=body, headers=self._auth(who) if who else {}, timeout=30
        )
        assert r.status_code < 300, (path, r.status_code, r.text)
        return r.json()

    def issue(self, n: int) -> list[str]:
        out = []
        for _ in range(n):
            t = self.call("POST", "tickets", "kiosk", {"service": "TP"})["ticket"]
            out.append(t["status_url"].rsplit("/", 1)[1])
        return out

    def serve_next(self) -> str:
        """Counter 2: the current ticket served (if any), the next one called."""
        r = requests.post(
            f"{self.url}/api/v1/halls/demo/counters/2/next",
            headers=self._auth("clerk2"),
            timeout=30,
        )
        if r.status_code == 409:
            self.call("POST", "counters/2/start", "clerk2")
            self.call("POST", "counters/2/finish", "clerk2")
            return self.serve_next()
        assert r.status_code == 200, r.text
        return str(r.json()["ticket"]["display_number"])


def setup_channels(c: Client, webhook: str, sms: str, zns: str) -> None:
    c.call("PATCH", "notify/settings", "manager", {"near_ahead": 2})
    for kind, settings in (
        ("webhook", {"url": webhook}),
        ("sms", {"url": sms, "sender": "UBND"}),
        ("zns", {"base_url": zns, "templates": {"turn.near": "11", "turn.called": "12"}}),
    ):
        c.call(
            "POST", "notify/channels", "manager", {"kind": kind, "name": kind, "settings": settings}
        )


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_a_ticket_reaching_n_ahead_is_told_once_per_channel_and_a_hanging_provider_holds_nothing(
    mode: str,
    tmp_path: Path,
    server_env_factory: Callable[..., dict[str, str]],
    demo_seed: Callable,
    servers: Callable,
    stubs: Callable,
    listeners: Callable,
) -> None:
    # a long timeout: the held request is answered, never timed out (one delivery each)
    env = server_env_factory(
        tmp_path / "instance",
        **{**SECRETS, "LAYSO_NOTIFY_TIMEOUT_S": "60", "LAYSO_ASYNC_MODE": mode},
    )
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    hook, sms, zns = stubs(), stubs(), stubs()
    zns.default = Answer(200, b'{"error": 0, "message": "Success"}')
    release = threading.Event()
    sms.answer(Answer(hold=release))  # the SMS gateway hangs on the first notice
    c = Client(server.url, demo)
    setup_channels(c, f"{hook.url}/hook", f"{sms.url}/send", zns.url)
    hub = listeners(server.url, demo["manager"]["token"])
    codes = c.issue(5)
    c.call("PUT", f"/api/v1/t/{codes[4]}/phone", None, {"phone": "0912345678"})

    c.serve_next()
    c.serve_next()  # 1005 has two ahead: near
    sms.wait_for(1)  # the gateway holds this request open ...
    try:
        # ... the other channels are not held up by it ...
        assert hook.wait_for(1)[0].json()["kind"] == "turn.near"
        assert zns.wait_for(1)[0].json()["template_id"] == "11"
        # ... and the queue goes on meanwhile: calls, hub events, the phone page
        assert c.serve_next() == "1003"
        hub.wait_for("ticket.called", lambda b: b["ticket"]["display_number"] == "1003")
        page = c.call("GET", f"/api/v1/t/{codes[4]}", None)
        assert page["turn"]["near"] is True and page["ticket"]["ahead"] == 1
    finally:
        release.set()
    c.serve_next()
    assert c.serve_next() == "1005"

    for stub in (hook, sms, zns):
        seen = stub.wait_for(2)
        assert len(seen) == 2
    assert [r.json()["kind"] for r in hook.requests] == ["turn.near", "turn.called"]
    assert [r.json()["to"] for r in sms.requests] == ["84912345678"] * 2
    assert (
        "1005" in sms.requests[0].json()["text"] and "quầy số 2" in sms.requests[1].json()["text"]
    )
    assert [r.json()["template_id"] for r in zns.requests] == ["11", "12"]
    notices = until(
        lambda: c.call("GET", "notify/notices", "manager"), lambda n: n["counts"]["sent"] == 6
    )
    assert notices["counts"] == {"pending": 0, "sent": 6, "failed": 0}
    assert {n["to"] for n in notices["notices"]} == {"84******678"}


def test_the_outbox_left_by_a_stopped_server_is_sent_by_the_next_one(
    tmp_path: Path,
    server_env_factory: Callable[..., dict[str, str]],
    demo_seed: Callable,
    servers: Callable,
    stubs: Callable,
) -> None:
    with socket.socket() as s:  # the provider's port: nobody listens there yet
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = server_env_factory(tmp_path / "instance", **SECRETS)
    demo = demo_seed(env)
    first = servers(env, tmp_path / "first.log")
    c = Client(first.url, demo)
    c.call("PATCH", "notify/settings", "manager", {"near_ahead": 2})
    c.call(
        "POST",
        "notify/channels",
        "manager",
        {"kind": "webhook", "name": "hook", "settings": {"url": f"http://127.0.0.1:{port}/"}},
    )
    [code] = c.issue(1)
    c.call("PUT", f"/api/v1/t/{code}/phone", None, {"phone": "0912345678"})
    pending = c.call("GET", "notify/notices", "manager")
    assert pending["counts"]["pending"] == 1 and pending["counts"]["sent"] == 0
    first.stop()

    hook = stubs(port)
    second = servers(env, tmp_path / "second.log")

    [req] = hook.wait_for(1)
    assert req.json()["kind"] == "turn.near" and req.json()["to"] == "84912345678"
    c = Client(second.url, demo)
    done = until(lambda: c.call("GET", "notify/notices", "manager"), lambda n: n["counts"]["sent"])
    assert done["counts"] == {"pending": 0, "sent": 1, "failed": 0}
    assert len(hook.requests) == 1


def test_a_booked_visitor_checked_in_at_the_kiosk_is_told_on_the_bookings_phone(
    tmp_path: Path,
    server_env_factory: Callable[..., dict[str, str]],
    demo_seed: Callable,
    servers: Callable,
    stubs: Callable,
) -> None:
    """The whole path's notice: a remote number booked with a phone, checked in at the kiosk,
    near its turn at once (nobody ahead) → the webhook and the SMS stub are told."""
    env = server_env_factory(tmp_path / "instance", **SECRETS)
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    hook, sms = stubs(), stubs()
    c = Client(server.url, demo)
    c.call("PATCH", "notify/settings", "manager", {"near_ahead": 2})
    for kind, settings in (("webhook", {"url": hook.url}), ("sms", {"url": sms.url})):
        c.call(
            "POST", "notify/channels", "manager", {"kind": kind, "name": kind, "settings": settings}
        )
    page = c.call("GET", f"/api/v1/t/{c.issue(1)[0]}", None)  # someone is already waiting
    today = page["ticket"]["issued_at"][:10]
    booking = c.call(
        "POST",
        "bookings",
        None,
        {"service": "TP", "date": today, "slot": None, "phone": "0987 654 321"},
    )["booking"]

    checked = c.call("POST", "check-in", "kiosk", {"code": booking["code"]})

    number = checked["ticket"]["display_number"]
    for stub in (hook, sms):
        [req] = stub.wait_for(1)
        assert req.json()["to"] == "84987654321" and number in req.json()["text"]
    assert hook.requests[0].json()["kind"] == "turn.near"
    assert hook.requests[0].json()["data"]["ahead"] == 1
