"""Hostile input against the real server (issue 10, hardening): a 4xx with the error body, no
traceback in the server's log and nothing changed; the spoken-call audio speaks only real tickets.

One real server (eventlet) for the module, started as `layso run` starts it. The same classes
of input are generated against every documented operation in tests/fuzz/ (in-process); here a
handful of each goes through the real HTTP stack and the real hub.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

pytestmark = pytest.mark.server

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
HUGE = 2**70
TIMEOUT_S = 30


def _rootconf(request: pytest.FixtureRequest) -> Any:
    """tests/conftest.py as pytest loaded it (its module name is not reliable to import)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


@pytest.fixture(scope="module")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, Any], Path]]:
    conf = _rootconf(request)
    tmp = tmp_path_factory.mktemp("hostile")
    instance = tmp / "instance"
    env = conf.server_env(instance, LAYSO_ASYNC_MODE="eventlet", LAYSO_LOG_LEVEL="INFO")
    demo = conf.seed_demo_instance(env)
    srv = conf.start_server(env, tmp / "server.log")
    try:
        yield srv, demo, instance
    finally:
        srv.stop()


def _url(srv: Any, path: str) -> str:
    return f"{srv.url}/api/v1/halls/demo/{path}"


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _counts(srv: Any, demo: dict[str, Any]) -> tuple[int, int]:
    """(today's tickets, the hall's event seq), read through the API as a manager."""
    manager = _auth(demo["manager"]["token"])
    r = requests.get(_url(srv, "reports/tickets?format=json"), headers=manager, timeout=TIMEOUT_S)
    assert r.status_code == 200, r.text
    s = requests.get(_url(srv, "state"), headers=manager, timeout=TIMEOUT_S)
    assert s.status_code == 200, s.text
    return int(r.json()["total"]), int(s.json()["seq"])


def _assert_refused(r: requests.Response, what: str) -> None:
    assert 400 <= r.status_code < 500, f"{what}: {r.status_code} {r.text[:300]}"
    body = r.json()
    assert set(body) == {"error"}, (what, body)
    assert body["error"]["code"] and body["error"]["message"], (what, body)


