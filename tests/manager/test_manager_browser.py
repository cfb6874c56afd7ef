"""Manager pages in headless Chromium against the real server: log, downloads, config, board."""

from __future__ import annotations

import csv
import io
import re
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
import socketio
import sqlalchemy as sa
from openpyxl import load_workbook
from playwright.sync_api import expect

from layso.db import Database
from layso.models import Device, DeviceKind
from tests.manager.browser_login import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WAIT = 15_000  # ms: generous for a loaded machine; expect() returns as soon as it holds
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


class Live:
    """The demo hall of a real server, driven over HTTP."""

    def __init__(self, url: str, demo: dict[str, Any]) -> None:
        self.url, self.demo = url, demo

    def token(self, who: str) -> str:
        if who.startswith("clerk"):
            return str(self.demo["counters"][int(who[5:]) - 1]["token"])
        if who.startswith("pad"):
            return str(self.demo["counters"][int(who[3:]) - 1]["rating_pad"])
        if who == "manager":
            return str(self.demo["manager"]["token"])
        return str(self.demo["devices"][who])

    def post(self, path: str, who: str, body: Any = None) -> Any:
        r = requests.post(
            f"{self.url}/api/v1/halls/demo/{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {self.token(who)}"},
            timeout=10,
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    def get(self, path: str, who: str = "manager") -> Any:
        r = requests.get(
            f"{self.url}/api/v1/halls/demo/{path}",
            headers={"Authorization": f"Bearer {self.token(who)}"},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return r

    def issue(self, service: str, priority: str | None = None) -> dict[str, Any]:
        return self.post("tickets", "kiosk", {"service": service, "priority": priority})["ticket"]

    def act(self, counter: int, action: str, body: Any = None) -> Any:
        return self.post(f"counters/{counter}/{action}", f"clerk{counter}", body).get("ticket")

    def serve(self, counter: int, score: int | None = None) -> dict[str, Any] | None:
        ticket = self.act(counter, "next")
        if ticket is not None:
            self.act(counter, "start")
            self.act(counter, "finish")
            if score is not None:
                self.post(f"tickets/{ticket['id']}/rating", f"pad{counter}", {"score": score})
        return ticket


@pytest.fixture
def hall(live: Any) -> Live:
    server, demo = live
    return Live(server.url, demo)


def test_manager_filters_the_log_and_downloads_csv_and_xlsx(hall: Live, page_factory: Any) -> None:
    for service in ("TP", "CT", "TP", "CT", "DD"):
        hall.issue(service)
    hall.serve(1, score=4)  # TP
    hall.serve(5, score=3)  # CT
    hall.act(2, "next")
    hall.act(2, "no-show")  # TP
    page = page_factory(1440, 900)

    sign_in(page, hall.url, "/manager/log")
    rows = page.locator("#log tbody tr")
    expect(rows).to_have_count(5, timeout=WAIT)
    expect(page.locator("#count")).to_contain_text("5 lượt")
    page.select_option("#f-service", "CT")
    page.click("#f-apply")
    expect(rows).to_have_count(2, timeout=WAIT)
    expect(page).to_have_url(re.compile(r"service=CT"))
    page.select_option("#f-status", "done")
    page.click("#f-apply")
    expect(rows).to_have_count(1, timeout=WAIT)
    expect(rows.first).to_contain_text("2001")
    expect(rows.first).to_contain_text("Đã xong")

    with page.expect_download() as got:
        page.click("#dl-csv")
    data = Path(got.value.path()).read_bytes()
    assert got.value.suggested_filename.endswith(".csv")
    assert data.startswith(b"\xef\xbb\xbf")
    lines = list(csv.reader(io.StringIO(data[3:].decode("utf-8"))))
    assert len(lines) == 2 and lines[1][2] == "2001" and lines[1][3] == "CT"

    page.select_option("#f-status", "")
    page.select_option("#f-service", "")
    page.select_option("#f-counter", "2")
    page.click("#f-apply")
    expect(rows).to_have_count(1, timeout=WAIT)
    with page.expect_download() as got:
        page.click("#dl-xlsx")
    sheet = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes())).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert got.value.suggested_filename.endswith(".xlsx")
    assert len(values) == 2 and values[1][2] == "1002" and values[1][7] == "no_show"


