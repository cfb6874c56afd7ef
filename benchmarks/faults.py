"""Fault drills against real servers: each says what it did and what it found (PASS / FAIL).

    .venv/bin/python benchmarks/faults.py [--drill kill|redis|postgres|printer|flood|sqlitelock|all]
        [--mode eventlet] [--shared-services] [--json OUT]

a) kill      the server is SIGKILLed while kiosks issue and counters call, then restarted on
             the same port: every ticket whose POST returned 201 is stored, numbering is gap-free,
             the event seq is contiguous, and a display resumes by seq to the server's last seq.
b) redis     Redis stopped and started under two workers on PostgreSQL: while it is down each
             worker serves its own clients; once it is back a display on worker A sees a call
             made on worker B again.
c) postgres  PostgreSQL stopped and started under load: requests meanwhile fail cleanly (JSON
             error, no hang), the same server process serves again afterwards, nothing committed
             is lost.
d) printer   a fake network printer (tcp://127.0.0.1:PORT) is killed, then replaced by one that
             never answers: issuing still answers 201 without waiting for the printer, and the
             ticket's print_state / GET /state `printers` say why. Needs the server-side printing
             integration (printer/worker.py); without it the drill says SKIPPED.
e) flood     the server started with systemd's soft limit of 1,024 open files; 1,100 sockets
             send a partial request (one header, then nothing), then 1,100 bare engine.io
             websockets never join /hall: /healthz answers meanwhile (the first probe, queued
             behind the burst, is reported but only needs an answer), the server closes the
             partial ones after LAYSO_HEADER_TIMEOUT and drops the unjoined ones after
             LAYSO_JOIN_TIMEOUT, and a display that joined /hall stays connected.
f) sqlitelock another process holds BEGIN EXCLUSIVE on the SQLite file for 12 s: /healthz and a
             static file answer under 1 s throughout, three kiosks issuing meanwhile get 201 or
             503 with Retry-After within 6 s, issuing works after the release, and the tickets
             stored match the 201 answers.

By default the drills that stop Redis or PostgreSQL use throwaway instances on free loopback
ports (a private redis-server; a private PostgreSQL cluster from initdb), so that other work on
the machine using 127.0.0.1:5432 / :6379 is not disturbed; drill (b) keeps its database on the
machine's PostgreSQL (a fresh `layso_bench_<random>`, dropped afterwards). With
--shared-services they stop and restart the machine's own PostgreSQL (pg_ctlcluster) and Redis
instead. Either way, the machine's PostgreSQL and Redis are checked at the end and started
again if they are down. Everything is bounded in time and stops by itself.

One file on purpose (it is long): the drills share one harness (servers, traffic, private
PostgreSQL and Redis, the PASS / FAIL report) and each reads top to bottom as the story of its
fault; the raw-socket flood shared with the tests is in benchmarks/_sockets.py.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import (  # noqa: E402
    PG_BASE,
    PrivatePostgres,
    PrivateRedis,
    bench_env,
    create_pg_database,
    drop_pg_database,
    free_port,
    percentile,
    port_open,
    seed,
    start_server,
    stop_process,
)
from _sockets import first_reads, flood, websocket_upgrade  # noqa: E402
from load import display_client_class  # noqa: E402

HALL = "demo"
CODES = ["TP", "CT", "DD", "LD", "KD", "XD"]
HANG_BOUND_S = 10.0  # no request may take longer than this during a fault


# --------------------------------------------------------------------------------------------
# Reporting


@dataclass
class Drill:
    name: str
    checks: list[tuple[bool, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None
    figures: dict[str, Any] = field(default_factory=dict)

    def say(self, text: str) -> None:
        print(f"  [{self.name}] {text}", flush=True)

    def check(self, ok: bool, text: str) -> bool:
        self.checks.append((ok, text))
        print(f"  [{self.name}] {'ok  ' if ok else 'FAIL'} {text}", flush=True)
        return ok

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  [{self.name}] note {text}", flush=True)

    @property
    def outcome(self) -> str:
        if self.skipped:
            return f"SKIPPED: {self.skipped}"
        failed = [t for ok, t in self.checks if not ok]
        return (
            "PASS" if self.checks and not failed else f"FAIL ({len(failed)} of {len(self.checks)})"
        )


# --------------------------------------------------------------------------------------------
# Clients


@dataclass
class Outcome:
    at: float  # monotonic time the request was sent
    what: str
    status: int  # HTTP status; 0 = no answer (connection error or timeout)
    ms: float
    clean: bool  # an answer with the API's JSON error body (or a success)
    body: Any = None
    error: str = ""


def request(http: requests.Session, method: str, url: str, what: str, **kw: Any) -> Outcome:
    t0 = time.monotonic()
    try:
        r = http.request(method, url, timeout=kw.pop("timeout", 30), **kw)
    except requests.RequestException as exc:
        return Outcome(t0, what, 0, (time.monotonic() - t0) * 1000, False, None, type(exc).__name__)
    ms = (time.monotonic() - t0) * 1000
    try:
        body = r.json()
    except ValueError:
        body = None
    clean = r.ok or (isinstance(body, dict) and isinstance(body.get("error"), dict))
    return Outcome(t0, what, r.status_code, ms, clean, body)


def session(token: str) -> requests.Session:
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {token}"
    return http


class Display:
    """A wall display: a python-socketio client that resumes by seq and records every event."""

    def __init__(self, url: str, token: str) -> None:
        self.events: list[tuple[str, int | None, dict, float]] = []
        self.seq: int | None = None
        self.snapshots: list[int] = []
        self.connects = 0
        self.disconnects = 0
        self.changed = threading.Condition()
        self.client = display_client_class()(
            reconnection=True, reconnection_delay=0.2, reconnection_delay_max=1, handle_sigint=False
        )

        @self.client.on("*", namespace="/hall")
        def any_event(name: str, body: Any = None) -> None:
            body = body if isinstance(body, dict) else {}
            seq = body.get("seq")
            with self.changed:
                if name == "snapshot":
                    self.seq = seq
                    self.snapshots.append(seq)
                elif isinstance(seq, int):
                    self.seq = max(self.seq or 0, seq)
                self.events.append((name, seq, body, time.monotonic()))
                self.changed.notify_all()

        @self.client.on("connect", namespace="/hall")
        def connected() -> None:
            self.connects += 1

        @self.client.on("disconnect", namespace="/hall")
        def gone(*_: Any) -> None:
            self.disconnects += 1

        self.client.connect(
            url,
            namespaces=["/hall"],
            transports=["websocket"],
            auth=lambda: {"token": token, "hall": HALL, "after": self.seq},
            wait_timeout=15,
        )
        self.wait(lambda: bool(self.snapshots), 15)

    def wait(self, predicate: Callable[[], bool], timeout: float) -> bool:
        with self.changed:
            return self.changed.wait_for(predicate, timeout)

    def saw(self, name: str, ticket_id: int) -> bool:
        with self.changed:
            return any(
                n == name and (b.get("ticket") or {}).get("id") == ticket_id
                for n, _, b, _ in self.events
            )

    def wait_ticket(self, name: str, ticket_id: int, timeout: float) -> float | None:
        """Seconds until this display had `name` for that ticket, or None."""
        t0 = time.monotonic()
        ok = self.wait(
            lambda: any(
                n == name and (b.get("ticket") or {}).get("id") == ticket_id
                for n, _, b, _ in self.events
            ),
            timeout,
        )
        return time.monotonic() - t0 if ok else None

    def arrival(self, name: str, ticket_id: int) -> float | None:
        """The monotonic time this display received `name` for that ticket, if it did."""
        with self.changed:
            for n, _, b, at in self.events:
                if n == name and (b.get("ticket") or {}).get("id") == ticket_id:
                    return at
        return None

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # best effort
            pass


class Traffic:
    """Kiosks issuing and every counter calling (next → start → finish) until stopped."""

    def __init__(self, urls: list[str], demo: dict, kiosks: int = 4, pause: float = 0.02) -> None:
        self.urls = urls
        self.demo = demo
        self.kiosks = kiosks
        self.pause = pause
        self.stop_ev = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: list[Outcome] = []
        self.issued: dict[int, dict] = {}  # ticket id → ticket, for every 201
        self.called: set[int] = set()  # ticket ids a POST next returned
        self.threads: list[threading.Thread] = []

    def _keep(self, o: Outcome) -> Outcome:
        with self.lock:
            self.outcomes.append(o)
        if o.status == 0:
            time.sleep(0.1)  # a server that is down: do not spin
        return o

    def _kiosk(self, k: int) -> None:
        url = self.urls[k % len(self.urls)]
        with session(self.demo["devices"]["kiosk"]) as http:
            i = 0
            while not self.stop_ev.is_set():
                code = CODES[(k + i) % len(CODES)]
                i += 1
                o = self._keep(
                    request(http, "POST", f"{url}/api/v1/halls/{HALL}/tickets", "issue",
                            json={"service": code})
                )  # fmt: skip
                if o.status == 201:
                    with self.lock:
                        self.issued[o.body["ticket"]["id"]] = o.body["ticket"]
                self.stop_ev.wait(self.pause)

    def _counter(self, j: int) -> None:
        c = self.demo["counters"][j]
        url = self.urls[j % len(self.urls)]
        base = f"{url}/api/v1/halls/{HALL}/counters/{c['number']}"
        with session(c["token"]) as http:
            while not self.stop_ev.is_set():
                o = self._keep(request(http, "POST", f"{base}/next", "next"))
                if o.status == 409:  # a ticket left open when an answer was lost: close it
                    for action in ("start", "finish"):
                        self._keep(request(http, "POST", f"{base}/{action}", action))
                    continue
                if o.status != 200 or not o.body or o.body.get("ticket") is None:
                    self.stop_ev.wait(0.05)
                    continue
                with self.lock:
                    self.called.add(o.body["ticket"]["id"])
                for action in ("start", "finish"):
                    self._keep(request(http, "POST", f"{base}/{action}", action))
                self.stop_ev.wait(self.pause)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._kiosk, args=(k,)) for k in range(self.kiosks)]
        self.threads += [
            threading.Thread(target=self._counter, args=(j,))
            for j in range(len(self.demo["counters"]))
        ]
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stop_ev.set()
        for t in self.threads:
            t.join(60)

    def window(self, t0: float, t1: float) -> list[Outcome]:
        with self.lock:
            return [o for o in self.outcomes if t0 <= o.at < t1]


def summarize(outcomes: list[Outcome]) -> str:
    by = Counter(str(o.status) if o.status else (o.error or "no answer") for o in outcomes)
    return ", ".join(f"{k}: {v}" for k, v in sorted(by.items())) or "none"


# --------------------------------------------------------------------------------------------
# Consistency of the stored day


def check_store(d: Drill, db_url: str, issued: dict[int, dict], called: set[int]) -> None:
    """Every acknowledged ticket and call is stored; numbers gap-free; seq contiguous."""
    import sqlalchemy as sa

    from layso.config import normalize_database_url

    engine = sa.create_engine(normalize_database_url(db_url))
    try:
        with engine.connect() as conn:
            hall_id, hall_seq = conn.execute(
                sa.text("SELECT id, event_seq FROM hall WHERE slug = :s"), {"s": HALL}
            ).one()
            tickets = {
                row.id: row
                for row in conn.execute(
                    sa.text(
                        "SELECT id, issued_service_id, business_date, number, called_at "
                        "FROM ticket WHERE hall_id = :h"
                    ),
                    {"h": hall_id},
                )
            }
            services = {
                row.id: row
                for row in conn.execute(
                    sa.text("SELECT id, code, first_number, step FROM service WHERE hall_id = :h"),
                    {"h": hall_id},
                )
            }
            daily_sql = "SELECT service_id, business_date, issued FROM daily_number"
            daily = {
                (row.service_id, str(row.business_date)): row.issued
                for row in conn.execute(sa.text(daily_sql))
            }
            seqs = [
                r[0]
                for r in conn.execute(
                    sa.text("SELECT seq FROM event WHERE hall_id = :h ORDER BY seq"), {"h": hall_id}
                )
            ]
            issued_events = {
                r[0]
                for r in conn.execute(
                    sa.text(
                        "SELECT ticket_id FROM event WHERE hall_id = :h AND name = 'ticket.issued'"
                    ),
                    {"h": hall_id},
                )
            }
    finally:
        engine.dispose()
    lost = sorted(set(issued) - set(tickets))
    d.check(
        not lost,
        f"{len(issued)} tickets acknowledged with 201, {len(tickets)} stored; "
        f"acknowledged but missing: {len(lost)} {lost[:5] if lost else ''}".rstrip()
        + (
            f"; {len(set(tickets) - set(issued))} stored whose answer never arrived"
            if set(tickets) - set(issued)
            else ""
        ),
    )
    not_called = sorted(t for t in called if t not in tickets or tickets[t].called_at is None)
    d.check(
        not not_called,
        f"{len(called)} calls acknowledged; stored as called: {len(called) - len(not_called)}",
    )
    groups: dict[tuple[int, str], list[int]] = {}
    for t in tickets.values():
        groups.setdefault((t.issued_service_id, str(t.business_date)), []).append(t.number)
    bad = []
    for (sid, day), numbers in groups.items():
        s = services[sid]
        expected = [s.first_number + i * s.step for i in range(len(numbers))]
        if sorted(numbers) != expected or daily.get((sid, day)) != len(numbers):
            bad.append(f"{s.code} {day}: {len(numbers)} tickets, counter {daily.get((sid, day))}")
    d.check(
        not bad,
        f"numbering gap-free and duplicate-free in {len(groups)} area-days "
        f"({len(tickets)} tickets)" + (f"; wrong: {bad}" if bad else ""),
    )
    contiguous = seqs == list(range(1, len(seqs) + 1)) and (seqs[-1] if seqs else 0) == hall_seq
    d.check(
        contiguous,
        f"event seq contiguous 1..{seqs[-1] if seqs else 0} ({len(seqs)} events), "
        f"hall seq {hall_seq}",
    )
    no_event = sorted(set(tickets) - issued_events)
    d.check(
        not no_event, f"every stored ticket has its ticket.issued event ({len(no_event)} lack it)"
    )


def check_display_caught_up(d: Drill, url: str, demo: dict, display: Display) -> dict | None:
    """The display ends on the server's seq, has every event it may see once, in order."""
    kiosk = session(demo["devices"]["kiosk"])
    # one last ticket, so that the hall's newest event is one every display receives
    last = request(kiosk, "POST", f"{url}/api/v1/halls/{HALL}/tickets", "issue",
                   json={"service": "TP"})  # fmt: skip
    state = request(kiosk, "GET", f"{url}/api/v1/halls/{HALL}/state", "state")
    final = state.body["seq"] if state.status == 200 else None
    t0 = time.monotonic()
    reached = display.wait(lambda: display.seq == final, 30)
    d.check(
        last.status == 201 and reached,
        f"display resumed to the server's seq {final} (display at {display.seq}, "
        f"{time.monotonic() - t0:.1f} s after the last ticket; reconnects {display.connects - 1}, "
        f"fresh snapshots {len(display.snapshots) - 1})",
    )
    # what it may see, from the log, against what it got
    first = display.snapshots[0]
    visible: list[int] = []
    after = first
    with session(demo["devices"]["display"]) as http:
        while True:
            page = request(http, "GET", f"{url}/api/v1/halls/{HALL}/events?after={after}", "events")
            items = page.body["events"] if page.status == 200 else []
            visible += [e["seq"] for e in items]
            if not items or page.body.get("complete", True):
                break
            after = items[-1]["seq"]
    got = [seq for n, seq, _, _ in display.events if n != "snapshot" and isinstance(seq, int)]
    later_snapshots = display.snapshots[1:]
    covered = max(later_snapshots, default=first)
    missing = [s for s in visible if s not in set(got) and s > covered]
    dupes = len(got) - len(set(got))
    late = sum(1 for i, s in enumerate(got) if i and s < max(got[:i]))
    d.check(
        not missing and not dupes,
        f"display got {len(set(got))} of the {len(visible)} events it may see after its first "
        f"snapshot: missing {len(missing)}, duplicates {dupes}",
    )
    d.figures["events_out_of_order"] = late
    if late:
        d.note(
            f"{late} of {len(got)} events reached the display after an event with a higher seq "
            "(concurrent requests commit in one order and emit in another)"
        )
    return last.body["ticket"] if last.status == 201 else None  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------
