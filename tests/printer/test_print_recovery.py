"""Lost or duplicated printing (issue 10): a crash mid-burst, a silent network printer, bad or
repeated answers from a print agent.

In-process apps (threading) reuse the helpers of test_printer_flow; the crash drill kills the
real server (eventlet) with SIGKILL while its tickets wait for a printer that never takes them.
"""

# ruff: noqa: F811  (make_client is a fixture imported from test_printer_flow)
from __future__ import annotations

import signal
import socket
import time
from datetime import timedelta
from typing import Any

import requests
import sqlalchemy as sa
from test_printer_flow import (  # noqa: F401  (make_client: a fixture)
    Client,
    agent_client,
    make_client,
    received,
)

from layso.models import Device, DeviceKind, PrintJob, Ticket

WAIT_S = 30  # upper bound while awaiting an outcome; never reached when things work


def wait_until(check: Any, timeout: float = WAIT_S, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)  # polling stored state: there is no event to await
    raise AssertionError(f"{what} not reached within {timeout} s")


# --- the server restarts with tickets still waiting for their print --------------------------


def test_recover_prints_fresh_pending_tickets_and_fails_old_ones(make_client, tmp_path) -> None:
    c = make_client(f"preview:{tmp_path / 'tickets'}")
    a, b, old = c.issue("TP"), c.issue("TP"), c.issue("TP")
    c.settle()
    db = c.app.extensions["layso.db"]
    with db.write() as s:  # the state a kill -9 leaves behind
        s.execute(sa.delete(PrintJob).where(PrintJob.ticket_id == a["id"]))  # died before its job
        for t in (b, old):  # died while printing
            s.execute(
                sa.update(PrintJob)
                .where(PrintJob.ticket_id == t["id"])
                .values(state="pending", done_at=None)
            )
        s.execute(
            sa.update(Ticket)
            .where(Ticket.id.in_([a["id"], b["id"], old["id"]]))
            .values(print_state="pending")
        )
        long_ago = c.app.extensions["layso.clock"]() - timedelta(minutes=20)
        s.execute(sa.update(Ticket).where(Ticket.id == old["id"]).values(issued_at=long_ago))
        s.execute(
            sa.update(PrintJob).where(PrintJob.ticket_id == old["id"]).values(created_at=long_ago)
        )
    after = c.seq()

    counts = c.app.extensions["layso.printer"].recover("http://hall.example")
    c.settle()

    assert counts["resumed"] == 2 and counts["failed"] == 1
    states = {t["id"]: c.get(f"/tickets/{t['id']}", "kiosk")[1]["ticket"]["print_state"]
              for t in (a, b, old)}  # fmt: skip
    assert states == {a["id"]: "printed", b["id"]: "printed", old["id"]: "failed"}
    pending = c.read(
        lambda s: s.scalar(sa.select(sa.func.count()).where(PrintJob.state == "pending"))
    )
    assert pending == 0
    told = [e for e in c.events("kiosk", after) if e["name"] == "print.failed"]
    assert [e["ticket"] for e in told] == [old["id"]]


