"""What starting Layso costs: `layso run` until ``/healthz`` answers, and a short command.

    .venv/bin/python benchmarks/start_cost.py [--starts 5] [--mode eventlet|gevent]

Seeds one demo instance (``layso seed-demo``), then ``--starts`` times copies it into a fresh
folder, starts ``layso run`` on a free loopback port (``_server.start_server``, which polls
``/healthz`` every 50 ms: the wall time is that coarse) and, once it answers, reads the server's
CPU time (user + system) from ``/proc/PID/stat`` before stopping it.
Then it runs ``layso db upgrade`` on the seeded instance as many times (a command that loads the
whole program and finds nothing to do), its CPU counted with ``getrusage``, and builds the app
in this process (``create_app`` on a copy of the seeded database, as every in-process test's
``app`` fixture does) 20 times, after one to warm up, its CPU counted with ``process_time``.
The test suite starts some hundreds of servers and commands and builds a thousand apps, so
these are a good part of its CPU. Linux only.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _server import bench_env, free_port, seed, start_server, stop_process

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a running process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14 and 15)


def one_start(template: Path, folder: Path, mode: str) -> tuple[float, float]:
    """Seconds until /healthz answered (polled every 50 ms), and the server's CPU seconds then."""
    shutil.copytree(template, folder)
    t0 = time.monotonic()
    proc = start_server(bench_env(folder, LAYSO_ASYNC_MODE=mode), free_port())
    try:
        return time.monotonic() - t0, cpu_s(proc.pid)
    finally:
        stop_process(proc)


def one_command(env: dict[str, str]) -> float:
    """CPU seconds of `layso db upgrade` on an instance that is up to date."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(
        [sys.executable, "-m", "layso", "db", "upgrade"], env=env, check=True, capture_output=True
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def app_builds(template: Path, folder: Path, count: int = 20) -> list[float]:
    """CPU seconds of building the app in process, each on its own copy of the database."""
    from layso.app import create_app
    from layso.config import Settings

    folder.mkdir()
    out = []
    for i in range(count + 1):
        database = folder / f"{i}.sqlite3"
        shutil.copyfile(template / "layso.sqlite3", database)
        settings = Settings(
            instance_path=folder,
            database_url=f"sqlite:///{database}",
            async_mode="threading",
            secret_key="benchmark",
            printer="none",
            testing=True,
        ).resolved()
        t0 = time.process_time()
        app = create_app(settings)
        spent = time.process_time() - t0
        app.extensions["layso.db"].dispose()
        if i:  # the first one imports the program
            out.append(spent)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--starts", type=int, default=5)
    p.add_argument("--mode", choices=["eventlet", "gevent"], default="eventlet")
    args = p.parse_args(argv)
    if not 1 <= args.starts <= 50:
        p.error("starts 1..50")
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        template = Path(tmp) / "template"
        env = bench_env(template)
        seed(env)
        starts = [one_start(template, Path(tmp) / f"run{i}", args.mode) for i in range(args.starts)]
        commands = [one_command(env) for _ in range(args.starts)]
        builds = app_builds(template, Path(tmp) / "apps")
    walls, cpus = [w for w, _ in starts], [c for _, c in starts]

    def line(name: str, values: list[float]) -> str:
        return f"{name:<44}{statistics.median(values):>7.2f}{min(values):>7.2f}{max(values):>7.2f}"

    print(f"\nStarting Layso, {args.starts} times each, async mode {args.mode} (seconds)")
    print(f"{'':<44}{'p50':>7}{'min':>7}{'max':>7}")
    print(line("`layso run` until /healthz answers: wall", walls))
    print(line("  the server's CPU by then", cpus))
    print(line("`layso db upgrade` (nothing to do): CPU", commands))
    print(line("building the app in process (20): CPU, ms", [b * 1000 for b in builds]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
