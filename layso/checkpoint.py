"""SQLite's write-ahead log, copied back into the database file off the event loop.

In WAL mode SQLite copies the log back into the database (a checkpoint, with an fsync of the
database file) inside the commit that takes the log past ``wal_autocheckpoint`` pages (1,000 by
default). Under a green server that commit holds the one event loop for the whole copy: every
request and every screen waits. Measured with ``benchmarks/latency.py``: about one `next` in
forty checkpointed, and took 3–4 ms more than the others (the p99); a cheap mini-PC's flash
makes that fsync slower still.

``layso run`` on SQLite starts a :class:`Checkpointer` instead: a native thread (not a green
one: the copy runs beside the event loop, sqlite3 releases the GIL while it works) that asks for
a PASSIVE checkpoint every :data:`EVERY_S` seconds (one that never waits for a reader or a
writer). The server's own connections then only checkpoint themselves past
:data:`SAFETY_PAGES`, in case the thread ever falls behind.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

logger = logging.getLogger(__name__)

EVERY_S = 0.5
SAFETY_PAGES = 20_000  # ~80 MB of log with 4 KiB pages: reached only if the thread stalls


def _native() -> tuple[Callable[..., Any], Callable[[float], None]]:
    """The operating system's ``start_new_thread`` and ``sleep``, under any green patching."""
    if "eventlet" in sys.modules:
        from eventlet import patcher

        if patcher.is_monkey_patched("thread"):
            return patcher.original("_thread").start_new_thread, patcher.original("time").sleep
    if "gevent" in sys.modules:
        from gevent import monkey

        if monkey.is_module_patched("threading"):
            return (
                monkey.get_original("_thread", "start_new_thread"),
                monkey.get_original("time", "sleep"),
            )
    import _thread

    return _thread.start_new_thread, time.sleep


class Checkpointer:
    """Checkpoints one SQLite database file from a native thread, while the server runs."""

    def __init__(self, path: Path, every_s: float = EVERY_S) -> None:
        self.path = path
        self.every_s = every_s
        self.failures = 0

    def run_once(self, conn: sqlite3.Connection) -> tuple[int, int, int]:
        """One PASSIVE checkpoint: (busy, frames in the log, frames checkpointed)."""
        busy, log, done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return int(busy), int(log), int(done)

    def loop(self, sleep: Callable[[float], None]) -> None:
        """The thread, for as long as the server runs (it ends with the process)."""
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            while True:
                sleep(self.every_s)
                try:
                    self.run_once(conn)
                except sqlite3.Error as exc:  # the file went away, a disk error: say it, go on
                    if "locked" in str(exc):
                        continue  # another process holds the database: try again next pass
                    self.failures += 1
                    if self.failures in (1, 10, 100):
                        logger.warning("checkpoint of %s failed: %s", self.path, exc)
        finally:
            conn.close()

    def start(self, *engines: sa.Engine) -> None:
        """Raise the engines' own autocheckpoint to the safety net (their pooled connections
        are reopened to take it), then start the thread."""
        for engine in engines:
            event.listen(engine, "connect", _safety_net)
            engine.dispose()
        start_new_thread, sleep = _native()
        start_new_thread(self.loop, (sleep,))
        logger.info("SQLite's log is checkpointed off the event loop every %.1f s", self.every_s)


def _safety_net(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={SAFETY_PAGES}")


def start_for(db: Any) -> Checkpointer | None:
    """The server's checkpointer for a SQLite file database (None for PostgreSQL or memory)."""
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    checkpointer = Checkpointer(Path(url.database))
    checkpointer.start(*db.engines)
    return checkpointer