def _config_listener(url: str, token: str) -> tuple[socketio.Client, threading.Event, list]:
    """A python-socketio client in the hall that waits for config.changed."""
    got: list[dict[str, Any]] = []
    changed = threading.Event()
    ready = threading.Event()
    sio = socketio.Client(reconnection=False)

    @sio.on("snapshot", namespace="/hall")
    def _snapshot(_: Any) -> None:
        ready.set()

    @sio.on("config.changed", namespace="/hall")
    def _changed(body: Any) -> None:
        got.append(body)
        changed.set()

    sio.connect(
        url,
        namespaces=["/hall"],
        auth={"token": token, "hall": "demo", "after": None},
        transports=["websocket"],
        wait_timeout=10,
    )
    assert ready.wait(10), "no snapshot from the hub"
    return sio, changed, got


def add_area_in_config(page: Any, url: str) -> None:
    sign_in(page, url, "/manager/config")
    expect(page.locator("#services tbody tr")).to_have_count(7, timeout=WAIT)  # loaded
    page.click('#cfg-tabs button[data-tab="services"]')
    form = page.locator("#service-form")
    form.locator("input[name=code]").fill("BHXH")
    form.locator("input[name=name]").fill("Bảo hiểm xã hội")
    form.locator("input[name=name_en]").fill("Social insurance")
    form.locator("input[name=prefix]").fill("B")
    form.locator("input[name=first_number]").fill("1")
    form.locator("input[name=last_number]").fill("500")
    form.locator("input[name=target_wait_min]").fill("12")
    form.locator("textarea[name=procedures]").fill("Cấp lại thẻ bảo hiểm y tế\nGia hạn thẻ BHYT")
    page.click("#service-save")
    expect(page.locator("#service-msg")).to_contain_text("Đã thêm", timeout=WAIT)
    expect(page.locator('#services tr[data-code="BHXH"]')).to_contain_text("Bảo hiểm xã hội")


def test_an_area_added_in_config_reaches_a_socket_client_in_the_hall(
    hall: Live, page_factory: Any
) -> None:
    sio, changed, got = _config_listener(hall.url, hall.token("kiosk"))
    try:
        add_area_in_config(page_factory(1440, 900), hall.url)

        assert changed.wait(10), "config.changed did not reach the kiosk's socket"
        assert [g["what"] for g in got] == ["services"]
    finally:
        sio.disconnect()
    services = hall.get("services", "kiosk").json()["services"]
    assert "BHXH" in [s["code"] for s in services]
    assert hall.issue("BHXH")["display_number"] == "B001"


def test_an_area_added_in_config_appears_on_an_open_kiosk_without_reload(
    hall: Live, page_factory: Any, need: Any
) -> None:
    probe = requests.get(f"{hall.url}/kiosk", timeout=10)
    need(probe.status_code != 404, "the kiosk page (/kiosk) is not built yet")
    kiosk = page_factory(1080, 1920)
    kiosk.goto(f"{hall.url}/kiosk?token={hall.token('kiosk')}")
    expect(kiosk.get_by_text("Tư pháp - Hộ tịch").first).to_be_visible(timeout=WAIT)
    kiosk.evaluate("window.__notReloaded = true")

    add_area_in_config(page_factory(1440, 900), hall.url)

    expect(kiosk.get_by_text("Bảo hiểm xã hội").first).to_be_visible(timeout=WAIT)
    assert kiosk.evaluate("window.__notReloaded === true"), "the kiosk reloaded the page"


