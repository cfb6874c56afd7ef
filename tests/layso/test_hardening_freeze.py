"""No handful of idle sockets and no foreign SQLite lock freezes the server (issue 10, freezes).

One real server per async mode, started as systemd starts it: with a soft open-files limit of
1,024 (the server must raise it itself). Short bounds come from the environment so that the
drops can be observed quickly: 2 s to send request headers, 5 s to join /hall.
"""

from __future__ import annotations

import importlib.util
import resource
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
import socketio
import websocket

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def _load_sockets() -> ModuleType:
    """benchmarks/_sockets.py, the flood the faults drills use too (benchmarks is no package)."""
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "_sockets.py"
    spec = importlib.util.spec_from_file_location("layso_bench_sockets", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_sockets = _load_sockets()

pytestmark = pytest.mark.server

FLOOD = 1100
HEADER_TIMEOUT_S = 2
JOIN_GRACE_S = 5
# a client timeout the unfixed server misses by far (it answered only after the flood closed)
CLIENT_TIMEOUT_S = 5


def _raise_own_nofile(conf: Any, need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < need:
        want = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    conf.need(soft >= need, f"only {soft} open files allowed per process; the test needs {need}")


def _rootconf(request: pytest.FixtureRequest) -> Any:
    """tests/conftest.py as pytest loaded it (its module name is not reliable to import)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


def _systemd_like_limit() -> None:
    """In the server's child process: systemd's default soft limit of 1,024 open files."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))


@pytest.fixture(scope="module", params=["eventlet", "gevent"])
def flood_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Any, dict[str, Any], Path]]:
    conf = _rootconf(request)
    _raise_own_nofile(conf, 2 * FLOOD + 400)
    tmp = tmp_path_factory.mktemp(f"freeze-{request.param}")
    env = conf.server_env(
        tmp / "instance",
        LAYSO_ASYNC_MODE=request.param,
        LAYSO_HEADER_TIMEOUT=str(HEADER_TIMEOUT_S),
        LAYSO_JOIN_TIMEOUT=str(JOIN_GRACE_S),
    )
    demo = conf.seed_demo_instance(env)
    port = conf.free_port()
    log = tmp / "server.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "layso", "run", "--port", str(port)],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        preexec_fn=_systemd_like_limit,
    )
    server = conf.Server(f"http://127.0.0.1:{port}", proc, env, log, port)
    try:
        conf.wait_healthy(server)
        yield server, demo, tmp / "instance" / "layso.sqlite3"
    finally:
        server.stop()


def answered(socks: list[socket.socket], within: float) -> tuple[int, list[socket.socket]]:
    """Wait for the server's first bytes on every socket: how many answered, and the sockets
    the server has not closed yet."""
    seen = _sockets.first_reads(socks, within)
    gone = {s for s, _, closed in seen if closed}
    return len(seen), [s for s in socks if s not in gone]


def closed_by_server(socks: list[socket.socket], within: float) -> int:
    """Read every socket until the server closes it; how many it closed within the time."""
    return len(_sockets.first_reads(socks, within, until_eof=True))


def close_all(socks: list[socket.socket]) -> None:
    for s in socks:
        s.close()


def healthy(server: Any) -> bool:
    try:
        r = requests.get(f"{server.url}/healthz", timeout=CLIENT_TIMEOUT_S)
    except requests.RequestException:
        return False
    return r.status_code == 200


def hall_client(server: Any, token: str, transport: str) -> socketio.Client:
    client = socketio.Client(reconnection=False)
    snapshots: list[dict] = []
    client.on("snapshot", snapshots.append, namespace="/hall")
    client.connect(
        server.url,
        namespaces=["/hall"],
        transports=[transport],
        auth={"token": token, "hall": "demo"},
        wait_timeout=10,
    )
    return client


def test_partial_requests_neither_freeze_nor_stay(flood_server: Any) -> None:
    server, _, _ = flood_server
    partial = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # one header, then nothing
    socks = _sockets.flood(server.port, FLOOD, partial)
    try:
        assert healthy(server), "/healthz did not answer while 1,100 partial requests were open"
        closed = closed_by_server(socks, within=HEADER_TIMEOUT_S + 15)
        assert closed == FLOOD, f"only {closed} of {FLOOD} partial requests were closed"
        assert healthy(server)
    finally:
        close_all(socks)


