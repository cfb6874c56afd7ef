"""Press-to-display latency: a clerk's POST .../counters/1/next → ``ticket.called`` at a display.

    .venv/bin/python benchmarks/latency.py [--calls 200] [--mode eventlet|gevent|threading]
        [--py-spy out.svg|out.txt]

Starts the real server (``layso run``, eventlet by default) on a free loopback port with a fresh
demo hall, issues the tickets, connects one python-socketio client as the hall's wall display
(namespace /hall, websocket transport) and times, for each call, the span from just before the
clerk's POST /next to the moment the display receives that ticket's ``ticket.called``. The
clerk then presses "start", so the next POST /next also finishes the ticket being served, as at
a real counter. For comparison it does the same, in the same run, against the bare stack
(benchmarks/_floor.py, same async mode: a Flask-SocketIO app whose POST /emit only emits) and
prints the ratio. Everything runs on
this machine, is bounded in count and time, and stops by itself.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
import socketio
from _floor import floor_server
from _server import demo_server, percentile, spying

WAIT_S = 10.0  # longest wait for one event; a miss is counted, never waited for twice


class Display:
    """A display on the hub that notes when each ticket.called arrives (perf_counter)."""

    def __init__(self, url: str, auth: dict[str, Any] | None) -> None:
        self.arrived: dict[int, float] = {}
        self.cond = threading.Condition()
        self.snapshot = threading.Event()
        self.client = socketio.Client(reconnection=False)

        @self.client.on("ticket.called", namespace="/hall")
        def called(body: dict[str, Any]) -> None:
            now = time.perf_counter()
            with self.cond:
                self.arrived[int(body["ticket"]["id"])] = now
                self.cond.notify_all()

        @self.client.on("snapshot", namespace="/hall")
        def snapshot(_body: Any) -> None:
            self.snapshot.set()

        self.client.connect(
            url, namespaces=["/hall"], transports=["websocket"], auth=auth, wait_timeout=10
        )

    def arrival(self, ticket_id: int) -> float | None:
        with self.cond:
            self.cond.wait_for(lambda: ticket_id in self.arrived, WAIT_S)
            return self.arrived.get(ticket_id)

    def close(self) -> None:
        self.client.disconnect()


def timed_calls(
    display: Display,
    calls: int,
    warmup: int,
    press: Callable[[int], int],
    after: Callable[[], None] = lambda: None,
) -> dict[str, list[float]]:
    """Press `calls + warmup` times (press(i) posts and returns the ticket id the display should
    get); after the warm-up, note each press's response time and its latency to the display."""
    latency, response, missed = [], [], 0
    try:
        for i in range(calls + warmup):
            t0 = time.perf_counter()
            ticket_id = press(i)
            t1 = time.perf_counter()
            arrived = display.arrival(ticket_id)
            if i >= warmup:
                response.append((t1 - t0) * 1000)
                if arrived is None:
                    missed += 1
                else:
                    latency.append((arrived - t0) * 1000)
            after()
    finally:
        display.close()
    return {"latency": latency, "response": response, "missed": [missed]}


def measure_layso(calls: int, warmup: int, mode: str, spy: str = "") -> dict[str, list[float]]:
    with demo_server(LAYSO_ASYNC_MODE=mode) as (url, demo, proc):
        base = f"{url}/api/v1/halls/demo"
        http = requests.Session()
        kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
        clerk = {"Authorization": f"Bearer {demo['counters'][0]['token']}"}
        for _ in range(calls + warmup):
            r = http.post(f"{base}/tickets", json={"service": "TP"}, headers=kiosk, timeout=10)
            r.raise_for_status()
        display = Display(url, {"token": demo["devices"]["display"], "hall": "demo"})
        display.snapshot.wait(10)

        def call_next(_i: int) -> int:
            r = http.post(f"{base}/counters/1/next", headers=clerk, timeout=10)
            r.raise_for_status()
            return int(r.json()["ticket"]["id"])

        def start() -> None:
            http.post(f"{base}/counters/1/start", headers=clerk, timeout=10).raise_for_status()

        with spying(proc.pid, spy):
            return timed_calls(display, calls, warmup, call_next, start)


def measure_bare(calls: int, warmup: int, mode: str) -> dict[str, list[float]]:
    with floor_server(mode) as (url, _proc):
        display = Display(url, None)
        http = requests.Session()

        def emit(i: int) -> int:
            http.post(f"{url}/emit", json={"id": i + 1}, timeout=10).raise_for_status()
            return i + 1

        return timed_calls(display, calls, warmup, emit)


def row(name: str, values: list[float], missed: int) -> str:
    if not values:
        return f"{name:<44} (no data)"
    return (
        f"{name:<44}{percentile(values, 50):>7.1f}{percentile(values, 90):>7.1f}"
        f"{percentile(values, 99):>7.1f}{max(values):>7.1f}{statistics.fmean(values):>7.1f}"
        f"{len(values):>6}{missed:>6}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--calls", type=int, default=200, help="measured calls (1..999)")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--mode", choices=["eventlet", "gevent", "threading"], default="eventlet")
    p.add_argument(
        "--py-spy", default="", help="record Layso's server during the calls (.txt: raw)"
    )
    args = p.parse_args(argv)
    if not 1 <= args.calls + args.warmup <= 999:  # the demo area TP has numbers 1001..1999
        p.error("calls + warmup must be 1..999")

    layso = measure_layso(args.calls, args.warmup, args.mode, args.py_spy)
    bare = measure_bare(args.calls, args.warmup, args.mode)

    print(f"\nPress-to-display latency, {args.calls} calls, loopback, async mode {args.mode} (ms)")
    print(f"{'':<44}{'p50':>7}{'p90':>7}{'p99':>7}{'max':>7}{'mean':>7}{'n':>6}{'miss':>6}")
    print(row("Layso: POST next → ticket.called at display", layso["latency"], layso["missed"][0]))
    print(row("  (HTTP response of POST next)", layso["response"], 0))
    print(row("bare Flask-SocketIO: POST → emit received", bare["latency"], bare["missed"][0]))
    print(row("  (HTTP response of the bare POST)", bare["response"], 0))
    if layso["latency"] and bare["latency"]:
        print(
            "ratio Layso / bare stack: p50 "
            f"{percentile(layso['latency'], 50) / percentile(bare['latency'], 50):.2f}, p99 "
            f"{percentile(layso['latency'], 99) / percentile(bare['latency'], 99):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
