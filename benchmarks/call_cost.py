"""What a counter's `next` costs when it finishes the ticket being served and calls the next one,
in process (no server, no sockets): CPU ms per request and Python function calls per request.

    .venv/bin/python benchmarks/call_cost.py [--rounds 200] [--queue plain|mixed]
        [--cprofile OUT.prof]

Builds the app as ``statements.py`` does (a fresh SQLite file, the demo hall, the real bearer
tokens, Flask's test client), issues ``rounds + 10`` tickets at the kiosk, calls one, then
repeats ``rounds`` times (after five warm-up rounds): counter 1 starts the ticket it called, then
presses `next`, which finishes it and calls the next one, as at a real counter and as in
``latency.py``. With ``--queue mixed`` the tickets are spread over every area counter 1 serves,
one in three with a priority (NCT), as in a real hall: a call then weighs the first ticket of
each kind of each area (its candidates, four with two areas) instead of one. Only the `next`
requests are measured: CPU time (``time.process_time``) p50 and
mean in one pass, then Python function calls per request counted by cProfile in a second pass
(call counts do not move with the machine's load; the CPU figures do).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from statements import Clock, build, desk  # noqa: E402

WARMUP = 5


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--queue", choices=["plain", "mixed"], default="plain")
    parser.add_argument("--cprofile", default=None, help="write the counted pass's profile here")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 400:  # two passes' tickets stay within an area's day of numbers
        parser.error("rounds 1..400")

    with tempfile.TemporaryDirectory() as tmp_name:
        clock = Clock()
        app, demo = build(None, Path(tmp_name), clock)
        client, kiosk, clerk, base, areas = desk(app, demo)
        mixed = args.queue == "mixed"

        def post(path: str, headers: dict[str, str], body: Any, status: int) -> Any:
            clock.now += timedelta(seconds=1)
            r = client.post(f"{base}/{path}", json=body, headers=headers)
            assert r.status_code == status, r.get_data(as_text=True)[:300]
            return r

        total = 2 * (args.rounds + WARMUP) + 10
        for i in range(total):
            code = areas[i % len(areas)] if mixed else areas[0]
            body: dict[str, Any] = {"service": code}
            if mixed and i % 3 == 2:
                body["priority"] = "NCT"
            post("tickets", kiosk, body, 201)
        post("counters/1/next", clerk, {}, 200)

        def rounds(profile: cProfile.Profile | None) -> list[float]:
            spent = []
            for i in range(args.rounds + WARMUP):
                post("counters/1/start", clerk, {}, 200)
                clock.now += timedelta(seconds=1)
                counted = i >= WARMUP
                if profile is not None and counted:
                    profile.enable()
                t0 = time.process_time()
                r = client.post(f"{base}/counters/1/next", json={}, headers=clerk)
                t1 = time.process_time()
                if profile is not None and counted:
                    profile.disable()
                assert r.status_code == 200 and r.get_json()["ticket"], r.get_data(as_text=True)
                if counted:
                    spent.append((t1 - t0) * 1000)
            return spent

        spent = rounds(None)
        profile = cProfile.Profile()
        rounds(profile)
        calls = pstats.Stats(profile).total_calls / args.rounds
        if args.cprofile:
            profile.dump_stats(args.cprofile)

    queue = f"a mixed queue over {len(areas)} areas" if mixed else "one area's queue"
    print(f"finish + call `next` at counter 1, {args.rounds} rounds, {queue}, in process (SQLite)")
    p50, mean = statistics.median(spent), statistics.fmean(spent)
    print(f"  CPU ms per request: p50 {p50:.2f}, mean {mean:.2f}")
    print(f"  Python function calls per request: {calls:,.0f}")


if __name__ == "__main__":
    main()
