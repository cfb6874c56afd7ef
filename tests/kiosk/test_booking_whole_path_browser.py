"""Issue 14's "done when", as one path on the real server and in Chromium.

A citizen books on /dat-lich with a phone, checks in at the kiosk (one by the typed code, one by a
USB scanner's keystrokes), the ticket is printed with its booked time, the counter calls by the
merge rule against walk-ins, "your turn is near" reaches the loopback webhook, SMS and ZNS stubs,
the ticket is started and finished, and the citizen rates on the counter's real rating pad; the
rating is in the reports.

The server runs on the real clock: the hall gets a time zone where it is mid-morning now, and TP
5-minute slots all day, so "a slot 15 minutes ahead, today" exists at any hour.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect
from test_booking_browser import (  # tests/kiosk is on sys.path
    book_on_the_page,
    call_in_turn,
    check_in_by_keyboard,
    check_in_by_scanner,
    expect_booked_and_printed,
    make_callable,
)
from test_kiosk_browser import open_kiosk

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "notify"), str(TESTS / "agent")]
from escpos_decode import decode, decode_text  # noqa: E402
from notify_stubs import Answer  # noqa: E402
from notify_stubs import stubs as stubs  # noqa: E402  (the fixture)
from test_notify_server import SECRETS, Client, setup_channels, until  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 15_000
PHONE = (390, 844)
PAD = (1280, 800)
PROFILE = "TM-T20II"  # an Epson 80 mm: Vietnamese in its TCVN-3 code pages


def printed_text(path: Path) -> str:
    """What a text-mode ticket prints, read back from its ESC/POS bytes (code pages and all)."""
    return decode_text(decode(path.read_bytes()), PROFILE)


def test_booked_checked_in_printed_called_by_the_rule_notified_served_and_rated(
    kiosk_hall, page_factory, stubs, tmp_path: Path
) -> None:
    previews = tmp_path / "previews"
    hall = kiosk_hall(f"preview:{previews}?mode=text&profile={PROFILE}", **SECRETS)
    zone = hall.set_morning()
    hall.slots_all_day("TP")  # 5-minute slots, 2 places each
    hall.sql("UPDATE booking_rule SET checkin_before_min = 30, lead_min = 5")
    hook, sms, zns = stubs(), stubs(), stubs()
    zns.default = Answer(200, b'{"error": 0, "message": "Success"}')
    setup_channels(Client(hall.url, hall.demo), f"{hook.url}/hook", f"{sms.url}/send", zns.url)

    def counter(action: str) -> Any:
        status, body = hall.api("POST", f"counters/2/{action}", "clerk2", {})
        assert status in (200, 201), body
        return body

    def walk_in() -> str:
        status, body = hall.api("POST", "tickets", "kiosk", {"service": "TP"})
        assert status == 201, body
        return str(body["ticket"]["display_number"])

    w1 = walk_in()

    # booked on the phone: B1 a slot 15–20 minutes ahead (not callable yet), B2 the next slot
    # (callable now: its slot minus the 5-minute lead has come)
    phone_page = page_factory(*PHONE)
    errors: list[str] = []
    phone_page.on("pageerror", lambda e: errors.append(str(e)))
    code1, time1 = book_on_the_page(phone_page, hall.url, 3, "0912 345 678")
    code2, time2 = book_on_the_page(phone_page, hall.url, 0, "0987 654 321")
    assert errors == []
    w2 = walk_in()  # a walk-in issued after the bookings were made, before their check-in

    # checked in at the kiosk: B1 by its code typed on the on-screen keyboard
    kiosk = open_kiosk(page_factory, hall)
    check_in_by_keyboard(kiosk, code1)
    b1 = kiosk.locator("#t-number").inner_text().strip()
    expect_booked_and_printed(kiosk, time1)
    kiosk.locator("#t-done").click()
    expect(kiosk.locator("#s-home")).to_be_visible()
    # ... and B2 by a scanner: the QR's address typed fast, ending in Enter, on the home screen
    check_in_by_scanner(kiosk, hall.url, code2)
    expect(kiosk.locator("#t-number")).not_to_have_text(b1)
    b2 = kiosk.locator("#t-number").inner_text().strip()
    expect_booked_and_printed(kiosk, time2)
    kiosk.locator("#t-done").click()
    assert kiosk.kiosk_errors == []
    assert [w1, w2, b1, b2] == ["1001", "1002", "1003", "1004"]  # one numbering for all

    # printed with the booked time, in Vietnamese and English (text mode: ESC/POS words)
    for number, time in ((b1, time1), (b2, time2)):
        words = printed_text(next(previews.glob(f"*-{number}.bin")))
        assert f"Giờ hẹn / Booked time: {time}" in words, words
    assert "Giờ hẹn" not in printed_text(next(previews.glob(f"*-{w1}.bin")))

    # "your turn is near" (the hall's N is 2): both bookings are near at their check-in; each
    # stub is told once per booking, on the phone the booking was made with
    phones = {b1: "84912345678", b2: "84987654321"}

    def hook_says(b: dict[str, Any]) -> tuple[str, str, str]:
        return b["kind"], b["data"]["number"], b["to"]

    def sms_says(b: dict[str, Any]) -> tuple[str, str, str]:
        kind = "turn.called" if "đến quầy" in b["text"] else "turn.near"
        return kind, re.findall(r"số (\d{4})", b["text"])[0], b["to"]

    def zns_says(b: dict[str, Any]) -> tuple[str, str, str]:
        kind = {"11": "turn.near", "12": "turn.called"}[b["template_id"]]
        return kind, b["template_data"]["number"], b["phone"]

    channels = ((hook, hook_says), (sms, sms_says), (zns, zns_says))

    def told(stub: Any, says: Any, kind: str) -> dict[str, str]:
        """{ticket number: phone} of the stub's requests of that kind (each number once)."""
        seen = [says(r.json()) for r in stub.requests]
        numbers = [number for k, number, _ in seen if k == kind]
        assert len(numbers) == len(set(numbers)), (kind, numbers)
        return {number: to for k, number, to in seen if k == kind}

    for stub, says in channels:
        assert len(stub.wait_for(2)) == 2
        assert told(stub, says, "turn.near") == phones
    # nobody was ahead of either at its check-in: a booking counts only the bookings before it
    # in its class (B1 was checked in first; B2's earlier slot puts it before B1 afterwards)
    assert {r.json()["data"]["number"]: r.json()["data"]["ahead"] for r in hook.requests} == {
        b1: 0,
        b2: 0,
    }
    # B2 is callable: "you are next"; B1 is not before its slot minus the lead: it is told from
    # when, not sent over too early
    texts = {r.json()["data"]["number"]: r.json() for r in hook.requests}
    assert f"số {b2} là người kế tiếp" in texts[b2]["text"]
    assert "from" not in texts[b2]["data"]
    assert f"số {b1} sẽ được mời từ khoảng {texts[b1]['data']['from']}" in texts[b1]["text"]
    assert texts[b1]["data"]["from"] <= time1  # the slot minus the lead

    # the counter: the callable booking B2 passes both earlier walk-ins (neither has waited
    # past TP's target); B1, not callable yet, is not called even with nobody else waiting
    calls = call_in_turn(counter, 4)
    assert calls == [b2, w1, w2, None]

    # the rating pad of counter 2, in Chromium with its device token, idle and connected
    pad = page_factory(*PAD)
    pad.goto(f"{hall.url}/rating?token={hall.demo['counters'][1]['rating_pad']}")
    expect(pad.locator("#s-idle")).to_be_visible(timeout=WAIT_MS)
    expect(pad.locator("#pad-conn")).to_have_class(re.compile(r"\bon\b"), timeout=WAIT_MS)

    # B1's slot time minus the lead comes (moved, not waited for: the server's clock is real)
    make_callable(hall, b1)
    assert counter("next")["ticket"]["display_number"] == b1
    counter("start")
    counter("finish")

    # rated on the pad: one tap on a smiley
    expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT_MS)
    expect(pad.locator("#q-ticket")).to_have_text(f"số {b1}")
    pad.locator('.smiley[data-score="4"]').click()
    expect(pad.locator("#s-thanks")).to_be_visible(timeout=WAIT_MS)

    # told again when called (the second and last notice); still one near notice per booking,
    # and nothing else in the outbox
    for stub, says in channels:
        assert len(stub.wait_for(4)) == 4
        assert told(stub, says, "turn.near") == told(stub, says, "turn.called") == phones
    assert any(f"mời số {b1} đến quầy số 2" in r.json()["text"] for r in sms.requests)
    outbox = until(
        lambda: Client(hall.url, hall.demo).call("GET", "notify/notices", "manager")["counts"],
        lambda counts: counts["sent"] == 12,
    )
    assert outbox == {"pending": 0, "sent": 12, "failed": 0}

    # served, and the rating is in the reports
    for code in (code1, code2):
        r = requests.get(f"{hall.url}/api/v1/halls/demo/bookings/{code}", timeout=10)
        assert r.json()["booking"]["state"] == "served"
    day = datetime.now(zone).date().isoformat()  # the hall's day
    status, summary = hall.api("GET", f"reports/summary?from={day}&to={day}", "manager")
    assert status == 200, summary
    total = summary["total"]
    assert (total["served"], total["rated"], total["ratings"]) == (4, 1, {"4": 1})
    assert summary["bookings"]["by_state"]["served"] == 2
    status, rows = hall.api("GET", f"reports/tickets?from={day}&to={day}", "manager")
    assert status == 200, rows
    rated = {r["display_number"]: r["rating"] for r in rows["rows"]}
    assert rated[b1] == 4 and rated[b2] is None
