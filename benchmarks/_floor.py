"""The floor: a bare Flask-SocketIO app on the same async server, with one SQLite WAL transaction.

    python benchmarks/_floor.py PORT MODE DBFILE

``POST /tickets`` does what issuing a ticket costs at the least: in one transaction it bumps the
area-day counter (INSERT … ON CONFLICT … RETURNING), inserts the ticket and its event, commits,
then emits ``ticket.issued`` to namespace ``/hall``. ``POST /emit`` only emits (the bare stack of
the press-to-display figure). The benchmarks run it beside Layso in the same run, so the ratio,
not the machine's absolute speed, is the figure.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # monkey-patch before anything else is imported
    _mode = sys.argv[2]
    if _mode == "eventlet":
        import warnings

        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import eventlet

        eventlet.monkey_patch()
    elif _mode == "gevent":
        from gevent import monkey

        monkey.patch_all()

import json
import secrets
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS daily (service TEXT, day TEXT, issued INTEGER,
                                  PRIMARY KEY (service, day));
CREATE TABLE IF NOT EXISTS ticket (id INTEGER PRIMARY KEY, service TEXT, day TEXT,
                                   number INTEGER, code TEXT, issued_at TEXT);
CREATE TABLE IF NOT EXISTS event (id INTEGER PRIMARY KEY, name TEXT, ticket_id INTEGER,
                                  payload TEXT);
"""


@contextmanager
def floor_server(mode: str = "eventlet") -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the floor app on a free loopback port (fresh database); yield its URL."""
    import requests
    from _server import free_port

    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.Popen(
            [sys.executable, __file__, str(port), mode, str(Path(tmp) / "floor.db")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{url}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise SystemExit("the floor app (bare Flask-SocketIO) did not start")
                time.sleep(0.05)
            yield url, proc
        finally:
            proc.terminate()
            proc.wait(timeout=10)


def serve(port: int, mode: str, path: str) -> None:
    from flask import Flask, jsonify, request
    from flask_socketio import SocketIO

    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)

    app = Flask("floor")
    sio = SocketIO(app, async_mode=mode, logger=False, engineio_logger=False)

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    @app.post("/emit")
    def emit() -> Any:
        body = request.get_json()
        sio.emit("ticket.called", {"ticket": {"id": body["id"]}, "counter": 1}, namespace="/hall")
        return jsonify({"ok": True})

    @app.post("/tickets")
    def tickets() -> Any:
        service = request.get_json()["service"]
        now = datetime.now(UTC).isoformat()
        day = now[:10]
        # sqlite3 is C: nothing in this block yields, so one connection serves every green thread
        db.execute("BEGIN IMMEDIATE")
        try:
            (count,) = db.execute(
                "INSERT INTO daily (service, day, issued) VALUES (?, ?, 1) "
                "ON CONFLICT (service, day) DO UPDATE SET issued = issued + 1 RETURNING issued",
                (service, day),
            ).fetchone()
            cur = db.execute(
                "INSERT INTO ticket (service, day, number, code, issued_at) VALUES (?, ?, ?, ?, ?)",
                (service, day, 1000 + count, secrets.token_urlsafe(12), now),
            )
            ticket = {"id": cur.lastrowid, "service": service, "number": 1000 + count}
            db.execute(
                "INSERT INTO event (name, ticket_id, payload) VALUES (?, ?, ?)",
                ("ticket.issued", ticket["id"], json.dumps(ticket)),
            )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        sio.emit("ticket.issued", {"ticket": ticket}, namespace="/hall")
        return jsonify({"ticket": ticket}), 201

    @sio.on("connect", namespace="/hall")
    def connect(auth: Any = None) -> bool:
        return True

    extra = {"allow_unsafe_werkzeug": True} if mode == "threading" else {}
    sio.run(app, host="127.0.0.1", port=port, log_output=False, **extra)


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2], sys.argv[3])