# The machine's own PostgreSQL and Redis (only touched with --shared-services, always checked)


def pg_cluster() -> str:
    versions = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if not versions:
        raise SystemExit("no PostgreSQL cluster under /etc/postgresql")
    return versions[-1]


def shared_pg(action: str) -> None:
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", pg_cluster(), "main", action],
        check=True,
        capture_output=True,
        timeout=120,
    )


def shared_redis_stop() -> None:
    subprocess.run(
        ["redis-cli", "-p", "6379", "shutdown", "nosave"], capture_output=True, timeout=30
    )


def shared_redis_start() -> None:
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
         "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
         "--logfile", "/var/log/redis/ci.log"],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip


def wait_port(port: int, up: bool, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port) == up:
            return True
        time.sleep(0.1)
    return False


def ensure_shared_services() -> None:
    """Leave the machine's PostgreSQL (5432) and Redis (6379) running, whatever happened."""
    for name, port, start in (("PostgreSQL", 5432, lambda: shared_pg("start")),
                              ("Redis", 6379, shared_redis_start)):  # fmt: skip
        if port_open(port):
            print(f"{name} on 127.0.0.1:{port}: running")
            continue
        print(f"{name} on 127.0.0.1:{port} is down: starting it", flush=True)
        try:
            start()
        except Exception as exc:  # report, and keep trying the other one
            print(f"  could not start {name}: {exc}")
        print(f"{name} on 127.0.0.1:{port}: {'running' if wait_port(port, True) else 'STILL DOWN'}")


