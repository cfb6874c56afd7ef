"""The counter page and the rating pad in headless Chromium against the real server."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from layso.config import Settings
from layso.db import Database
from layso.models import User
from layso.services.accounts import end_sessions

pytestmark = [pytest.mark.browser, pytest.mark.server]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
WAIT = 10_000  # ms: generous for a loaded machine; expect() returns as soon as it holds


def strict_order(tickets: list[dict[str, Any]]) -> list[str]:
    """The order the engine calls these under the strict policy: priority first, oldest first."""
    ordered = sorted(tickets, key=lambda t: (t["priority"] is None, t["id"]))
    return [t["display_number"] for t in ordered]


def sign_in(page: Any, url: str, username: str = "clerk1") -> None:
    page.goto(f"{url}/counter")
    expect(page).to_have_url(re.compile(r"/login\?next=/counter$"))
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"demo-{username}")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/counter")


def settle(page: Any) -> None:
    """Wait until the page's action in flight has its answer (keys are ignored meanwhile)."""
    expect(page.locator("body")).not_to_have_class(re.compile(r"\bbusy\b"), timeout=WAIT)


def press(page: Any, key: str) -> None:
    page.keyboard.press(key)
    settle(page)


def open_pad(page_factory: Any, url: str, token: str) -> Any:
    pad = page_factory(1280, 800)
    pad.goto(f"{url}/rating?token={token}")
    expect(pad.locator("#s-idle")).to_be_visible(timeout=WAIT)
    expect(pad.locator("#pad-conn")).to_have_class(re.compile(r"\bon\b"), timeout=WAIT)
    return pad


