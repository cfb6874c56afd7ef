"""The kiosk and the phone page in headless Chromium against the real server."""

from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

PORTRAIT = (1080, 1920)
LANDSCAPE = (1920, 1080)
WAIT_MS = 15_000  # upper bound while awaiting something on screen


def open_kiosk(page_factory, hall, size=PORTRAIT, **params: Any) -> Any:
    page = page_factory(*size)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.kiosk_errors = errors
    page.goto(hall.kiosk_url(**params))
    expect(page.locator("#s-home")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".k-area").first).to_be_visible()
    return page


def area(page: Any, code: str) -> Any:
    return page.locator(f".k-area[data-code='{code}']")


def type_keys(page: Any, keyboard: str, text: str) -> None:
    for ch in text:
        page.locator(f"#{keyboard} .k-key[data-key='{'space' if ch == ' ' else ch}']").click()


TONE_KEYS = {
    "\u0301": "tone0",
    "\u0300": "tone1",
    "\u0309": "tone2",
    "\u0303": "tone3",
    "\u0323": "tone4",
}


def type_vietnamese(page: Any, keyboard: str, text: str) -> None:
    """Type as a citizen would: each word's letters, then its tone from the tone row."""
    for i, word in enumerate(text.split(" ")):
        if i:
            type_keys(page, keyboard, " ")
        decomposed = unicodedata.normalize("NFD", word)
        tones = [TONE_KEYS[c] for c in decomposed if c in TONE_KEYS]
        plain = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in TONE_KEYS))
        type_keys(page, keyboard, plain)
        for key in tones:
            page.locator(f"#{keyboard} .k-key[data-key='{key}']").click()


def ticket_code(page: Any) -> str:
    src = page.locator("#t-qr").get_attribute("src")
    match = re.fullmatch(r"/t/([^/]+)/qr\.svg", src or "")
    assert match, src
    return match.group(1)


