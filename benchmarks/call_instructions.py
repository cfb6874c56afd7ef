"""Machine instructions per clerk's `next` + `start`, in process, counted by valgrind.

    .venv/bin/python benchmarks/call_instructions.py [--pairs 40]

Needs valgrind (Debian's package). The CPU-time figures of ``call_cost.py`` move with the
machine's load and speed (on a shared 2-core machine, by a third from one minute to the next);
an instruction count does not: it moves by some 3 % between runs of the same code (times,
random tokens and file names differ), whatever the machine does meanwhile.

It runs the same script twice under ``valgrind --tool=callgrind``: the app built as
``statements.py`` builds it (a fresh SQLite file, the demo hall, the real bearer tokens,
Flask's test client), 70 tickets issued at the kiosk and three visits called and started; then
``--pairs`` more pairs of counter 1's `next` (which finishes the ticket being served and calls
the next) and `start`, in the second run only. The difference of the two totals, over
``--pairs``, is the figure: everything else (interpreter, imports, the build, the tickets) is
in both. Takes some three minutes (Python runs some fifty times slower under valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent


def work(pairs: int) -> None:
    sys.path.insert(0, str(HERE))
    from statements import Clock, build, desk

    with tempfile.TemporaryDirectory() as tmp_name:
        clock = Clock()
        app, demo = build(None, Path(tmp_name), clock)
        client, kiosk, clerk, base, areas = desk(app, demo)
        code = areas[0]

        def post(path: str, headers: dict[str, str], body: dict[str, str]) -> None:
            clock.now += timedelta(seconds=1)
            r = client.post(f"{base}/{path}", json=body, headers=headers)
            assert r.status_code in (200, 201), r.get_data(as_text=True)[:300]

        for _ in range(70):
            post("tickets", kiosk, {"service": code})
        for _ in range(3 + pairs):
            post("counters/1/next", clerk, {})
            post("counters/1/start", clerk, {})


def count(pairs: int) -> int:
    """Instructions of one run of this script with `pairs` measured pairs."""
    run = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--work", str(pairs)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )  # fmt: skip
    found = re.search(r"Collected : (\d+)", run.stderr)
    if run.returncode != 0 or found is None:
        raise SystemExit(f"valgrind run failed:\n{run.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument("--work", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.work is not None:
        work(args.work)
        return
    if not 1 <= args.pairs <= 60:  # the 70 tickets issued
        parser.error("pairs 1..60")
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    base, measured = count(0), count(args.pairs)
    per_pair = (measured - base) / args.pairs
    print(f"`next` + `start` at counter 1, {args.pairs} pairs, in process (SQLite), callgrind")
    print(f"  instructions per pair: {per_pair / 1e6:.2f} M")


if __name__ == "__main__":
    main()
