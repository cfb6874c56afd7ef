"""The manager board during a scripted day on the real server, in headless Chromium: an alert
appears when a ticket waits past its area's target and clears when it is called; a pause shows
its reason, and a pause past the hall's limit shows an alert until the counter resumes; a long
queue shows one until a counter calls; a display page's heartbeat shows it online, and its loss
raises an alert; the reports page counts the day's alerts by kind."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from layso.db import Database
from layso.models import Counter, Ticket
from tests.conftest import Server, api_ok, seed_demo_instance, server_env, start_server
from tests.manager.browser_login import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT = 15_000  # ms: generous for a loaded machine; expect() returns as soon as it holds


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[Server, Any]]:
    env = server_env(tmp_path / "instance", LAYSO_ALERT_INTERVAL="0.3")
    demo = seed_demo_instance(env)
    srv = start_server(env, tmp_path / "server.log")
    yield srv, demo
    srv.stop()


def _call(srv: Server, token: str, method: str, path: str, body: Any = None) -> Any:
    return api_ok(srv.url, token, method, path, body)


def test_alerts_appear_and_clear_on_the_board_during_a_scripted_day(
    server: tuple[Server, Any], page_factory: Any
) -> None:
    srv, demo = server
    manager, kiosk = demo["manager"]["token"], demo["devices"]["kiosk"]
    clerk2 = demo["counters"][1]["token"]
    _call(
        srv,
        manager,
        "PATCH",
        "config/hall",
        {
            "alert_settings": {
                "device_offline_s": 3,
                "pause_max_min": 1,
                "max_waiting_by_service": {"DD": 2},
            }
        },
    )
    board = page_factory(1440, 900)
    sign_in(board, srv.url)
    expect(board.locator("#status")).to_have_class(re.compile("online"), timeout=WAIT)
    expect(board.locator("#alerts")).to_contain_text("Không có cảnh báo")

    # 08:00 a citizen takes a number in Tư pháp (target 15 min); it has waited 16 min
    ticket = _call(srv, kiosk, "POST", "tickets", {"service": "TP"})["ticket"]
    database = Database(f"sqlite:///{Path(srv.env['LAYSO_INSTANCE']) / 'layso.sqlite3'}")
    with database.write() as s:
        row = s.get(Ticket, ticket["id"])
        assert row is not None
        row.queued_at -= timedelta(minutes=16)
        row.issued_at -= timedelta(minutes=16)
    database.dispose()
    late = board.locator('#alerts li[data-kind="ticket_wait"]')
    expect(late).to_be_visible(timeout=WAIT)
    expect(late).to_contain_text(ticket["display_number"])
    expect(late).to_contain_text("Cảnh báo")

    # counter 2 calls it: the alert clears
    called = _call(srv, clerk2, "POST", "counters/2/next")["ticket"]
    assert called["id"] == ticket["id"]
    expect(late).to_have_count(0, timeout=WAIT)

    # counter 2 finishes and pauses for a meeting: the board names the reason in both languages
    _call(srv, clerk2, "POST", "counters/2/start")
    _call(srv, clerk2, "POST", "counters/2/finish")
    _call(srv, clerk2, "POST", "counters/2/pause", {"reason": "meeting"})
    card = board.locator('.counter-card[data-counter="2"]')
    expect(card).to_contain_text("Đi họp", timeout=WAIT)
    expect(card).to_contain_text("Meeting")

    # the meeting began 2 min ago (the hall's limit: 1 min; minutes are whole, so the pause's
    # start is moved back in the database): the board says so; counter 2 resumes, it clears
    database = Database(f"sqlite:///{Path(srv.env['LAYSO_INSTANCE']) / 'layso.sqlite3'}")
    with database.write() as s:
        counter = s.scalar(sa.select(Counter).where(Counter.number == 2))
        assert counter is not None and counter.state_since is not None
        counter.state_since -= timedelta(minutes=2)
    database.dispose()
    long_pause = board.locator('#alerts li[data-kind="counter_paused"]')
    expect(long_pause).to_be_visible(timeout=WAIT)
    expect(long_pause).to_contain_text("Quầy 2 tạm dừng đã 2 phút (Đi họp)")
    expect(long_pause).to_contain_text("Counter 2 has been paused for 2 min")
    _call(srv, clerk2, "POST", "counters/2/resume")
    expect(long_pause).to_have_count(0, timeout=WAIT)

    # two wait in Đất đai, whose limit is 2: a long queue; counter 3 calls one, it clears
    for _ in range(2):
        _call(srv, kiosk, "POST", "tickets", {"service": "DD"})
    long_queue = board.locator('#alerts li[data-kind="queue_length"]')
    expect(long_queue).to_be_visible(timeout=WAIT)
    expect(long_queue).to_contain_text("2 người đang chờ (ngưỡng 2)")
    _call(srv, demo["counters"][2]["token"], "POST", "counters/3/next")
    expect(long_queue).to_have_count(0, timeout=WAIT)

    # the hall's display comes up: its heartbeat shows it online with its page version
    display_id = next(
        d["device"]
        for d in _call(srv, manager, "GET", "alerts")["devices"]
        if d["kind"] == "display"
    )
    row = board.locator(f'#devices tr[data-device="{display_id}"]')
    expect(row).to_contain_text("Chưa báo")
    wall = page_factory(1280, 720)
    wall.goto(f"{srv.url}/display?token={demo['devices']['display']}")
    expect(row).to_have_attribute("data-online", "true", timeout=WAIT)
    expect(row).to_contain_text("display@")

    # the display goes away: after 3 s it is offline and an alert says so; back, it clears
    wall.close()
    offline = board.locator('#alerts li[data-kind="device_offline"]')
    expect(offline).to_be_visible(timeout=WAIT)
    expect(offline).to_contain_text("Màn hình sảnh")
    expect(row).to_have_attribute("data-online", "false")
    wall = page_factory(1280, 720)
    wall.goto(f"{srv.url}/display?token={demo['devices']['display']}")
    expect(offline).to_have_count(0, timeout=WAIT)
    expect(row).to_have_attribute("data-online", "true")

    # the reports page counts the day's alerts by kind, as the report does
    by_kind = {k["kind"]: k for k in _call(srv, manager, "GET", "reports/alerts")["by_kind"]}
    assert by_kind["counter_paused"]["alerts"] == 1 and by_kind["queue_length"]["alerts"] == 1
    assert by_kind["ticket_wait"]["alerts"] == 1 and by_kind["device_offline"]["alerts"] == 1
    board.goto(f"{srv.url}/manager/reports")
    for kind, text in (("counter_paused", "Quầy tạm dừng lâu"), ("queue_length", "Hàng chờ dài")):
        line = board.locator(f'#alerts-report tr[data-kind="{kind}"]')
        expect(line).to_contain_text(text, timeout=WAIT)
        expect(line.locator("td").nth(1)).to_have_text("1")


def test_a_manager_sets_thresholds_and_pause_reasons_and_reads_pauses_in_reports(
    server: tuple[Server, Any], page_factory: Any
) -> None:
    srv, demo = server
    clerk1 = demo["counters"][0]["token"]
    page = page_factory(1440, 900)
    sign_in(page, srv.url)

    page.goto(f"{srv.url}/manager/config#ops")
    form = page.locator("#ops-form")
    expect(form.locator("[name=device_offline_s]")).to_have_value("90", timeout=WAIT)
    reasons = form.locator("[name=pause_reasons]")
    expect(reasons).to_have_value(re.compile(r"^meeting \| Đi họp \| Meeting\n"))
    form.locator("[name=device_offline_s]").fill("45")
    form.locator("[name=notify]").select_option("critical")
    form.locator("[name=pause_reasons]").fill(
        "training | Tập huấn | Training\nlunch | Nghỉ trưa | Lunch"
    )
    form.locator("button[type=submit]").click()
    expect(page.locator("#ops-msg")).to_contain_text("Đã lưu", timeout=WAIT)

    hall = _call(srv, demo["manager"]["token"], "GET", "config")["hall"]
    assert hall["alert_settings"]["device_offline_s"] == 45
    assert hall["alert_settings"]["notify"] == "critical"
    assert [r["code"] for r in hall["pause_reasons"]] == ["training", "lunch"]
    paused = _call(srv, clerk1, "POST", "counters/1/pause", {"reason": "training"})
    assert paused["counter"]["pause_reason"] == "Tập huấn"

    # a wrong line is refused with the reason, and nothing changes
    form.locator("[name=pause_reasons]").fill("Bad Code | x | y")
    form.locator("button[type=submit]").click()
    expect(page.locator("#ops-msg")).to_contain_text("tạm dừng", timeout=WAIT)
    hall = _call(srv, demo["manager"]["token"], "GET", "config")["hall"]
    assert [r["code"] for r in hall["pause_reasons"]] == ["training", "lunch"]

    page.goto(f"{srv.url}/manager/reports")
    row = page.locator('#pauses-report tr[data-reason="training"]')
    expect(row).to_contain_text("Tập huấn", timeout=WAIT)
    expect(page.locator('#pauses-report tr[data-clerk="clerk1"]')).to_be_visible()
