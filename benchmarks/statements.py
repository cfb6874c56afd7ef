"""SQL statements and CPU milliseconds per operation, in process (no server, no sockets).

    .venv/bin/python benchmarks/statements.py [--rounds 200] [--database-url URL]
        [--show issue|next|start|finish|queue] [--cprofile OUT.prof]

Builds the app on a fresh SQLite file (or the given PostgreSQL database, which must be empty)
with the demo hall, then repeats, through Flask's test client with the real bearer tokens:
a kiosk issues a ticket (POST /tickets), counter 1 calls it (POST /counters/1/next), starts it
and finishes it; then, as the server does at most every 100 ms, one pass of
``layso/services/queue_news.py`` records the area's ``queue.changed`` (the row "queue"). For
each kind of request it prints the SQL statements it sent (every statement SQLAlchemy
executes, BEGIN and COMMIT excluded, counted with a ``before_cursor_execute`` listener on both
engines) and the CPU time of the process (``time.process_time``) per
request, p50 and mean. CPU time and statement counts hold on a busy machine, where wall-clock
throughput does not; ``--calls`` adds the Python function calls per request (counted by
cProfile, so the CPU figures of that run are inflated), which do not move with load at all.
``--show`` prints one request's statements; ``--cprofile`` writes a
profile of all the requests (read it with ``python -m pstats``).

The floors beside it: the bare transaction of ``benchmarks/_floor.py`` (bump the area-day
counter, insert ticket, insert event, commit) on the same kind of file, 4 statements; and the
bare stack of the press-to-display figure (``latency.py``): a Flask-SocketIO app whose POST
/emit only emits, through the same test client, in CPU ms and Python calls per request.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import event

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from layso.app import create_app  # noqa: E402
from layso.config import Settings  # noqa: E402
from layso.db import upgrade  # noqa: E402
from layso.services import accounts  # noqa: E402
from layso.services.demo import seed_demo  # noqa: E402
from layso.services.queue_news import QueueNews  # noqa: E402

OPS = ("issue", "next", "start", "finish", "queue")


class Clock:
    """Hanoi 08:00 on a Saturday; every request moves it on by a second."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 21, 1, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def build(url: str | None, tmp: Path, clock: Clock) -> tuple[Any, dict[str, Any]]:
    settings = Settings(
        instance_path=tmp,
        database_url=url or f"sqlite:///{tmp / 'layso.sqlite3'}",
        async_mode="threading",
        secret_key="bench",
        printer="none",
        testing=True,
        issue_rate_per_minute=10**9,
        login_rate_per_minute=10**9,
    ).resolved()
    # the bearer-token cache lasts 0.5 s of real time: stretched, so that whether a request
    # finds its token there (and so its calls and statements) does not depend on the machine
    accounts.AUTH_CACHE_S = 3600.0
    app = create_app(settings, clock=clock)
    db = app.extensions["layso.db"]
    upgrade(db)
    with db.write() as s:
        demo = seed_demo(s, now=clock())
    # as under `layso run`: a write notes the areas whose queue moved, a pass records their
    # queue.changed (the "queue" row: one pass after each round, one area)
    db.queue_news = QueueNews(db, clock=clock, context=app.app_context)
    return app, demo


class Desk(NamedTuple):
    """The demo hall as its kiosk and counter 1's clerk reach it, through Flask's test client."""

    client: Any
    kiosk: dict[str, str]  # the kiosk's bearer token header
    clerk: dict[str, str]  # counter 1's clerk's
    base: str  # the hall's API
    areas: list[str]  # the areas counter 1 serves


def desk(app: Any, demo: dict[str, Any]) -> Desk:
    return Desk(
        app.test_client(),
        {"Authorization": f"Bearer {demo['devices']['kiosk']}"},
        {"Authorization": f"Bearer {demo['counters'][0]['token']}"},
        "/api/v1/halls/demo",
        demo["counters"][0]["services"],
    )


