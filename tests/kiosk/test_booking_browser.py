"""The whole path of a booking in headless Chromium against the real server: booked on
/dat-lich, checked in at the kiosk by the typed code and by a scanner's keystrokes, the ticket
printed with its booked time, called by the merge rule against walk-ins, served.

The server runs on the real clock, so the test makes the day bookable whatever the hour: the
hall gets a time zone where it is mid-morning now (`Hall.set_morning`), TP gets 5-minute slots
all day and a check-in window opening 30 minutes before a slot.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from test_kiosk_browser import open_kiosk  # tests/kiosk is on sys.path

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 15_000
PHONE = (390, 844)


def book_on_the_page(
    page: Any, url: str, slot_index: int, phone: str, *, refused: bool = False
) -> tuple[str, str]:
    """Book TP today at the `slot_index`-th free slot on /dat-lich; (code, slot time), or with
    `refused` ("", slot time) once the refusal is on screen."""
    page.goto(f"{url}/dat-lich")
    page.locator("#bk-areas button[data-area='TP']").click()
    page.locator("#bk-days button:not([disabled])").first.click()
    slot = page.locator("#bk-slots button:not([disabled])").nth(slot_index)
    time = slot.get_attribute("data-slot") or ""
    slot.click()
    page.locator("#bk-phone").fill(phone)
    page.locator("#bk-submit").click()
    if refused:
        expect(page.locator("#bk-error")).to_be_visible(timeout=WAIT_MS)
        return "", time
    expect(page.locator("#bk-done")).to_be_visible(timeout=WAIT_MS)
    code = page.locator("#bk-code").inner_text().strip()
    expect(page.locator("#bk-when")).to_contain_text(time)
    return code, time


def check_in_by_keyboard(kiosk: Any, code: str) -> None:
    """At the kiosk: the booking's code typed on the check-in screen's on-screen keyboard and
    sent; the ticket screen shows."""
    kiosk.locator("#go-checkin").click()
    expect(kiosk.locator("#s-checkin")).to_be_visible()
    for ch in code.lower():
        kiosk.locator(f"#checkin-kb .k-key[data-key='{ch}']").click()
    expect(kiosk.locator("#checkin-text")).to_have_text(code)
    kiosk.locator("#checkin-send").click()
    expect(kiosk.locator("#s-ticket")).to_be_visible(timeout=WAIT_MS)


def scan(kiosk: Any, text: str) -> None:
    """A USB scanner's burst: a keydown per character, then Enter, as fast as the hardware
    types them (one task of the page). The kiosk tells a scan from a person's typing by the
    gap between keystrokes (under 60 ms); keystrokes sent one by one through the browser's
    input stretched that gap on a loaded test machine, and the scan was taken for typing."""
    kiosk.evaluate(
        """(keys) => {
            const target = document.activeElement || document.body;
            for (const key of keys) {
                target.dispatchEvent(new KeyboardEvent("keydown", {key, bubbles: true}));
            }
        }""",
        [*text, "Enter"],
    )


def check_in_by_scanner(kiosk: Any, url: str, code: str) -> None:
    """At the kiosk, on the home screen: a USB scanner types the QR's address fast and ends
    with Enter; the ticket screen shows."""
    scan(kiosk, f"{url}/dat-lich/ma/{code}")
    expect(kiosk.locator("#s-ticket")).to_be_visible(timeout=WAIT_MS)


def expect_booked_and_printed(kiosk: Any, time: str) -> None:
    """The ticket screen shows the booked time, and the ticket is printed."""
    expect(kiosk.locator("#t-booked")).to_contain_text(f"Giờ hẹn: {time}")
    expect(kiosk.locator("#t-print.printed")).to_be_visible(timeout=WAIT_MS)


def call_in_turn(counter: Any, times: int) -> list[str | None]:
    """Counter "next" `times` times, each called ticket started and finished; the numbers
    called (None: nobody)."""
    calls = []
    for _ in range(times):
        body = counter("next")
        calls.append(body["ticket"]["display_number"] if body["ticket"] else None)
        if body["ticket"]:
            counter("start")
            counter("finish")
    return calls


def make_callable(hall: Any, number: str) -> None:
    """The ticket's booked slot minus the lead has come: its queue place moved a minute into
    the past (not waited for: the server's clock is real)."""
    callable_at = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    hall.sql("UPDATE ticket SET queued_at = ? WHERE display_number = ?", callable_at, number)


def test_book_check_in_by_code_and_by_scanner_called_by_the_rule_and_served(
    kiosk_hall, page_factory, tmp_path: Path
) -> None:
    previews = tmp_path / "previews"
    hall = kiosk_hall(f"preview:{previews}?mode=text")
    hall.set_morning()  # an hour ahead is still today, whatever the hour in Hà Nội
    hall.slots_all_day("TP")  # 5-minute slots, 2 places each
    hall.sql("UPDATE booking_rule SET checkin_before_min = 30, lead_min = 5")

    def counter(action: str) -> Any:
        status, body = hall.api("POST", f"counters/2/{action}", "clerk2", {})
        assert status in (200, 201), body
        return body

    status, w1 = hall.api("POST", "tickets", "kiosk", {"service": "TP"})
    assert status == 201

    phone_page = page_factory(*PHONE)
    errors: list[str] = []
    phone_page.on("pageerror", lambda e: errors.append(str(e)))
    # B1: a slot 15–20 minutes ahead (not callable yet); B2: the next slot (callable now)
    code1, time1 = book_on_the_page(phone_page, hall.url, 3, "0912 345 678")
    qr = phone_page.locator("#bk-qr")
    expect(qr).to_have_js_property("complete", True)
    image = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{hall.url}/dat-lich/ma/{code1}"]
    code2, time2 = book_on_the_page(phone_page, hall.url, 0, "0987 654 321")
    # a refusal says why, in both languages: one booking per phone and area a day
    book_on_the_page(phone_page, hall.url, 5, "0912345678", refused=True)
    refusal = phone_page.locator("#bk-error")
    expect(refusal).to_contain_text("Mỗi số điện thoại / CCCD chỉ được đặt 1 lịch mỗi lĩnh vực")
    expect(refusal).to_contain_text("One phone number / ID may hold 1 booking(s) per area a day")
    # B3: an hour ahead, too early to check in (the window opens 30 minutes before)
    code3, time3 = book_on_the_page(phone_page, hall.url, 12, "0977 777 777")
    assert errors == []

    status, w2 = hall.api("POST", "tickets", "kiosk", {"service": "TP"})
    assert status == 201

    # at the kiosk: B1 typed on the on-screen keyboard
    kiosk = open_kiosk(page_factory, hall)
    check_in_by_keyboard(kiosk, code1)
    expect(kiosk.locator("#t-number")).to_have_text("1003")
    expect(kiosk.locator("#t-msg")).to_contain_text(f"Đã xác nhận lịch hẹn {time1}")
    expect_booked_and_printed(kiosk, time1)
    kiosk.locator("#t-done").click()
    expect(kiosk.locator("#s-home")).to_be_visible()

    # B2 scanned: the scanner types the QR's address fast and ends with Enter, on the home screen
    check_in_by_scanner(kiosk, hall.url, code2)
    expect(kiosk.locator("#t-number")).to_have_text("1004")
    expect_booked_and_printed(kiosk, time2)
    kiosk.locator("#t-done").click()

    # B3 scanned too early: the kiosk says when to come back, in both languages
    scan(kiosk, code3.lower())
    expect(kiosk.locator("#s-error")).to_be_visible(timeout=WAIT_MS)
    slot3 = datetime.strptime(time3, "%H:%M")
    come_back = (slot3 - timedelta(minutes=30)).strftime("%H:%M")
    expect(kiosk.locator("#error-msg")).to_contain_text(f"Vui lòng quay lại lúc {come_back}")
    expect(kiosk.locator("#error-msg")).to_contain_text(f"Please come back at {come_back}")
    assert kiosk.kiosk_errors == []

    # the printed tickets carry the booked time (text mode: ESC/POS with the words in it)
    for number, time in (("1003", time1), ("1004", time2)):
        raw = next(previews.glob(f"*-{number}.bin")).read_bytes()
        assert f"Booked time: {time}".encode() in raw, number
    assert b"Booked time" not in next(previews.glob("*-1001.bin")).read_bytes()

    # the counter: B2 (callable) before the walk-ins, who have not waited past TP's 15 minutes;
    # B1 waits until its slot minus the lead
    calls = call_in_turn(counter, 4)
    assert calls == ["1004", w1["ticket"]["display_number"], w2["ticket"]["display_number"], None]

    # time passes (the server's clock is real): B1's ticket becomes callable
    make_callable(hall, "1003")
    assert counter("next")["ticket"]["display_number"] == "1003"
    counter("start")
    counter("finish")

    for code in (code1, code2):
        r = requests.get(f"{hall.url}/api/v1/halls/demo/bookings/{code}", timeout=10)
        assert r.json()["booking"]["state"] == "served"
    phone_page.goto(f"{hall.url}/dat-lich/ma/{code1}")
    expect(phone_page.locator("#bk-state")).to_have_text("Đã phục vụ")
