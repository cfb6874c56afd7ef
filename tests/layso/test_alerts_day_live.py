"""A scripted day on the real server (eventlet on SQLite, gevent on PostgreSQL; the monitor
evaluating every 0.3 s): every kind of alert fires once and clears once, as a manager's real
python-socketio client sees it, and the alerts report counts them.

The thresholds are whole minutes (the config API refuses fractions), so the day's clock is moved
in the database instead: a ticket's ``queued_at`` / ``issued_at`` (ticket_wait), a counter's
``state_since`` and its last ticket's times (counter_idle, counter_paused) are set minutes into
the past while the server runs. queue_length, printer_paper and device_offline need no moving:
a per-area queue limit of 2, a print agent's ``print.status`` and beat, and a display that goes
away for the hall's 3 seconds (connected devices stay online between their beats).
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from layso.config import normalize_database_url
from layso.db import Database
from layso.models import Counter, Hall, Ticket
from tests.conftest import (
    PG_BASE,
    Server,
    api_ok,
    create_pg_database,
    drop_pg_database,
    need,
    postgres_available,
    seed_demo_instance,
    server_env,
    start_server,
)
from tests.layso import test_device_health_live
from tests.layso.test_device_health_live import Client

pytestmark = pytest.mark.server

clients = test_device_health_live.clients  # the fixture: python-socketio clients closed after


@pytest.fixture(params=["sqlite-eventlet", "postgresql-gevent"])
def server(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Server, Any, Database]]:
    backend, mode = request.param.split("-")
    url = f"sqlite:///{tmp_path / 'instance' / 'layso.sqlite3'}"
    extra = {}
    if backend == "postgresql":
        need(postgres_available(), f"PostgreSQL is not reachable at {PG_BASE}")
        url = create_pg_database()
        extra["LAYSO_DATABASE_URL"] = url
    env = server_env(
        tmp_path / "instance", LAYSO_ASYNC_MODE=mode, LAYSO_ALERT_INTERVAL="0.3", **extra
    )
    try:
        demo = seed_demo_instance(env)
        srv = start_server(env, tmp_path / "server.log")
        database = Database(normalize_database_url(url))
        yield srv, demo, database
        database.dispose()
        srv.stop()
    finally:
        if backend == "postgresql":
            drop_pg_database(url)


def _call(srv: Server, token: str, method: str, path: str, body: Any = None) -> Any:
    return api_ok(srv.url, token, method, path, body)


def _back(
    database: Database, minutes: float, *, ticket: int | None = None, counter: int = 0
) -> None:
    """Move a ticket's wait, or a counter's state and its tickets of today, minutes back."""
    by = timedelta(minutes=minutes)
    with database.write() as s:
        if ticket is not None:
            row = s.get(Ticket, ticket)
            assert row is not None
            row.queued_at -= by
            row.issued_at -= by
        if counter:
            hall = s.scalar(sa.select(Hall).where(Hall.slug == "demo"))
            assert hall is not None
            c = s.scalar(
                sa.select(Counter).where(Counter.hall_id == hall.id, Counter.number == counter)
            )
            assert c is not None and c.state_since is not None
            c.state_since -= by
            for t in s.scalars(sa.select(Ticket).where(Ticket.counter_id == c.id)):
                for name in ("called_at", "started_at", "finished_at"):
                    if getattr(t, name) is not None:
                        setattr(t, name, getattr(t, name) - by)


def _cleared(manager: Client, raised: dict[str, Any], key: str) -> dict[str, Any]:
    """Await the clearing of ``key``: its duration is the time between the two events."""
    cleared = manager.wait_for("alert.cleared", lambda b: b["key"] == key)
    assert cleared["kind"] == raised["kind"] and cleared["raised_at"] == raised["at"]
    assert isinstance(cleared["duration_s"], int) and cleared["duration_s"] >= 0
    spent = datetime.fromisoformat(cleared["at"]) - datetime.fromisoformat(raised["at"])
    assert abs(cleared["duration_s"] - spent.total_seconds()) <= 1
    return cleared


def test_every_alert_fires_once_and_clears_once_during_a_scripted_day(
    server: tuple[Server, Any, Database], clients: Callable[[str, str], Client]
) -> None:
    srv, demo, database = server
    boss, kiosk = demo["manager"]["token"], demo["devices"]["kiosk"]
    clerk = {c["number"]: c["token"] for c in demo["counters"]}
    _call(
        srv,
        boss,
        "PATCH",
        "config/hall",
        {
            "alert_settings": {
                "device_offline_s": 3,  # shorter than the 25 s between two beats
                "idle_counter_min": 240,  # nobody idle until the idle part of the day
                "pause_max_min": 1,
                "max_waiting_by_service": {"DD": 2},
            }
        },
    )
    devices = _call(srv, boss, "GET", "alerts")["devices"]
    agent_id = next(d["device"] for d in devices if d["kind"] == "print-agent")
    display_id = next(d["device"] for d in devices if d["kind"] == "display")
    manager = clients(srv.url, boss).connect()
    assert manager.wait_for("snapshot")["alerts"] == []

    def raised(key: str) -> dict[str, Any]:
        return manager.wait_for("alert.raised", lambda b: b["key"] == key)  # type: ignore[no-any-return]

    # 1. ticket_wait: a Lao động ticket (target 15 min) has waited 16 min, then 24 min (> 22.5)
    late = _call(srv, kiosk, "POST", "tickets", {"service": "LD"})["ticket"]
    _back(database, 16, ticket=late["id"])
    warning = raised(f"ticket_wait:{late['id']}:warning")
    assert warning["level"] == "warning" and warning["ticket"] == late["id"]
    assert late["display_number"] in warning["message"]
    _back(database, 8, ticket=late["id"])
    critical = raised(f"ticket_wait:{late['id']}:critical")
    assert critical["level"] == "critical" and critical["values"]["waited_s"] >= 24 * 60
    _cleared(manager, warning, warning["key"])  # critical replaces warning
    assert _call(srv, clerk[4], "POST", "counters/4/next")["ticket"]["id"] == late["id"]
    _cleared(manager, critical, critical["key"])
    _call(srv, clerk[4], "POST", "counters/4/start")
    _call(srv, clerk[4], "POST", "counters/4/finish")

    # 2. queue_length: two wait in Đất đai (its limit 2); counter 3 calls one
    first = _call(srv, kiosk, "POST", "tickets", {"service": "DD"})["ticket"]
    second = _call(srv, kiosk, "POST", "tickets", {"service": "DD"})["ticket"]
    queue = raised("queue_length:DD")
    assert queue["level"] == "warning" and queue["values"] == {"waiting": 2, "threshold": 2}
    assert _call(srv, clerk[3], "POST", "counters/3/next")["ticket"]["id"] == first["id"]
    _cleared(manager, queue, "queue_length:DD")
    _call(srv, clerk[3], "POST", "counters/3/start")
    _call(srv, clerk[3], "POST", "counters/3/finish")

    # 3. counter_idle: counter 3 finished 2 min ago, one has waited 2 min, the limit is 1 min
    _back(database, 2, ticket=second["id"], counter=3)
    _call(srv, boss, "PATCH", "config/hall", {"alert_settings": {"idle_counter_min": 1}})
    idle = raised("counter_idle:3")
    assert idle["counter"] == 3 and idle["values"]["waiting"] == 1
    assert idle["values"]["idle_s"] >= 120
    assert _call(srv, clerk[3], "POST", "counters/3/next")["ticket"]["id"] == second["id"]
    _cleared(manager, idle, "counter_idle:3")
    _call(srv, clerk[3], "POST", "counters/3/start")
    _call(srv, clerk[3], "POST", "counters/3/finish")

    # 4. counter_paused: counter 5 went to a meeting 2 min ago (limit 1 min); it resumes
    _call(srv, clerk[5], "POST", "counters/5/pause", {"reason": "meeting"})
    _back(database, 2, counter=5)
    paused = raised("counter_paused:5")
    assert paused["values"]["pause_code"] == "meeting" and "Đi họp" in paused["message"]
    _call(srv, clerk[5], "POST", "counters/5/resume")
    _cleared(manager, paused, "counter_paused:5")

    # 5. device_offline: the wall display beats, goes away for the hall's 3 s, and comes back
    display = clients(srv.url, demo["devices"]["display"]).connect()
    assert display.beat({"version": "wall-1"}) == {"ok": True}
    manager.wait_for("device.status", lambda b: b["device"] == display_id and b["online"])
    display.sio.disconnect()
    gone = raised(f"device_offline:{display_id}")
    assert gone["level"] == "critical"
    back = clients(srv.url, demo["devices"]["display"]).connect()
    assert back.beat({"version": "wall-1"}) == {"ok": True}
    _cleared(manager, gone, gone["key"])

    # 6. printer_paper: the print agent's printer runs low, runs out (print.status), and its
    # next beat says the paper is back (its print.status would say the same; the beat alone
    # must do: before, the paper_out that print.status wrote on its row outlived it)
    agent = clients(srv.url, demo["devices"]["print-agent"]).connect()
    assert agent.sio.call("print.hello", {"printer": "ok"}, namespace="/hall", timeout=10)["ok"]
    paper = {}
    for state in ("paper_low", "paper_out"):
        answer = agent.sio.call("print.status", {"printer": state}, namespace="/hall", timeout=10)
        assert answer == {"ok": True}
        paper[state] = raised(f"printer_paper:{agent_id}:{state}")
        assert paper[state]["values"]["state"] == state
    low, out = paper["paper_low"], paper["paper_out"]
    assert (low["level"], out["level"]) == ("warning", "critical")
    _cleared(manager, low, low["key"])  # out of paper replaces low on paper
    assert agent.beat({"version": "agent-test", "paper": "ok"}) == {"ok": True}
    _cleared(manager, out, out["key"])

    # more rounds of the evaluator: a last alert (counter 1 paused) is raised and cleared after
    # all the others, and nothing of the day was raised or cleared again meanwhile
    _call(srv, clerk[1], "POST", "counters/1/pause", {"reason": "lunch"})
    _back(database, 2, counter=1)
    last = raised("counter_paused:1")
    _call(srv, clerk[1], "POST", "counters/1/resume")
    _cleared(manager, last, "counter_paused:1")

    keys = [
        f"ticket_wait:{late['id']}:warning",
        f"ticket_wait:{late['id']}:critical",
        "queue_length:DD",
        "counter_idle:3",
        "counter_paused:5",
        f"printer_paper:{agent_id}:paper_low",
        f"printer_paper:{agent_id}:paper_out",
        f"device_offline:{display_id}",
        "counter_paused:1",
    ]
    assert Tally(b["key"] for b in manager.named("alert.raised")) == Tally(keys)
    assert Tally(b["key"] for b in manager.named("alert.cleared")) == Tally(keys)
    board = _call(srv, boss, "GET", "alerts")
    assert board["alerts"] == []
    # connected, the display and the agent stayed online between their beats, however long
    online = {d["device"]: d["online"] for d in board["devices"]}
    assert online[display_id] is True and online[agent_id] is True

    # the report counts them, by kind
    report = _call(srv, boss, "GET", "reports/alerts")
    by_kind = {row["kind"]: (row["alerts"], row["critical"]) for row in report["by_kind"]}
    assert by_kind == {
        "ticket_wait": (2, 1),
        "queue_length": (1, 0),
        "counter_idle": (1, 0),
        "counter_paused": (2, 0),
        "printer_paper": (2, 1),
        "device_offline": (1, 1),
    }
    assert report["total"]["alerts"] == 9 and report["total"]["still_open"] == 0
    durations = sum(b["duration_s"] for b in manager.named("alert.cleared"))
    assert abs(report["total"]["open_s"] - durations) <= len(keys)


def test_a_printer_out_of_paper_is_one_alert_and_clears_when_its_agent_says_so(
    server: tuple[Server, Any, Database], clients: Callable[[str, str], Client]
) -> None:
    """The kiosk prints through the print agent: its beat repeats what its last print told it
    (paper_out), which the agent's printer already says. One printer, one alert, cleared when
    the agent reads the paper back; before, the kiosk's own alert stayed until the next print."""
    srv, demo, _ = server
    boss = demo["manager"]["token"]
    devices = _call(srv, boss, "GET", "alerts")["devices"]
    agent_id = next(d["device"] for d in devices if d["kind"] == "print-agent")
    manager = clients(srv.url, boss).connect()
    manager.wait_for("snapshot")
    kiosk = clients(srv.url, demo["devices"]["kiosk"]).connect()
    agent = clients(srv.url, demo["devices"]["print-agent"]).connect()
    assert agent.sio.call("print.hello", {"printer": "ok"}, namespace="/hall", timeout=10)["ok"]

    # the kiosk's last print said paper_out (it was written before the agent's report below)
    assert kiosk.beat({"version": "kiosk@1", "paper": "paper_out"}) == {"ok": True}
    assert agent.beat({"version": "agent@1", "paper": "paper_out"}) == {"ok": True}
    out = manager.wait_for("alert.raised", lambda b: b["kind"] == "printer_paper")
    assert out["key"] == f"printer_paper:{agent_id}:paper_out"
    assert [a["key"] for a in _call(srv, boss, "GET", "alerts")["alerts"]] == [out["key"]]

    assert agent.beat({"paper": "ok"}) == {"ok": True}  # paper back in; no ticket printed yet
    _cleared(manager, out, out["key"])
    assert _call(srv, boss, "GET", "alerts")["alerts"] == []
    assert [b["key"] for b in manager.named("alert.raised")] == [out["key"]]