def floor_cpu_ms(tmp: Path, rounds: int) -> float:
    """CPU ms of the floor's transaction with the sqlite3 module alone (as _floor.py does it)."""
    conn = sqlite3.connect(tmp / "floor.sqlite3", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE daily (area TEXT, day TEXT, n INTEGER, PRIMARY KEY (area, day))")
    conn.execute("CREATE TABLE ticket (id INTEGER PRIMARY KEY, area TEXT, number INTEGER)")
    conn.execute("CREATE TABLE event (id INTEGER PRIMARY KEY, payload TEXT)")
    t0 = time.process_time()
    for _ in range(rounds):
        conn.execute("BEGIN IMMEDIATE")
        n = conn.execute(
            "INSERT INTO daily VALUES ('A', '2026-11-21', 1) ON CONFLICT DO UPDATE "
            "SET n = n + 1 RETURNING n"
        ).fetchone()[0]
        conn.execute("INSERT INTO ticket (area, number) VALUES ('A', ?)", (n,))
        conn.execute("INSERT INTO event (payload) VALUES (?)", (f'{{"n": {n}}}',))
        conn.execute("COMMIT")
    conn.close()
    return (time.process_time() - t0) * 1000 / rounds


def bare_emit(rounds: int) -> tuple[float, float]:
    """The bare stack of the press-to-display figure, measured like the requests above: a
    Flask-SocketIO app whose POST /emit only emits one event to a namespace (_floor.py's
    /emit), through the test client. CPU ms p50 and Python calls per request (counted in
    rounds of their own, so that the profiler does not inflate the CPU figure)."""
    from flask import Flask, jsonify, request
    from flask_socketio import SocketIO

    app = Flask("bare")
    sio = SocketIO(app, async_mode="threading")

    @app.post("/emit")
    def emit() -> Any:
        body = request.get_json()
        sio.emit("ticket.called", {"ticket": {"id": body["id"]}, "counter": 1}, namespace="/hall")
        return jsonify({"ok": True})

    client = app.test_client()
    spent = []
    for i in range(rounds + 5):
        t0 = time.process_time()
        client.post("/emit", json={"id": i})
        if i >= 5:
            spent.append((time.process_time() - t0) * 1000)
    profile = cProfile.Profile()
    profile.enable()
    for i in range(rounds):
        client.post("/emit", json={"id": i})
    profile.disable()
    return statistics.median(spent), pstats.Stats(profile).total_calls / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--show", choices=OPS, default=None)
    parser.add_argument("--cprofile", default=None)
    parser.add_argument(
        "--keys", action="store_true", help="send an Idempotency-Key with every request"
    )
    parser.add_argument(
        "--calls", action="store_true", help="also count Python function calls per request"
    )
    args = parser.parse_args()

    clock = Clock()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        app, demo = build(args.database_url, tmp, clock)
        db = app.extensions["layso.db"]
        statements: list[str] = []

        def count(_conn: Any, _cur: Any, sql: str, *_: Any) -> None:
            statements.append(sql)

        engines = {id(e): e for e in (db.engine, db._write_engine)}.values()
        for engine in engines:
            event.listen(engine, "before_cursor_execute", count)

        client, kiosk, clerk, base, areas = desk(app, demo)
        code = areas[0]  # an area counter 1 serves
        requests = {
            "issue": lambda: client.post(f"{base}/tickets", json={"service": code}, headers=kiosk),
            "next": lambda: client.post(f"{base}/counters/1/next", json={}, headers=clerk),
            "start": lambda: client.post(f"{base}/counters/1/start", json={}, headers=clerk),
            "finish": lambda: client.post(f"{base}/counters/1/finish", json={}, headers=clerk),
            "queue": lambda: db.queue_news.run_once(),
        }
        expect = {"issue": 201, "next": 200, "start": 200, "finish": 200, "queue": 1}
        cpu: dict[str, list[float]] = {op: [] for op in OPS}
        count_of: dict[str, list[int]] = {op: [] for op in OPS}
        shown: list[str] = []
        profile = cProfile.Profile() if args.cprofile else None
        # Python function calls per request: a figure that does not move with the machine's load
        calls = {op: cProfile.Profile() for op in OPS} if args.calls else {}
        for i in range(args.rounds + 5):  # the first five warm caches up and are not counted
            for op in OPS:
                clock.now += timedelta(seconds=1)
                statements.clear()
                if profile is not None and i >= 5:
                    profile.enable()
                if calls and i >= 5:
                    calls[op].enable()
                if args.keys:
                    key = {"Idempotency-Key": str(uuid.uuid4())}
                    kiosk.update(key)
                    clerk.update(key)
                t0 = time.process_time()
                r = requests[op]()
                spent = (time.process_time() - t0) * 1000
                if profile is not None:
                    profile.disable()
                if calls:
                    calls[op].disable()
                status = r if op == "queue" else r.status_code  # queue: the events recorded
                if status != expect[op]:
                    raise SystemExit(
                        f"{op}: {status} {'' if op == 'queue' else r.get_data()[:300]}"
                    )
                if op == "next" and r.get_json()["ticket"] is None:
                    raise SystemExit("next: no ticket waiting")
                sql = [s for s in statements if s.split()[0].upper() not in ("BEGIN", "COMMIT")]
                if i < 5:
                    continue
                cpu[op].append(spent)
                count_of[op].append(len(sql))
                if op == args.show and not shown:
                    shown = sql
        db.dispose()
        floor = floor_cpu_ms(tmp, max(args.rounds, 200))

    backend = "PostgreSQL" if args.database_url else "SQLite"
    keys = ", an Idempotency-Key each" if args.keys else ""
    print(f"{backend}, {args.rounds} rounds of issue → next → start → finish, counter 1{keys}")
    head = f"{'request':<8} {'statements':>10} {'CPU ms p50':>11} {'CPU ms mean':>12}"
    print(head + (f" {'Python calls':>13}" if calls else ""))
    for op in OPS:
        n = statistics.median(count_of[op])
        spread = "" if min(count_of[op]) == max(count_of[op]) else "~"
        line = (
            f"{op:<8} {spread + format(n, 'g'):>10} {statistics.median(cpu[op]):>11.2f} "
            f"{statistics.fmean(cpu[op]):>12.2f}"
        )
        if calls:
            line += f" {pstats.Stats(calls[op]).total_calls / args.rounds:>13.0f}"
        print(line)
    note = "(sqlite3 alone, no HTTP: _floor.py's transaction)"
    print(f"{'floor':<8} {4:>10} {floor:>11.2f}   {note}")
    bare_ms, bare_calls = bare_emit(args.rounds)
    line = f"{'emit':<8} {0:>10} {bare_ms:>11.2f}"
    line += f" {'':>12} {bare_calls:>13.0f}" if calls else ""
    print(f"{line}   (bare Flask-SocketIO POST /emit, no database: latency.py's bare stack)")
    if shown:
        print(f"\nstatements of one {args.show}:")
        for s in shown:
            print("  " + " ".join(s.split())[:200])
    if profile is not None:
        profile.dump_stats(args.cprofile)
        print(f"\nprofile written to {args.cprofile} (python -m pstats {args.cprofile})")


if __name__ == "__main__":
    main()