def test_clerk_chooses_a_counter_calls_transfers_finishes_and_the_pad_rates(
    live: Any, live_api: Any, page_factory: Any, async_mode: str
) -> None:
    server, _ = live
    live_api.act(1, "close")  # clerk1 left counter 1: the page asks which counter
    issued = [
        live_api.issue("TP"),
        live_api.issue("CT"),
        live_api.issue("TP", "NCT"),
        live_api.issue("TP"),
        live_api.issue("CT"),
        live_api.issue("CT", "NKT"),
        live_api.issue("TP"),
        live_api.issue("DD"),  # not an area of counter 1
    ]
    mine = [t for t in issued if t["service"] in ("TP", "CT")]
    pad = open_pad(page_factory, server.url, live_api.token("pad1"))
    assert "token=" not in pad.url
    expect(pad.locator("#idle-counter")).to_have_text("1")
    expect(pad.locator("#idle-greeting")).to_have_text("Xin kính chào quý khách")
    page = page_factory(1366, 768)
    latencies: list[int] = []

    def took() -> None:
        latencies.append(int(page.locator("#msg").get_attribute("data-ms") or -1))

    # sign in and choose the counter
    sign_in(page, server.url)
    expect(page.locator("#chooser")).to_be_visible(timeout=WAIT)
    page.locator('.counter-card[data-counter="1"]').click()
    expect(page.locator("#work")).to_be_visible(timeout=WAIT)
    expect(page.locator("#where")).to_contain_text("Quầy 1")
    assert live_api.counter(1)["clerk"] == "clerk1"
    queue = page.locator("#queue .num")
    expect(queue).to_have_text(strict_order(mine), timeout=WAIT)
    expect(page.locator("#queue .trow.prio")).to_have_count(2)

    # call next by its button: the elderly citizen first
    first = strict_order(mine)[0]
    page.locator('.act[data-act="next"]').click()
    settle(page)
    expect(page.locator("#cur-number")).to_have_text(first)
    took()
    expect(page.locator("#cur-status")).to_contain_text("Đang gọi")
    expect(page.locator("#cur-priority")).to_contain_text("Người cao tuổi")
    expect(page.locator("#f-calls")).to_have_text("1")
    expect(page.locator("#msg")).to_contain_text(f"Đã gọi số {first}")
    rest = [t for t in mine if t["display_number"] != first]
    expect(queue).to_have_text(strict_order(rest))
    expect(page.locator('.act[data-act="finish"]')).to_be_disabled()
    expect(page.locator('.act[data-act="call"]')).to_be_disabled()
    expect(page.locator('.act[data-act="pause"]')).to_be_disabled()

    # recall, start and finish by keyboard
    press(page, "F2")
    expect(page.locator("#f-calls")).to_have_text("2")
    took()
    press(page, "F3")
    expect(page.locator("#cur-status")).to_contain_text("Đang phục vụ")
    took()
    if async_mode == "eventlet":
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "counter-page.png"))
    press(page, "F4")
    expect(page.locator("#cur-status")).to_contain_text("Chưa có số")
    took()

    # the pad asks at once; one tap records the score
    expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)
    expect(pad.locator(".smiley")).to_have_count(4)
    expect(pad.locator(".smiley .label")).to_have_text(
        ["Rất hài lòng", "Hài lòng", "Bình thường", "Không hài lòng"]
    )
    expect(pad.locator(".smiley svg")).to_have_count(4)
    expect(pad.locator("#q-ticket")).to_have_text(f"số {first}")
    if async_mode == "eventlet":
        pad.screenshot(path=str(ARTIFACTS / "rating-pad.png"))
    pad.locator('.smiley[data-score="3"]').click()
    expect(pad.locator("#s-thanks")).to_be_visible()
    expect(pad.locator(".thanks")).to_have_text("Cảm ơn quý khách!")
    rated = live_api.events("ticket.rated")
    assert [(e["ticket"]["display_number"], e["score"]) for e in rated] == [(first, 3)]
    expect(page.locator("#fig-served")).to_have_text("1", timeout=WAIT)

    # call next by Enter (the figures refresh with each action), then transfer it elsewhere
    second = strict_order(rest)[0]
    press(page, "Enter")
    expect(page.locator("#cur-number")).to_have_text(second)
    took()
    expect(page.locator("#fig-sat")).to_have_text("100%", timeout=WAIT)
    press(page, "F8")
    dialog = page.locator("#dlg-transfer")
    expect(dialog).to_be_visible()
    dialog.locator('[data-to-service="DD"]').click()
    settle(page)
    expect(dialog).to_be_hidden()
    expect(page.locator("#msg")).to_contain_text(f"Đã chuyển số {second}")
    took()
    expect(page.locator("#cur-number")).to_be_hidden()
    moved = next(t for t in mine if t["display_number"] == second)
    assert live_api.ticket(moved["id"])["service"] == "DD"
    assert live_api.ticket(moved["id"])["status"] == "waiting"
    rest = [t for t in rest if t["id"] != moved["id"]]
    expect(queue).to_have_text(strict_order(rest))

    # another counter's call removes a ticket from this list at once
    called_elsewhere = live_api.act(5, "next")["ticket"]  # counter 5 serves CT only
    assert called_elsewhere["service"] == "CT"
    rest = [t for t in rest if t["id"] != called_elsewhere["id"]]
    expect(queue).to_have_text(strict_order(rest), timeout=WAIT)

    # a double press calls once
    before = len(live_api.events("ticket.called"))
    page.locator('.act[data-act="next"]').dblclick()
    settle(page)
    third = strict_order(rest)[0]
    expect(page.locator("#cur-number")).to_have_text(third)
    expect(page.locator('.act[data-act="next"]')).to_be_disabled()
    assert len(live_api.events("ticket.called")) == before + 1

    # reprint: enabled only where the server has the endpoint
    reprint = page.locator('.act[data-act="reprint"]')
    if live_api.has_reprint():
        expect(reprint).to_be_enabled()
        press(page, "F10")
        third_id = next(t["id"] for t in rest if t["display_number"] == third)
        status, answer = live_api.call("POST", f"tickets/{third_id}/reprint", "clerk1")
        if status == 202:
            expect(page.locator("#msg")).to_contain_text(f"Đã gửi lệnh in lại số {third}")
        else:  # e.g. no printer in this test server: the page says what the server said
            expect(page.locator("#msg")).to_have_text(answer["error"]["message"])
            expect(page.locator("#msg")).to_have_class(re.compile(r"\berror\b"))
        assert live_api.ticket(third_id)["status"] == "called"  # the counter is unchanged
    else:
        expect(reprint).to_be_disabled()
        assert "chưa hỗ trợ" in (reprint.get_attribute("title") or "")

    # a refusal is shown in words: serve, finish, then call a number nobody holds
    press(page, "F3")
    expect(page.locator("#cur-status")).to_contain_text("Đang phục vụ")
    press(page, "F4")
    expect(page.locator("#cur-status")).to_contain_text("Chưa có số")
    press(page, "F9")
    expect(page.locator("#dlg-call")).to_be_visible()
    page.fill("#call-number", "1999")
    press(page, "Enter")
    expect(page.locator("#msg")).to_have_class(re.compile(r"\berror\b"))
    expect(page.locator("#msg")).to_contain_text("Không tìm thấy số thứ tự này")
    assert live_api.counter(1)["ticket"] is None

    # pause with a reason, then resume by F11
    press(page, "F11")
    page.locator('#pause-reasons [data-reason="meeting"]').click()
    settle(page)
    expect(page.locator("#paused-banner")).to_contain_text("Đi họp")
    assert live_api.counter(1)["state"] == "paused"
    expect(page.locator('.act[data-act="next"]')).to_be_disabled()
    press(page, "F11")
    expect(page.locator("#paused-banner")).to_be_hidden()
    assert live_api.counter(1)["state"] == "open"

    (ARTIFACTS / f"counter-latency-{async_mode}.json").write_text(json.dumps(latencies))
    assert all(ms >= 0 for ms in latencies)


