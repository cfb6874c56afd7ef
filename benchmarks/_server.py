"""Start a real Layso server for a benchmark: a fresh instance, the demo hall, a free port."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYSO_")}
    env.update(
        LAYSO_INSTANCE=str(instance),
        LAYSO_PRINTER="none",
        LAYSO_LOG_LEVEL="WARNING",
        LAYSO_ISSUE_RATE="1000000",
        LAYSO_LOGIN_RATE="1000000",
    )
    env.update(extra)
    return env


def seed(env: dict[str, str]) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "layso", "seed-demo", "--json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@contextmanager
def server(env: dict[str, str], port: int | None = None) -> Iterator[tuple[str, subprocess.Popen]]:
    port = port or free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "layso", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if requests.get(f"{url}/healthz", timeout=1).ok:
                break
        except requests.RequestException:
            time.sleep(0.1)
    else:
        proc.kill()
        raise SystemExit("server did not start")
    try:
        yield url, proc
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@contextmanager
def demo_server(**extra: str) -> Iterator[tuple[str, dict, subprocess.Popen]]:
    with tempfile.TemporaryDirectory() as tmp:
        env = bench_env(Path(tmp) / "instance", **extra)
        data = seed(env)
        with server(env) as (url, proc):
            yield url, data, proc


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")
