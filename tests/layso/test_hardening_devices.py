"""What devices are given (issue 10, hardening): no clerk's login name, no token in a Referer.

One real server (eventlet) for the module. Devices (display, kiosk, counter display, rating pad,
print agent) read the hall's state over HTTP and the hub; neither may carry a clerk's username
(the display shows the clerk's full name). Device pages are opened once with ?token=...: the
token leaves the address bar before the page asks for anything, so no request carries it in its
URL or Referer, and a bad token in the URL never replaces a working saved one.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio
from playwright.sync_api import expect

from layso.services.state import renders

pytestmark = pytest.mark.server

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
WAIT_S = 15  # upper bound while awaiting an event; never reached when things work
READY_MS = 15_000


def _rootconf(request: pytest.FixtureRequest) -> Any:
    """tests/conftest.py as pytest loaded it (its module name is not reliable to import)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, Any]]]:
    conf = _rootconf(request)
    tmp = tmp_path_factory.mktemp("devices")
    env = conf.server_env(tmp / "instance", LAYSO_ASYNC_MODE="eventlet")
    demo = conf.seed_demo_instance(env)
    srv = conf.start_server(env, tmp / "server.log")
    try:
        yield srv, demo
    finally:
        srv.stop()


def _call(srv: Any, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    r = requests.request(
        method,
        f"{srv.url}/api/v1/halls/demo/{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    return r.status_code, r.json()


class Recorder:
    """A python-socketio client of /hall that records every event it receives."""

    def __init__(self, url: str, token: str, after: int | None = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record, namespace="/hall")
        self.client.connect(
            url,
            namespaces=["/hall"],
            transports=["websocket"],
            auth={"token": token, "hall": "demo", "after": after},
            wait_timeout=10,
        )

    def _record(self, name: str, body: Any = None) -> None:
        with self.changed:
            self.events.append((name, body))
            self.changed.notify_all()

    def wait_for(self, name: str, where: Callable[[Any], bool] = lambda b: True) -> Any:
        def found() -> Any:
            return next((b for n, b in self.events if n == name and where(b)), None)

        with self.changed:
            assert self.changed.wait_for(lambda: found() is not None, WAIT_S), (
                f"no {name} within {WAIT_S}s; got {[n for n, _ in self.events[-10:]]}"
            )
            return found()


def _usernames(demo: dict[str, Any]) -> list[str]:
    return [c["clerk"] for c in demo["counters"]]


def _leaks(obj: Any, demo: dict[str, Any]) -> list[str]:
    text = json.dumps(obj, ensure_ascii=False)
    return [u for u in _usernames(demo) if re.search(rf"(?<![\w-]){re.escape(u)}(?![\w-])", text)]


def _device_tokens(demo: dict[str, Any]) -> dict[str, str]:
    return {
        **demo["devices"],
        "counter-display": demo["counters"][0]["counter_display"],
        "rating-pad": demo["counters"][0]["rating_pad"],
    }


# --- 1. no clerk's login name to devices ------------------------------------------------------


def test_devices_get_no_clerk_username_over_http_or_the_hub(server: Any) -> None:
    srv, demo = server
    clerk1 = demo["counters"][0]["token"]
    manager = demo["manager"]["token"]
    devices = _device_tokens(demo)
    # the demo's clerks are signed in at their counters: their names are in the hall's state
    status, staff_state = _call(srv, "GET", "state", manager)
    assert status == 200
    assert {c["number"]: c["clerk"] for c in staff_state["counters"]}[1] == "clerk1", (
        "managers and clerks still see usernames"
    )
    _, seq_before = _call(srv, "GET", "events?after=0", manager)
    start_seq = seq_before["seq"]

    hubs = {kind: Recorder(srv.url, token) for kind, token in devices.items()}
    staff = Recorder(srv.url, manager)
    try:
        for kind, hub in hubs.items():
            snap = hub.wait_for("snapshot")
            assert snap["counters"], kind
            assert not _leaks(snap, demo), f"{kind}'s snapshot carries {_leaks(snap, demo)}"
            one = next(c for c in snap["counters"] if c["number"] == 1)
            assert one["clerk_name"] == "Cán bộ quầy 1", (kind, one)
        staff.wait_for("snapshot")

        # clerk 1 leaves and comes back: counter.changed with the clerk, to everyone
        assert _call(srv, "POST", "counters/1/close", clerk1)[0] == 200
        assert _call(srv, "POST", "counters/1/open", clerk1)[0] == 200
        back = lambda b: b["counter"] == 1 and b["state"] != "closed"  # noqa: E731
        for kind, hub in hubs.items():
            if not renders(kind, "counter.changed"):
                continue  # a kiosk, pad or print agent does not show counters: not sent to it
            body = hub.wait_for("counter.changed", back)
            assert body["clerk_name"] == "Cán bộ quầy 1", (kind, body)
            assert not _leaks(hub.events, demo), f"{kind}'s events carry {_leaks(hub.events, demo)}"
        assert staff.wait_for("counter.changed", back)["clerk"] == "clerk1"
    finally:
        for hub in [*hubs.values(), staff]:
            hub.client.disconnect()

    for kind, token in devices.items():
        status, state = _call(srv, "GET", "state", token)
        assert status == 200, (kind, state)
        assert not _leaks(state, demo), f"{kind}'s /state carries {_leaks(state, demo)}"
        status, log = _call(srv, "GET", f"events?after={start_seq}", token)
        names = {e["name"] for e in log["events"]}
        assert status == 200 and all(renders(kind, n) for n in names), (kind, names)
        assert ("counter.changed" in names) == renders(kind, "counter.changed"), (kind, names)
        assert not _leaks(log, demo), f"{kind}'s /events carries {_leaks(log, demo)}"
        status, counter = _call(srv, "GET", "counters/1", token)
        assert status == 200, (kind, counter)
        assert not _leaks(counter, demo), f"{kind}'s counter read carries {_leaks(counter, demo)}"
        assert counter["counter"]["clerk_name"] == "Cán bộ quầy 1"
        if not renders(kind, "counter.changed"):
            continue
        # a device that catches up by replay (after=seq) gets the same redacted events
        replay = Recorder(srv.url, token, after=start_seq)
        try:
            replay.wait_for("counter.changed", back)
            assert not _leaks(replay.events, demo), (kind, replay.events)
        finally:
            replay.client.disconnect()
    # the clerk's own read keeps the username the counter page matches itself by
    assert _call(srv, "GET", "counters/1", clerk1)[1]["counter"]["clerk"] == "clerk1"


# --- 2. the device token leaves the URL before any sub-resource loads -------------------------

PAGES = [
    # (path, device, viewport, what shows the page works: each needs the hub's snapshot)
    ("/display", "display", (1920, 1080), "body[data-ready='1']"),
    ("/counter-display", "counter-display", (1280, 720), "body[data-ready='1']"),
    ("/kiosk", "kiosk", (1080, 1920), "#k[data-screen='home']"),
    ("/rating", "rating-pad", (1280, 800), "body[data-screen='idle'] #pad-conn.on"),
]


def _open(page_factory: Any, url: str, path: str, token: str, size: tuple[int, int]) -> Any:
    page = page_factory(*size)
    seen: list[dict[str, str]] = []
    page.on(
        "request",
        lambda r: seen.append(
            {"url": r.url, "referer": r.headers.get("referer", ""), "type": r.resource_type}
        ),
    )
    page.goto(f"{url}{path}?token={token}")
    page.seen = seen
    return page


@pytest.mark.browser
@pytest.mark.parametrize(("path", "device", "size", "ready"), PAGES)
def test_device_token_never_leaves_in_a_request_url_or_referer(
    server: Any,
    page_factory: Any,
    path: str,
    device: str,
    size: tuple[int, int],
    ready: str,
) -> None:
    srv, demo = server
    token = _device_tokens(demo)[device]
    page = _open(page_factory, srv.url, path, token, size)
    expect(page.locator(ready).first).to_be_attached(timeout=READY_MS)
    assert token not in page.evaluate("location.href")
    assert "token" not in page.evaluate("location.search")
    assert page.evaluate("localStorage.getItem('layso.token')") == token
    requests_seen = list(page.seen)
    assert len(requests_seen) > 3, requests_seen  # the page, its script, styles, the hub...
    carrying = [r for r in requests_seen[1:] if token in r["url"] or token in r["referer"]]
    assert not carrying, f"requests carrying the token: {carrying}"
    # the page still works after a reload without ?token= (the token was remembered)
    page.reload()
    expect(page.locator(ready).first).to_be_attached(timeout=READY_MS)


@pytest.mark.browser
def test_a_bad_token_in_the_url_never_replaces_a_working_saved_one(
    server: Any, page_factory: Any
) -> None:
    srv, demo = server
    token = demo["devices"]["display"]
    page = _open(page_factory, srv.url, "/display", token, (1920, 1080))
    ready = PAGES[0][3]
    expect(page.locator(ready).first).to_be_attached(timeout=READY_MS)
    page.goto(f"{srv.url}/display?token=not-a-real-token")
    expect(page.locator(ready).first).to_be_attached(timeout=READY_MS)
    expect(page.locator(".token-refused")).to_contain_text("Mã thiết bị không hợp lệ")
    assert "token" not in page.evaluate("location.search")
    assert page.evaluate("localStorage.getItem('layso.token')") == token
    page.reload()
    expect(page.locator(ready).first).to_be_attached(timeout=READY_MS)
    assert page.evaluate("localStorage.getItem('layso.token')") == token
    # a later good token does replace it (a screen moved to another role keeps working)
    other = demo["counters"][1]["counter_display"]
    page.goto(f"{srv.url}/counter-display?token={other}")
    expect(page.locator("body[data-ready='1']")).to_be_attached(timeout=READY_MS)
    deadline = time.monotonic() + READY_MS / 1000
    while time.monotonic() < deadline:  # promoted once the server accepted it
        if page.evaluate("localStorage.getItem('layso.token')") == other:
            break
        page.wait_for_timeout(50)
    assert page.evaluate("localStorage.getItem('layso.token')") == other


@pytest.mark.browser
def test_a_bad_token_on_a_new_screen_says_so(server: Any, page_factory: Any) -> None:
    srv, _ = server
    page = _open(page_factory, srv.url, "/display", "not-a-real-token", (1920, 1080))

    notice = page.locator(".token-refused")

    expect(notice).to_contain_text("Mã thiết bị không hợp lệ", timeout=READY_MS)
    expect(notice).to_contain_text("Invalid device token")
    expect(page.locator("#setup")).to_be_visible()
    assert page.evaluate("localStorage.getItem('layso.token')") is None