def test_board_follows_the_hall_live(live: Any, hall: Live, page_factory: Any) -> None:
    server, _ = live
    database = Database(f"sqlite:///{Path(server.env['LAYSO_INSTANCE']) / 'layso.sqlite3'}")
    with database.write() as s:  # the kiosk's print agent reported an empty paper roll
        agent = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.PRINT_AGENT)).one()
        agent.printer_state, agent.printer_state_at = "paper_out", datetime.now(UTC)
    database.dispose()
    page = page_factory(1440, 900)
    sign_in(page, hall.url, "/manager")
    expect(page.locator("#printers")).to_contain_text("Hết giấy", timeout=WAIT)
    expect(page.locator("#printers")).to_contain_text("Máy in kiosk sảnh")
    expect(page.locator("#status")).to_have_class(re.compile("online"), timeout=WAIT)
    expect(page.locator("#k-policy")).to_have_text("Ưu tiên tuyệt đối")
    waiting = page.locator('#areas tr[data-service="TP"] .waiting')
    expect(waiting).to_have_text("0")

    hall.issue("TP")
    hall.issue("TP")
    expect(waiting).to_have_text("2", timeout=WAIT)
    ticket = hall.act(2, "next")
    card = page.locator('.counter-card[data-counter="2"]')
    expect(card.locator(".ticket")).to_have_text(ticket["display_number"], timeout=WAIT)
    expect(card).to_contain_text("Đang gọi")
    expect(waiting).to_have_text("1")
    hall.act(2, "start")
    hall.act(2, "finish")
    hall.post(f"tickets/{ticket['id']}/rating", "pad2", {"score": 4})
    expect(page.locator("#k-served")).to_have_text("1", timeout=WAIT)
    expect(page.locator("#k-sat")).to_have_text("100 %", timeout=WAIT)
    hall.act(3, "pause", {"reason": "Đi họp"})
    expect(page.locator('.counter-card[data-counter="3"]')).to_contain_text("Đi họp", timeout=WAIT)


@pytest.mark.parametrize("async_mode", ["eventlet"])  # a visual check: one server mode is enough
def test_screenshots_of_log_reports_and_board(
    live: Any, hall: Live, page_factory: Any, history: Any
) -> None:
    """A week of history written through the services, a live morning on top; then look."""
    server, _ = live
    today = datetime.now(HANOI).date()
    database = Database(f"sqlite:///{Path(server.env['LAYSO_INSTANCE']) / 'layso.sqlite3'}")
    history(database, until=today, reopen_at=datetime.now(UTC), days=8)
    with database.write() as s:  # the kiosk's printer is running out of paper
        agent = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.PRINT_AGENT)).one()
        agent.printer_state, agent.printer_state_at = "paper_low", datetime.now(UTC)
    database.dispose()
    for service, score in (("TP", 4), ("CT", 4), ("TP", 3), ("DD", 4), ("LD", 2), ("CT", 4)):
        hall.issue(service)
        counter = {"TP": 2, "CT": 5, "DD": 3, "LD": 4}[service]
        hall.serve(counter, score=score)
    for service in ("TP", "TP", "CT", "DD", "KD", "TP", "XD", "CT"):
        hall.issue(service, "NCT" if service == "KD" else None)
    hall.act(1, "next")
    hall.act(2, "next")
    hall.act(2, "start")
    hall.act(4, "pause", {"reason": "Đi họp giao ban"})
    ARTIFACTS.mkdir(exist_ok=True)
    page = page_factory(1440, 900)

    sign_in(page, hall.url, "/manager")
    expect(page.locator("#status")).to_have_class(re.compile("online"), timeout=WAIT)
    expect(page.locator("#k-issued")).to_have_text("14", timeout=WAIT)
    expect(page.locator("#counters .counter-card")).to_have_count(5)
    page.screenshot(path=str(ARTIFACTS / "manager-board.png"))

    since = today - timedelta(days=8)
    days = hall.get(f"reports/summary?by=day&from={since}&to={today}").json()["groups"]
    past = [d for d in days if d["key"] != str(today)]
    busy_day = past[-1]["key"]
    page.goto(f"{hall.url}/manager/log?from={busy_day}&to={busy_day}")
    expect(page.locator("#log tbody tr")).to_have_count(50, timeout=WAIT)
    expect(page.locator("#count")).to_contain_text("lượt")
    page.screenshot(path=str(ARTIFACTS / "manager-log.png"))

    start = today - timedelta(days=7)
    page.goto(f"{hall.url}/manager/reports?from={start}&to={today}&by=counter")
    expect(page.locator("#groups tbody tr")).to_have_count(5, timeout=WAIT)
    for canvas in ("#c-hour", "#c-sat", "#c-day"):
        expect(page.locator(canvas)).to_have_attribute("height", re.compile(r"^[1-9]"))
    assert page.evaluate("Object.keys(Chart.instances).length") == 3
    page.screenshot(path=str(ARTIFACTS / "manager-reports.png"))
    page.screenshot(path=str(ARTIFACTS / "manager-reports-full.png"), full_page=True)

    page.goto(f"{hall.url}/manager/config#services")
    expect(page.locator("#services tbody tr")).to_have_count(7, timeout=WAIT)
    page.screenshot(path=str(ARTIFACTS / "manager-config.png"))
