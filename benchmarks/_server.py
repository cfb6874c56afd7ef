"""Start a real Layso server for a benchmark: a fresh instance, the demo hall, a free port."""

from __future__ import annotations

import json
import os
import shutil
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
    # the server's drawing process may still be filing a preview ticket as the folder goes
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
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


@contextmanager
def spying(pid: int, out: str) -> Iterator[None]:
    """py-spy records the server while the block runs (nothing without ``out``); .txt: raw."""
    if not out:
        yield
        return
    fmt = "raw" if out.endswith(".txt") else "flamegraph"
    spy = subprocess.Popen(
        [str(Path(sys.executable).parent / "py-spy"), "record", "-o", out, "--pid", str(pid),
         "--rate", "200", "--nonblocking", "--format", fmt],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    try:
        yield
    finally:
        spy.send_signal(2)
        spy.wait(30)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- additions for the load and fault benchmarks (load.py, faults.py) ----------------------

PG_BASE = os.environ.get(
    "LAYSO_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 60) -> float:
    """Wait until GET /healthz answers 200; returns the seconds it took (SystemExit if never)."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode} before it was healthy")
        try:
            if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                return time.monotonic() - t0
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} was not healthy within {timeout:g} s")


def start_server(env: dict[str, str], port: int, log: Path | None = None) -> subprocess.Popen:
    """`layso run` on 127.0.0.1:port, output appended to `log`; returns once it is healthy."""
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [sys.executable, "-m", "layso", "run", "--host", "127.0.0.1", "--port", str(port)],
        env=dict(env, PYTHONUNBUFFERED="1"),
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    if log is not None:
        out.close()  # type: ignore[union-attr]
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
    except BaseException:
        proc.kill()
        proc.wait(timeout=10)
        raise
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _pg_admin(base: str = PG_BASE) -> object:
    import pg8000.native
    import sqlalchemy as sa

    url = sa.engine.make_url(base)
    return pg8000.native.Connection(
        url.username or "postgres",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "postgres",
        password=url.password,
        timeout=10,
    )


def create_pg_database(base: str = PG_BASE) -> str:
    """A fresh database `layso_bench_<random>` on that server; returns its URL."""
    import uuid

    import sqlalchemy as sa

    name = f"layso_bench_{uuid.uuid4().hex[:10]}"
    conn = _pg_admin(base)
    try:
        conn.run(f'CREATE DATABASE "{name}"')  # type: ignore[attr-defined]
    finally:
        conn.close()  # type: ignore[attr-defined]
    return str(sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False))


def drop_pg_database(db_url: str, base: str = PG_BASE) -> None:
    import sqlalchemy as sa

    name = sa.engine.make_url(db_url).database
    conn = _pg_admin(base)
    try:
        conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[attr-defined]
    finally:
        conn.close()  # type: ignore[attr-defined]


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class PrivateRedis:
    """A throwaway redis-server on a free loopback port (no persistence), stoppable at will.

    The benchmarks use their own Redis so that their Socket.IO traffic never mixes with that of
    other servers on the machine's shared Redis (pub/sub channels ignore the database number).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
                "--logfile",
                str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"redis-server did not start on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None

    def __enter__(self) -> PrivateRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb) on a free loopback port, restartable at will."""

    def __init__(self) -> None:
        import glob

        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not bins:
            raise SystemExit("PostgreSQL server binaries not found under /usr/lib/postgresql")
        self.bin = Path(bins[-1]).parent
        # its own folder directly under /tmp: the postgres user must reach it
        self.folder = Path(tempfile.mkdtemp(prefix="layso-bench-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.base_url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        cmd = list(args)
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        if check and done.returncode != 0:
            raise SystemExit(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")
        return done

    def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )

    def pg_ctl(self, action: str, *extra: str) -> float:
        """Run `pg_ctl ACTION` (start, stop, restart) and wait for it; returns the seconds taken."""
        opts = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c max_connections=200"
        )
        t0 = time.monotonic()
        args = [str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "60"]
        args += ["-l", str(self.folder / "postgres.log")] if action in ("start", "restart") else []
        args += ["-o", opts] if action in ("start", "restart") else []
        self._run(*args, *extra, action)
        return time.monotonic() - t0

    def __enter__(self) -> PrivatePostgres:
        self.init()
        self.pg_ctl("start")
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop", check=False
        )
        shutil.rmtree(self.folder, ignore_errors=True)