class RedisControl:
    """Stop and start the Redis that the workers share (a private one unless --shared)."""

    def __init__(self, shared: bool, folder: Path) -> None:
        self.shared = shared
        self.private = None if shared else PrivateRedis(folder)
        self.url = "redis://127.0.0.1:6379/0" if shared else self.private.url  # type: ignore[union-attr]
        self.port = 6379 if shared else self.private.port  # type: ignore[union-attr]

    def start(self) -> None:
        if self.private is not None:
            self.private.start()
        else:
            shared_redis_start()
            wait_port(6379, True)

    def stop(self) -> None:
        if self.private is not None:
            self.private.stop()
        else:
            shared_redis_stop()
            wait_port(6379, False, 30)


class PostgresControl:
    """Stop and start the PostgreSQL holding the drill's database (private unless --shared)."""

    def __init__(self, shared: bool) -> None:
        self.shared = shared
        self.private = None if shared else PrivatePostgres()
        self.base = PG_BASE

    def __enter__(self) -> PostgresControl:
        if self.private is not None:
            self.private.__enter__()
            self.base = self.private.base_url
        return self

    def __exit__(self, *exc: object) -> None:
        if self.private is not None:
            self.private.__exit__(*exc)

    def stop(self) -> None:
        if self.private is not None:
            self.private.pg_ctl("stop", "-m", "fast")
        else:
            shared_pg("stop")

    def start(self) -> None:
        if self.private is not None:
            self.private.pg_ctl("start")
        else:
            shared_pg("start")
            wait_port(5432, True)


