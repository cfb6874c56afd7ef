"""Fan-out: 500 wall displays connected, one call, how long until every one of them has it.

    .venv/bin/python benchmarks/fanout.py [--displays 500] [--procs 5] [--calls 20]
        [--mode eventlet|gevent|threading]

Starts the real server (``layso run``, eventlet by default) on a free loopback port with a fresh
demo hall, then ``--procs`` worker processes each connect their share of the displays (one
python-socketio ``Client`` per display, websocket transport, the hall's display token) and
note, for every ``ticket.called`` they receive, the moment it arrived (CLOCK_MONOTONIC, shared by
all processes on Linux); each worker reports a call's arrival times in one message once all its
displays have it (or after ``BATCH_WAIT_S``), so that the measuring itself (pickling, a feeder
thread per process, the main process unpickling) costs the shared cores one message per worker
and call, not one per display. The main process presses "next" at
counter 1 ``--calls`` times (after two warm-up calls), waiting each time until all displays have
the call (or 30 s), and prints the time from just before the POST to the first, the median, the
99th-percentile and the last display. Bounded in count and time; everything stops by itself.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import queue
import re
import sys
import threading
import time
from typing import Any

import requests
import socketio
from _server import demo_server, percentile, spying

CALL_TIMEOUT_S = 30.0
CONNECT_TIMEOUT_S = 180.0
WORKER_LIFETIME_S = 900.0  # a worker never outlives this, whatever happens to the main process
BATCH_WAIT_S = 20.0  # a worker reports a call that some of its displays missed after this long


class Arrivals:
    """One worker's arrivals, reported per call: (ticket id, [t_ns, ...]) once every display of
    the worker has that call, or once BATCH_WAIT_S passed since its first arrival (a display
    that missed it). Called from any thread of the worker."""

    def __init__(self, results: Any) -> None:
        self.results = results
        self.displays = 0  # set once the worker's displays are connected
        self.calls: dict[int, list[int]] = {}
        self.first: dict[int, float] = {}
        self.lock = threading.Lock()

    def arrived(self, ticket: int) -> None:
        t = time.monotonic_ns()
        with self.lock:
            times = self.calls.setdefault(ticket, [])
            times.append(t)
            self.first.setdefault(ticket, time.monotonic())
            if self.displays and len(times) >= self.displays:
                self._report(ticket)

    def late(self) -> None:
        """Report the calls that waited BATCH_WAIT_S for a display that did not get them."""
        with self.lock:
            now = time.monotonic()
            for ticket in [k for k, t0 in self.first.items() if now - t0 > BATCH_WAIT_S]:
                self._report(ticket)

    def _report(self, ticket: int) -> None:
        self.results.put((ticket, self.calls.pop(ticket)))
        self.first.pop(ticket, None)


def worker(url: str, token: str, count: int, results: Any, stop: Any, kind: str) -> None:
    """Connect `count` displays; report ("ready", n) once, then (ticket id, [t_ns...]) per call."""
    if kind in ("async", "raw"):
        import asyncio

        run = _raw_worker if kind == "raw" else _async_worker
        asyncio.run(run(url, token, count, results, stop))
    else:
        _thread_worker(url, token, count, results, stop)


def _auth(token: str) -> dict[str, Any]:
    return {"token": token, "hall": "demo", "after": None}


def _thread_worker(url: str, token: str, count: int, results: Any, stop: Any) -> None:
    """One socketio.Client (and its threads) per display."""
    clients = []
    arrivals = Arrivals(results)
    for _ in range(count):
        c = socketio.Client(reconnection=False)
        c.on(
            "ticket.called",
            lambda body: arrivals.arrived(body["ticket"]["id"]),
            namespace="/hall",
        )
        try:
            c.connect(
                url,
                namespaces=["/hall"],
                transports=["websocket"],
                auth=_auth(token),
                wait_timeout=20,
            )
            clients.append(c)
        except socketio.exceptions.ConnectionError:
            pass
    arrivals.displays = len(clients)
    results.put(("ready", len(clients)))
    deadline = time.monotonic() + WORKER_LIFETIME_S
    while not stop.wait(1.0) and time.monotonic() < deadline:
        arrivals.late()
    closers = [threading.Thread(target=c.disconnect) for c in clients]
    for t in closers:
        t.start()
    for t in closers:
        t.join(5)


async def _async_worker(url: str, token: str, count: int, results: Any, stop: Any) -> None:
    """socketio.AsyncClient (aiohttp): all of this process's displays on one event loop."""
    import asyncio

    gate = asyncio.Semaphore(20)
    arrivals = Arrivals(results)

    async def one() -> socketio.AsyncClient | None:
        c = socketio.AsyncClient(reconnection=False)

        async def called(body: dict[str, Any]) -> None:
            arrivals.arrived(body["ticket"]["id"])

        c.on("ticket.called", called, namespace="/hall")
        async with gate:
            try:
                await c.connect(
                    url,
                    namespaces=["/hall"],
                    transports=["websocket"],
                    auth=_auth(token),
                    wait_timeout=20,
                )
            except socketio.exceptions.ConnectionError:
                return None
        return c

    clients = [c for c in await asyncio.gather(*(one() for _ in range(count))) if c]
    arrivals.displays = len(clients)
    results.put(("ready", len(clients)))
    await _until_stopped(stop, arrivals)
    await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)


