"""The managers' bookings and messages pages in headless Chromium against the real server: the
day's bookings masked, the merge rule in words, a closure and a slot template added through the
forms; a channel added, and a failed message listed with its error."""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import expect

from tests.manager.browser_login import sign_in

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "notify"))
from notify_stubs import Answer, start_stub  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT = 15_000
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


@pytest.fixture
def server(
    tmp_path: Path, server_env_factory: Callable, demo_seed: Callable, servers: Callable
) -> tuple[Any, dict[str, Any]]:
    env = server_env_factory(tmp_path / "instance", LAYSO_WEBHOOK_SECRET="s")
    demo = demo_seed(env)
    return servers(env, tmp_path / "server.log"), demo


def test_the_bookings_page_lists_the_day_masked_and_edits_closures_and_templates(
    server: tuple[Any, dict[str, Any]], page_factory: Callable
) -> None:
    live, demo = server
    tomorrow = (datetime.now(HANOI) + timedelta(days=1)).date()
    later = tomorrow + timedelta(days=2)
    api = f"{live.url}/api/v1/halls/demo"
    r = requests.post(
        f"{api}/bookings",
        json={
            "service": "TP",
            "date": tomorrow.isoformat(),
            "slot": "08:30",
            "phone": "0912345678",
        },
        timeout=30,
    )
    assert r.status_code == 201, r.text
    code = r.json()["booking"]["code"]

    page = page_factory(1280, 900)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live.url, "/manager/bookings")
    expect(page.locator("#bk-rule-vi li").first).to_be_visible(timeout=WAIT)
    expect(page.locator("#bk-rule-vi")).to_contain_text("5 phút trước giờ hẹn")
    expect(page.locator("#bk-rule-en")).to_contain_text("target wait")
    expect(page.locator("#bk-templates tbody tr")).to_have_count(4)

    # the day's bookings: masked, with their state
    page.fill("#bk-date", tomorrow.strftime("%d/%m/%Y"))
    page.click("#bk-day-form button[type=submit]")
    row = page.locator(f"#bk-day tr[data-code='{code}']")
    expect(row).to_contain_text("08:30", timeout=WAIT)
    expect(row).to_contain_text("091****678")
    expect(row).to_contain_text("Đã đặt")
    assert "0912345678" not in page.content()
    href = page.locator("#bk-csv").get_attribute("href") or ""
    assert f"date={tomorrow.isoformat()}" in href and "format=csv" in href

    # a closure through the form: that day takes no booking any more
    page.fill("#bk-closure-day", later.strftime("%d/%m/%Y"))
    page.fill("#bk-closure-form input[name=reason]", "Nghỉ lễ")
    page.click("#bk-closure-add")
    expect(page.locator("#bk-closures tbody tr")).to_have_count(1, timeout=WAIT)
    expect(page.locator("#bk-closures")).to_contain_text("Nghỉ lễ")
    refused = requests.post(
        f"{api}/bookings",
        json={"service": "TP", "date": later.isoformat(), "slot": "08:30", "phone": "0987654321"},
        timeout=30,
    )
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "day_closed"

    # a slot template through the form
    page.select_option("#bk-template-area", "DD")
    page.fill("#bk-template-form input[name=start]", "08:00")
    page.fill("#bk-template-form input[name=end]", "09:00")
    page.click("#bk-template-add")
    expect(page.locator("#bk-templates tbody tr")).to_have_count(5, timeout=WAIT)
    expect(page.locator("#bk-templates")).to_contain_text("08:00–09:00")
    # changed in place
    new_row = page.locator("#bk-templates tbody tr", has_text="08:00–09:00")
    new_row.get_by_role("button", name="Sửa · edit").click()
    page.fill("#bk-template-form input[name=capacity]", "4")
    page.click("#bk-template-add")
    expect(page.locator("#bk-template-msg")).to_contain_text("Đã lưu", timeout=WAIT)
    expect(new_row.locator("td").nth(4)).to_have_text("4")
    expect(page.locator("#bk-templates tbody tr")).to_have_count(5)
    # a bad one says why, in Vietnamese
    page.fill("#bk-template-form input[name=start]", "10:00")
    page.fill("#bk-template-form input[name=end]", "09:00")
    page.click("#bk-template-add")
    expect(page.locator("#bk-template-msg")).to_contain_text("Giờ bắt đầu phải trước giờ kết thúc")

    # one area's own rule: the others keep following the hall
    page.select_option("#bk-rules-scope", "TP")
    page.fill("#bk-rules-form input[name=lead_min]", "3")
    page.click("#bk-rules-form button[type=submit]")
    expect(page.locator("#bk-rules-msg")).to_contain_text("Đã lưu", timeout=WAIT)
    manager = {"Authorization": f"Bearer {demo['manager']['token']}"}
    setup = requests.get(f"{api}/config/bookings", headers=manager, timeout=30).json()
    own = {a["service"]: (a["lead_min"], a["own"]) for a in setup["rules"]["areas"]}
    assert own["TP"] == (3, {"lead_min": 3}) and own["CT"] == (5, {})
    assert errors == []


