"""Tickets issued per second by 16 concurrent kiosks, and the p50/p99 of one issue.

    .venv/bin/python benchmarks/issue_rate.py [--mode eventlet|gevent] [--tickets 1600]
        [--database-url postgresql://postgres@127.0.0.1/test_bench]

Starts the real server on a free loopback port with a fresh demo hall; bounded in count.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import demo_server, percentile, rss_mb  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", default="eventlet", choices=["eventlet", "gevent", "threading"])
    ap.add_argument("--tickets", type=int, default=1600)
    ap.add_argument("--kiosks", type=int, default=16)
    ap.add_argument("--database-url", default="")
    args = ap.parse_args()
    extra = {"LAYSO_ASYNC_MODE": args.mode}
    if args.database_url:
        extra["LAYSO_DATABASE_URL"] = args.database_url
    codes = ["TP", "CT", "DD", "LD", "KD", "XD"]
    with demo_server(**extra) as (url, demo, proc):
        token = demo["devices"]["kiosk"]
        # one kiosk alone: the latency of one issue
        single: list[float] = []
        with requests.Session() as http:
            http.headers["Authorization"] = f"Bearer {token}"
            for i in range(200):
                t0 = time.perf_counter()
                r = http.post(
                    f"{url}/api/v1/halls/demo/tickets", json={"service": codes[i % 6]}, timeout=30
                )
                single.append((time.perf_counter() - t0) * 1000)
                assert r.status_code == 201, r.text
        per = args.tickets // args.kiosks
        barrier = threading.Barrier(args.kiosks + 1)
        lat: list[float] = []

        def kiosk(k: int) -> None:
            with requests.Session() as http:
                http.headers["Authorization"] = f"Bearer {token}"
                barrier.wait()
                for i in range(per):
                    t0 = time.perf_counter()
                    r = http.post(
                        f"{url}/api/v1/halls/demo/tickets",
                        json={"service": codes[(k + i) % 6]},
                        timeout=60,
                    )
                    lat.append((time.perf_counter() - t0) * 1000)
                    assert r.status_code == 201, r.text

        with ThreadPoolExecutor(args.kiosks) as pool:
            futures = [pool.submit(kiosk, k) for k in range(args.kiosks)]
            barrier.wait()
            t0 = time.perf_counter()
            for f in futures:
                f.result()
            elapsed = time.perf_counter() - t0
        db = "PostgreSQL" if args.database_url else "SQLite"
        print(f"server: {args.mode}, {db}; server RSS after the run: {rss_mb(proc.pid):.0f} MB")
        print(
            f"one kiosk, 200 issues:  p50 {percentile(single, 50):.1f} ms  "
            f"p99 {percentile(single, 99):.1f} ms"
        )
        print(
            f"{args.kiosks} kiosks, {per * args.kiosks} issues: {per * args.kiosks / elapsed:.0f} "
            f"tickets/s  p50 {percentile(lat, 50):.1f} ms  p99 {percentile(lat, 99):.1f} ms"
        )


if __name__ == "__main__":
    main()