def test_hold_and_bring_back_from_the_hold_list(
    live: Any, live_api: Any, page_factory: Any
) -> None:
    server, _ = live
    ticket = live_api.issue("TP")
    page = page_factory(1366, 768)
    sign_in(page, server.url)
    expect(page.locator("#work")).to_be_visible(timeout=WAIT)  # clerk1 is already at counter 1

    press(page, "Enter")
    expect(page.locator("#cur-number")).to_have_text(ticket["display_number"])
    press(page, "F7")
    held = page.locator("#held .trow")
    expect(held).to_have_count(1)
    expect(held.locator(".num")).to_have_text(ticket["display_number"])
    assert live_api.ticket(ticket["id"])["status"] == "held"
    held.locator("button.unhold").click()
    settle(page)

    expect(page.locator("#cur-number")).to_have_text(ticket["display_number"])
    expect(held).to_have_count(0)
    expect(page.locator("#f-calls")).to_have_text("2")
    assert live_api.ticket(ticket["id"])["status"] == "called"


def test_clerk_moves_to_another_counter_after_confirming(
    live: Any, live_api: Any, page_factory: Any
) -> None:
    server, _ = live
    live_api.act(2, "close")
    page = page_factory(1366, 768)
    sign_in(page, server.url)
    expect(page.locator("#work")).to_be_visible(timeout=WAIT)
    expect(page.locator("#where")).to_contain_text("Quầy 1")

    page.locator("#btn-change").click()
    expect(page.locator("#chooser")).to_be_visible()
    expect(page.locator('.counter-card[data-counter="3"]')).to_be_disabled()  # clerk3 is there
    page.locator('.counter-card[data-counter="2"]').click()
    dialog = page.locator("#dlg-move")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Bạn đang ở quầy 1 — chuyển sang quầy 2?")
    dialog.locator("#move-ok").click()
    settle(page)

    expect(page.locator("#work")).to_be_visible(timeout=WAIT)
    expect(page.locator("#where")).to_contain_text("Quầy 2")
    assert live_api.counter(2)["clerk"] == "clerk1"
    assert live_api.counter(1)["state"] == "closed"

    # leave the counter, come back, and sign out (which leaves it too)
    page.locator("#btn-leave").click()
    settle(page)
    expect(page.locator("#chooser")).to_be_visible()
    expect(page.locator("#chooser-msg")).to_contain_text("Bạn đã rời quầy 2")
    assert live_api.counter(2)["state"] == "closed"
    page.locator('.counter-card[data-counter="2"]').click()
    expect(page.locator("#work")).to_be_visible(timeout=WAIT)
    page.locator("#btn-logout").click()
    expect(page).to_have_url(re.compile(r"/login"), timeout=WAIT)
    assert live_api.counter(2)["state"] == "closed"
    assert live_api.counter(2)["clerk"] is None


