"""The real server (eventlet, and gevent) under concurrent kiosks and counters."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.conftest import Server, free_port, wait_healthy

pytestmark = pytest.mark.server

KIOSKS = 16
PER_KIOSK = 25


def issue_many(url: str, token: str, service: str, count: int, barrier: threading.Barrier) -> list:
    numbers = []
    with requests.Session() as http:
        http.headers["Authorization"] = f"Bearer {token}"
        barrier.wait()
        for _ in range(count):
            r = http.post(f"{url}/api/v1/halls/demo/tickets", json={"service": service}, timeout=30)
            assert r.status_code == 201, r.text
            numbers.append(r.json()["ticket"]["number"])
    return numbers


def concurrent_issue(urls: list[str], token: str, kiosks: int = KIOSKS) -> list[int]:
    barrier = threading.Barrier(kiosks)
    with ThreadPoolExecutor(kiosks) as pool:
        futures = [
            pool.submit(issue_many, urls[i % len(urls)], token, "TP", PER_KIOSK, barrier)
            for i in range(kiosks)
        ]
        return [n for f in futures for n in f.result()]


def assert_gap_free(numbers: list[int], first: int = 1001) -> None:
    assert len(numbers) == len(set(numbers)), "duplicate numbers"
    assert sorted(numbers) == list(range(first, first + len(numbers))), "gaps in numbering"


def test_sixteen_kiosks_at_once_get_unique_gap_free_numbers(live: Any) -> None:
    server, demo = live

    numbers = concurrent_issue([server.url], demo["devices"]["kiosk"])

    assert_gap_free(numbers)


def test_all_counters_pressing_next_at_once_never_share_a_ticket(live: Any) -> None:
    server, demo = live
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    issued = []
    for i in range(60):
        code = ["TP", "CT", "DD", "LD", "KD", "XD"][i % 6]
        r = requests.post(
            f"{server.url}/api/v1/halls/demo/tickets",
            json={"service": code},
            headers=kiosk,
            timeout=30,
        )
        issued.append(r.json()["ticket"]["id"])
    barrier = threading.Barrier(len(demo["counters"]))

    def work(counter: dict[str, Any]) -> list[int]:
        got = []
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {counter['token']}"
            base = f"{server.url}/api/v1/halls/demo/counters/{counter['number']}"
            barrier.wait()
            while True:
                r = http.post(f"{base}/next", timeout=30)
                assert r.status_code == 200, r.text
                ticket = r.json()["ticket"]
                if ticket is None:
                    return got
                got.append(ticket["id"])
                assert http.post(f"{base}/start", timeout=30).status_code == 200

    with ThreadPoolExecutor(len(demo["counters"])) as pool:
        per_counter = list(pool.map(work, demo["counters"]))

    called = [t for got in per_counter for t in got]
    assert len(called) == len(set(called)), "a ticket was called at two counters"
    assert sorted(called) == sorted(issued)
    manager = {"Authorization": f"Bearer {demo['manager']['token']}"}  # hears every event
    r = requests.get(f"{server.url}/api/v1/halls/demo/events?after=0", headers=manager, timeout=30)
    calls = [e["ticket"]["id"] for e in r.json()["events"] if e["name"] == "ticket.called"]
    assert sorted(calls) == sorted(issued)  # each called exactly once in the log


@pytest.mark.postgres
@pytest.mark.parametrize("async_mode", ["eventlet"])
def test_two_server_processes_on_postgresql_number_gap_free(
    tmp_path: Path, pg_url: str, async_mode: str, server_env_factory: Any, cli: Any, servers: Any
) -> None:
    env = server_env_factory(tmp_path / "a", LAYSO_DATABASE_URL=pg_url, LAYSO_ASYNC_MODE=async_mode)
    env_b = dict(env, LAYSO_INSTANCE=str(tmp_path / "b"))
    demo = json.loads(cli(env, "seed-demo", "--json"))
    a = servers(env, tmp_path / "a.log")
    b = servers(env_b, tmp_path / "b.log")

    numbers = concurrent_issue([a.url, b.url], demo["devices"]["kiosk"])

    assert_gap_free(numbers)


@pytest.mark.postgres
def test_sixteen_kiosks_on_postgresql(
    tmp_path: Path, pg_url: str, async_mode: str, server_env_factory: Any, cli: Any, servers: Any
) -> None:
    env = server_env_factory(tmp_path / "i", LAYSO_DATABASE_URL=pg_url, LAYSO_ASYNC_MODE=async_mode)
    demo = json.loads(cli(env, "seed-demo", "--json"))
    server = servers(env, tmp_path / "s.log")

    numbers = concurrent_issue([server.url], demo["devices"]["kiosk"])

    assert_gap_free(numbers)


def test_the_server_keeps_what_it_built_at_start_out_of_full_collections() -> None:
    """serving freezes the objects of the built app before serving: a full garbage collection
    (a pause for every client) then walks only what requests made since."""
    import gc

    from layso import serving

    before, thresholds = gc.get_freeze_count(), gc.get_threshold()
    gc.disable()  # as `layso run` leaves it while it loads
    try:
        serving._quiet_collector()
        assert gc.get_freeze_count() > before
        # and the young generation is collected far less often than Python's 700
        assert gc.get_threshold() == serving.GC_THRESHOLDS and serving.GC_THRESHOLDS[0] > 700
        assert gc.isenabled()  # collecting from then on
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.parametrize(("argv", "loading"), [(["run"], False), (["backup", "x"], True)])
def test_the_collector_waits_while_a_command_loads_and_works_after(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], loading: bool
) -> None:
    """`layso` holds the collector off while it loads; a command does its work with it on, the
    server turns it on once its app is built (above); it is on again whatever happens."""
    import gc

    from layso import __main__ as entry
    from layso import cli

    seen: list[bool] = []

    def dispatch(_args: Any) -> int:
        seen.append(gc.isenabled())
        raise RuntimeError("stop here")

    monkeypatch.setenv("LAYSO_ASYNC_MODE", "threading")  # nothing monkey-patched in this process
    monkeypatch.setattr(cli, "dispatch", dispatch)
    with pytest.raises(RuntimeError, match="stop here"):
        entry.main(argv)
    assert seen == [loading]
    assert gc.isenabled()


def _cycles(count: int) -> list[Any]:
    """`count` objects each in a reference cycle of its own (only the collector frees them);
    weak references to them."""
    import weakref

    class Node:
        me: Any

    refs = []
    for _ in range(count):
        node = Node()
        node.me = node
        refs.append(weakref.ref(node))
    return refs


def test_young_garbage_is_collected_between_requests_once_it_has_grown() -> None:
    """What requests leave in reference cycles is collected a few hundred objects at a time
    once an answer is out, not 50,000 at once (an 11-17 ms pause for every client)."""
    import gc

    from layso import serving

    gc.collect()
    gc.disable()  # nothing but the step under test collects
    try:
        few = _cycles(10)
        serving.collect_between_requests()
        assert all(r() is not None for r in few)  # below the step: left for later

        many = _cycles(serving.GC_STEP)
        serving.collect_between_requests()
        assert all(r() is None for r in few + many)
        assert gc.get_count()[0] < serving.GC_STEP
    finally:
        gc.enable()


# a WSGI app under the server's own serving function: each request leaves 600 objects in
# cycles and answers how many of the earlier requests' are still alive; the collector's own
# threshold is out of reach, so only the server's step between requests can free them
COLLECTING_SERVER = """
import sys
mode, port = sys.argv[1], int(sys.argv[2])
if mode == "eventlet":
    import eventlet
    eventlet.monkey_patch()