_CALLED = re.compile(r'^42/hall,\["ticket\.called",\{.*?"ticket":\{"id":(\d+)')


async def _raw_worker(url: str, token: str, count: int, results: Any, stop: Any) -> None:
    """Bare Engine.IO v4 / Socket.IO v5 websockets (aiohttp), all on one event loop: open,
    join /hall with the display's auth, answer pings, note each ticket.called by a regular
    expression on the frame (nothing else is decoded). A client costs next to nothing, so what
    is measured is the server."""
    import asyncio
    import json

    import aiohttp

    ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    gate = asyncio.Semaphore(20)
    joined, tried = 0, 0
    all_tried = asyncio.Event()
    arrivals = Arrivals(results)

    async def join(ws: aiohttp.ClientWebSocketResponse) -> bool:
        opened = await ws.receive_str(timeout=20)  # 0{"sid": ..., "pingInterval": ...}
        if not opened.startswith("0"):
            return False
        await ws.send_str("40/hall," + json.dumps(_auth(token)))
        while True:  # the namespace's answer: 40/hall,{"sid": ...}, or 44/hall,... (refused)
            frame = await ws.receive_str(timeout=20)
            if frame.startswith(("40/hall,", "44/hall,")):
                return frame.startswith("40/hall,")

    async def one(session: aiohttp.ClientSession) -> None:
        nonlocal joined, tried
        ws = None
        async with gate:
            try:
                ws = await session.ws_connect(ws_url, timeout=20, autoping=False)
                ok = await join(ws)
            except (TimeoutError, aiohttp.ClientError, TypeError):
                ok = False
        joined += ok
        tried += 1
        if tried == count:
            all_tried.set()
        if not ok or ws is None:
            return
        async for msg in ws:
            if msg.type != aiohttp.WSMsgType.TEXT:
                break
            data = msg.data
            if data == "2":  # the server's ping
                await ws.send_str("3")
            elif data.startswith('42/hall,["ticket.called"'):
                m = _CALLED.match(data)
                tid = int(m.group(1)) if m else json.loads(data[8:])[1]["ticket"]["id"]
                arrivals.arrived(tid)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:
        tasks = [asyncio.create_task(one(session)) for _ in range(count)]
        await all_tried.wait()
        arrivals.displays = joined
        results.put(("ready", joined))
        await _until_stopped(stop, arrivals)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _until_stopped(stop: Any, arrivals: Arrivals) -> None:
    """Wait (off the event loop) for the main process's stop, reporting late calls meanwhile."""
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = time.monotonic() + WORKER_LIFETIME_S
    while time.monotonic() < deadline:
        if await loop.run_in_executor(None, stop.wait, 1.0):
            return
        arrivals.late()