def test_an_expired_session_goes_back_to_sign_in(
    live: Any, live_api: Any, page_factory: Any
) -> None:
    server, _ = live
    live_api.issue("TP")
    page = page_factory(1366, 768)
    sign_in(page, server.url)
    expect(page.locator("#work")).to_be_visible(timeout=WAIT)
    # The notice leads to the sign-in page 4 s after it shows: the page's timers wait for the
    # test until the notice is seen (a loaded machine once took longer than that to look, and
    # found the sign-in page already)
    page.clock.install()
    page.clock.pause_at(datetime.now(UTC) + timedelta(seconds=1))

    # The server ends the session (as at the end of its lifetime or a new password). Clearing
    # the browser's cookies instead raced the page's requests in flight, whose answers set the
    # session cookie again.
    db = Database(Settings.from_env(server.env).database_url)
    try:
        with db.write() as s:
            clerk = s.scalars(sa.select(User).where(User.username == "clerk1")).one()
            assert end_sessions(s, clerk, datetime.now(UTC)) >= 1
    finally:
        db.dispose()
    press(page, "Enter")

    expect(page.locator("#expired")).to_be_visible(timeout=WAIT)
    expect(page.locator("#expired")).to_contain_text("Phiên đăng nhập đã hết hạn")
    expect(page).to_have_url(re.compile(r"/counter"))  # still here while the clock stands
    page.clock.resume()
    expect(page).to_have_url(re.compile(r"/login\?next=/counter$"), timeout=WAIT)
    assert live_api.counter(1)["ticket"] is None  # nothing was called


def test_pad_low_score_reasons_and_a_single_rating_per_visit(
    live: Any, live_api: Any, page_factory: Any
) -> None:
    server, _ = live
    pad = open_pad(page_factory, server.url, live_api.token("pad1"))

    def visit() -> dict[str, Any]:
        live_api.issue("TP")
        ticket = live_api.act(1, "next")["ticket"]
        live_api.act(1, "start")
        live_api.act(1, "finish")
        expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)
        expect(pad.locator("#q-ticket")).to_have_text(f"số {ticket['display_number']}")
        return ticket  # type: ignore[no-any-return]

    def rated(ticket: dict[str, Any]) -> list[tuple[int, list[str]]]:
        return [
            (e["score"], e["reasons"])
            for e in live_api.events("ticket.rated")
            if e["ticket"]["id"] == ticket["id"]
        ]

    # a low score asks for reasons, then sends them with the score
    low = visit()
    box = pad.locator('.smiley[data-score="1"]').bounding_box()
    pad.locator('.smiley[data-score="1"]').click()
    expect(pad.locator("#s-reasons")).to_be_visible()
    expect(pad.locator(".chip")).to_have_count(5)
    pad.locator('.chip[data-reason="Thời gian chờ lâu"]').click()
    expect(pad.locator('.chip[data-reason="Thời gian chờ lâu"]')).to_have_class(
        re.compile(r"\bon\b")
    )
    pad.locator("#r-send").click()
    expect(pad.locator("#s-thanks")).to_be_visible()
    assert rated(low) == [(1, ["Thời gian chờ lâu"])]

    # back to idle after the thank-you; a tap there records nothing more
    expect(pad.locator("#s-idle")).to_be_visible(timeout=WAIT)
    assert box is not None
    pad.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(pad.locator("#s-idle")).to_be_visible()
    assert rated(low) == [(1, ["Thời gian chờ lâu"])]

    # a double tap rates once and shows no refusal
    quick = visit()
    pad.locator('.smiley[data-score="4"]').dblclick()
    expect(pad.locator("#s-thanks")).to_be_visible()
    expect(pad.locator("#pad-error")).to_be_hidden()
    assert rated(quick) == [(4, [])]


