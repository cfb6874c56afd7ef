"""A busy hall under load: kiosks issuing, every counter calling, hundreds of wall displays.

    .venv/bin/python benchmarks/load.py [--config sqlite|pg|both] [--duration 60] [--displays 500]
        [--display-procs 5] [--observers 10] [--kiosks 16] [--kiosk-pause 0]
        [--mode eventlet] [--priority 0] [--json OUT]

For each configuration it starts real servers on free loopback ports with a fresh demo hall:

* ``sqlite``: one worker on SQLite;
* ``pg``: two workers on a fresh PostgreSQL database (``layso_bench_<random>`` on
  127.0.0.1:5432, dropped afterwards) sharing a private, throwaway Redis on a free port (its
  own Redis, so that its Socket.IO traffic never mixes with other servers on the machine);
  every kind of client is spread over both workers.

Then it connects the displays, python-socketio clients on the websocket transport:
``--observers`` of them in this process (the latency figure) and the rest spread over
``--display-procs`` processes, one ``socketio.AsyncClient`` per display in one event loop per
process (``--clients thread``: one ``socketio.Client`` each; the async kind needs aiohttp and
costs several times less CPU, which matters when the clients share the server's machine). For
``--duration`` seconds it runs 16 kiosk loops (POST /tickets, back to back unless
``--kiosk-pause``) and one clerk loop per counter (POST next → start → finish).

Press-to-display latency is the time from just before a counter's POST /next to the moment a
display receives that ticket's ``ticket.called`` (wall clock, same machine): at the observers,
and at every display. The figures include every process's CPU time; ``--priority -10`` (root)
raises the benchmark's session and servers above other work on the machine (with autogroup
scheduling, per-process niceness alone does not). Everything is bounded in time and stops by
itself; the servers, Redis and the database are removed at the end.

One file on purpose (it is long): the load's actors (kiosks, counters, displays in child
processes, observers) and the report they feed are one experiment, run as one command.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import resource
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import (  # noqa: E402
    PrivateRedis,
    bench_env,
    cpu_seconds,
    create_pg_database,
    drop_pg_database,
    free_port,
    percentile,
    port_open,
    rss_mb,
    seed,
    start_server,
    stop_process,
)

CODES = ["TP", "CT", "DD", "LD", "KD", "XD"]
HALL = "demo"


def _has_aiohttp() -> bool:
    import importlib.util

    return importlib.util.find_spec("aiohttp") is not None


def _cpu_self() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


# --------------------------------------------------------------------------------------------
# Display processes


def display_client_class() -> type:
    """socketio.Client handling each message in its reader thread, in order, as a browser does.

    python-socketio's threaded client starts a new thread for every message it receives; with
    hundreds of clients on one machine that costs more CPU than the server's own work and
    reorders events. Handling them inline keeps the clients cheap and in order.
    """
    import engineio
    import socketio

    class InlineEngineio(engineio.Client):  # type: ignore[misc]
        def _trigger_event(self, event: str, *args: Any, **kwargs: Any) -> Any:
            kwargs["run_async"] = False
            return super()._trigger_event(event, *args, **kwargs)

    class DisplayClient(socketio.Client):  # type: ignore[misc]
        def _engineio_client_class(self) -> type:
            return InlineEngineio

    return DisplayClient


class Displays:
    """Wall displays of the demo hall: python-socketio clients recording each ticket.called."""

    def __init__(self, urls: list[str], token: str, connect_timeout: float) -> None:
        self.urls = urls
        self.token = token
        self.connect_timeout = connect_timeout
        self.client_class = display_client_class()
        self.calls: list[tuple[int, int, int, float]] = []  # (display, worker, ticket, at)
        self.stats: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.clients: list[Any] = []

    def connect(self, n: int) -> None:
        worker = n % len(self.urls)  # the n-th display overall goes to worker n mod workers
        seq: dict[str, int | None] = {"seq": None}
        client = self.client_class(
            reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5, handle_sigint=False
        )

        @client.on("*", namespace="/hall")
        def any_event(name: str, body: Any = None) -> None:
            now = time.time()
            if isinstance(body, dict) and isinstance(body.get("seq"), int):
                seq["seq"] = (
                    body["seq"] if name == "snapshot" else max(seq["seq"] or 0, body["seq"])
                )
            if name == "ticket.called":
                self.calls.append((n, worker, body["ticket"]["id"], now))
            with self.lock:
                self.stats["events"] += 1
                if name == "snapshot":
                    self.stats["snapshots"] += 1

        @client.on("disconnect", namespace="/hall")
        def gone(*why: Any) -> None:
            with self.lock:
                self.stats["disconnects"] += 1
                self.stats[f"disconnect: {why[0] if why else '?'}"] += 1

        try:
            client.connect(
                self.urls[worker],
                namespaces=["/hall"],
                transports=["websocket"],
                auth=lambda: {"token": self.token, "hall": HALL, "after": seq["seq"]},
                wait_timeout=self.connect_timeout,
            )
        except Exception as exc:  # any failure to connect is counted, not fatal
            with self.lock:
                self.stats["connect_errors"] += 1
                self.stats[f"connect error: {type(exc).__name__}: {exc}"[:120]] += 1
            return
        with self.lock:
            self.clients.append(client)

    def connect_many(self, numbers: range, threads: int = 8) -> None:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(self.connect, numbers))

    def report(self) -> dict[str, Any]:
        with self.lock:
            return {"calls": list(self.calls), "stats": dict(self.stats)}

    def close(self) -> None:
        with ThreadPoolExecutor(16) as pool:  # best effort
            for c in self.clients:
                pool.submit(c.disconnect)
            pool.shutdown(wait=False, cancel_futures=True)


async def async_displays(
    idx: int, numbers: range, urls: list[str], token: str, ready_q: Any, stop_ev: Any,
    connect_timeout: float,
) -> dict[str, Any]:  # fmt: skip
    """Like Displays, with socketio.AsyncClient: one event loop, no thread per connection."""
    import asyncio

    import socketio

    calls: list[tuple[int, int, int, float]] = []
    stats: Counter[str] = Counter()
    clients: list[Any] = []

    async def connect(n: int) -> None:
        worker = n % len(urls)
        seq: dict[str, int | None] = {"seq": None}
        client = socketio.AsyncClient(
            reconnection=True, reconnection_delay=0.5, reconnection_delay_max=5, handle_sigint=False
        )

        @client.on("*", namespace="/hall")
        async def any_event(name: str, body: Any = None) -> None:
            now = time.time()
            if isinstance(body, dict) and isinstance(body.get("seq"), int):
                seq["seq"] = (
                    body["seq"] if name == "snapshot" else max(seq["seq"] or 0, body["seq"])
                )
            if name == "ticket.called":
                calls.append((n, worker, body["ticket"]["id"], now))
            stats["events"] += 1
            if name == "snapshot":
                stats["snapshots"] += 1

        @client.on("disconnect", namespace="/hall")
        async def gone(*why: Any) -> None:
            stats["disconnects"] += 1
            stats[f"disconnect: {why[0] if why else '?'}"] += 1

        try:
            await client.connect(
                urls[worker],
                namespaces=["/hall"],
                transports=["websocket"],
                auth=lambda: {"token": token, "hall": HALL, "after": seq["seq"]},
                wait_timeout=connect_timeout,
            )
        except Exception as exc:  # any failure to connect is counted, not fatal
            stats["connect_errors"] += 1
            stats[f"connect error: {type(exc).__name__}: {exc}"[:120]] += 1
            return
        clients.append(client)

    gate = asyncio.Semaphore(8)

    async def gated(n: int) -> None:
        async with gate:
            await connect(n)

    t0 = time.monotonic()
    await asyncio.gather(*(gated(n) for n in numbers))
    ready_q.put({"proc": idx, "connected": len(clients), "s": time.monotonic() - t0})
    await asyncio.get_running_loop().run_in_executor(None, stop_ev.wait, 3600)
    report = {"calls": list(calls), "stats": dict(stats)}
    try:
        await asyncio.wait_for(asyncio.gather(*(c.disconnect() for c in clients)), 10)
    except Exception:  # best effort: the process exits right after
        pass
    return report


def display_process(
    idx: int,
    first: int,
    count: int,
    urls: list[str],
    token: str,
    ready_q: Any,
    result_q: Any,
    stop_ev: Any,
    connect_timeout: float,
    nice: int,
    kind: str,
) -> None:
    """Connect `count` displays, record every ticket.called, report when `stop_ev` is set."""
    if nice:
        os.setpriority(os.PRIO_PROCESS, 0, nice)
    numbers = range(first, first + count)
    if kind == "async":
        import asyncio

        report = asyncio.run(
            async_displays(idx, numbers, urls, token, ready_q, stop_ev, connect_timeout)
        )
        result_q.put({"proc": idx, **report})
    else:
        displays = Displays(urls, token, connect_timeout)
        t0 = time.monotonic()
        displays.connect_many(numbers)
        ready_q.put({"proc": idx, "connected": len(displays.clients), "s": time.monotonic() - t0})
        stop_ev.wait(3600)
        result_q.put({"proc": idx, **displays.report()})
        displays.close()
    time.sleep(0.5)
    os._exit(0)


# --------------------------------------------------------------------------------------------
# Kiosks and counters (threads of this process)


class Load:
    def __init__(self, urls: list[str], demo: dict, kiosks: int, kiosk_pause: float) -> None:
        self.urls = urls
        self.demo = demo
        self.kiosks = kiosks
        self.kiosk_pause = kiosk_pause
        self.lock = threading.Lock()
        self.issue_ms: list[float] = []
        self.next_ms: list[float] = []
        self.sent: dict[int, tuple[float, int]] = {}  # ticket id → (POST next sent at, worker)
        self.errors: Counter[str] = Counter()
        self.idle_next = 0
        self.end = 0.0

    def error(self, what: str, r: requests.Response | None, exc: Exception | None = None) -> None:
        key = f"{what}: {r.status_code}" if r is not None else f"{what}: {type(exc).__name__}"
        with self.lock:
            self.errors[key] += 1

    def kiosk(self, k: int) -> None:
        url = self.urls[k % len(self.urls)]
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {self.demo['devices']['kiosk']}"
            i = 0
            while time.monotonic() < self.end:
                code = CODES[(k + i) % len(CODES)]
                i += 1
                t0 = time.perf_counter()
                try:
                    r = http.post(
                        f"{url}/api/v1/halls/{HALL}/tickets", json={"service": code}, timeout=30
                    )
                except requests.RequestException as exc:
                    self.error("issue", None, exc)
                    time.sleep(0.2)
                    continue
                ms = (time.perf_counter() - t0) * 1000
                if r.status_code == 201:
                    with self.lock:
                        self.issue_ms.append(ms)
                else:
                    self.error("issue", r)
                if self.kiosk_pause:
                    time.sleep(self.kiosk_pause)

    def counter(self, j: int) -> None:
        c = self.demo["counters"][j]
        worker = j % len(self.urls)
        base = f"{self.urls[worker]}/api/v1/halls/{HALL}/counters/{c['number']}"
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {c['token']}"
            while time.monotonic() < self.end:
                sent_at = time.time()
                t0 = time.perf_counter()
                try:
                    r = http.post(f"{base}/next", timeout=30)
                    ms = (time.perf_counter() - t0) * 1000
                    if r.status_code != 200:
                        self.error("next", r)
                        if r.status_code == 409:  # a ticket left open by an earlier error
                            http.post(f"{base}/finish", timeout=30)
                        continue
                    ticket = r.json()["ticket"]
                    if ticket is None:
                        with self.lock:
                            self.idle_next += 1
                        time.sleep(0.02)
                        continue
                    with self.lock:
                        self.sent[ticket["id"]] = (sent_at, worker)
                        self.next_ms.append(ms)
                    for action in ("start", "finish"):
                        r = http.post(f"{base}/{action}", timeout=30)
                        if r.status_code != 200:
                            self.error(action, r)
                except requests.RequestException as exc:
                    self.error("counter", None, exc)
                    time.sleep(0.2)

    def run(self, duration: float) -> float:
        self.end = time.monotonic() + duration
        threads = [threading.Thread(target=self.kiosk, args=(k,)) for k in range(self.kiosks)]
        threads += [
            threading.Thread(target=self.counter, args=(j,))
            for j in range(len(self.demo["counters"]))
        ]
        t0 = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(duration + 120)
        return time.monotonic() - t0


# --------------------------------------------------------------------------------------------


def run_config(config: str, args: argparse.Namespace) -> dict[str, Any]:
    workers = 1 if config == "sqlite" else 2
    result: dict[str, Any] = {"config": config, "workers": workers, "mode": args.mode}
    with tempfile.TemporaryDirectory(prefix="layso-load-") as tmp_, ExitStack() as stack:
        tmp = Path(tmp_)
        extra = {"LAYSO_ASYNC_MODE": args.mode, "LAYSO_SECRET_KEY": uuid.uuid4().hex}
        if config == "pg":
            if not port_open(5432):
                raise SystemExit("PostgreSQL is not reachable at 127.0.0.1:5432")
            redis = stack.enter_context(PrivateRedis(tmp / "redis"))
            db_url = create_pg_database()
            stack.callback(drop_pg_database, db_url)
            extra.update(LAYSO_DATABASE_URL=db_url, LAYSO_REDIS_URL=redis.url)
        env = bench_env(tmp / "instance", **extra)
        demo = seed(env)
        ports = [free_port() for _ in range(workers)]
        servers = []
        for i, port in enumerate(ports):
            proc = start_server(env, port, tmp / f"server{i}.log")
            stack.callback(stop_process, proc)
            servers.append(proc)
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        if args.priority:  # servers before everything else running on the machine
            for proc in servers:
                os.setpriority(os.PRIO_PROCESS, proc.pid, args.priority)

        # the displays: observers in this process (not niced), the rest in display processes
        observers = Displays(urls, demo["devices"]["display"], args.connect_timeout)
        nobs = min(args.observers, args.displays)
        rest = args.displays - nobs
        ctx = mp.get_context("spawn")
        ready_q, result_q, stop_ev = ctx.Queue(), ctx.Queue(), ctx.Event()
        nprocs = max(0, min(args.display_procs, rest))
        per = [rest // nprocs + (1 if i < rest % nprocs else 0) for i in range(nprocs)]
        procs = []
        first = nobs
        t0 = time.monotonic()
        for i, n in enumerate(per):
            p = ctx.Process(
                target=display_process,
                args=(i, first, n, urls, demo["devices"]["display"], ready_q, result_q, stop_ev,
                      args.connect_timeout, args.display_nice, args.clients),
                daemon=True,
            )  # fmt: skip
            first += n
            p.start()
            procs.append(p)
        stack.callback(lambda: [p.kill() for p in procs if p.is_alive()])
        observers.connect_many(range(nobs))
        stack.callback(observers.close)
        ready = [ready_q.get(timeout=args.connect_timeout * 4 + 120) for _ in procs]
        connected = sum(r["connected"] for r in ready) + len(observers.clients)
        result["displays"] = {
            "asked": args.displays,
            "connected": connected,
            "observers": len(observers.clients),
            "connect_s": time.monotonic() - t0,
            "procs": nprocs,
            "nice": args.display_nice,
            "priority": args.priority,
            "clients": args.clients,
        }
        print(
            f"[{config}] {connected}/{args.displays} displays connected in "
            f"{result['displays']['connect_s']:.1f} s; load for {args.duration:g} s ...",
            flush=True,
        )

        # the load
        load = Load(urls, demo, args.kiosks, args.kiosk_pause)
        server_cpu0 = [cpu_seconds(p.pid) for p in servers]
        display_cpu0 = [cpu_seconds(p.pid) for p in procs]
        self_cpu0 = _cpu_self()
        load0 = os.getloadavg()
        elapsed = load.run(args.duration)
        server_cpu = [cpu_seconds(p.pid) - c for p, c in zip(servers, server_cpu0, strict=True)]
        display_cpu = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, display_cpu0, strict=True))
        driver_cpu = _cpu_self() - self_cpu0
        load1 = os.getloadavg()
        time.sleep(args.drain)  # let the last calls reach every display
        stop_ev.set()
        results = [result_q.get(timeout=120) for _ in procs] + [observers.report()]
        for p in procs:
            p.join(10)
        rss = [rss_mb(p.pid) for p in servers]
        state = requests.get(
            f"{urls[0]}/api/v1/halls/{HALL}/state",
            headers={"Authorization": f"Bearer {demo['devices']['kiosk']}"},
            timeout=30,
        ).json()

    # figures
    lat: dict[str, list[float]] = {"all": [], "observers": [], "same": [], "other": []}
    seen: set[tuple[int, int]] = set()
    stats: Counter[str] = Counter()
    for res in results:
        stats.update(res["stats"])
        for display, worker, tid, at in res["calls"]:
            if tid not in load.sent or (display, tid) in seen:
                continue
            seen.add((display, tid))
            sent_at, sent_worker = load.sent[tid]
            ms = (at - sent_at) * 1000
            lat["all"].append(ms)
            lat["same" if worker == sent_worker else "other"].append(ms)
            if display < nobs:
                lat["observers"].append(ms)
    calls = len(load.sent)
    expected = calls * connected
    missing = expected - len(seen)
    result.update(
        elapsed_s=elapsed,
        kiosks=args.kiosks,
        kiosk_pause=args.kiosk_pause,
        counters=len(demo["counters"]),
        tickets=len(load.issue_ms),
        tickets_per_s=len(load.issue_ms) / elapsed,
        issue_ms=(percentile(load.issue_ms, 50), percentile(load.issue_ms, 99)),
        calls=calls,
        calls_per_s=calls / elapsed,
        next_ms=(percentile(load.next_ms, 50), percentile(load.next_ms, 99)),
        latency_ms={
            k: (percentile(v, 50), percentile(v, 99), max(v, default=float("nan")), len(v))
            for k, v in lat.items()
        },
        delivered=len(seen),
        expected=expected,
        display_events=stats["events"],
        waiting_at_end=len(state.get("waiting", [])),
        server_rss_mb=rss,
        server_cpu_pct=[100 * c / elapsed for c in server_cpu],
        display_cpu_pct=100 * display_cpu / elapsed,
        driver_cpu_pct=100 * driver_cpu / elapsed,
        loadavg=(load0[0], load1[0]),
        http_errors=dict(load.errors),
        display_stats={k: v for k, v in stats.items() if k != "events"},
        errors={
            "http": sum(load.errors.values()),
            "connect": stats["connect_errors"],
            "disconnects": stats["disconnects"],
            "calls not seen": missing,
        },
    )
    return result


def session_priority(nice: int) -> str | None:
    """Give this session's autogroup the niceness `nice`; returns the old one to restore.

    With the kernel's autogroup scheduling (each session gets an equal share of the CPUs),
    per-process niceness only orders processes within a session; on a machine where other
    sessions keep the CPUs busy, only the autogroup's niceness gives the benchmark (servers and
    clients alike) the CPU time it measures. Needs root; None when not possible.
    """
    path = Path("/proc/self/autogroup")
    try:
        old = path.read_text().split("nice")[-1].strip()
        path.write_text(str(nice))
    except OSError as exc:
        print(f"could not set the session's CPU priority: {exc}", flush=True)
        return None
    print(f"this session's autogroup niceness: {old} → {nice}", flush=True)
    return old


def fmt(v: float, spec: str = ".0f") -> str:
    return "-" if v != v else format(v, spec)  # NaN → "-"


def pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "-"


def table(results: list[dict[str, Any]]) -> str:
    def server_name(r: dict) -> str:
        if r["config"] == "sqlite":
            return f"1 worker, {r['mode']}, SQLite"
        return f"2 workers, {r['mode']}, PostgreSQL + Redis"

    def pair(v: tuple) -> str:
        return f"{fmt(v[0])} / {fmt(v[1])} ms"

    def lat(r: dict, k: str) -> str:
        p50, p99, top, n = r["latency_ms"][k]
        return f"{fmt(p50)} / {fmt(p99)} / {fmt(top)} ms (n={n})"

    def displays(r: dict) -> str:
        d = r["displays"]
        nice = f", nice {d['nice']}" if d["nice"] else ""
        nice += f", session + servers nice {d['priority']}" if d.get("priority") else ""
        return (
            f"{d['connected']}/{d['asked']} in {d['connect_s']:.0f} s "
            f"({d['observers']} observers + {d['procs']} procs, {d['clients']}{nice})"
        )

    def run(r: dict) -> str:
        pace = f", pause {r['kiosk_pause']:g} s" if r["kiosk_pause"] else " flat out"
        return f"{r['elapsed_s']:.0f} s: {r['kiosks']} kiosks{pace}, {r['counters']} counters"

    def errors(r: dict) -> str:
        e = r["errors"]
        return f"{sum(e.values())} (" + ", ".join(f"{k} {v}" for k, v in e.items()) + ")"

    rows: list[tuple[str, list[str]]] = [
        ("server", [server_name(r) for r in results]),
        ("displays connected", [displays(r) for r in results]),
        ("run", [run(r) for r in results]),
        ("tickets issued", [f"{r['tickets']} ({r['tickets_per_s']:.1f}/s)" for r in results]),
        ("POST tickets p50 / p99", [pair(r["issue_ms"]) for r in results]),
        ("calls (next, start, finish)", [
            f"{r['calls']} ({r['calls_per_s']:.1f}/s)" for r in results]),
        ("POST next p50 / p99", [pair(r["next_ms"]) for r in results]),
        ("press-to-display p50/p99/max", [lat(r, "observers") for r in results]),
        ("  at all displays", [lat(r, "all") for r in results]),
        ("  display on same worker", [lat(r, "same") for r in results]),
        ("  display on other worker", [lat(r, "other") for r in results]),
        ("calls seen by displays", [
            f"{r['delivered']}/{r['expected']} ({pct(r['delivered'], r['expected'])})"
            for r in results]),
        ("events received by displays", [
            f"{r['display_events']} ({r['display_events'] / r['elapsed_s']:.0f}/s)"
            for r in results]),
        ("waiting at the end", [str(r["waiting_at_end"]) for r in results]),
        ("server RSS at the end", [
            " + ".join(f"{m:.0f}" for m in r["server_rss_mb"]) + " MB" for r in results]),
        ("server CPU (100% = 1 core)", [
            " + ".join(f"{c:.0f}" for c in r["server_cpu_pct"]) + " %" for r in results]),
        ("client CPU: displays, driver", [
            f"{r['display_cpu_pct']:.0f} %, {r['driver_cpu_pct']:.0f} %" for r in results]),
        ("load average start, end", [
            f"{r['loadavg'][0]:.1f}, {r['loadavg'][1]:.1f}" for r in results]),
        ("errors", [errors(r) for r in results]),
    ]  # fmt: skip
    w0 = max(len(k) for k, _ in rows)
    widths = [max(len(v[i]) for _, v in rows) for i in range(len(results))]
    lines = [
        f"{k:<{w0}}  " + "  ".join(f"{v:<{widths[i]}}" for i, v in enumerate(vals)).rstrip()
        for k, vals in rows
    ]
    lines.insert(1, "-" * max(len(line) for line in lines))
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", default="both", choices=["sqlite", "pg", "both"])
    ap.add_argument("--duration", type=float, default=60)
    ap.add_argument("--displays", type=int, default=500)
    ap.add_argument("--display-procs", type=int, default=5)
    ap.add_argument(
        "--observers", type=int, default=10, help="displays in this process, for the latency"
    )
    ap.add_argument("--kiosks", type=int, default=16)
    ap.add_argument("--kiosk-pause", type=float, default=0, help="seconds between a kiosk's issues")
    ap.add_argument("--mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    ap.add_argument("--connect-timeout", type=float, default=60)
    ap.add_argument(
        "--clients",
        default="async" if _has_aiohttp() else "thread",
        choices=["async", "thread"],
        help="display processes use socketio.AsyncClient (needs aiohttp) or socketio.Client",
    )
    ap.add_argument(
        "--priority",
        type=int,
        default=0,
        help="niceness (e.g. -10, as root) of this session's autogroup and of the servers, so "
        "that other work on the machine disturbs the figures less; 0 leaves priorities alone",
    )
    ap.add_argument(
        "--display-nice", type=int, default=0, help="niceness of the display processes and this one"
    )
    ap.add_argument("--drain", type=float, default=5, help="seconds to let the last calls arrive")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args()
    if not 1 <= args.duration <= 3600 or not 0 <= args.displays <= 2000:
        raise SystemExit("--duration must be 1..3600 s and --displays 0..2000")
    configs = ["sqlite", "pg"] if args.config == "both" else [args.config]
    if args.display_nice:
        os.setpriority(os.PRIO_PROCESS, 0, args.display_nice)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}", flush=True)
    restore = session_priority(args.priority) if args.priority else None
    try:
        results = [run_config(c, args) for c in configs]
    finally:
        if restore is not None:
            Path("/proc/self/autogroup").write_text(restore)
    print()
    print(table(results))
    for r in results:
        if (
            r["http_errors"]
            or r["display_stats"].get("connect_errors")
            or r["display_stats"].get("disconnects")
        ):
            print(
                f"[{r['config']}] HTTP errors: {r['http_errors']}; displays: {r['display_stats']}"
            )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
