"""Print jobs as core services (layso.services.printing): no Flask, the time and the base URL
are passed in, and a ticket's own job is created in one place, once."""

# ruff: noqa: F811  (make_client is a fixture imported from test_printer_flow)
from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import has_app_context, has_request_context
from test_printer_flow import make_client  # noqa: F401  (a fixture)

from layso.models import Device, DeviceKind, PrintJob, Ticket
from layso.services import printing
from layso.services.common import get_hall
from layso.services.tickets import issue_ticket

ROOT = Path(__file__).resolve().parents[2]


def kiosk_ticket(s: Any, hall: Any, at: Any) -> Ticket:
    """A ticket issued by the demo kiosk, its print job still to be made (print_state pending)."""
    kiosk = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.KIOSK)).first()
    return issue_ticket(
        s, hall, service_code="TP", priority=None, now=at, device_id=kiosk.id, print_state="pending"
    ).ticket


def test_the_service_module_needs_no_flask() -> None:
    script = "import sys, layso.services.printing; print(sorted(m for m in sys.modules "
    script += "if m.split('.')[0] in ('flask', 'flask_socketio', 'printer')))"
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT / "tests",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "[]"


def test_first_job_outside_flask_uses_the_given_time_and_address(make_client, tmp_path) -> None:
    c = make_client(f"preview:{tmp_path / 'tickets'}")
    db = c.app.extensions["layso.db"]
    at = c.app.extensions["layso.clock"]() + timedelta(seconds=7)
    assert not has_app_context() and not has_request_context()
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        ticket = kiosk_ticket(s, hall, at)
        s.flush()
        plan = printing.first_job(
            s, hall, ticket, base_url="http://hall.example/", now=at, server_printer=True
        )
        again = printing.first_job(
            s, hall, ticket, base_url="http://hall.example", now=at, server_printer=True
        )
        ticket_id = ticket.id
    assert plan is not None and plan.route == "server"
    assert plan.view.status_url.startswith("http://hall.example/t/")
    assert again is None  # one job per ticket, however many paths ask for it
    jobs = c.read(
        lambda s: [
            (j.state, j.reprint, j.created_at.replace(tzinfo=None))
            for j in s.scalars(sa.select(PrintJob).where(PrintJob.ticket_id == ticket_id))
        ]
    )
    assert jobs == [("pending", False, at.replace(tzinfo=None))]


def test_first_job_without_any_printer_says_none(make_client) -> None:
    c = make_client("none")
    db = c.app.extensions["layso.db"]
    at = c.app.extensions["layso.clock"]()
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        ticket = kiosk_ticket(s, hall, at)
        s.flush()
        plan = printing.first_job(
            s, hall, ticket, base_url="http://x", now=at, server_printer=False, no_job_yet=True
        )
        ticket_id = ticket.id
    assert plan is None
    assert c.read(lambda s: s.get(Ticket, ticket_id).print_state) == "none"
    assert c.read(lambda s: s.scalar(sa.select(sa.func.count()).select_from(PrintJob))) == 0
