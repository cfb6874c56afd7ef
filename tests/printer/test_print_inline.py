"""Issue 12: the print job is written with its ticket (one transaction), tickets are drawn in a
worker process (never on the server's event loop), and a cached token still stops at once.
"""

# ruff: noqa: F811  (make_client is a fixture imported from test_printer_flow)
from __future__ import annotations

import hashlib
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from test_printer_flow import make_client  # noqa: F401  (a fixture)

from layso.models import PrintJob, Ticket
from layso.services import idempotency

WAIT_S = 30  # upper bound while awaiting an outcome; never reached when things work


def wait_until(check: Any, timeout: float = WAIT_S, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)  # polling stored state or /proc: there is no event to await
    raise AssertionError(f"{what} not reached within {timeout} s")


def test_the_print_job_is_committed_with_its_ticket(make_client, tmp_path, monkeypatch) -> None:
    c = make_client(f"preview:{tmp_path / 'tickets'}")
    service = c.app.extensions["layso.printer"]
    started: list[Any] = []
    # no background task runs: whatever exists now was written by the issuing request itself
    monkeypatch.setattr(service, "spawn", lambda fn, *args: started.append((fn, args)))
    ticket = c.issue("TP")
    jobs = c.read(
        lambda s: s.scalars(sa.select(PrintJob).where(PrintJob.ticket_id == ticket["id"])).all()
    )
    assert [(j.state, j.reprint) for j in jobs] == [("pending", False)]
    assert ticket["print_state"] == "pending"
    assert [fn.__name__ for fn, _ in started] == ["print_on_server"]  # printing after commit


def test_a_rolled_back_issue_leaves_no_print_job(make_client, tmp_path, monkeypatch) -> None:
    c = make_client(f"preview:{tmp_path / 'tickets'}")
    service = c.app.extensions["layso.printer"]
    started: list[Any] = []
    monkeypatch.setattr(service, "spawn", lambda fn, *args: started.append(fn))

    def fail(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("the transaction fails after the ticket and its job were written")

    monkeypatch.setattr(idempotency, "remember", fail)
    resp = c.http.post(
        "/api/v1/halls/demo/tickets",
        json={"service": "TP"},
        headers={"Authorization": f"Bearer {c.token('kiosk')}", "Idempotency-Key": "k" * 16},
    )
    assert resp.status_code == 500
    assert c.read(lambda s: s.scalar(sa.select(sa.func.count()).select_from(PrintJob))) == 0
    assert c.read(lambda s: s.scalar(sa.select(sa.func.count()).select_from(Ticket))) == 0
    assert started == []  # nothing prints a ticket that does not exist


def test_without_a_printer_the_ticket_says_so_at_once(make_client, monkeypatch) -> None:
    c = make_client("none")
    service = c.app.extensions["layso.printer"]
    started: list[Any] = []
    monkeypatch.setattr(service, "spawn", lambda fn, *args: started.append(fn))
    ticket = c.issue("TP")
    assert ticket["print_state"] == "none"
    assert c.read(lambda s: s.get(Ticket, ticket["id"]).print_state) == "none"
    assert started == []  # no second write transaction to find out


# --- the real server ---------------------------------------------------------------------------


ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture(scope="module")
def preview_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    [rootconf] = [
        p
        for p in request.config.pluginmanager.get_plugins()
        if getattr(p, "__file__", None) == str(ROOT_CONFTEST)
    ]
    tmp = tmp_path_factory.mktemp("preview")
    env = rootconf.server_env(tmp / "instance", LAYSO_PRINTER=f"preview:{tmp / 'tickets'}")
    demo = rootconf.seed_demo_instance(env)
    server = rootconf.start_server(env, tmp / "server.log")
    try:
        rootconf.wait_healthy(server)
        yield server, demo, tmp
    finally:
        server.stop()


def _children(pid: int) -> list[str]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                out.append((stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except (OSError, ValueError, IndexError):
            continue
    return out


def test_the_server_draws_tickets_in_a_worker_process(preview_server) -> None:
    server, demo, tmp = preview_server
    base = f"{server.url}/api/v1/halls/demo"
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    # the drawing process starts with the first ticket to draw, not with the server
    early = [c for c in _children(server.proc.pid) if "multiprocessing" in c]
    assert early == [], f"a drawing process before any ticket: {early}"
    r = requests.post(f"{base}/tickets", json={"service": "TP"}, headers=kiosk, timeout=10)
    assert r.status_code == 201, r.text
    ticket = r.json()["ticket"]

    def printed() -> bool:
        got = requests.get(f"{base}/tickets/{ticket['id']}", headers=kiosk, timeout=10)
        return got.json()["ticket"]["print_state"] == "printed"

    wait_until(printed, what="the ticket printed")
    assert list((tmp / "tickets").glob(f"*-{ticket['display_number']}.png"))
    spawned = [c for c in _children(server.proc.pid) if "multiprocessing" in c]
    assert spawned, f"no drawing process under the server: {_children(server.proc.pid)}"


def test_the_drawing_process_ends_when_its_server_is_killed(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """kill -9 leaves no orphan: the drawing process notices its parent is gone and exits (it
    used to wait on its work queue for ever, one per server a test suite had started)."""
    import os
    import signal

    [rootconf] = [
        p
        for p in request.config.pluginmanager.get_plugins()
        if getattr(p, "__file__", None) == str(ROOT_CONFTEST)
    ]
    env = rootconf.server_env(tmp_path / "instance", LAYSO_PRINTER=f"preview:{tmp_path / 't'}")
    demo = rootconf.seed_demo_instance(env)
    server = rootconf.start_server(env, tmp_path / "server.log")
    try:
        rootconf.api_ok(server.url, demo["devices"]["kiosk"], "POST", "tickets", {"service": "TP"})
        drawing = wait_until(
            lambda: _child_pids(server.proc.pid, "multiprocessing"), what="a drawing process"
        )
    finally:
        server.stop(signal.SIGKILL)

    def gone() -> bool:
        return not any(Path(f"/proc/{pid}").exists() for pid in drawing)

    wait_until(gone, what="the orphaned drawing process gone")
    assert all(not Path(f"/proc/{pid}").exists() for pid in drawing)
    assert os.getpid() not in drawing


def _child_pids(pid: int, marker: str) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            if int(fields[1]) == pid and marker in cmd:
                out.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return out


def test_a_token_revoked_elsewhere_stops_within_a_second(preview_server) -> None:
    """The token cache of the API keeps an answer half a second: a device revoked by another
    process (here: straight in the database) is refused soon after, never much later."""
    server, demo, tmp = preview_server
    base = f"{server.url}/api/v1/halls/demo"
    token = demo["devices"]["display"]
    headers = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{base}/state", headers=headers, timeout=10).status_code == 200
    [path] = [p for p in (tmp / "instance").glob("*") if p.suffix in (".db", ".sqlite3")]
    db = sqlite3.connect(path, timeout=10)
    try:
        with db:
            changed = db.execute(
                "UPDATE device SET revoked_at = CURRENT_TIMESTAMP WHERE token_hash = ?",
                (hashlib.sha256(token.encode()).hexdigest(),),
            ).rowcount
    finally:
        db.close()
    assert changed == 1
    refused_at = time.monotonic()
    wait_until(
        lambda: requests.get(f"{base}/state", headers=headers, timeout=10).status_code == 401,
        timeout=2.0,
        what="the revoked display refused",
    )
    assert time.monotonic() - refused_at < 2.0
