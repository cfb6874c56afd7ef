"""The real server (eventlet, and gevent) under concurrent kiosks and counters."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

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
    try:
        serving._quiet_collector()
        assert gc.get_freeze_count() > before
        # and the young generation is collected far less often than Python's 700
        assert gc.get_threshold() == serving.GC_THRESHOLDS and serving.GC_THRESHOLDS[0] > 700
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)
