"""The print agent on a kiosk PC: `layso print-agent` against the real server, printing on a
fake network printer; killed and restarted, it prints every ticket exactly once."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from escpos_decode import decode

from layso_agent.agent import NAMESPACE, JobRunner, Journal, PrintAgent, SeqState, state_dir
from layso_agent.delivery import Outcome, view_to_dict
from layso_agent.driver import parse_printer_uri
from layso_agent.ticket import sample_ticket

ROOT = Path(__file__).resolve().parents[2]


# --- the job runner alone: journal first, then the answer --------------------------------------


class FakePrinter:
    def __init__(self) -> None:
        self.printed: list[str] = []

    def __call__(self, config: Any, view: Any) -> Outcome:
        self.printed.append(view.display_number)
        return Outcome(ok=True, state="ok", attempts=1)


def job(job_id: int, number: str = "1001") -> dict[str, Any]:
    view = sample_ticket(display_number=number)
    return {
        "seq": 10 + job_id,
        "job": job_id,
        "ticket": {"id": 100 + job_id},
        "view": view_to_dict(view),
    }


def runner(tmp_path: Path, printer: FakePrinter, answers: list[Any]) -> JobRunner:
    return JobRunner(
        parse_printer_uri("none"),
        Journal(tmp_path / "agent.journal"),
        lambda event, body: answers.append((event, body)),
        deliver_fn=printer,
        status_fn=lambda config: "ok",
    )


def test_a_job_is_journaled_before_it_is_answered(tmp_path: Path) -> None:
    printer, answers = FakePrinter(), []
    seen_in_journal: list[bool] = []
    r = runner(tmp_path, printer, answers)
    r.answer = lambda event, body: seen_in_journal.append(
        Journal(tmp_path / "agent.journal").get(body["job"]) is not None
    )

    r.run(job(1))

    assert printer.printed == ["1001"]
    assert seen_in_journal == [True]  # on disk when the answer went out


def test_a_journaled_job_is_answered_again_without_printing(tmp_path: Path) -> None:
    printer, answers = FakePrinter(), []
    runner(tmp_path, printer, answers).run(job(1))

    # the agent restarts (a new runner, the same journal) and gets the job again
    again = runner(tmp_path, printer, answers)
    again.run(job(1))
    again.run(job(2, "1002"))

    assert printer.printed == ["1001", "1002"]
    assert [(e, b["job"], b["ok"]) for e, b in answers] == [
        ("print.result", 1, True),
        ("print.result", 1, True),
        ("print.result", 2, True),
    ]
    assert answers[1][1]["attempts"] == 0


def test_a_torn_journal_line_is_dropped_and_the_rest_kept(tmp_path: Path) -> None:
    path = tmp_path / "agent.journal"
    path.write_text('{"job": 1, "ok": true}\n{"job": 2, "o')

    journal = Journal(path)
    journal.add({"job": 3, "ok": True})

    assert sorted(journal.entries) == [1, 3]
    assert sorted(Journal(path).entries) == [1, 3]


def test_a_bad_job_is_answered_as_failed_not_printed(tmp_path: Path) -> None:
    printer, answers = FakePrinter(), []

    runner(tmp_path, printer, answers).run({"job": 5, "ticket": {"id": 9}, "view": {"x": 1}})

    assert printer.printed == []
    [(event, body)] = answers
    assert (event, body["job"], body["ok"]) == ("print.result", 5, False)


def test_the_seq_state_only_moves_forward_unless_a_snapshot_resets_it(tmp_path: Path) -> None:
    state = SeqState(tmp_path / "agent.state")
    state.note(12)
    state.note(7)
    assert SeqState(tmp_path / "agent.state").seq == 12
    state.note(3, reset=True)
    assert SeqState(tmp_path / "agent.state").seq == 3


def test_the_state_folder_follows_the_instance(tmp_path: Path) -> None:
    assert state_dir({"LAYSO_INSTANCE": str(tmp_path)}) == tmp_path / "print-agent"
    assert state_dir({"LAYSO_AGENT_DIR": str(tmp_path / "x")}) == tmp_path / "x"


# --- the agent against the real server ---------------------------------------------------------


class Agent:
    """`layso print-agent` in a subprocess, started and stopped at will."""

    def __init__(self, server: Any, token: str, printer_uri: str, directory: Path) -> None:
        self.args = [
            sys.executable, "-m", "layso", "print-agent",
            "--server", server.url, "--token", token, "--printer", printer_uri,
        ]  # fmt: skip
        self.env = dict(server.env, LAYSO_AGENT_DIR=str(directory), LAYSO_LOG_LEVEL="INFO")
        self.log = directory.parent / "agent.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.args, env=self.env, cwd=ROOT, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def hall(tmp_path: Path, server_env_factory, demo_seed, servers) -> tuple[Any, dict[str, Any]]:
    env = server_env_factory(tmp_path / "instance", LAYSO_ASYNC_MODE="eventlet")
    demo = demo_seed(env)
    return servers(env, tmp_path / "server.log"), demo


@pytest.fixture
def agents(tmp_path: Path) -> Iterator[Callable[..., Agent]]:
    made: list[Agent] = []

    def make(server: Any, token: str, printer_uri: str) -> Agent:
        agent = Agent(server, token, printer_uri, tmp_path / "agent")
        made.append(agent)
        return agent

    yield make
    for agent in made:
        agent.stop()


def issue(server: Any, demo: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(
        f"{server.url}/api/v1/halls/demo/tickets",
        json={"service": "TP"},
        headers={"Authorization": f"Bearer {demo['devices']['kiosk']}"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["ticket"])


def printed_codes(printer: Any) -> list[str]:
    """The phone-page address on each printed ticket, in the order they were printed."""
    out = []
    for data in printer.tickets():
        image = decode(data).stacked_image().convert("L")
        [qr] = zxingcpp.read_barcodes(image)
        out.append(qr.text)
    return out


def test_the_agent_prints_each_ticket_once_across_kills_and_restarts(
    hall, agents, listeners, fake_printer, tmp_path: Path
) -> None:
    server, demo = hall
    printer = fake_printer()
    manager = listeners(server.url, demo["manager"]["token"])
    kiosk = listeners(server.url, demo["devices"]["kiosk"])
    agent = agents(server, demo["devices"]["print-agent"], printer.uri)

    def printed(ticket: dict[str, Any]) -> None:
        kiosk.wait_for("ticket.printed", lambda b: b["ticket"] == ticket["id"])

    # 1. the agent connects and reports its printer; the kiosk's tickets now go to it
    agent.start()
    manager.wait_for("printer.status", lambda b: (b["kind"], b["state"]) == ("print-agent", "ok"))
    first = issue(server, demo)
    printed(first)
    assert printed_codes(printer) == [first["status_url"]]
    got = requests.get(
        f"{server.url}/api/v1/halls/demo/tickets/{first['id']}",
        headers={"Authorization": f"Bearer {demo['devices']['kiosk']}"},
        timeout=10,
    ).json()["ticket"]
    assert got["print_state"] == "printed"

    # 2. killed: the manager sees it, the kiosk is told at once, the tickets wait
    agent.kill()
    manager.wait_for(
        "printer.status",
        lambda b: b["state"] == "offline" and b["detail"] == "print agent not connected",
    )
    missed = [issue(server, demo) for _ in range(3)]
    for ticket in missed:
        kiosk.wait_for("print.failed", lambda b, t=ticket: b["ticket"] == t["id"] and b["queued"])

    # 3. restarted: every missed ticket prints, once
    agent.start()
    for ticket in missed:
        printed(ticket)
    sentinel = issue(server, demo)  # one job at a time: a duplicate would come before this
    printed(sentinel)
    codes = printed_codes(printer)
    assert len(codes) == 5
    assert codes[0] == first["status_url"] and codes[-1] == sentinel["status_url"]
    assert sorted(codes[1:4]) == sorted(t["status_url"] for t in missed)

    # 4. killed again and restarted with its resume point lost: the hub replays every old
    #    print.job, the journal answers them without printing
    agent.kill()
    state_file = next((tmp_path / "agent").glob("agent-*.state"))
    state_file.write_text(json.dumps({"seq": 0}))
    agent.start()
    last = issue(server, demo)
    printed(last)
    assert printed_codes(printer) == [*codes, last["status_url"]]
    assert "answering again without printing" in agent.log.read_text()


def test_an_answer_sent_while_the_hub_connection_is_being_made_is_not_held_back(
    hall, listeners, tmp_path: Path
) -> None:
    """python-socketio's ``connected`` turns true only when ``connect()`` returns, after the
    hub may already have replayed the jobs missed while away: their answers, sent in that
    window, went nowhere until the next connection (the tickets stayed unprinted)."""
    server, demo = hall
    manager = listeners(server.url, demo["manager"]["token"])
    agent = PrintAgent(
        server.url,
        demo["devices"]["print-agent"],
        parse_printer_uri("none"),
        tmp_path / "agent",
        status_fn=lambda config: "paper_low",
    )
    agent.hall = "demo"
    handlers = agent.sio.handlers[NAMESPACE]
    own = handlers["connect"]
    seen: list[bool] = []

    def on_connect() -> None:  # runs inside the client's connect(): the window itself
        own()
        seen.append(agent.sio.connected)
        agent.runner.refresh_status()
        agent.send("print.status", agent.status_body())

    handlers["connect"] = on_connect
    agent.sio.connect(server.url, auth=agent.auth, namespaces=[NAMESPACE], wait_timeout=10)
    try:
        got = manager.wait_for("printer.status", lambda b: b["state"] == "paper_low")
    finally:
        agent.sio.disconnect()
    assert seen == [False]  # it was sent while the client did not yet call itself connected
    assert got["kind"] == "print-agent"


def test_a_refused_token_stops_the_agent_with_a_clear_message(hall, fake_printer) -> None:
    server, _ = hall
    out = subprocess.run(
        [sys.executable, "-m", "layso", "print-agent", "--server", server.url,
         "--token", "not-a-token", "--printer", fake_printer().uri],
        env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert out.returncode == 1
    assert "the server refused the device token" in out.stderr


def test_a_token_that_is_not_a_print_agents_is_refused(hall, fake_printer) -> None:
    server, demo = hall
    out = subprocess.run(
        [sys.executable, "-m", "layso", "print-agent", "--server", server.url,
         "--token", demo["devices"]["kiosk"], "--printer", fake_printer().uri],
        env=server.env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert out.returncode == 1
    assert "not a print agent" in out.stderr


def test_the_agent_beats_with_its_version_and_paper_state(
    hall, agents, listeners, fake_printer
) -> None:
    server, demo = hall
    printer = fake_printer()
    manager = listeners(server.url, demo["manager"]["token"])
    agent = agents(server, demo["devices"]["print-agent"], printer.uri)

    agent.start()

    beat = manager.wait_for("device.status", lambda b: b["kind"] == "print-agent")
    assert beat["online"] is True and beat["paper"] == "ok"
    assert beat["version"].startswith("layso-agent ")
