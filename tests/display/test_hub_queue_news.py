"""Under the server, an area's queue.changed comes after the writes that moved it, with the
latest figures, and every one is in the log (layso/services/queue_news.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from layso.config import Settings
from layso.db import Database
from layso.models import Ticket, TicketStatus
from tests.conftest import api_ok, events_after, seed_demo_instance, server_env


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_the_server_records_the_latest_figures_and_stale_ones_at_start(
    mode: str, tmp_path: Path, servers: Any, hub_client: Any
) -> None:
    env = server_env(tmp_path / "instance", LAYSO_ASYNC_MODE=mode)
    demo = seed_demo_instance(env)
    kiosk, display_token = demo["devices"]["kiosk"], demo["devices"]["display"]
    server = servers(env, tmp_path / "server.log")
    display = hub_client(server.url, display_token).connect()
    display.wait_for("snapshot")
    first = api_ok(server.url, kiosk, "POST", "tickets", {"service": "TP"})["ticket"]
    for _ in range(4):
        api_ok(server.url, kiosk, "POST", "tickets", {"service": "TP"})
    display.wait_for("queue.changed", lambda b: (b["service"], b["waiting"]) == ("TP", 5))
    database = Database(Settings.from_env(env).database_url)
    log = events_after(database, 0)
    database.dispose()
    seqs = [b["seq"] for _, b in log]
    assert seqs == list(range(1, len(seqs) + 1))  # every event is in the log: none to heal
    assert [b["waiting"] for n, b in log if n == "queue.changed"][-1] == 5
    display.disconnect()
    server.stop()
    # as if the server had ended between a write and its pass: a ticket left the queue, and
    # the log's last figures for TP (5 waiting) are stale
    database = Database(Settings.from_env(env).database_url)
    with database.write() as s:
        s.execute(
            sa.update(Ticket).where(Ticket.id == first["id"]).values(status=TicketStatus.CANCELLED)
        )
    database.dispose()

    again = servers(env, tmp_path / "server.log")  # at start: the areas whose figures are stale
    later = hub_client(again.url, display_token, after=seqs[-1]).connect()
    body = later.wait_for("queue.changed")
    assert (body["service"], body["waiting"], body["seq"]) == ("TP", 4, seqs[-1] + 1)