# --------------------------------------------------------------------------------------------
# The drills


@contextmanager
def instance(**extra: str) -> Iterator[tuple[Path, dict[str, str], dict]]:
    with tempfile.TemporaryDirectory(prefix="layso-faults-") as tmp_:
        tmp = Path(tmp_)
        env = bench_env(tmp / "instance", LAYSO_SECRET_KEY=uuid.uuid4().hex, **extra)
        env["LAYSO_LOG_LEVEL"] = "INFO"
        yield tmp, env, seed(env)


def _under_traffic(stack: ExitStack, url: str, demo: dict, phase: float) -> tuple[Display, Traffic]:
    """A wall display on the hub and four kiosks with clerks at work, for `phase` seconds."""
    display = Display(url, demo["devices"]["display"])
    stack.callback(display.close)
    traffic = Traffic([url], demo, kiosks=4)
    traffic.start()
    stack.callback(traffic.stop)
    time.sleep(phase)  # the steady load before the fault: a duration, nothing to wait for
    return display, traffic


def drill_kill(d: Drill, args: argparse.Namespace) -> None:
    with instance(LAYSO_ASYNC_MODE=args.mode) as (tmp, env, demo), ExitStack() as stack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port, tmp / "server.log")
        stack.callback(lambda: stop_process(proc))
        display, traffic = _under_traffic(stack, url, demo, args.phase)
        before = len(traffic.issued), len(traffic.called)
        t_kill = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        d.say(
            f"SIGKILLed the server (pid {proc.pid}) after {args.phase:g} s of traffic: "
            f"{before[0]} tickets issued, {before[1]} called so far"
        )
        proc = start_server(env, port, tmp / "server.log")
        downtime = time.monotonic() - t_kill
        d.say(f"restarted on the same port {port}: healthy {downtime:.1f} s after the kill")
        time.sleep(args.phase)
        traffic.stop()
        during = traffic.window(t_kill, t_kill + downtime)
        d.say(f"requests sent while it was down: {len(during)} ({summarize(during)})")
        after = [o for o in traffic.outcomes if o.at >= t_kill + downtime]
        d.check(
            any(o.status == 201 for o in after)
            and any(o.what == "next" and o.status == 200 for o in after)
            and all(0 < o.status < 500 for o in after),
            f"after the restart: {len(after)} requests, none failed ({summarize(after)})",
        )
        d.figures.update(downtime_s=round(downtime, 2), tickets=len(traffic.issued),
                         calls=len(traffic.called))  # fmt: skip
        final = check_display_caught_up(d, url, demo, display)
        if final:
            traffic.issued[final["id"]] = final
        display.close()
        stop_process(proc)
        check_store(d, f"sqlite:///{tmp / 'instance' / 'layso.sqlite3'}", traffic.issued,
                    traffic.called)  # fmt: skip


