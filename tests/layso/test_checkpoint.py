"""SQLite's log is copied back into the database by the server's checkpointer thread, beside
the event loop, not inside a request's commit (layso/checkpoint.py)."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from layso.checkpoint import SAFETY_PAGES, Checkpointer, _native
from layso.db import Database, upgrade
from tests.conftest import api_ok


def test_a_pass_copies_the_log_back_without_waiting_for_anyone(tmp_path: Path) -> None:
    path = tmp_path / "layso.sqlite3"
    db = Database(f"sqlite:///{path}")
    upgrade(db)
    reader = sqlite3.connect(path, isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM hall").fetchone()  # a reader holds an old snapshot
    with db.write() as s:
        s.connection().exec_driver_sql("UPDATE hall SET event_seq = event_seq + 1")
    checkpointer = Checkpointer(path)
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    busy, log, done = checkpointer.run_once(conn)  # PASSIVE: returns at once, reader or not
    assert busy == 0 and log > 0
    reader.execute("COMMIT")
    busy, log, done = checkpointer.run_once(conn)
    assert (busy, done) == (0, log)  # every frame of the log is in the database now
    conn.close()
    reader.close()
    db.dispose()


def test_the_thread_is_a_native_one_outside_a_green_server() -> None:
    import _thread

    start, sleep = _native()
    assert start is _thread.start_new_thread and sleep is time.sleep


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_the_running_server_checkpoints_before_any_commit_would(
    mode: str, tmp_path: Path, server_env_factory: Any, demo_seed: Any, servers: Any
) -> None:
    """Forty tickets leave a few hundred pages in the log, far below SQLite's own threshold
    (1,000 pages, in the commit) and the server's safety net: the database file only grows
    with them if the server's thread copied them back."""
    env = server_env_factory(tmp_path / "instance", LAYSO_ASYNC_MODE=mode)
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    path = tmp_path / "instance" / "layso.sqlite3"
    wal = Path(f"{path}-wal")
    before = path.stat().st_size
    for _ in range(40):
        api_ok(server.url, demo["devices"]["kiosk"], "POST", "tickets", {"service": "TP"})
    # below SQLite's own threshold (and the server's safety net): no commit checkpointed
    assert wal.stat().st_size // 4096 < 1000 < SAFETY_PAGES
    # the thread's next pass (every 0.5 s) grows the file; nothing else would (polled: a file
    # has no event to wait for)
    deadline = time.monotonic() + 30
    while path.stat().st_size == before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.stat().st_size > before, "the log was not copied back by the server"