def test_the_messages_page_adds_a_channel_and_lists_a_failure(
    server: tuple[Any, dict[str, Any]], page_factory: Callable
) -> None:
    live, demo = server
    stub = start_stub()
    stub.default = Answer(400, b'{"error": "unknown hook"}')
    try:
        page = page_factory(1280, 900)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        sign_in(page, live.url, "/manager/notify")
        expect(page.locator("#nt-settings-json")).to_have_value(re.compile("url"), timeout=WAIT)
        page.fill("#nt-settings-form input[name=near_ahead]", "5")
        page.click("#nt-settings-form button[type=submit]")
        expect(page.locator("#nt-settings-msg")).to_contain_text("Đã lưu", timeout=WAIT)
        page.fill("#nt-channel-form input[name=name]", "Hệ thống một cửa")
        page.fill("#nt-settings-json", f'{{"url": "{stub.url}/hook"}}')
        page.click("#nt-channel-add")
        row = page.locator("#nt-channels tbody tr")
        expect(row).to_have_count(1, timeout=WAIT)
        expect(row).to_contain_text("Hệ thống một cửa")
        expect(row).to_contain_text("LAYSO_WEBHOOK_SECRET")
        expect(row).to_contain_text("đã đặt")
        # changed in place: the name, and the settings without the secret's status
        row.get_by_role("button", name="Sửa · edit").click()
        expect(page.locator("#nt-settings-json")).not_to_have_value(re.compile("secret_set"))
        page.fill("#nt-channel-form input[name=name]", "Một cửa điện tử")
        page.click("#nt-channel-add")
        expect(page.locator("#nt-channel-msg")).to_contain_text("Đã lưu", timeout=WAIT)
        expect(row).to_contain_text("Một cửa điện tử")
        expect(page.locator("#nt-channels tbody tr")).to_have_count(1)

        kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
        ticket = requests.post(
            f"{live.url}/api/v1/halls/demo/tickets",
            json={"service": "TP"},
            headers=kiosk,
            timeout=30,
        ).json()["ticket"]
        code = ticket["status_url"].rsplit("/", 1)[1]
        r = requests.put(
            f"{live.url}/api/v1/t/{code}/phone", json={"phone": "0912345678"}, timeout=30
        )
        assert r.status_code == 200
        stub.wait_for(1)
        manager = {"Authorization": f"Bearer {demo['manager']['token']}"}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the refusal is recorded once the stub has answered
            counts = requests.get(
                f"{live.url}/api/v1/halls/demo/notify/notices", headers=manager, timeout=30
            ).json()["counts"]
            if counts["failed"]:
                break
            time.sleep(0.05)
        page.reload()
        failed = page.locator("#nt-notices tbody tr")
        expect(failed).to_have_count(1, timeout=WAIT)
        expect(failed).to_contain_text("HTTP 400")
        expect(failed).to_contain_text("84******678")
        expect(failed).to_contain_text("turn.near")
        assert errors == []
    finally:
        stub.close()