def drill_redis(d: Drill, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="layso-faults-redis-") as rtmp, ExitStack() as stack:
        redis = RedisControl(args.shared_services, Path(rtmp))
        if not redis.shared:
            redis.start()
            stack.callback(redis.stop)
        elif not port_open(6379):
            raise SystemExit("Redis is not reachable at 127.0.0.1:6379")
        db_url = create_pg_database()
        stack.callback(drop_pg_database, db_url)
        extra = {"LAYSO_ASYNC_MODE": args.mode, "LAYSO_DATABASE_URL": db_url,
                 "LAYSO_REDIS_URL": redis.url}  # fmt: skip
        tmp, env, demo = stack.enter_context(instance(**extra))
        pa, pb = free_port(), free_port()
        a = start_server(env, pa, tmp / "a.log")
        stack.callback(lambda: stop_process(a))
        b = start_server(env, pb, tmp / "b.log")
        stack.callback(lambda: stop_process(b))
        ua, ub = f"http://127.0.0.1:{pa}", f"http://127.0.0.1:{pb}"
        d.say(f"two workers on PostgreSQL: A {ua}, B {ub}; Redis {redis.url}")
        # a manager's screen hears every event (ticket.issued too; displays get what they show)
        da = Display(ua, demo["manager"]["token"])
        stack.callback(da.close)
        db_ = Display(ub, demo["manager"]["token"])
        stack.callback(db_.close)
        kiosk = session(demo["devices"]["kiosk"])
        clerk_b = session(demo["counters"][1]["token"])  # counter 2 (TP) works on worker B

        def issue(u: str, code: str = "TP") -> Outcome:
            return request(kiosk, "POST", f"{u}/api/v1/halls/{HALL}/tickets", "issue",
                           json={"service": code})  # fmt: skip

        t = issue(ub)
        d.check(
            t.status == 201
            and da.wait_ticket("ticket.issued", t.body["ticket"]["id"], 10) is not None,
            "before: a ticket issued on B reaches the display on A",
        )

        # Redis down
        t_down = time.monotonic()
        redis.stop()
        d.say(f"stopped Redis ({'shared' if redis.shared else 'private'}, port {redis.port})")
        time.sleep(1)
        local_a = [issue(ua) for _ in range(5)]
        local_b = [issue(ub) for _ in range(5)]
        ms = [o.ms for o in local_a + local_b]
        d.figures["issue_ms_while_redis_down"] = (round(percentile(ms, 50)), round(max(ms)))
        d.check(
            all(o.status == 201 for o in local_a + local_b),
            f"while down: 10 tickets issued on A and B, all 201 "
            f"({summarize(local_a + local_b)}; p50 {percentile(ms, 50):.0f} ms, "
            f"max {max(ms):.0f} ms)",
        )
        seen_a = [
            da.wait_ticket("ticket.issued", o.body["ticket"]["id"], 5) for o in local_a if o.body
        ]
        seen_b = [
            db_.wait_ticket("ticket.issued", o.body["ticket"]["id"], 5) for o in local_b if o.body
        ]
        d.check(
            all(s is not None for s in seen_a + seen_b),
            f"while down: each worker's own display got its tickets "
            f"(A {sum(s is not None for s in seen_a)}/5, B {sum(s is not None for s in seen_b)}/5)",
        )
        call_b = request(clerk_b, "POST", f"{ub}/api/v1/halls/{HALL}/counters/2/next", "next")
        called_b = (call_b.body or {}).get("ticket") or {}
        d.check(
            call_b.status == 200
            and bool(called_b)
            and db_.wait_ticket("ticket.called", called_b["id"], 5) is not None,
            f"while down: a call on B ({call_b.status}, ticket {called_b.get('display_number')}) "
            f"reached the display on B",
        )
        if called_b:
            for action in ("start", "finish"):
                request(clerk_b, "POST", f"{ub}/api/v1/halls/{HALL}/counters/2/{action}", action)
        fresh = None
        try:
            fresh = Display(ua, demo["manager"]["token"])
            d.check(bool(fresh.snapshots), "while down: a new display can connect to A (snapshot)")
        except Exception as exc:
            d.check(False, f"while down: a new display could not connect to A: {exc}")
        finally:
            if fresh is not None:
                fresh.close()
        time.sleep(max(0.0, args.redis_down - (time.monotonic() - t_down)))
        crossed = sum(da.saw("ticket.issued", o.body["ticket"]["id"]) for o in local_b if o.body)
        d.say(f"while down: B's tickets seen on A's display: {crossed}/5 (expected 0: no queue)")

        # Redis back
        outage = time.monotonic() - t_down
        redis.start()
        t_up = time.monotonic()
        d.say(f"started Redis again after {outage:.1f} s down")
        recovered = {}
        for direction, src, dst in (("B→A", ub, da), ("A→B", ua, db_)):
            while time.monotonic() - t_up < args.redis_recovery:
                o = issue(src)
                if o.status == 201 and dst.wait_ticket("ticket.issued", o.body["ticket"]["id"], 2):
                    recovered[direction] = time.monotonic() - t_up
                    break
        d.figures["cross_worker_back_after_s"] = {k: round(v, 1) for k, v in recovered.items()}
        d.check(
            len(recovered) == 2,
            "after: cross-worker events flow again "
            + ", ".join(f"{k} {v:.1f} s after Redis started" for k, v in recovered.items())
            + ("" if len(recovered) == 2 else f" (not within {args.redis_recovery:g} s)"),
        )
        issue(ub)
        call = request(clerk_b, "POST", f"{ub}/api/v1/halls/{HALL}/counters/2/next", "next")
        ticket = (call.body or {}).get("ticket") or {}
        seen = da.wait_ticket("ticket.called", ticket["id"], 10) if ticket else None
        latency = (da.arrival("ticket.called", ticket["id"]) or 0) - call.at if seen else None
        d.check(
            latency is not None,
            f"after: a call made on B ({call.status}, ticket {ticket.get('display_number')}) "
            "reached the display on A"
            + (f" {latency * 1000:.0f} ms after the POST" if latency is not None else ""),
        )
        missed = [
            o.body["ticket"]["id"]
            for o in local_b
            if o.body and not da.saw("ticket.issued", o.body["ticket"]["id"])
        ]
        if missed:
            d.note(
                f"A's display never received the {len(missed)} tickets issued on B while Redis "
                "was down (its own connection never dropped, so it did not replay): it shows "
                "them only after its next reconnect or snapshot"
            )


def drill_postgres(d: Drill, args: argparse.Namespace) -> None:
    with ExitStack() as stack:
        pg = stack.enter_context(PostgresControl(args.shared_services))
        if pg.shared and not port_open(5432):
            raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")
        db_url = create_pg_database(pg.base)
        if pg.shared:
            stack.callback(drop_pg_database, db_url)
        tmp, env, demo = stack.enter_context(
            instance(LAYSO_ASYNC_MODE=args.mode, LAYSO_DATABASE_URL=db_url)
        )
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port, tmp / "server.log")
        stack.callback(lambda: stop_process(proc))
        d.say(f"one worker on {'the shared' if pg.shared else 'a private'} PostgreSQL ({pg.base})")
        display, traffic = _under_traffic(stack, url, demo, args.phase)
        t_stop = time.monotonic()
        pg.stop()
        d.say(f"stopped PostgreSQL (fast shutdown) after {args.phase:g} s of traffic")
        time.sleep(args.pg_down)
        pg.start()
        t_start = time.monotonic()
        d.say(f"started PostgreSQL again: down {t_start - t_stop:.1f} s")
        time.sleep(args.phase)
        traffic.stop()
        during = traffic.window(t_stop, t_start)
        unclean = [o for o in during if not o.clean]
        slow = max((o.ms for o in during), default=0.0)
        d.check(
            bool(during) and not unclean,
            f"during: {len(during)} requests, all answered with a status and a JSON body "
            f"({summarize(during)})" + (f"; unclean: {summarize(unclean)}" if unclean else ""),
        )
        d.check(slow < HANG_BOUND_S * 1000, f"during: slowest answer {slow:.0f} ms (bound "
                f"{HANG_BOUND_S:g} s)")  # fmt: skip
        after = [o for o in traffic.outcomes if o.at >= t_start]
        first_ok = next((o.at - t_start for o in after if o.status in (200, 201)), None)
        tail = [o for o in after if o.at >= t_start + 1.0]
        d.check(
            first_ok is not None and bool(tail) and all(0 < o.status < 500 for o in tail),
            f"after: same server process (pid {proc.pid}, alive {proc.poll() is None}) serves "
            f"again: first success {first_ok if first_ok is None else round(first_ok, 2)} s after "
            f"PostgreSQL was up; from 1 s on {len(tail)} requests ({summarize(tail)})",
        )
        errors_during = Counter(
            ((o.body or {}).get("error") or {}).get("code") for o in during if o.status >= 400
        )
        d.figures.update(
            down_s=round(t_start - t_stop, 1),
            during=summarize(during),
            error_codes=dict(errors_during),
            slowest_ms=round(slow),
            first_success_after_s=first_ok if first_ok is None else round(first_ok, 2),
        )
        d.say(f"error codes during the outage: {dict(errors_during)}")
        if errors_during.get("internal"):
            d.note(
                "while the database is down the API answers 500 `internal` (the generic error "
                "body); a 503 with its own code (and Retry-After) would tell a kiosk to retry"
            )
        final = check_display_caught_up(d, url, demo, display)
        if final:
            traffic.issued[final["id"]] = final
        display.close()
        stop_process(proc)
        check_store(d, db_url, traffic.issued, traffic.called)