class StuckPrinter:
    """A TCP port whose accept queue is full: every connection attempt hangs (no SYN answer)."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(3):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", self.port))
            self.fillers.append(s)

    def close(self) -> None:
        for s in self.fillers:
            s.close()
        self.listener.close()


def _ticket_states(url: str, token: str, ids: list[int]) -> dict[int, str]:
    out = {}
    for i in ids:
        r = requests.get(
            f"{url}/api/v1/halls/demo/tickets/{i}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        out[i] = r.json()["ticket"]["print_state"]
    return out


def test_kill_9_mid_burst_leaves_no_ticket_pending(
    tmp_path, server_env_factory, demo_seed, servers
):
    stuck = StuckPrinter()
    try:
        env = server_env_factory(
            tmp_path / "instance",
            LAYSO_ASYNC_MODE="eventlet",
            LAYSO_PRINTER=f"tcp://127.0.0.1:{stuck.port}?timeout=30",
        )
        demo = demo_seed(env)
        kiosk = demo["devices"]["kiosk"]
        server = servers(env, tmp_path / "server.log")
        ids = []
        for _ in range(4):
            r = requests.post(
                f"{server.url}/api/v1/halls/demo/tickets",
                json={"service": "TP"},
                headers={"Authorization": f"Bearer {kiosk}"},
                timeout=10,
            )
            assert r.status_code == 201, r.text
            ids.append(r.json()["ticket"]["id"])
        assert set(_ticket_states(server.url, kiosk, ids).values()) == {"pending"}
        server.stop(signal.SIGKILL)

        env2 = dict(env, LAYSO_PRINTER=f"preview:{tmp_path / 'tickets'}")
        again = servers(env2, tmp_path / "server2.log")
        final = wait_until(
            lambda: (
                (st := _ticket_states(again.url, kiosk, ids))
                and "pending" not in st.values()
                and st
            ),
            what="every ticket printed or failed",
        )
        assert set(final.values()) == {"printed"}  # fresh: printed once each after the restart
        assert len(list((tmp_path / "tickets").glob("*.png"))) == len(ids)
    finally:
        stuck.close()


# --- a network printer that takes bytes but never answers status requests ---------------------


def test_a_silent_network_printer_is_unknown_and_does_not_slow_the_queue(
    make_client, fake_printer
) -> None:
    printer = fake_printer("no_answer")
    c = make_client(printer.uri)
    after = c.seq()
    tickets = [c.issue("TP") for _ in range(5)]
    # unfixed, each ticket waited 3 s for a status reply first: 5 tickets took over 15 s
    assert c.app.extensions["layso.printer"].wait_idle(8), "the queue was held per ticket"
    printer.wait_for_tickets(len(tickets))
    states = {c.get(f"/tickets/{t['id']}", "kiosk")[1]["ticket"]["print_state"] for t in tickets}
    assert states == {"printed"}
    kiosk_state = c.read(
        lambda s: (
            s.scalars(sa.select(Device).where(Device.kind == DeviceKind.KIOSK))
            .first()
            .printer_state
        )
    )
    assert kiosk_state == "unknown"
    said = [e for e in c.events("manager", after) if e["name"] == "printer.status"]
    assert [p["state"] for p in said] == ["unknown"]
    printers = c.get("/state", "manager")[1]["printers"]
    assert [p["state"] for p in printers] == ["unknown"]


# --- a print agent's bad or repeated answers -----------------------------------------------------


def _agent_with_job(c: Client) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    agent = agent_client(c)
    agent.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    ticket = c.issue("TP")
    c.settle()
    [job] = received(agent, "print.job")
    return agent, ticket, job


def test_malformed_print_results_are_refused_and_change_nothing(make_client) -> None:
    c = make_client("none")
    agent, ticket, job = _agent_with_job(c)
    after = c.seq()
    bad = [
        {"job": 2**70, "ticket": ticket["id"], "ok": True, "printer": "ok"},
        {"ticket": 2**70, "ok": True, "printer": "ok"},
        {"job": -1, "ok": True, "printer": "ok"},
        {"job": job["job"], "ok": True, "printer": ["ok"]},
        {"job": job["job"], "ok": True, "printer": "on fire"},
        {"job": job["job"], "ok": True, "printer": "ok", "detail": {"x": 1}},
        {"job": job["job"], "ok": "yes", "printer": "ok"},
        [job["job"]],
        "printed",
    ]
    for body in bad:
        ack = agent.emit("print.result", body, namespace="/hall", callback=True)
        assert isinstance(ack, dict) and ack["ok"] is False, (body, ack)
    for name, body in (("print.hello", {"printer": 7}), ("print.status", ["ok"])):
        ack = agent.emit(name, body, namespace="/hall", callback=True)
        assert isinstance(ack, dict) and ack["ok"] is False, (name, ack)
    stored = c.read(lambda s: s.get(PrintJob, job["job"]))
    assert (stored.state, stored.attempts) == ("pending", 0)
    assert c.events("manager", after) == []
    printers = c.get("/state", "manager")[1]["printers"]
    assert [p["state"] for p in printers] == ["ok"]
    agent.disconnect("/hall")


def test_a_repeated_stale_print_result_does_not_flip_the_printer_state(make_client) -> None:
    c = make_client("none")
    agent, ticket, job = _agent_with_job(c)
    done = {"ticket": ticket["id"], "job": job["job"], "ok": True, "printer": "paper_low"}
    assert agent.emit("print.result", done, namespace="/hall", callback=True)["state"] == "done"
    after = c.seq()
    stale = dict(done, ok=False, printer="offline", error="timeout")
    ack = agent.emit("print.result", stale, namespace="/hall", callback=True)
    assert ack == {"ok": True, "job": job["job"], "state": "duplicate"}
    assert c.events("manager", after) == [] and c.events("kiosk", after) == []
    printers = c.get("/state", "manager")[1]["printers"]
    assert [p["state"] for p in printers] == ["paper_low"]
    stored = c.read(lambda s: s.get(PrintJob, job["job"]))
    assert (stored.state, stored.attempts) == ("done", 1)
    agent.disconnect("/hall")