def test_pad_question_goes_back_to_idle_when_nobody_taps(
    live: Any, live_api: Any, page_factory: Any
) -> None:
    server, _ = live
    pad = page_factory(1280, 800)
    pad.clock.install()  # the page's timers run on a clock the test can move
    pad.goto(f"{server.url}/rating?token={live_api.token('pad1')}")
    expect(pad.locator("#s-idle")).to_be_visible(timeout=WAIT)
    expect(pad.locator("#pad-conn")).to_have_class(re.compile(r"\bon\b"), timeout=WAIT)
    live_api.issue("TP")
    live_api.act(1, "next")
    live_api.act(1, "start")
    live_api.act(1, "finish")
    expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)

    pad.clock.fast_forward(19_000)
    expect(pad.locator("#s-question")).to_be_visible()
    pad.clock.fast_forward(2_000)

    expect(pad.locator("#s-idle")).to_be_visible()
    assert live_api.events("ticket.rated") == []


def test_pad_low_score_left_alone_still_counts(live: Any, live_api: Any, page_factory: Any) -> None:
    server, _ = live
    pad = page_factory(1280, 800)
    pad.clock.install()
    pad.goto(f"{server.url}/rating?token={live_api.token('pad1')}")
    expect(pad.locator("#pad-conn")).to_have_class(re.compile(r"\bon\b"), timeout=WAIT)
    live_api.issue("TP")
    ticket = live_api.act(1, "next")["ticket"]
    live_api.act(1, "start")
    live_api.act(1, "finish")
    expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)
    pad.locator('.smiley[data-score="2"]').click()
    pad.locator('.chip[data-reason="Hướng dẫn chưa rõ"]').click()

    pad.clock.fast_forward(21_000)

    expect(pad.locator("#s-thanks")).to_be_visible()
    [event] = live_api.events("ticket.rated")
    assert (event["ticket"]["id"], event["score"], event["reasons"]) == (
        ticket["id"],
        2,
        ["Hướng dẫn chưa rõ"],
    )
    pad.clock.fast_forward(6_000)
    expect(pad.locator("#s-idle")).to_be_visible()


def test_pad_without_a_token_says_it_is_not_set_up(live: Any, page_factory: Any) -> None:
    server, _ = live
    pad = page_factory(1280, 800)

    pad.goto(f"{server.url}/rating")

    expect(pad.locator("#s-setup")).to_be_visible()
    expect(pad.locator("#setup-title")).to_contain_text("chưa được kích hoạt")


def test_pad_draws_the_halls_own_scale_labels_and_reasons(
    live: Any, live_api: Any, page_factory: Any
) -> None:
    import sqlite3

    server, _ = live
    labels = [
        {"vi": "Hài lòng", "en": "Satisfied"},
        {"vi": "Tạm được", "en": "Okay"},
        {"vi": "Chưa hài lòng", "en": "Not satisfied"},
    ]
    reasons = [{"vi": "Phòng chờ nóng", "en": "Hot waiting room"}, {"vi": "Thiếu ghế", "en": ""}]
    with sqlite3.connect(Path(server.env["LAYSO_INSTANCE"]) / "layso.sqlite3") as con:
        con.execute(
            "UPDATE hall SET rating_scale = 3, rating_labels = ?, rating_reasons = ?",
            (json.dumps(labels), json.dumps(reasons)),
        )
    pad = open_pad(page_factory, server.url, live_api.token("pad1"))
    live_api.issue("TP")
    ticket = live_api.act(1, "next")["ticket"]
    live_api.act(1, "start")
    live_api.act(1, "finish")

    expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)
    expect(pad.locator(".smiley .label")).to_have_text(["Hài lòng", "Tạm được", "Chưa hài lòng"])
    expect(pad.locator(".smiley")).to_have_count(3)
    pad.locator(".smiley", has_text="Chưa hài lòng").click()
    expect(pad.locator(".chip .chip-text")).to_have_text(
        [re.compile("^Phòng chờ nóng"), re.compile("^Thiếu ghế")]
    )
    pad.locator('.chip[data-reason="Thiếu ghế"]').click()
    pad.locator("#r-send").click()
    expect(pad.locator("#s-thanks")).to_be_visible()
    [event] = live_api.events("ticket.rated")
    assert (event["ticket"]["id"], event["score"], event["scale"], event["reasons"]) == (
        ticket["id"],
        1,
        3,
        ["Thiếu ghế"],
    )