def test_unjoined_engineio_sockets_are_dropped_joined_ones_stay(flood_server: Any) -> None:
    server, demo, _ = flood_server
    token = demo["devices"]["display"]
    ws_client = hall_client(server, token, "websocket")
    poll_client = hall_client(server, token, "polling")
    upgrade = _sockets.websocket_upgrade(server.port)
    socks = _sockets.flood(server.port, FLOOD, upgrade)
    try:
        upgraded, still_open = answered(socks, within=20)
        assert upgraded == FLOOD, f"only {upgraded} of {FLOOD} websockets were answered"
        assert healthy(server), "/healthz did not answer while 1,100 bare websockets were open"
        # dropped by the join grace, well before the hub's ping timeout (10 s + 10 s) would
        closed = closed_by_server(still_open, within=JOIN_GRACE_S + 8)
        assert closed == len(still_open), (
            f"{len(still_open) - closed} of {FLOOD} unjoined websockets were not dropped"
        )
        # the screens that joined /hall before the flood are still there, past every grace
        assert ws_client.connected and "/hall" in ws_client.namespaces
        assert poll_client.connected and "/hall" in poll_client.namespaces
        got: list[Any] = []
        ws_client.on("queue.changed", got.append, namespace="/hall")  # what a display shows
        kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
        r = requests.post(
            f"{server.url}/api/v1/halls/demo/tickets", json={"service": "TP"}, headers=kiosk
        )
        assert r.status_code == 201
        deadline = time.monotonic() + 10
        while not got and time.monotonic() < deadline:
            time.sleep(0.05)  # waiting for the event to arrive in the client's thread
        assert got, "a joined screen no longer receives events"
    finally:
        close_all(socks)
        ws_client.disconnect()
        poll_client.disconnect()


class ForeignLock:
    """Another process's connection (a backup tool, sqlite3 in a shell) holding BEGIN EXCLUSIVE."""

    def __init__(self, path: Path, hold_max: float = 12.0) -> None:
        self.path = path
        self.hold_max = hold_max
        self.held = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        conn = sqlite3.connect(str(self.path), timeout=10, isolation_level=None)
        try:
            conn.execute("BEGIN EXCLUSIVE")
            self.held.set()
            self.release.wait(self.hold_max)
            conn.execute("ROLLBACK")
        finally:
            conn.close()

    def __enter__(self) -> ForeignLock:
        self.thread.start()
        assert self.held.wait(10), "could not take the SQLite write lock"
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.thread.join(15)


def test_a_websocket_closed_by_its_client_ends_its_connection(flood_server: Any) -> None:
    """After the close handshake the server ends the TCP connection (RFC 6455), as a browser
    expects: it does not wait on it for another HTTP request (under gevent it did, and the
    python-socketio client waited 3 s on every disconnect)."""
    server, _demo, _db = flood_server
    url = server.url.replace("http", "ws", 1) + "/socket.io/?EIO=4&transport=websocket"
    ws = websocket.create_connection(url, timeout=CLIENT_TIMEOUT_S)
    try:
        assert ws.recv().startswith("0{")  # engine.io's open packet
        ws.send_close()
        opcode, _ = ws.recv_data(control_frame=True)
        assert opcode == websocket.ABNF.OPCODE_CLOSE  # the close is answered
        sock = ws.sock
        try:  # the same connection, now asked for a page: nobody may answer it
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            answer = sock.recv(64)
        except (BrokenPipeError, ConnectionResetError):
            answer = b""
        assert answer == b"", answer
    finally:
        ws.shutdown()


def _count(path: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(str(path), timeout=10)
    try:
        tickets = conn.execute("SELECT count(*) FROM ticket").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM event").fetchone()[0]
        seq = conn.execute("SELECT event_seq FROM hall WHERE slug = 'demo'").fetchone()[0]
    finally:
        conn.close()
    return tickets, events, seq


def test_a_foreign_sqlite_lock_neither_freezes_nor_hangs_writes(flood_server: Any) -> None:
    server, demo, path = flood_server
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    issue_url = f"{server.url}/api/v1/halls/demo/tickets"
    tickets0, events0, seq0 = _count(path)
    answers: list[tuple[int, dict[str, str], float]] = []

    def issue() -> None:
        start = time.monotonic()
        try:
            r = requests.post(issue_url, json={"service": "TP"}, headers=kiosk, timeout=6)
            answers.append((r.status_code, dict(r.headers), time.monotonic() - start))
        except requests.RequestException as e:
            answers.append((0, {"error": repr(e)}, time.monotonic() - start))

    with ForeignLock(path):
        kiosks = [threading.Thread(target=issue) for _ in range(3)]
        for t in kiosks:
            t.start()
        # while the issues wait for the lock, the rest of the server keeps answering
        while any(t.is_alive() for t in kiosks):
            assert healthy(server), "/healthz did not answer while SQLite was locked"
            static = requests.get(f"{server.url}/static/layso.css", timeout=CLIENT_TIMEOUT_S)
            assert static.status_code == 200
        for t in kiosks:
            t.join()
        assert len(answers) == 3
        for status, headers, _ in answers:
            assert status in (201, 503), answers
            if status == 503:
                assert headers.get("Retry-After"), headers
        refused = sum(1 for status, _, _ in answers if status == 503)
    issued_during = 3 - refused
    r = requests.post(issue_url, json={"service": "TP"}, headers=kiosk, timeout=10)
    assert r.status_code == 201, r.text
    tickets, events, seq = _count(path)
    # nothing half-written: one ticket per 201, and the event log matches the hall's seq
    assert tickets == tickets0 + issued_during + 1
    assert seq - seq0 == events - events0 >= issued_during + 1
