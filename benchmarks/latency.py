"""Press-to-display latency: a clerk's POST .../counters/1/next → ``ticket.called`` at a display.

    .venv/bin/python benchmarks/latency.py [--calls 200] [--mode eventlet|gevent|threading]
        [--pause-ms 0] [--py-spy out.svg|out.txt]

Starts the real server (``layso run``, eventlet by default) on a free loopback port with a fresh
demo hall, issues the tickets, connects one python-socketio client as the hall's wall display
(namespace /hall, websocket transport) and times, for each call, the span from just before the
clerk's POST /next to the moment the display receives that ticket's ``ticket.called``. The
clerk then presses "start", so the next POST /next also finishes the ticket being served, as at
a real counter. For comparison it does the same against the bare stack (benchmarks/_floor.py,
same async mode: a Flask-SocketIO app whose POST /emit only emits), running beside it, and prints
the ratio. The two are pressed in turns of 20 back-to-back presses (the first two of a turn not
counted), so that a machine whose speed drifts during the run moves both alike. ``--pause-ms``
spaces the presses as a clerk's are (both servers idle in between; each press then starts cold).
Everything runs on this machine, is bounded in count and time, and stops by itself.
"""

from __future__ import annotations

import argparse
import itertools
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
BLOCK, SETTLE = 20, 2  # presses per turn of one stack; the first SETTLE of a turn not counted


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


class Side:
    """One stack under test: how to press, what to do after each press, and what it measured."""

    def __init__(
        self, display: Display, press: Callable[[int], int], after: Callable[[], None]
    ) -> None:
        self.display, self.press, self.after = display, press, after
        self.latency: list[float] = []
        self.response: list[float] = []
        self.missed = 0

    def once(self, i: int, counted: bool) -> None:
        """Press (press(i) posts and returns the ticket id the display should get); if counted,
        note the press's response time and its latency to the display."""
        t0 = time.perf_counter()
        ticket_id = self.press(i)
        t1 = time.perf_counter()
        arrived = self.display.arrival(ticket_id)
        if arrived is not None and arrived < t0:  # an id pressed before: not this press's
            raise RuntimeError(f"ticket {ticket_id} arrived before it was pressed")
        if counted:
            self.response.append((t1 - t0) * 1000)
            if arrived is None:
                self.missed += 1
            else:
                self.latency.append((arrived - t0) * 1000)
        self.after()


def presses(calls: int, warmup: int) -> int:
    """The presses of one stack: the warm-up, the counted ones and each turn's settling ones."""
    return warmup + calls + SETTLE * -(-calls // BLOCK)


def measure(
    calls: int, warmup: int, mode: str, spy: str = "", pause_s: float = 0.0
) -> tuple[Side, Side]:
    """Layso and the bare stack, both running, pressed in turn in blocks of :data:`BLOCK`
    presses (the first :data:`SETTLE` of a block, which may find the other server still at
    work, are not counted): a machine whose speed drifts during the run moves both alike, and
    their ratio holds. With ``pause_s``, each press comes that long after the last one's work,
    as a clerk's does (the servers idle in between: what each does after its call, such as its
    answer and the area's figures, is done before the next press)."""
    with (
        demo_server(LAYSO_ASYNC_MODE=mode) as (url, demo, proc),
        floor_server(mode) as (
            bare_url,
            _bare,
        ),
    ):
        base = f"{url}/api/v1/halls/demo"
        http = requests.Session()
        kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
        clerk = {"Authorization": f"Bearer {demo['counters'][0]['token']}"}
        for _ in range(presses(calls, warmup)):
            r = http.post(f"{base}/tickets", json={"service": "TP"}, headers=kiosk, timeout=10)
            r.raise_for_status()

        def call_next(_i: int) -> int:
            r = http.post(f"{base}/counters/1/next", headers=clerk, timeout=10)
            r.raise_for_status()
            return int(r.json()["ticket"]["id"])

        def start() -> None:
            http.post(f"{base}/counters/1/start", headers=clerk, timeout=10).raise_for_status()

        emitted = itertools.count(1)  # a new id for every press, settling ones included

        def emit(_i: int) -> int:
            ticket_id = next(emitted)
            http.post(f"{bare_url}/emit", json={"id": ticket_id}, timeout=10).raise_for_status()
            return ticket_id

        display = Display(url, {"token": demo["devices"]["display"], "hall": "demo"})
        display.snapshot.wait(10)
        bare_display = Display(bare_url, None)
        layso, bare = Side(display, call_next, start), Side(bare_display, emit, lambda: None)
        try:
            with spying(proc.pid, spy):
                for i in range(warmup):
                    for side in (layso, bare):
                        side.once(i, counted=False)
                done = {id(layso): 0, id(bare): 0}
                for turn in range(2 * (calls // BLOCK + 2)):
                    side = (layso, bare)[turn % 2]
                    for j in range(SETTLE + BLOCK):
                        if done[id(side)] >= calls:
                            break
                        if pause_s:
                            time.sleep(pause_s)
                        side.once(warmup + done[id(side)], counted=j >= SETTLE)
                        done[id(side)] += j >= SETTLE
        finally:
            display.close()
            bare_display.close()
        return layso, bare


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
        "--pause-ms", type=float, default=0, help="between presses, as a clerk's (default none)"
    )
    p.add_argument(
        "--py-spy", default="", help="record Layso's server during the calls (.txt: raw)"
    )
    args = p.parse_args(argv)
    if args.calls < 1 or presses(args.calls, args.warmup) > 999:  # TP's numbers: 1001..1999
        p.error("too many calls: the demo area has 999 numbers (at most 900 calls)")

    layso, bare = measure(args.calls, args.warmup, args.mode, args.py_spy, args.pause_ms / 1000)

    print(f"\nPress-to-display latency, {args.calls} calls, loopback, async mode {args.mode} (ms)")
    print(f"{'':<44}{'p50':>7}{'p90':>7}{'p99':>7}{'max':>7}{'mean':>7}{'n':>6}{'miss':>6}")
    print(row("Layso: POST next → ticket.called at display", layso.latency, layso.missed))
    print(row("  (HTTP response of POST next)", layso.response, 0))
    print(row("bare Flask-SocketIO: POST → emit received", bare.latency, bare.missed))
    print(row("  (HTTP response of the bare POST)", bare.response, 0))
    if layso.latency and bare.latency:
        print(
            "ratio Layso / bare stack: p50 "
            f"{percentile(layso.latency, 50) / percentile(bare.latency, 50):.2f}, p99 "
            f"{percentile(layso.latency, 99) / percentile(bare.latency, 99):.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