else:
    from gevent import monkey
    monkey.patch_all()
import gc
import weakref
from types import SimpleNamespace

from layso import serving

gc.set_threshold(10**7, 50, 100)
kept = []


class Node:
    pass


def app(environ, start_response):
    alive = sum(1 for r in kept if r() is not None)
    if environ["PATH_INFO"] == "/garbage":
        for _ in range(600):
            node = Node()
            node.me = node
            kept.append(weakref.ref(node))
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(alive).encode()]


settings = SimpleNamespace(header_timeout_s=5.0)
if mode == "eventlet":
    serving._serve_eventlet(app, settings, "127.0.0.1", port, 100)
else:
    from flask import Flask

    from layso.hub import socketio

    socketio.init_app(Flask(__name__), async_mode="gevent")
    serving._serve_gevent(app, settings, "127.0.0.1", port, 100)
"""


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_the_server_collects_what_a_request_left_once_its_answer_is_out(
    tmp_path: Path, mode: str
) -> None:
    port, log = free_port(), tmp_path / "server.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", COLLECTING_SERVER, mode, str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, {}, log, port)
    try:
        wait_healthy(server)
        with requests.Session() as http:  # one keep-alive connection, as a counter's
            answers = [int(http.get(f"{server.url}/garbage", timeout=10).text) for _ in range(4)]
            after = int(http.get(f"{server.url}/healthz", timeout=10).text)
        # each request finds the earlier requests' cycles already collected
        assert answers == [0, 0, 0, 0] and after == 0
    finally:
        server.stop()