def _hostile_requests(demo: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    kiosk = _auth(demo["devices"]["kiosk"])
    pad = _auth(demo["counters"][0]["rating_pad"])
    clerk = _auth(demo["counters"][0]["token"])
    manager = _auth(demo["manager"]["token"])
    json_type = {"Content-Type": "application/json"}
    deep_list = b"[" * 50_000 + b"1" + b"]" * 50_000
    deep_obj = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    # json.dumps escapes a lone surrogate as \ud800: valid JSON text, not valid Unicode
    lone = "\ud800"
    return [
        ("deep list", "POST", "tickets", {"headers": {**kiosk, **json_type}, "data": deep_list}),
        ("deep object", "POST", "tickets", {"headers": {**kiosk, **json_type}, "data": deep_obj}),
        (
            "deep suggestion",
            "POST",
            "suggestions",
            {"headers": {**kiosk, **json_type}, "data": deep_obj},
        ),
        ("surrogate service", "POST", "tickets", {"headers": kiosk, "json": {"service": lone}}),
        (
            "surrogate priority",
            "POST",
            "tickets",
            {"headers": kiosk, "json": {"service": "TP", "priority": f"NCT{lone}"}},
        ),
        (
            "surrogate suggestion",
            "POST",
            "suggestions",
            {"headers": kiosk, "json": {"text": f"Góp ý {lone} thêm"}},
        ),
        ("huge ticket id", "GET", f"tickets/{HUGE}", {"headers": clerk}),
        ("huge counter", "GET", f"counters/{HUGE}", {"headers": clerk}),
        ("huge counter action", "POST", f"counters/{HUGE}/next", {"headers": clerk, "json": {}}),
        (
            "huge rating id",
            "POST",
            f"tickets/{HUGE}/rating",
            {"headers": pad, "json": {"score": 4}},
        ),
        ("superscript after", "GET", "events?after=²", {"headers": manager}),
        ("huge after", "GET", f"events?after={HUGE}", {"headers": manager}),
        (
            "report from year 1",
            "GET",
            "reports/summary?from=0001-01-01&to=0001-01-31",
            {"headers": manager},
        ),
        (
            "report to year 9999",
            "GET",
            "reports/tickets?from=9999-12-01&to=9999-12-31&format=json",
            {"headers": manager},
        ),
        (
            "report across all time",
            "GET",
            "reports/summary?from=0001-01-01&to=9999-12-31",
            {"headers": manager},
        ),
    ]


def test_hostile_requests_get_a_4xx_change_nothing_and_leave_no_traceback(
    server: tuple[Any, dict[str, Any], Path],
) -> None:
    srv, demo, _ = server
    # a ticket so that the hall is not empty; its area's queue.changed is written a moment
    # after the ticket (coalesced, services/queue_news.py): the count starts once it is out
    news = threading.Event()
    watcher = socketio.Client(reconnection=False)
    watcher.on(
        "queue.changed",
        lambda body: news.set() if body.get("service") == "TP" else None,
        namespace="/hall",
    )
    watcher.connect(
        srv.url,
        namespaces=["/hall"],
        transports=["websocket"],
        auth={"token": demo["manager"]["token"], "hall": "demo"},
        wait_timeout=10,
    )
    try:
        r = requests.post(
            _url(srv, "tickets"),
            json={"service": "TP"},
            headers=_auth(demo["devices"]["kiosk"]),
            timeout=TIMEOUT_S,
        )
        assert r.status_code == 201, r.text
        assert news.wait(TIMEOUT_S), "no queue.changed after the ticket"
    finally:
        watcher.disconnect()
    before = _counts(srv, demo)

    failures = []
    for what, method, path, kw in _hostile_requests(demo):
        r = requests.request(method, _url(srv, path), timeout=TIMEOUT_S, **kw)
        try:
            _assert_refused(r, what)
        except (AssertionError, ValueError) as exc:
            failures.append(f"{what}: {exc}")

    # the hub: `after` far beyond any seq is refused at the door
    for after in (HUGE, -1, "²"):
        client = socketio.Client(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect(
                srv.url,
                namespaces=["/hall"],
                transports=["websocket"],
                auth={"token": demo["devices"]["display"], "hall": "demo", "after": after},
                wait_timeout=10,
            )
        client.disconnect()

    assert not failures, "\n".join(failures)
    assert _counts(srv, demo) == before, "a refused request changed the hall"
    requests.get(f"{srv.url}/healthz", timeout=TIMEOUT_S).raise_for_status()
    log = srv.log.read_text(errors="replace")
    assert "Traceback" not in log, log[-4000:]


def _cache_files(instance: Path) -> set[str]:
    folder = instance / "voice-cache"
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_the_audio_endpoint_speaks_only_issued_and_called_tickets(
    server: tuple[Any, dict[str, Any], Path],
) -> None:
    srv, demo, instance = server
    display = _auth(demo["devices"]["display"])
    kiosk = _auth(demo["devices"]["kiosk"])
    clerk = _auth(demo["counters"][1]["token"])  # counter 2
    served = demo["counters"][1]["services"][0]  # an area counter 2 serves (TP in the demo)
    r = requests.post(_url(srv, "tickets"), json={"service": served}, headers=kiosk, timeout=30)
    assert r.status_code == 201, r.text
    called = requests.post(_url(srv, "counters/2/next"), headers=clerk, json={}, timeout=30)
    assert called.status_code == 200, called.text
    assert called.json()["ticket"] is not None, "counter 2 had a ticket to call"
    issued = called.json()["ticket"]["display_number"]  # issued and called: may be spoken
    state = requests.get(_url(srv, "state"), headers=display, timeout=30).json()
    known = {t["display_number"] for t in [*state["waiting"], *state["recent_calls"]]}

    cache_before = _cache_files(instance)
    never = [n for n in (f"{i:04d}" for i in range(9000, 9400)) if n not in known][:200]
    never += [n for n in (f"A{i:03d}" for i in range(900, 1000)) if n not in known][:100]
    assert len(never) == 300
    statuses: dict[int, int] = {}
    with requests.Session() as http:
        for number in never:
            r = http.get(
                _url(srv, "audio/call.wav"),
                params={"number": number, "counter": "2"},
                headers=display,
                timeout=TIMEOUT_S,
            )
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code in (404, 429), (number, r.status_code, r.text[:200])
            if r.status_code == 404:
                assert r.json()["error"]["code"]
    assert _cache_files(instance) == cache_before, "never-issued numbers were spoken and kept"

    spoken = requests.get(
        _url(srv, "audio/call.wav"),
        params={"number": issued, "counter": "2"},
        headers=display,
        timeout=TIMEOUT_S,
    )
    assert spoken.status_code == 200, spoken.text[:300]
    assert spoken.headers["Content-Type"] == "audio/wav"
    assert spoken.content[:4] == b"RIFF"
    assert spoken.headers["X-Layso-Speech"] == "yes"
    assert _cache_files(instance) - cache_before, "the real call is cached for the next display"
    assert "Traceback" not in srv.log.read_text(errors="replace")