# --- printer --------------------------------------------------------------------------------


def fake_printer(port: int, log: Path, silent: bool) -> None:
    """A network ESC/POS printer on 127.0.0.1:port; `silent` accepts and never reads or answers."""
    srv = socket.create_server(("127.0.0.1", port), reuse_port=False)

    def serve(conn: socket.socket) -> None:
        data = b""
        with conn:
            if silent:
                time.sleep(3600)
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
                for _ in range(chunk.count(b"\x10\x04")):  # DLE EOT n: "online, paper ok"
                    conn.sendall(b"\x12")
        if data.replace(b"\x10\x04\x01", b"").replace(b"\x10\x04\x04", b""):
            cuts = data.count(b"\x1dV")
            with log.open("a") as f:
                f.write(f"{len(data)} {cuts}\n")

    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


def start_fake_printer(port: int, log: Path, silent: bool = False) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--fake-printer", str(port), str(log)]
        + (["--silent"] if silent else []),
    )
    if not wait_port(port, True, 10):
        proc.kill()
        raise SystemExit("the fake printer did not start")
    return proc


def printing_integration() -> str | None:
    """None when the server prints kiosk tickets itself; else why not."""
    if importlib.util.find_spec("printer.worker") is None:
        return "printing integration absent (no printer/worker.py)"
    return None


def drill_printer(d: Drill, args: argparse.Namespace) -> None:
    absent = printing_integration()
    if absent:
        d.skipped = absent
        d.say(f"SKIPPED: {absent}")
        return
    with tempfile.TemporaryDirectory(prefix="layso-faults-printer-") as ptmp, ExitStack() as stack:
        pport = free_port()
        plog = Path(ptmp) / "printed.log"
        plog.touch()
        printer = start_fake_printer(pport, plog)
        stack.callback(lambda: stop_process(printer))
        timeout = 3
        tmp, env, demo = stack.enter_context(
            instance(LAYSO_ASYNC_MODE=args.mode,
                     LAYSO_PRINTER=f"tcp://127.0.0.1:{pport}?timeout={timeout}")
        )  # fmt: skip
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port, tmp / "server.log")
        stack.callback(lambda: stop_process(proc))
        kiosk = session(demo["devices"]["kiosk"])
        manager = session(demo["manager"]["token"])

        def issue_some(n: int) -> list[Outcome]:
            return [
                request(kiosk, "POST", f"{url}/api/v1/halls/{HALL}/tickets", "issue",
                        json={"service": CODES[i % len(CODES)]})
                for i in range(n)
            ]  # fmt: skip

        def printed() -> int:
            return len(plog.read_text().splitlines())

        def ticket(tid: int) -> dict:
            o = request(kiosk, "GET", f"{url}/api/v1/halls/{HALL}/tickets/{tid}", "ticket")
            return (o.body or {}).get("ticket") or {} if o.status == 200 else {}

        def print_states(ids: list[int]) -> Counter[str]:
            return Counter(str(ticket(i).get("print_state")) for i in ids)

        def printers() -> list[dict]:
            o = request(manager, "GET", f"{url}/api/v1/halls/{HALL}/state", "state")
            return (o.body or {}).get("printers", []) if o.status == 200 else []

        def shown(ps: list[dict]) -> str:
            return (
                "; ".join(
                    f"{p.get('name')}: {p.get('state')}"
                    + (f" ({p['detail']})" if p.get("detail") else "")
                    for p in ps
                )
                or "none"
            )

        def poll(pred: Callable[[], Any], timeout_s: float) -> Any:
            deadline = time.monotonic() + timeout_s
            while time.monotonic() < deadline:
                value = pred()
                if value:
                    return value
                time.sleep(0.25)
            return pred()

        def settled(ids: list[int]) -> bool:
            return "pending" not in print_states(ids)

        def issue_in_time(label: str, n: int, figure: str, note: str = "") -> list[int]:
            """Issue n tickets with the printer in trouble: each must still answer 201 in time."""
            outs = issue_some(n)
            ms = [o.ms for o in outs]
            d.figures[figure] = (round(percentile(ms, 50)), round(max(ms)))
            d.check(
                all(o.status == 201 for o in outs) and max(ms) < timeout * 1000,
                f"{label}: {n} tickets all 201 ({summarize(outs)}), issue p50 "
                f"{percentile(ms, 50):.0f} ms, max {max(ms):.0f} ms{note}",
            )
            return [o.body["ticket"]["id"] for o in outs if o.status == 201]

        def settle(ids: list[int], within: float) -> tuple[Counter[str], float]:
            """Wait until no ticket's print is pending: their print states, and how long it took."""
            t0 = time.monotonic()
            poll(lambda: settled(ids), within)
            return print_states(ids), time.monotonic() - t0

        # 1. the printer works
        ok = issue_some(5)
        ids = [o.body["ticket"]["id"] for o in ok if o.status == 201]
        poll(lambda: printed() >= 5 and settled(ids), 30)
        states = print_states(ids)
        d.check(
            len(ids) == 5 and printed() >= 5 and states == Counter({"printed": 5}),
            f"printer up: 5 tickets issued ({summarize(ok)}), {printed()} jobs reached the fake "
            f"printer, print_state {dict(states)}; GET /state printers: {shown(printers())}",
        )

        # 2. unplugged: the printer process is killed (connection refused)
        printer.kill()
        printer.wait(10)
        d.say(f"killed the fake printer on port {pport}")
        ids = issue_in_time(
            "printer dead", 10, "issue_ms_printer_dead", f" (printer timeout {timeout} s)"
        )
        states, took = settle(ids, 60)
        why = [p for p in printers() if p.get("state") not in (None, "ok")]
        d.check(
            states == Counter({"failed": len(ids)}) and bool(why),
            f"printer dead: print_state {dict(states)} (settled in {took:.1f} s);"
            f" GET /state printers: {shown(printers())}",
        )

        # 3. a printer that accepts the connection and never answers
        silent = start_fake_printer(pport, plog, silent=True)
        stack.callback(lambda: stop_process(silent))
        d.say("a silent printer now accepts on that port and never reads or answers")
        ids = issue_in_time("printer silent", 5, "issue_ms_printer_silent")
        states, _ = settle(ids, 90)
        d.figures["silent_printer_print_state"] = dict(states)
        if "printed" in states:
            d.note(
                f"a printer that accepts the connection but never reads nor answers: print_state "
                f"{dict(states)}, GET /state printers: {shown(printers())}. Its status request "
                "(DLE EOT) gets no answer, yet the ~28 KB ticket then 'goes through' into the TCP "
                "buffers, so the server records it printed and the printer ok: a hung or jammed "
                "network printer that keeps its TCP port open goes unnoticed"
            )
        else:
            d.say(f"printer silent: print_state {dict(states)}; printers: {shown(printers())}")
        stop_process(silent)

        # 4. plugged back in
        back = start_fake_printer(pport, plog)
        stack.callback(lambda: stop_process(back))
        d.say("a working printer is back on that port")
        before = printed()
        again = issue_some(2)
        ids = [o.body["ticket"]["id"] for o in again if o.status == 201]
        poll(lambda: settled(ids), 30)
        healed = poll(lambda: all(p.get("state") == "ok" for p in printers()), 30)
        states = print_states(ids)
        d.say(
            f"printer back: {printed() - before} jobs reached it (the tickets that failed while "
            "it was away are not printed again by themselves)"
        )
        d.check(
            states == Counter({"printed": 2}) and bool(healed),
            f"printer back: print_state {dict(states)}, {printed() - before} jobs reached it; "
            f"GET /state printers: {shown(printers())}",
        )


