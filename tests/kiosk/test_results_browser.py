"""The results counter (trả kết quả) end to end in Chromium against the real server: the kiosk
says "Nhận kết quả", the printed ticket too, the clerk keeps the dossier code at the counter,
the manager's log search finds it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.agent.escpos_decode import decode, decode_text

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 15_000
CODE = "000.00.12.H01-261201-0042"


def sign_in(page: Any, url: str, path: str, username: str) -> None:
    page.goto(f"{url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(path)))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"demo-{username}")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(f"{url}{path}") + r"(\?.*)?(#.*)?$"))


def test_results_area_from_kiosk_to_ticket_to_counter_to_log(
    kiosk_hall: Any, page_factory: Any, tmp_path: Path
) -> None:
    previews = tmp_path / "previews"
    hall = kiosk_hall(f"preview:{previews}?mode=text&profile=TM-T20II")
    errors: list[str] = []

    # the kiosk: the results area says what it is for, and so does the ticket on screen
    kiosk = page_factory(1080, 1920)
    kiosk.on("pageerror", lambda e: errors.append(str(e)))
    kiosk.goto(hall.kiosk_url())
    results = kiosk.locator(".k-area[data-code='KQ']")
    expect(results).to_contain_text("Trả kết quả", timeout=WAIT_MS)
    expect(results.locator(".k-purpose")).to_contain_text("Nhận kết quả")
    expect(results.locator(".k-purpose")).to_contain_text("Collect results")
    expect(kiosk.locator(".k-area[data-code='TP'] .k-purpose")).to_have_count(0)
    results.click()
    expect(kiosk.locator("#t-number")).to_have_text("6001", timeout=WAIT_MS)
    expect(kiosk.locator("#t-area")).to_contain_text("Nhận kết quả")
    expect(kiosk.locator("#t-print.printed")).to_be_visible(timeout=WAIT_MS)

    # the printed ticket (the server's printer, text mode) carries the wording
    [raw] = list(previews.glob("*-6001.bin"))
    printed = " ".join(decode_text(decode(raw.read_bytes()), "TM-T20II").split())
    assert "Trả kết quả" in printed and "Nhận kết quả / Collect results" in printed

    # the counter: clerk5 calls it, the dossier form appears for a results ticket only
    counter = page_factory(1366, 768)
    counter.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(counter, hall.url, "/counter", "clerk5")
    expect(counter.locator("#work")).to_be_visible(timeout=WAIT_MS)
    expect(counter.locator("#dossier")).to_be_hidden()
    counter.keyboard.press("Enter")
    expect(counter.locator("#cur-number")).to_have_text("6001", timeout=WAIT_MS)
    expect(counter.locator("#dossier")).to_be_visible()
    counter.fill("#dossier-code", "mã sai")  # not a dossier code: refused, said plainly
    counter.locator("#dossier button[type=submit]").click()
    expect(counter.locator("#msg")).to_contain_text("Mã hồ sơ gồm", timeout=WAIT_MS)
    counter.fill("#dossier-code", CODE)
    counter.locator("#dossier-code").press("Enter")  # submits the form, does not call next
    expect(counter.locator("#msg")).to_contain_text(f"Đã lưu mã hồ sơ {CODE}", timeout=WAIT_MS)
    expect(counter.locator("#cur-number")).to_have_text("6001")
    status, ticket = hall.api("GET", "counters/5", "clerk5")
    assert status == 200 and ticket["counter"]["ticket"]["dossier_code"] == CODE

    # the manager's log: the search box finds the ticket by part of its dossier code
    log = page_factory(1440, 900)
    log.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(log, hall.url, "/manager/log", "manager")
    rows = log.locator("#log tbody tr")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    hall.api("POST", "tickets", "kiosk", {"service": "TP"})
    log.fill("#f-q", "H01-261201")
    log.click("#f-apply")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows.first).to_contain_text("6001")
    expect(rows.first).to_contain_text(f"Mã hồ sơ: {CODE}")
    expect(log).to_have_url(re.compile(r"q=H01-261201"))
    log.fill("#f-q", "H99")
    log.click("#f-apply")
    expect(log.locator("#log tbody")).to_contain_text("Không có lượt nào", timeout=WAIT_MS)
    assert errors == []
