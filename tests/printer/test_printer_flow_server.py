"""The real server (a subprocess) prints kiosk tickets on a network printer on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from escpos_decode import decode

pytestmark = pytest.mark.server


@pytest.fixture
def hall_server(
    tmp_path: Path, server_env_factory, demo_seed, servers, async_mode: str
) -> Callable[..., tuple[Any, dict[str, Any]]]:
    """hall_server(printer_uri) → (server, demo json), the real server with that printer."""

    def start(printer: str) -> tuple[Any, dict[str, Any]]:
        env = server_env_factory(
            tmp_path / "instance", LAYSO_ASYNC_MODE=async_mode, LAYSO_PRINTER=printer
        )
        demo = demo_seed(env)
        return servers(env, tmp_path / "server.log"), demo

    return start


def issue(server: Any, demo: dict[str, Any], service: str = "TP") -> dict[str, Any]:
    r = requests.post(
        f"{server.url}/api/v1/halls/demo/tickets",
        json={"service": service},
        headers={"Authorization": f"Bearer {demo['devices']['kiosk']}"},
        timeout=10,  # far less than a hung printer's 30 s: issuing must not wait for it
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["ticket"])


@pytest.mark.parametrize("width", [576, 384])
def test_issuing_over_http_prints_the_ticket(hall_server, fake_printer, listeners, width) -> None:
    printer = fake_printer()
    server, demo = hall_server(f"{printer.uri}?width={width}")
    kiosk = listeners(server.url, demo["devices"]["kiosk"])

    ticket = issue(server, demo)

    kiosk.wait_for("ticket.printed", lambda b: b["ticket"] == ticket["id"])
    [data] = printer.wait_for_tickets(1)
    decoded = decode(data)
    image = decoded.stacked_image().convert("L")
    assert image.width == width
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [ticket["status_url"]]
    assert ticket["status_url"] == f"{server.url}/t/{ticket['code']}"
    # the number sits under the area's names, in the top half: its rows are heavily inked
    inked_rows = [
        y
        for y in range(image.height // 2)
        if image.crop((0, y, width, y + 1)).histogram()[0] > 0.2 * width
    ]
    assert len(inked_rows) > width * 0.1
    assert decoded.names[-1] == "GS V"  # the paper is cut
    page = requests.get(ticket["status_url"], timeout=10)
    assert page.status_code == 200 and ticket["display_number"] in page.text


def test_issuing_does_not_wait_for_a_printer_that_hangs(hall_server, listeners) -> None:
    # a "printer" that takes the connection but never reads nor answers
    with socket.create_server(("127.0.0.1", 0)) as hung:
        port = hung.getsockname()[1]
        server, demo = hall_server(f"tcp://127.0.0.1:{port}?timeout=30")
        display = listeners(server.url, demo["devices"]["display"])

        first = issue(server, demo)
        second = issue(server, demo, "CT")

        assert (first["display_number"], second["display_number"]) == ("1001", "2001")
        assert first["print_state"] == "pending"
        # the hub is not held up either: the display hears both tickets at once
        display.wait_for("queue.changed", lambda b: b["service"] == "CT")


def test_a_dead_printer_leaves_the_ticket_and_tells_the_manager(
    hall_server, listeners, closed_port
) -> None:
    server, demo = hall_server(f"tcp://127.0.0.1:{closed_port}")
    manager = listeners(server.url, demo["manager"]["token"])
    kiosk = listeners(server.url, demo["devices"]["kiosk"])

    ticket = issue(server, demo)

    failed = kiosk.wait_for("print.failed", lambda b: b["ticket"] == ticket["id"])
    status = manager.wait_for("printer.status")
    assert (failed["printer"], failed["reason"]) == ("offline", "connection refused")
    assert (status["kind"], status["state"], status["detail"]) == (
        "kiosk",
        "offline",
        "connection refused",
    )
    state = requests.get(
        f"{server.url}/api/v1/halls/demo/state",
        headers={"Authorization": f"Bearer {demo['manager']['token']}"},
        timeout=10,
    ).json()
    assert [(p["kind"], p["state"]) for p in state["printers"]] == [("kiosk", "offline")]
