"""Tickets issued per second by 16 concurrent kiosks, beside the floor, in the same run.

    .venv/bin/python benchmarks/issue_rate.py [--mode eventlet|gevent] [--tickets 1600]
        [--printer none|preview] [--database-url postgresql://postgres@127.0.0.1/test_bench]
        [--no-floor] [--py-spy /tmp/issue.svg]

Starts the real server on a free loopback port with a fresh demo hall (``LAYSO_PRINTER``
``none``, or ``preview``: every ticket drawn and encoded in the server as for a network
printer) and measures one kiosk alone (p50/p99 of one issue), then ``--kiosks`` kiosks at once
(keep-alive sessions). Then it does the same against the floor (benchmarks/_floor.py: a bare
Flask-SocketIO app on the same async server doing one SQLite WAL transaction per request: bump
the area-day counter, insert ticket, insert event, commit, emit) and prints the ratio. The
machine may be busy with other work: the ratio of the two, measured in the same run, is the
figure. Bounded in count; everything stops by itself.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _floor import floor_server  # noqa: E402
from _server import demo_server, percentile, rss_mb, spying  # noqa: E402

CODES = ["TP", "CT", "LD", "KD"]  # DD has a daily cap of 200 in the demo hall


def drive(post: Any, tickets: int, kiosks: int) -> dict[str, Any]:
    """One kiosk alone (200 issues), then `kiosks` at once; `post(session, i)` issues one."""
    single: list[float] = []
    with requests.Session() as http:
        for i in range(200):
            t0 = time.perf_counter()
            post(http, i)
            single.append((time.perf_counter() - t0) * 1000)
    per = tickets // kiosks
    barrier = threading.Barrier(kiosks + 1)
    lat: list[float] = []

    def kiosk(k: int) -> None:
        with requests.Session() as http:
            barrier.wait()
            for i in range(per):
                t0 = time.perf_counter()
                post(http, k + i)
                lat.append((time.perf_counter() - t0) * 1000)

    with ThreadPoolExecutor(kiosks) as pool:
        futures = [pool.submit(kiosk, k) for k in range(kiosks)]
        barrier.wait()
        t0 = time.perf_counter()
        for f in futures:
            f.result()
        elapsed = time.perf_counter() - t0
    return {"single": single, "lat": lat, "rate": per * kiosks / elapsed, "n": per * kiosks}


def layso(args: argparse.Namespace) -> dict[str, Any]:
    # an empty LAYSO_PRINTER is the default preview printer (instance/tickets)
    extra = {
        "LAYSO_ASYNC_MODE": args.mode,
        "LAYSO_PRINTER": "" if args.printer == "preview" else "none",
    }
    if args.database_url:
        extra["LAYSO_DATABASE_URL"] = args.database_url
    with demo_server(**extra) as (url, demo, proc):
        token = demo["devices"]["kiosk"]
        endpoint = f"{url}/api/v1/halls/demo/tickets"

        def post(http: requests.Session, i: int) -> None:
            r = http.post(
                endpoint,
                json={"service": CODES[i % len(CODES)]},
                headers={"Authorization": f"Bearer {token}"},
                timeout=60,
            )
            assert r.status_code == 201, r.text

        with spying(proc.pid, args.py_spy):
            out = drive(post, args.tickets, args.kiosks)
        out["rss"] = rss_mb(proc.pid)
        return out


def floor(args: argparse.Namespace) -> dict[str, Any]:
    with floor_server(args.mode) as (url, proc):

        def post(http: requests.Session, i: int) -> None:
            r = http.post(f"{url}/tickets", json={"service": CODES[i % len(CODES)]}, timeout=60)
            assert r.status_code == 201, r.text

        # the floor's profile beside Layso's: out.txt → out.floor.txt
        path = Path(args.py_spy)
        with spying(proc.pid, str(path.with_suffix(".floor" + path.suffix)) if args.py_spy else ""):
            return drive(post, args.tickets, args.kiosks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    ap.add_argument("--tickets", type=int, default=1600)
    ap.add_argument("--kiosks", type=int, default=16)
    ap.add_argument("--printer", default="none", choices=["none", "preview"])
    ap.add_argument("--database-url", default="")
    ap.add_argument("--no-floor", action="store_true", help="measure Layso only")
    ap.add_argument(
        "--py-spy",
        default="",
        help="record a flame graph of the server here (and of the floor beside it: X.floor.svg)",
    )
    args = ap.parse_args()
    if not 16 <= args.tickets <= 3500:  # four demo areas of 999 numbers each
        ap.error("--tickets 16..3500")
    ours = layso(args)
    base = None if args.no_floor else floor(args)
    db = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"server: {args.mode}, {db}, LAYSO_PRINTER={args.printer}; "
        f"server RSS after the run: {ours['rss']:.0f} MB"
    )
    print(f"{'':<36}{'tickets/s':>10}{'1 kiosk p50':>13}{'p99':>8}{'16 p50':>9}{'p99':>8}")
    for name, r in (("Layso", ours), ("floor (bare app, 1 SQLite txn)", base)):
        if r is None:
            continue
        print(
            f"{name:<36}{r['rate']:>10.0f}{percentile(r['single'], 50):>13.1f}"
            f"{percentile(r['single'], 99):>8.1f}{percentile(r['lat'], 50):>9.1f}"
            f"{percentile(r['lat'], 99):>8.1f}"
        )
    if base is not None:
        print(f"ratio Layso / floor (tickets/s): {ours['rate'] / base['rate']:.2f}")


if __name__ == "__main__":
    main()
