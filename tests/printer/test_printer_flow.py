"""Kiosk tickets through the server's print path: API → hub listener → print job → printer.

The app runs in-process (threading), with LAYSO_PRINTER pointing at a fake network printer on
loopback; every byte the printer receives is decoded back into the ticket's image.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import zxingcpp
from escpos_decode import decode
from PIL import Image, ImageChops

from layso.app import create_app
from layso.config import Settings
from layso.db import upgrade
from layso.hub import socketio
from layso.models import Device, PrintJob, Ticket
from layso_agent.render import REPRINT_LABEL, layout_ticket, render_ticket_image
from layso_agent.ticket import TicketView

HALL = "/api/v1/halls/demo"


class Client:
    """The app, its test client and the demo hall's tokens."""

    def __init__(self, app: Any, demo: dict[str, Any]) -> None:
        self.app = app
        self.http = app.test_client()
        self.demo = demo

    def token(self, who: str) -> str:
        if who.startswith("clerk"):
            return str(self.demo["counters"][int(who[5:]) - 1]["token"])
        if who == "manager":
            return str(self.demo["manager"]["token"])
        return str(self.demo["devices"][who])

    def get(self, path: str, who: str) -> tuple[int, Any]:
        r = self.http.get(HALL + path, headers={"Authorization": f"Bearer {self.token(who)}"})
        return r.status_code, r.get_json()

    def post(self, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        r = self.http.post(
            HALL + path, json=body or {}, headers={"Authorization": f"Bearer {self.token(who)}"}
        )
        return r.status_code, r.get_json()

    def issue(self, service: str = "TP", priority: str | None = None) -> dict[str, Any]:
        status, body = self.post("/tickets", "kiosk", {"service": service, "priority": priority})
        assert status == 201, body
        return body["ticket"]

    def settle(self) -> None:
        assert self.app.extensions["layso.printer"].wait_idle(10), "printing never finished"

    def read(self, fn: Callable[[Any], Any]) -> Any:
        with self.app.extensions["layso.db"].read() as s:
            return fn(s)

    def events(self, who: str, after: int) -> list[dict[str, Any]]:
        status, body = self.get(f"/events?after={after}", who)
        assert status == 200
        return list(body["events"])

    def seq(self) -> int:
        return int(self.get("/state", "manager")[1]["seq"])


@pytest.fixture
def make_client(
    tmp_path: Path, database_url: str, clock: Any, sqlite_template: Any
) -> Iterator[Callable[..., Client]]:
    made: list[Any] = []

    def make(printer: str, public_url: str = "") -> Client:
        settings = Settings(
            instance_path=tmp_path,
            database_url=database_url,
            async_mode="threading",
            secret_key="test-secret",
            printer=printer,
            public_url=public_url,
            testing=True,
            issue_rate_per_minute=10_000,
            login_rate_per_minute=10_000,
        ).resolved()
        app = create_app(settings, clock=clock)
        upgrade(app.extensions["layso.db"])
        made.append(app)
        return Client(app, dict(sqlite_template[1]))

    yield make
    for app in made:
        app.extensions["layso.printer"].wait_idle(10)
        app.extensions["layso.db"].dispose()


def expected_view(ticket: dict[str, Any], *, reprint: bool = False, **changes: Any) -> TicketView:
    """The ticket as the server should print it, from the API's answer."""
    fields: dict[str, Any] = {
        "hall_name": "Trung tâm Phục vụ hành chính công xã Tân Phú",
        "service_name": ticket["service_name"],
        "service_name_en": ticket["service_name_en"],
        "display_number": ticket["display_number"],
        "issued_at": datetime.fromisoformat(ticket["issued_at"]),
        "ahead": ticket["ahead"],
        "estimated_wait_s": ticket["estimated_wait_s"],
        "status_url": ticket["status_url"],
        "priority": None,
        "reprint": reprint,
    }
    fields.update(changes)
    return TicketView(**fields)


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


def printed_image(data: bytes) -> tuple[Image.Image, list[str]]:
    decoded = decode(data)
    return decoded.stacked_image(), decoded.names


@pytest.mark.parametrize("width", [576, 384])
def test_a_kiosk_ticket_prints_on_the_server_printer(make_client, fake_printer, width) -> None:
    printer = fake_printer()
    c = make_client(f"{printer.uri}?width={width}", public_url="http://hall.example:5000")

    ticket = c.issue("TP")
    c.settle()

    [data] = printer.wait_for_tickets(1)
    image, commands = printed_image(data)
    view = expected_view(ticket)
    assert image.width == width
    assert same(image, render_ticket_image(view, width))
    top, bottom = layout_ticket(view, width).number_band
    band = image.convert("L").crop((0, top, width, bottom))
    assert band.histogram()[0] > 0.15 * width * (bottom - top)  # the number is inked
    qr = [r.text for r in zxingcpp.read_barcodes(image.convert("L"))]
    assert qr == [f"http://hall.example:5000/t/{ticket['code']}"] == [ticket["status_url"]]
    assert commands[0] == "ESC @" and commands[-1] == "GS V"  # reset first, cut last
    assert c.get(f"/tickets/{ticket['id']}", "kiosk")[1]["ticket"]["print_state"] == "printed"
    job = c.read(lambda s: s.scalars(sa.select(PrintJob)).one())
    assert (job.state, job.reprint, job.device_id, job.attempts) == ("done", False, None, 1)


def test_the_kiosk_hears_that_its_ticket_printed(make_client, fake_printer) -> None:
    c = make_client(fake_printer().uri)
    after = c.seq()

    ticket = c.issue("CT")
    c.settle()

    kiosk = [e for e in c.events("kiosk", after) if e["name"] == "ticket.printed"]
    display = [e["name"] for e in c.events("display", after)]
    assert [(e["ticket"], e["display_number"], e["printer"]) for e in kiosk] == [
        (ticket["id"], ticket["display_number"], "ok")
    ]
    assert "ticket.printed" not in display  # meant for that kiosk only


def test_a_priority_ticket_prints_its_priority(make_client, fake_printer) -> None:
    printer = fake_printer()
    c = make_client(printer.uri)

    ticket = c.issue("TP", priority="NCT")
    c.settle()

    [data] = printer.wait_for_tickets(1)
    view = expected_view(ticket, priority="Người cao tuổi (từ 75 tuổi)")
    assert same(printed_image(data)[0], render_ticket_image(view))


def test_the_qr_code_points_to_the_host_the_kiosk_used(make_client, fake_printer) -> None:
    printer = fake_printer()
    c = make_client(printer.uri)  # no LAYSO_PUBLIC_URL

    status, answer = c.post("/tickets", "kiosk", {"service": "TP"})
    body = answer["ticket"]
    c.settle()

    [data] = printer.wait_for_tickets(1)
    qr = [r.text for r in zxingcpp.read_barcodes(printed_image(data)[0].convert("L"))]
    assert status == 201
    assert qr == [body["status_url"]] == [f"http://localhost/t/{body['code']}"]


def test_a_closed_printer_port_fails_the_print_not_the_ticket(make_client, closed_port) -> None:
    c = make_client(f"tcp://127.0.0.1:{closed_port}")
    after = c.seq()

    status, answer = c.post("/tickets", "kiosk", {"service": "TP"})
    body = answer["ticket"]
    c.settle()

    assert status == 201 and body["display_number"] == "1001"
    assert c.get(f"/tickets/{body['id']}", "kiosk")[1]["ticket"]["print_state"] == "failed"
    [failed] = [e for e in c.events("kiosk", after) if e["name"] == "print.failed"]
    assert (failed["ticket"], failed["printer"]) == (body["id"], "offline")
    assert failed["reason"] == "connection refused"
    [change] = [e for e in c.events("manager", after) if e["name"] == "printer.status"]
    kiosk_id = c.read(lambda s: s.scalars(sa.select(Device.id).where(Device.kind == "kiosk")).one())
    assert (change["device"], change["state"], change["detail"]) == (
        kiosk_id,
        "offline",
        "connection refused",
    )
    [printer] = c.get("/state", "manager")[1]["printers"]
    assert (printer["device"], printer["state"], printer["detail"]) == (
        kiosk_id,
        "offline",
        "connection refused",
    )
    job = c.read(lambda s: s.scalars(sa.select(PrintJob)).one())
    assert (job.state, job.attempts, job.error) == ("failed", 2, "connection refused")


def test_a_printer_out_of_paper_gets_no_ticket_and_says_so(make_client, fake_printer) -> None:
    printer = fake_printer("paper_out")
    c = make_client(printer.uri)
    after = c.seq()

    status, answer = c.post("/tickets", "kiosk", {"service": "TP"})
    body = answer["ticket"]
    c.settle()

    assert status == 201
    assert printer.tickets() == []  # nothing was sent to sit in the printer's buffer
    [failed] = [e for e in c.events("kiosk", after) if e["name"] == "print.failed"]
    assert (failed["printer"], failed["reason"]) == ("paper_out", "paper out")
    [state] = c.get("/state", "manager")[1]["printers"]
    assert state["state"] == "paper_out"
    assert c.get(f"/tickets/{body['id']}", "kiosk")[1]["ticket"]["print_state"] == "failed"


def test_paper_low_is_shown_while_tickets_still_print(make_client, fake_printer) -> None:
    printer = fake_printer("paper_low")
    c = make_client(printer.uri)
    after = c.seq()

    ticket = c.issue("TP")
    c.settle()

    printer.wait_for_tickets(1)
    [change] = [e for e in c.events("manager", after) if e["name"] == "printer.status"]
    assert change["state"] == "paper_low"
    assert c.get(f"/tickets/{ticket['id']}", "kiosk")[1]["ticket"]["print_state"] == "printed"


def test_the_printer_state_event_comes_only_when_the_state_changes(make_client, fake_printer):
    c = make_client(fake_printer().uri)
    after = c.seq()

    for _ in range(3):
        c.issue("TP")
        c.settle()

    changes = [e for e in c.events("manager", after) if e["name"] == "printer.status"]
    assert [e["state"] for e in changes] == ["ok"]


def test_after_a_failure_the_printer_is_watched_until_it_is_back(make_client, fake_printer):
    printer = fake_printer("paper_out")
    c = make_client(printer.uri)
    service = c.app.extensions["layso.printer"]
    service.watch_every_s = 0.05  # a minute in real life
    after = c.seq()

    c.issue("TP")
    c.settle()
    printer.state = "paper_low"  # someone put in a roll, a short one

    assert service.wait_watched(10)
    changes = [e["state"] for e in c.events("manager", after) if e["name"] == "printer.status"]
    assert changes == ["paper_out", "paper_low"]
    [state] = c.get("/state", "manager")[1]["printers"]
    assert (state["state"], state["detail"]) == ("paper_low", None)


def test_with_no_printer_nothing_prints_and_nothing_is_said(make_client) -> None:
    c = make_client("none")
    after = c.seq()

    ticket = c.issue("TP")
    c.settle()

    assert c.get(f"/tickets/{ticket['id']}", "kiosk")[1]["ticket"]["print_state"] == "none"
    names = [e["name"] for e in c.events("kiosk", after)]
    assert names == ["queue.changed"]  # no ticket.printed nor print.failed (nor ticket.issued,
    # which a kiosk does not render)
    assert c.read(lambda s: s.scalar(sa.select(sa.func.count()).select_from(PrintJob))) == 0


def test_a_clerks_ticket_is_not_printed(make_client, fake_printer) -> None:
    printer = fake_printer()
    c = make_client(printer.uri)

    status, answer = c.post("/tickets", "clerk1", {"service": "TP"})
    body = answer["ticket"]
    c.settle()

    assert status == 201 and body["print_state"] == "none"
    assert printer.connections == []


def test_tickets_print_one_after_another_in_order(make_client, fake_printer) -> None:
    printer = fake_printer()
    c = make_client(printer.uri)

    tickets = [c.issue("TP") for _ in range(4)]
    c.settle()

    printed = printer.wait_for_tickets(4)
    images = [printed_image(data)[0] for data in printed]
    numbers = {t["display_number"]: expected_view(t) for t in tickets}
    matched = [
        next(n for n, v in numbers.items() if same(image, render_ticket_image(v)))
        for image in images
    ]
    assert sorted(matched) == ["1001", "1002", "1003", "1004"]


# --- reprint ----------------------------------------------------------------------------------


def call(c: Client, counter: int = 1) -> dict[str, Any]:
    status, body = c.post(f"/counters/{counter}/next", f"clerk{counter}")
    assert status == 200 and body["ticket"], body
    return body["ticket"]


def test_the_serving_clerk_reprints_a_ticket_marked_in_lai(make_client, fake_printer) -> None:
    printer = fake_printer()
    c = make_client(printer.uri, public_url="http://hall.example")
    ticket = c.issue("TP")
    c.settle()
    call(c, 1)

    status, body = c.post(f"/tickets/{ticket['id']}/reprint", "clerk1")
    c.settle()

    assert status == 202
    assert body["job"]["reprint"] is True and body["job"]["printer"] == "server"
    first, second = printer.wait_for_tickets(2)
    again = printed_image(second)[0]
    view = expected_view(ticket, reprint=True, ahead=0, estimated_wait_s=None)
    assert same(again, render_ticket_image(view))
    assert not same(again, printed_image(first)[0])
    assert REPRINT_LABEL == "IN LẠI / REPRINT"
    jobs = c.read(lambda s: [(j.reprint, j.state) for j in s.scalars(sa.select(PrintJob))])
    assert sorted(jobs) == [(False, "done"), (True, "done")]


@pytest.mark.parametrize(
    ("who", "status"), [("clerk2", 403), ("kiosk", 403), ("display", 403), ("manager", 202)]
)
def test_who_may_reprint(make_client, fake_printer, who: str, status: int) -> None:
    c = make_client(fake_printer().uri)
    ticket = c.issue("TP")
    c.settle()
    call(c, 1)

    got, body = c.post(f"/tickets/{ticket['id']}/reprint", who)
    c.settle()

    assert got == status, body


def test_reprint_without_any_printer_is_refused_plainly(make_client) -> None:
    c = make_client("none")
    ticket = c.issue("TP")
    call(c, 1)

    status, body = c.post(f"/tickets/{ticket['id']}/reprint", "manager")

    assert status == 409
    assert "máy in" in body["error"]["message"]


def test_reprint_of_an_unknown_ticket_is_404(make_client) -> None:
    c = make_client("none")

    assert c.post("/tickets/99999/reprint", "manager")[0] == 404


# --- print agents: the server's side of the socket --------------------------------------------


def agent_client(c: Client) -> Any:
    return socketio.test_client(
        c.app, namespace="/hall", auth={"token": c.token("print-agent"), "hall": "demo"}
    )


def received(client: Any, name: str) -> list[Any]:
    return [m["args"][0] for m in client.get_received("/hall") if m["name"] == name]


def test_an_agent_that_said_hello_gets_its_kiosks_jobs(make_client, fake_printer) -> None:
    printer = fake_printer()
    c = make_client(printer.uri)
    agent = agent_client(c)
    ack = agent.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    agent.get_received("/hall")

    ticket = c.issue("TP")
    c.settle()

    [job] = received(agent, "print.job")
    assert ack == {"ok": True, "pending": 0}
    assert job["ticket"]["id"] == ticket["id"] and job["reprint"] is False
    assert job["view"]["display_number"] == ticket["display_number"]
    assert job["view"]["status_url"] == ticket["status_url"]
    assert printer.connections == []  # the agent prints, not the server
    state = c.get(f"/tickets/{ticket['id']}", "kiosk")[1]["ticket"]["print_state"]
    assert state == "pending"
    agent.disconnect("/hall")


def test_print_result_is_recorded_once(make_client) -> None:
    c = make_client("none")
    agent = agent_client(c)
    agent.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    ticket = c.issue("TP")
    c.settle()
    [job] = received(agent, "print.job")
    after = c.seq()
    result = {"ticket": ticket["id"], "job": job["job"], "ok": True, "printer": "paper_low"}

    first = agent.emit("print.result", result, namespace="/hall", callback=True)
    second = agent.emit("print.result", result, namespace="/hall", callback=True)

    assert first == {"ok": True, "job": job["job"], "state": "done"}
    assert second == {"ok": True, "job": job["job"], "state": "duplicate"}
    kiosk = [e["name"] for e in c.events("kiosk", after)]
    assert kiosk.count("ticket.printed") == 1
    stored = c.read(lambda s: s.get(PrintJob, job["job"]))
    assert (stored.state, stored.attempts) == ("done", 1)
    assert c.get(f"/tickets/{ticket['id']}", "kiosk")[1]["ticket"]["print_state"] == "printed"
    printers = c.get("/state", "manager")[1]["printers"]
    assert [(p["kind"], p["state"]) for p in printers] == [("print-agent", "paper_low")]
    agent.disconnect("/hall")


def test_pending_jobs_are_sent_again_when_the_agent_comes_back(make_client) -> None:
    c = make_client("none")
    agent = agent_client(c)
    agent.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    agent.disconnect("/hall")
    after = c.seq()

    tickets = [c.issue("TP") for _ in range(2)]
    c.settle()

    # the kiosk is told at once that its printer is away; the jobs wait for the agent
    failed = [e for e in c.events("kiosk", after) if e["name"] == "print.failed"]
    assert [(e["ticket"], e["queued"]) for e in failed] == [(t["id"], True) for t in tickets]
    back = agent_client(c)
    back.get_received("/hall")
    ack = back.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    jobs = received(back, "print.job")
    assert ack == {"ok": True, "pending": 2}
    assert [j["ticket"]["id"] for j in jobs] == [t["id"] for t in tickets]
    back.disconnect("/hall")


def test_an_agents_disconnect_marks_its_printer_offline(make_client) -> None:
    c = make_client("none")
    agent = agent_client(c)
    agent.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    after = c.seq()

    agent.disconnect("/hall")

    [change] = [e for e in c.events("manager", after) if e["name"] == "printer.status"]
    assert (change["kind"], change["state"], change["detail"]) == (
        "print-agent",
        "offline",
        "print agent not connected",
    )


def test_only_a_print_agent_may_answer_print_jobs(make_client) -> None:
    c = make_client("none")
    kiosk = socketio.test_client(
        c.app, namespace="/hall", auth={"token": c.token("kiosk"), "hall": "demo"}
    )
    agent = agent_client(c)
    agent.emit("print.hello", {"printer": "ok"}, namespace="/hall", callback=True)
    ticket = c.issue("TP")
    c.settle()
    [job] = received(agent, "print.job")

    answer = kiosk.emit(
        "print.result",
        {"ticket": ticket["id"], "job": job["job"], "ok": True, "printer": "ok"},
        namespace="/hall",
        callback=True,
    )

    assert answer == {"ok": False, "error": "not a print agent"}
    assert c.read(lambda s: s.get(PrintJob, job["job"]).state) == "pending"
    assert c.read(lambda s: s.get(Ticket, ticket["id"]).print_state) == "pending"
    kiosk.disconnect("/hall")
    agent.disconnect("/hall")