# --------------------------------------------------------------------------------------------
# e) flood and f) sqlitelock


def _seconds(seen: list[tuple[socket.socket, float, bool]]) -> list[float]:
    return [t for _, t, _ in seen]


def _healthz(url: str, n: int) -> list[Outcome]:
    http = requests.Session()
    out = []
    for _ in range(n):
        out.append(request(http, "GET", f"{url}/healthz", "healthz", timeout=10))
        time.sleep(0.05)  # a steady probe, not a load
    return out


def _ms(outs: list[Outcome]) -> str:
    ok = [o.ms for o in outs if o.status == 200]
    if not ok:
        return f"0 of {len(outs)} answered"
    return (
        f"{len(ok)} of {len(outs)} answered; median {percentile(ok, 50):.0f} ms, "
        f"max {max(ok):.0f} ms"
    )


def _check_probes(
    d: Drill, prefix: str, first: list[Outcome], probes: list[Outcome], during: str
) -> None:
    """/healthz answered during a burst (the first probe) and steadily while it stays open."""
    d.figures[f"{prefix}_first_healthz_ms"] = round(first[0].ms)
    d.figures[f"{prefix}_healthz"] = _ms(probes)
    d.check(
        first[0].status == 200,
        f"/healthz answered during the burst (queued behind it): {first[0].ms:.0f} ms",
    )
    d.check(
        all(o.status == 200 and o.ms < 1000 for o in probes),
        f"/healthz with {during}: {_ms(probes)}",
    )


def _check_closed(d: Drill, figure: str, socks: list[socket.socket], what: str) -> None:
    """Every socket of a burst is closed by the server within 30 s; `what` takes the last's s."""
    closed = _seconds(first_reads(socks, 30, until_eof=True))
    d.figures[figure] = round(max(closed), 1) if closed else None
    d.check(
        len(closed) == len(socks),
        f"{len(closed)} of {len(socks)} " + what.format(max(closed or [0])),
    )


def drill_flood(d: Drill, args: argparse.Namespace) -> None:
    import resource

    n = 1100
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * n), hard))

    def systemd_default() -> None:  # the server starts as systemd starts it: soft limit 1,024
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (1024, resource.getrlimit(resource.RLIMIT_NOFILE)[1])
        )

    with instance(LAYSO_ASYNC_MODE=args.mode) as (tmp, env, demo), ExitStack() as stack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = subprocess.Popen(
            [sys.executable, "-m", "layso", "run", "--port", str(port)],
            env=dict(env, PYTHONUNBUFFERED="1"),
            stdout=(tmp / "server.log").open("ab"),
            stderr=subprocess.STDOUT,
            preexec_fn=systemd_default,
        )
        stack.callback(lambda: stop_process(proc))
        from _server import wait_healthy

        wait_healthy(url, proc)
        partial = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # one header, then nothing
        t0 = time.monotonic()
        socks = flood(port, n, partial, within=15.0)
        stack.callback(lambda: [s.close() for s in socks])
        d.say(f"{n} partial requests open in {time.monotonic() - t0:.2f} s")
        first = _healthz(url, 1)
        probes = _healthz(url, 20)
        _check_probes(d, "partial", first, probes, f"{n} partial requests open")
        _check_closed(
            d,
            "partial_closed_s",
            socks,
            "partial requests closed by the server, the last after {:.1f} s "
            "(LAYSO_HEADER_TIMEOUT 10 s)",
        )
        for s in socks:
            s.close()

        upgrade = websocket_upgrade(port)
        display = Display(url, demo["devices"]["display"])
        stack.callback(display.close)
        t0 = time.monotonic()
        wsocks = flood(port, n, upgrade, within=15.0)
        stack.callback(lambda: [s.close() for s in wsocks])
        first = _healthz(url, 1)
        opened = _seconds(first_reads(wsocks, 30))
        d.say(f"{len(opened)} of {n} bare websockets upgraded in {time.monotonic() - t0:.2f} s")
        probes = _healthz(url, 20)
        d.figures["ws_first_healthz_ms"] = round(first[0].ms)
        d.figures["ws_upgraded_s"] = round(max(opened or [0]), 2)
        _check_probes(d, "ws", first, probes, f"{n} bare websockets open")
        _check_closed(
            d,
            "ws_dropped_s",
            wsocks,
            "unjoined websockets dropped, the last after {:.1f} s (LAYSO_JOIN_TIMEOUT 5 s)",
        )
        d.check(
            display.client.connected and display.disconnects == 0,
            "the display that joined /hall stayed connected throughout",
        )