@pytest.mark.parametrize("mode", ["eventlet", "gevent"])
def test_tapping_an_area_shows_the_ticket_and_prints_it(
    kiosk_hall, page_factory, tmp_path: Path, mode: str
) -> None:
    previews = tmp_path / "previews"
    hall = kiosk_hall(f"preview:{previews}", mode)
    page = open_kiosk(page_factory, hall)
    expect(area(page, "CT")).to_contain_text("Chứng thực")
    expect(area(page, "CT")).to_contain_text("Certification")

    area(page, "CT").click()

    expect(page.locator("#s-ticket")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#t-number")).to_have_text("2001")
    expect(page.locator("#t-area")).to_contain_text("Chứng thực")
    expect(page.locator("#t-ahead")).to_contain_text("Quý khách sẽ được gọi ngay")
    expect(page.locator("#t-print.printed")).to_contain_text(
        "Mời quý khách nhận phiếu ở khe máy in", timeout=WAIT_MS
    )
    qr = page.locator("#t-qr")
    expect(qr).to_have_js_property("complete", True)
    image = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    code = ticket_code(page)
    assert [r.text for r in zxingcpp.read_barcodes(image)] == [f"{hall.url}/t/{code}"]
    assert len(list(previews.glob("*-2001.png"))) == 1  # printed once, on the server's printer
    assert page.kiosk_errors == []


def test_a_double_tap_gives_one_ticket(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    # two taps in the same instant: the second lands while the first is in flight
    area(page, "TP").evaluate("el => { el.click(); el.click(); }")

    expect(page.locator("#t-number")).to_have_text("1001", timeout=WAIT_MS)
    area_page_tp = [p for p in posts if p.endswith("/tickets")]
    assert len(area_page_tp) == 1
    # and the hall agrees: the next number is 1002, so no second ticket was issued
    status, body = hall.api("POST", "tickets", "kiosk", {"service": "TP"})
    assert (status, body["ticket"]["display_number"]) == (201, "1002")


def test_the_priority_flow(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)

    page.locator("#go-prio").click()
    expect(page.locator("#s-prio")).to_be_visible()
    expect(page.locator(".k-reason")).to_have_count(5)
    page.locator(".k-reason[data-code='NCT']").click()
    expect(page.locator("#prio-banner")).to_contain_text("Người cao tuổi (từ 75 tuổi)")
    expect(page.locator("#home-title")).to_contain_text("số ưu tiên")
    area(page, "TP").click()

    expect(page.locator("#t-prio")).to_contain_text("Người cao tuổi (từ 75 tuổi)", timeout=WAIT_MS)
    code = ticket_code(page)
    _, state = hall.api("GET", "state", "display")
    [ticket] = state["waiting"]
    assert ticket["priority"] == "NCT"
    # after the ticket, the next citizen starts without priority
    page.locator("#t-done").click()
    expect(page.locator("#prio-banner")).to_be_hidden()
    assert code


def test_cancelling_priority_and_none_of_these(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)

    page.locator("#go-prio").click()
    page.locator("#s-prio [data-go]").click()
    expect(page.locator("#s-home")).to_be_visible()
    expect(page.locator("#prio-banner")).to_be_hidden()
    page.locator("#go-prio").click()
    page.locator(".k-reason[data-code='PNMT']").click()
    page.locator("#prio-clear").click()
    area(page, "TP").click()

    expect(page.locator("#t-number")).to_have_text("1001", timeout=WAIT_MS)
    expect(page.locator("#t-prio")).to_be_hidden()


def test_search_with_the_on_screen_keyboard_leads_to_the_area(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall, LANDSCAPE)

    page.locator("#go-search").click()
    expect(page.locator("#results")).to_contain_text("không cần gõ dấu")
    type_keys(page, "search-kb", "khai sinh")

    expect(page.locator("#search-text")).to_have_text("khai sinh")
    result = page.locator(".k-result").first
    expect(result).to_contain_text("Đăng ký khai sinh")
    expect(result).to_contain_text("Tư pháp - Hộ tịch")
    result.click()

    expect(page.locator("#t-number")).to_have_text("1001", timeout=WAIT_MS)
    expect(page.locator("#t-area")).to_contain_text("Tư pháp - Hộ tịch")


def test_search_ignores_accents_either_way(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)
    page.locator("#go-search").click()

    type_keys(page, "search-kb", "đât")  # with the diacritics row, "đất" without its tone
    expect(page.locator(".k-result").first).to_contain_text("Đất đai")
    page.locator("#search-kb .k-key[data-key='clear']").click()
    type_keys(page, "search-kb", "ket hon")
    expect(page.locator(".k-result")).to_have_count(1)
    expect(page.locator(".k-result")).to_contain_text("Đăng ký kết hôn")
    type_keys(page, "search-kb", "x")
    expect(page.locator("#results")).to_contain_text("Không tìm thấy")
    page.locator("#search-kb .k-key[data-key='del']").click()
    expect(page.locator(".k-result")).to_have_count(1)


def test_closed_and_used_up_areas_say_so_and_cannot_be_tapped(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    hall.sql("UPDATE service SET hours = ? WHERE code = 'XD'", '{"days": [], "ranges": []}')
    hall.sql("UPDATE service SET daily_cap = 1 WHERE code = 'DD'")
    assert hall.api("POST", "tickets", "kiosk", {"service": "DD"})[0] == 201
    page = open_kiosk(page_factory, hall)
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    expect(area(page, "XD")).to_contain_text("Ngoài giờ tiếp nhận")
    expect(area(page, "XD")).to_be_disabled()
    expect(area(page, "DD")).to_contain_text("Đã hết số hôm nay")
    expect(area(page, "DD")).to_be_disabled()
    area(page, "XD").click(force=True)
    area(page, "DD").click(force=True)

    expect(page.locator("#s-home")).to_be_visible()
    assert posts == []
    # in the search too
    page.locator("#go-search").click()
    type_keys(page, "search-kb", "giay phep xay")
    expect(page.locator(".k-result").first).to_contain_text("Ngoài giờ tiếp nhận")
    expect(page.locator(".k-result").first).to_be_disabled()


def test_an_untouched_kiosk_goes_back_to_the_start(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall, idle=2, ticket_idle=3)

    page.locator("#go-search").click()
    type_keys(page, "search-kb", "dat")
    expect(page.locator("#s-search")).to_be_visible()
    expect(page.locator("#s-home")).to_be_visible(timeout=WAIT_MS)

    area(page, "TP").click()
    expect(page.locator("#s-ticket")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#s-home")).to_be_visible(timeout=WAIT_MS)

    page.locator("#go-prio").click()
    page.locator(".k-reason[data-code='NKT']").click()
    expect(page.locator("#prio-banner")).to_be_visible()
    expect(page.locator("#prio-banner")).to_be_hidden(timeout=WAIT_MS)  # priority forgotten too
    page.locator("#go-search").click()
    expect(page.locator("#search-text")).to_have_text("")  # what the last citizen typed is gone


def test_a_printer_failure_is_said_plainly(kiosk_hall, page_factory, free_tcp_port) -> None:
    hall = kiosk_hall(f"tcp://127.0.0.1:{free_tcp_port}")  # nobody listens there
    page = open_kiosk(page_factory, hall)

    area(page, "TP").click()

    expect(page.locator("#t-number")).to_have_text("1001", timeout=WAIT_MS)
    failed = page.locator("#t-print.failed")
    expect(failed).to_contain_text(
        "Máy in đang gặp sự cố — vui lòng ghi nhớ số của quý khách", timeout=WAIT_MS
    )
    expect(failed).to_contain_text("The printer has a problem — please remember your number")
    _, state = hall.api("GET", "state", "manager")
    assert [(p["kind"], p["state"], p["detail"]) for p in state["printers"]] == [
        ("kiosk", "offline", "connection refused")
    ]


def test_the_counts_follow_the_hall_live(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)
    expect(area(page, "KD")).to_contain_text("Không phải chờ")

    for _ in range(2):
        hall.api("POST", "tickets", "clerk4", {"service": "KD"})

    expect(area(page, "KD")).to_contain_text("2 người đang chờ", timeout=WAIT_MS)
    hall.api("POST", "counters/4/next", "clerk4")
    expect(area(page, "KD")).to_contain_text("1 người đang chờ", timeout=WAIT_MS)


def test_a_manager_edit_reaches_the_kiosk(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)

    status, _ = hall.api("PATCH", "config/services/XD", "manager", {"name": "Xây dựng - Quy hoạch"})
    assert status == 200, "the manager's area editing (PATCH config/services) answered " + str(
        status
    )

    expect(area(page, "XD")).to_contain_text("Xây dựng - Quy hoạch", timeout=WAIT_MS)


def test_english_and_back(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)

    page.locator("#k-lang").click()

    expect(page.locator("#home-title .t1")).to_have_text("Please choose a service")
    expect(page.locator("#home-title .t2")).to_have_text("Mời chọn lĩnh vực cần giải quyết")
    expect(area(page, "TP").locator(".t1")).to_have_text("Justice - Civil status")
    expect(page.locator("#k-lang")).to_have_text("Tiếng Việt")
    area(page, "TP").click()
    expect(page.locator("#t-ahead .t1")).to_have_text("You will be called next", timeout=WAIT_MS)
    page.locator("#k-lang").click()
    expect(page.locator("#t-ahead .t1")).to_have_text("Quý khách sẽ được gọi ngay")


def test_the_suggestion_box(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)

    page.locator("#go-suggest").click()
    expect(page.locator("#suggest-send")).to_be_disabled()
    type_vietnamese(page, "suggest-kb", "cán bộ rất tốt, người dân hài lòng")
    page.locator("#contact-field").click()
    type_keys(page, "suggest-kb", "0912")
    page.locator("#suggest-send").click()

    expect(page.locator("#s-thanks")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#s-thanks")).to_contain_text("Cảm ơn quý khách đã góp ý!")
    rows = hall.sql("SELECT text, contact FROM suggestion")
    assert rows == [("cán bộ rất tốt, người dân hài lòng", "0912")]


def test_it_survives_a_server_restart_without_a_reload(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    page = open_kiosk(page_factory, hall)

    hall.server.stop()
    expect(page.locator("#k-offline")).to_be_visible(timeout=WAIT_MS)
    area(page, "TP").click()
    expect(page.locator("#s-error")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#error-msg")).to_contain_text("Mất kết nối tới máy chủ. Vui lòng thử lại.")

    hall.start_again()
    expect(page.locator("#k-offline")).to_be_hidden(timeout=WAIT_MS)
    page.locator("#error-retry").click()

    expect(page.locator("#t-number")).to_have_text("1001", timeout=WAIT_MS)
    page.locator("#t-done").click()
    hall.api("POST", "tickets", "clerk1", {"service": "TP"})
    expect(area(page, "TP")).to_contain_text("2 người đang chờ", timeout=WAIT_MS)


# --- the phone page ---------------------------------------------------------------------------


def test_the_phone_page_follows_the_ticket_until_it_is_called(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    hall.api("POST", "tickets", "kiosk", {"service": "TP"})  # someone is ahead
    _, mine = hall.api("POST", "tickets", "kiosk", {"service": "TP"})
    phone = page_factory(390, 844)

    phone.goto(mine["ticket"]["status_url"])

    expect(phone.locator("#ph-number")).to_have_text("1002")
    expect(phone.locator("#ph-area")).to_contain_text("Tư pháp - Hộ tịch")
    expect(phone.locator("#ph-ahead")).to_have_text("1")
    expect(phone.locator("#ph-turn")).to_be_hidden()
    expect(phone.locator("#ph-prio")).to_be_hidden()
    hall.api("POST", "counters/1/next", "clerk1")  # calls 1001
    expect(phone.locator("#ph-ahead")).to_have_text("0", timeout=WAIT_MS)
    expect(phone.locator("#ph-wait")).to_contain_text("Được gọi ngay")
    hall.api("POST", "counters/2/next", "clerk2")  # calls mine, at counter 2

    turn = phone.locator("#ph-turn")
    expect(turn).to_be_visible(timeout=WAIT_MS)
    expect(turn).to_contain_text("ĐẾN LƯỢT QUÝ KHÁCH")
    expect(turn).to_contain_text("Mời đến quầy số 2")
    expect(phone).to_have_title(re.compile("ĐẾN LƯỢT QUÝ KHÁCH"))
    hall.api("POST", "counters/2/start", "clerk2")
    expect(phone.locator("#ph-status")).to_contain_text(
        "Đang được phục vụ tại quầy số 2", timeout=WAIT_MS
    )
    expect(turn).to_be_hidden()


def test_an_unknown_ticket_code_gets_a_plain_page(kiosk_hall, page_factory) -> None:
    hall = kiosk_hall()
    phone = page_factory(390, 844)

    response = phone.goto(f"{hall.url}/t/not-a-real-code-12")

    assert response is not None and response.status == 404
    expect(phone.locator(".ph-msg").first).to_contain_text("Không tìm thấy số thứ tự này")