def _has_aiohttp() -> bool:
    import importlib.util

    return importlib.util.find_spec("aiohttp") is not None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--displays", type=int, default=500)
    p.add_argument("--procs", type=int, default=5)
    p.add_argument("--calls", type=int, default=20)
    p.add_argument("--mode", choices=["eventlet", "gevent", "threading"], default="eventlet")
    p.add_argument(
        "--client",
        choices=["raw", "async", "thread"],
        default="async" if _has_aiohttp() else "thread",
        help="raw: bare Engine.IO websockets on one event loop per process, the cheapest client "
        "(needs aiohttp); async: socketio.AsyncClient on one event loop per process (needs "
        "aiohttp); thread: one socketio.Client with its threads per display",
    )
    p.add_argument("--py-spy", default="", help="record the server during the calls (.txt: raw)")
    args = p.parse_args(argv)
    if not 1 <= args.displays <= 2000 or not 1 <= args.procs <= 32 or not 1 <= args.calls <= 200:
        p.error("displays 1..2000, procs 1..32, calls 1..200")
    warmup = 2

    ctx = mp.get_context("spawn")
    results = ctx.Queue()
    stop = ctx.Event()
    with demo_server(LAYSO_ASYNC_MODE=args.mode) as (url, demo, server):
        base = f"{url}/api/v1/halls/demo"
        http = requests.Session()
        kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
        clerk = {"Authorization": f"Bearer {demo['counters'][0]['token']}"}
        for _ in range(args.calls + warmup):
            http.post(f"{base}/tickets", json={"service": "TP"}, headers=kiosk, timeout=10)
        shares = [
            args.displays // args.procs + (i < args.displays % args.procs)
            for i in range(args.procs)
        ]
        t_connect = time.monotonic()
        procs = [
            ctx.Process(
                target=worker,
                args=(url, demo["devices"]["display"], n, results, stop, args.client),
                daemon=True,
            )
            for n in shares
            if n
        ]
        for w in procs:
            w.start()
        ready = 0
        pending: list[tuple[int, list[int]]] = []
        try:
            for _ in procs:
                item = results.get(timeout=CONNECT_TIMEOUT_S)
                if item[0] == "ready":
                    ready += item[1]
                else:
                    pending.append(item)
            connect_s = time.monotonic() - t_connect
            print(
                f"{ready} of {args.displays} displays connected in {connect_s:.1f} s "
                f"({len(procs)} processes, {args.client} clients, websocket)"
            )

            all_in, first_in, p50_in, p99_in, every = [], [], [], [], []
            incomplete = 0
            with spying(server.pid, args.py_spy):
                for i in range(args.calls + warmup):
                    t0 = time.monotonic_ns()
                    r = http.post(f"{base}/counters/1/next", headers=clerk, timeout=10)
                    r.raise_for_status()
                    ticket = r.json()["ticket"]["id"]
                    arrivals = [t for tid, ts in pending if tid == ticket for t in ts]
                    pending = [(tid, ts) for tid, ts in pending if tid != ticket]
                    deadline = time.monotonic() + CALL_TIMEOUT_S
                    while len(arrivals) < ready and time.monotonic() < deadline:
                        try:
                            tid, ts = results.get(timeout=max(0.01, deadline - time.monotonic()))
                        except queue.Empty:
                            break
                        if tid == ticket:
                            arrivals.extend(ts)
                        else:
                            pending.append((tid, ts))
                    if i >= warmup:
                        ms = [(t - t0) / 1e6 for t in arrivals]
                        if len(ms) < ready:
                            incomplete += 1
                        if ms:
                            all_in.append(max(ms))
                            first_in.append(min(ms))
                            p50_in.append(percentile(ms, 50))
                            p99_in.append(percentile(ms, 99))
                            every.extend(ms)
                    http.post(
                        f"{base}/counters/1/start", headers=clerk, timeout=10
                    ).raise_for_status()
        finally:
            stop.set()
            for w in procs:
                w.join(15)
                if w.is_alive():
                    w.terminate()

    def line(name: str, values: list[float]) -> str:
        return (
            f"{name:<40}{percentile(values, 50):>8.1f}{percentile(values, 99):>8.1f}"
            f"{max(values):>8.1f}"
        )

    print(
        f"\nFan-out of one call to {ready} displays, {args.calls} calls, loopback, "
        f"async mode {args.mode} (ms from just before POST next)"
    )
    print(f"{'':<40}{'p50':>8}{'p99':>8}{'max':>8}   (over the calls)")
    if all_in:
        print(line("first display has it", first_in))
        print(line("half of the displays have it", p50_in))
        print(line("99 % of the displays have it", p99_in))
        print(line("ALL displays have it", all_in))
        print(line(f"per delivery ({len(every)} deliveries)", every))
    print(f"calls where some display missed the call within {CALL_TIMEOUT_S:g} s: {incomplete}")
    return 0 if ready == args.displays and not incomplete else 1


if __name__ == "__main__":
    sys.exit(main())