def drill_sqlitelock(d: Drill, args: argparse.Namespace) -> None:
    import sqlite3

    hold = 12.0
    with instance(LAYSO_ASYNC_MODE=args.mode) as (tmp, env, demo), ExitStack() as stack:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        proc = start_server(env, port, tmp / "server.log")
        stack.callback(lambda: stop_process(proc))
        path = tmp / "instance" / "layso.sqlite3"
        kiosk = session(demo["devices"]["kiosk"])
        held, release = threading.Event(), threading.Event()

        def other_process() -> None:  # a backup tool or sqlite3 in a shell
            conn = sqlite3.connect(str(path), timeout=10, isolation_level=None)
            conn.execute("BEGIN EXCLUSIVE")
            held.set()
            release.wait(hold)
            conn.execute("ROLLBACK")
            conn.close()

        def count() -> int:
            conn = sqlite3.connect(str(path), timeout=10)
            try:
                return int(conn.execute("SELECT count(*) FROM ticket").fetchone()[0])
            finally:
                conn.close()

        before = count()
        locker = threading.Thread(target=other_process, daemon=True)
        locker.start()
        held.wait(10)
        t_lock = time.monotonic()
        issues: list[tuple[int, float, str | None]] = []  # status, seconds, Retry-After

        def issue() -> None:
            t0 = time.monotonic()
            try:
                r = kiosk.post(f"{url}/api/v1/halls/{HALL}/tickets", json={"service": "TP"},
                               timeout=15)  # fmt: skip
                issues.append((r.status_code, time.monotonic() - t0, r.headers.get("Retry-After")))
            except requests.RequestException:
                issues.append((0, time.monotonic() - t0, None))

        kiosks = [threading.Thread(target=issue) for _ in range(3)]
        for t in kiosks:
            t.start()
        health: list[Outcome] = []
        static: list[Outcome] = []
        http = requests.Session()
        while time.monotonic() - t_lock < hold - 1:
            health.append(request(http, "GET", f"{url}/healthz", "healthz", timeout=15))
            static.append(request(http, "GET", f"{url}/static/layso.css", "static", timeout=15))
            time.sleep(0.1)  # a steady probe while the lock is held
        for t in kiosks:
            t.join(20)
        release.set()
        locker.join(15)
        d.figures["lock_healthz"] = _ms(health)
        st = [o.ms for o in static if o.status == 200]
        d.figures["lock_static"] = (
            f"{len(st)} of {len(static)}; max {max(st or [0]):.0f} ms" if static else "none"
        )
        d.check(
            all(o.status == 200 and o.ms < 1000 for o in health),
            f"/healthz while another process held the write lock {hold:.0f} s: {_ms(health)}",
        )
        d.check(
            all(o.status == 200 and o.ms < 1000 for o in static),
            f"a static file meanwhile: {d.figures['lock_static']}",
        )
        shown = ", ".join(
            f"{st} in {sec:.1f} s" + (f" (Retry-After: {ra})" if st == 503 else "")
            for st, sec, ra in issues
        )
        d.figures["lock_issues"] = shown
        d.check(
            len(issues) == 3
            and all(st == 201 or (st == 503 and ra) for st, _, ra in issues)
            and all(sec < 6 for _, sec, _ in issues),
            f"three kiosks issuing meanwhile: {shown}",
        )
        after = request(kiosk, "POST", f"{url}/api/v1/halls/{HALL}/tickets", "issue",
                        json={"service": "TP"})  # fmt: skip
        d.check(after.status == 201, f"after the release an issue answers {after.status}")
        issued = sum(1 for st, _, _ in issues if st == 201) + (after.status == 201)
        d.check(
            count() - before == issued,
            f"tickets stored: {count() - before}, answered 201: {issued} (nothing half-written)",
        )


DRILLS: dict[str, Callable[[Drill, argparse.Namespace], None]] = {
    "kill": drill_kill,
    "redis": drill_redis,
    "postgres": drill_postgres,
    "printer": drill_printer,
    "flood": drill_flood,
    "sqlitelock": drill_sqlitelock,
}


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--fake-printer":
        fake_printer(int(sys.argv[2]), Path(sys.argv[3]), silent="--silent" in sys.argv)
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--drill", default="all", choices=[*DRILLS, "all"])
    ap.add_argument("--mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    ap.add_argument(
        "--shared-services",
        action="store_true",
        help="stop and restart the machine's PostgreSQL and Redis, not private ones",
    )
    ap.add_argument(
        "--phase", type=float, default=4, help="seconds of traffic before/after a fault"
    )
    ap.add_argument("--pg-down", type=float, default=5, help="seconds PostgreSQL stays stopped")
    ap.add_argument("--redis-down", type=float, default=10, help="seconds Redis stays stopped")
    ap.add_argument(
        "--redis-recovery",
        type=float,
        default=90,
        help="how long to wait for cross-worker events after Redis is back",
    )
    ap.add_argument("--json", type=Path, help="also write the outcomes to this file")
    args = ap.parse_args()  # fmt: skip
    names = list(DRILLS) if args.drill == "all" else [args.drill]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"server {args.mode}", flush=True)  # fmt: skip
    drills = []
    try:
        for name in names:
            d = Drill(name)
            drills.append(d)
            print(f"\n== {name} ==", flush=True)
            t0 = time.monotonic()
            try:
                DRILLS[name](d, args)
            except (Exception, SystemExit) as exc:
                traceback.print_exc()
                d.check(False, f"the drill itself failed: {type(exc).__name__}: {exc}")
            d.figures["seconds"] = round(time.monotonic() - t0, 1)
    finally:
        print()
        ensure_shared_services()
    print("\nsummary")
    for d in drills:
        print(f"  {d.name:<9} {d.outcome}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [{"drill": d.name, "outcome": d.outcome, "checks": d.checks, "notes": d.notes,
                  "figures": d.figures} for d in drills],
                indent=1, default=str,
            )
        )  # fmt: skip
    sys.exit(0 if all(not d.outcome.startswith("FAIL") for d in drills) else 1)


if __name__ == "__main__":
    main()
