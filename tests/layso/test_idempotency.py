"""Idempotency-Key (issue 10): a retried tap or press acts once, against the real server.

One key gives one ticket, one print job and one ``ticket.issued`` event, also when the retries
race each other (threads), on SQLite and on PostgreSQL with two server processes.
"""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from layso.config import Settings
from layso.db import Database
from layso.models import IdempotencyKey, PrintJob, Ticket

HALL = "/api/v1/halls/demo"


def token(demo: dict[str, Any], who: str) -> str:
    if who.startswith("clerk"):
        return str(demo["counters"][int(who[5:]) - 1]["token"])
    if who == "manager":
        return str(demo["manager"]["token"])
    return str(demo["devices"][who])


def post(url: str, demo: dict[str, Any], who: str, path: str, body: Any, key: str | None):
    headers = {"Authorization": f"Bearer {token(demo, who)}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return requests.post(f"{url}{HALL}/{path}", json=body, headers=headers, timeout=15)


def issued_events(url: str, demo: dict[str, Any]) -> list[dict[str, Any]]:
    r = requests.get(
        f"{url}{HALL}/events?after=0",
        headers={"Authorization": f"Bearer {token(demo, 'manager')}"},
        timeout=10,
    )
    return [e for e in r.json()["events"] if e["name"] == "ticket.issued"]


def counts(env: dict[str, str]) -> tuple[int, int]:
    db = Database(Settings.from_env(env).resolved().database_url)
    try:
        with db.read() as s:
            tickets = s.scalar(sa.select(sa.func.count()).select_from(Ticket)) or 0
            jobs = s.scalar(sa.select(sa.func.count()).select_from(PrintJob)) or 0
        return tickets, jobs
    finally:
        db.dispose()


def start(tmp_path: Path, server_env_factory, demo_seed, servers, *, n: int = 1, **extra: str):
    env = server_env_factory(
        tmp_path / "instance",
        LAYSO_ASYNC_MODE="eventlet",
        LAYSO_PRINTER=f"preview:{tmp_path / 'tickets'}",
        **extra,
    )
    demo = demo_seed(env)
    started = [servers(env, tmp_path / f"server{i}.log") for i in range(n)]
    return env, demo, started


def race(urls: list[str], demo: dict[str, Any], key: str, n: int = 12) -> list[Any]:
    with ThreadPoolExecutor(n) as pool:
        return list(
            pool.map(
                lambda i: post(
                    urls[i % len(urls)], demo, "kiosk", "tickets", {"service": "TP"}, key
                ),
                range(n),
            )
        )


def test_one_key_one_ticket(tmp_path, server_env_factory, demo_seed, servers) -> None:
    env, demo, [server] = start(tmp_path, server_env_factory, demo_seed, servers)
    url = server.url
    key = str(uuid.uuid4())

    first = post(url, demo, "kiosk", "tickets", {"service": "TP"}, key)
    again = post(url, demo, "kiosk", "tickets", {"service": "TP"}, key)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()

    # racing retries of another tap: all answered with that one ticket
    answers = race([url], demo, other := str(uuid.uuid4()))
    assert sorted(a.status_code for a in answers) == [200] * 11 + [201]
    assert len({a.json()["ticket"]["id"] for a in answers}) == 1
    assert other != key

    fresh = post(url, demo, "kiosk", "tickets", {"service": "TP"}, str(uuid.uuid4()))
    assert fresh.status_code == 201
    numbers = [
        first.json()["ticket"]["display_number"],
        answers[0].json()["ticket"]["display_number"],
    ]
    assert fresh.json()["ticket"]["display_number"] not in numbers

    assert counts(env)[0] == 3
    assert len(issued_events(url, demo)) == 3
    # one print job and one printed ticket per ticket (printing runs in the background)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and len(list((tmp_path / "tickets").glob("*.png"))) < 3:
        time.sleep(0.05)  # polling the printer's output: there is no event to await
    assert counts(env)[1] == 3
    assert len(list((tmp_path / "tickets").glob("*.png"))) == 3


def test_a_key_is_bound_to_its_request(tmp_path, server_env_factory, demo_seed, servers) -> None:
    env, demo, [server] = start(tmp_path, server_env_factory, demo_seed, servers)
    url = server.url
    key = str(uuid.uuid4())
    assert post(url, demo, "kiosk", "tickets", {"service": "TP"}, key).status_code == 201
    # the same key for another area, from another principal, or for a counter action: refused
    reused = post(url, demo, "kiosk", "tickets", {"service": "HT"}, key)
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency_key_reused"
    assert post(url, demo, "clerk1", "tickets", {"service": "TP"}, key).status_code == 422
    for bad in ("short", "x" * 101, "tab\there-and-more", "ключ-ключ-ключ"):
        r = requests.post(
            f"{url}{HALL}/tickets",
            json={"service": "TP"},
            headers={
                "Authorization": f"Bearer {token(demo, 'kiosk')}",
                "Idempotency-Key": bad.encode("utf-8").decode("latin-1"),
            },
            timeout=10,
        )
        assert r.status_code == 400, (bad, r.text)
        assert r.json()["error"]["code"] == "bad_idempotency_key"
    assert counts(env)[0] == 1


def test_a_retried_counter_next_calls_one_ticket(tmp_path, server_env_factory, demo_seed, servers):
    env, demo, [server] = start(tmp_path, server_env_factory, demo_seed, servers)
    url = server.url
    for _ in range(3):
        assert post(url, demo, "clerk1", "tickets", {"service": "TP"}, None).status_code == 201
    r = post(url, demo, "clerk1", "counters/1/open", {}, None)
    assert r.status_code == 200, r.text

    key = str(uuid.uuid4())
    first = post(url, demo, "clerk1", "counters/1/next", {}, key)
    again = post(url, demo, "clerk1", "counters/1/next", {}, key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["ticket"]["display_number"] == "1001"
    assert again.json() == first.json()
    # the same key for another action is refused, not replayed as a "next"
    assert post(url, demo, "clerk1", "counters/1/no-show", {}, key).status_code == 422

    waiting = requests.get(
        f"{url}{HALL}/state", headers={"Authorization": f"Bearer {token(demo, 'manager')}"}
    ).json()
    text = json.dumps(waiting)
    assert "1002" in text and "1003" in text  # both still waiting

    done = str(uuid.uuid4())
    assert post(url, demo, "clerk1", "counters/1/no-show", {}, done).status_code == 200
    assert post(url, demo, "clerk1", "counters/1/no-show", {}, done).status_code == 200
    nxt = post(url, demo, "clerk1", "counters/1/next", {}, str(uuid.uuid4()))
    assert nxt.json()["ticket"]["display_number"] == "1002"


def test_racing_retries_on_postgres_with_two_servers(
    tmp_path, server_env_factory, demo_seed, servers, pg_url
) -> None:
    env, demo, started = start(
        tmp_path, server_env_factory, demo_seed, servers, n=2, LAYSO_DATABASE_URL=pg_url
    )
    key = str(uuid.uuid4())
    answers = race([s.url for s in started], demo, key, n=16)
    assert all(a.status_code in (200, 201) for a in answers), [a.text for a in answers]
    assert [a.status_code for a in answers].count(201) == 1
    assert len({a.json()["ticket"]["id"] for a in answers}) == 1
    assert counts(env)[0] == 1
    assert len(issued_events(started[0].url, demo)) == 1


def test_old_keys_are_purged(tmp_path) -> None:
    from datetime import UTC, datetime, timedelta

    from layso.db import upgrade
    from layso.models import Hall
    from layso.services import idempotency
    from layso.services.demo import seed_demo

    db = Database(f"sqlite:///{tmp_path / 'x.sqlite3'}")
    upgrade(db)
    now = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)
    with db.write() as s:
        seed_demo(s, now=now)
        hall = s.scalars(sa.select(Hall)).one()
        for age, key in ((timedelta(days=3), "old-key-0001"), (timedelta(hours=1), "new-key-0001")):
            idempotency.remember(s, hall, key, "ticket|d1", "x", 201, {}, now=now - age)
    with db.write() as s:
        assert idempotency.purge(s, now=now) == 1
    with db.read() as s:
        assert list(s.scalars(sa.select(IdempotencyKey.key))) == ["new-key-0001"]
    db.dispose()


@pytest.mark.parametrize("raw", ["12345678", "a" * 100])
def test_key_bounds(raw: str) -> None:
    from layso.services import idempotency

    assert idempotency.parse_key(raw) == raw
