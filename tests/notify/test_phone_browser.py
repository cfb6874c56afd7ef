"""The phone page's actions in headless Chromium against the real server: a phone number to be
told (its notice reaching the stub provider), "sắp đến lượt", "Tôi sẽ đến muộn" once, and
"Hủy số" with its confirmation."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 15_000


def test_the_phone_page_leaves_a_phone_moves_back_once_and_leaves_after_confirming(
    tmp_path: Path,
    server_env_factory: Callable[..., dict[str, str]],
    demo_seed: Callable,
    servers: Callable,
    stubs: Callable,
    page_factory: Callable,
) -> None:
    env = server_env_factory(tmp_path / "instance", LAYSO_WEBHOOK_SECRET="s")
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    hook = stubs()
    manager = {"Authorization": f"Bearer {demo['manager']['token']}"}
    kiosk = {"Authorization": f"Bearer {demo['devices']['kiosk']}"}
    base = f"{server.url}/api/v1/halls/demo"

    def post(path: str, headers: dict[str, str], body: Any, method: str = "POST") -> Any:
        r = requests.request(method, f"{base}/{path}", json=body, headers=headers, timeout=30)
        assert r.status_code < 300, r.text
        return r.json()

    post("notify/settings", manager, {"near_ahead": 1, "late_places": 2}, "PATCH")
    post(
        "notify/channels",
        manager,
        {"kind": "webhook", "name": "hook", "settings": {"url": hook.url}},
    )
    tickets = [post("tickets", kiosk, {"service": "TP"})["ticket"] for _ in range(4)]

    phone = page_factory(390, 844)
    errors: list[str] = []
    phone.on("pageerror", lambda e: errors.append(str(e)))
    phone.goto(tickets[1]["status_url"])  # 1002: one ahead, near already
    expect(phone.locator("#ph-number")).to_have_text("1002")
    expect(phone.locator("#ph-near")).to_be_visible()
    expect(phone.locator("#ph-near")).to_contain_text("SẮP ĐẾN LƯỢT")

    # a phone number: kept masked, and the near notice goes out at once
    phone.locator("#ph-phone").fill("0912 345 678")
    phone.locator("#ph-phone-save").click()
    expect(phone.locator("#ph-phone-masked")).to_have_text("84******678", timeout=WAIT_MS)
    [req] = hook.wait_for(1)
    assert req.json()["kind"] == "turn.near" and "1002" in req.json()["text"]

    # "I'll be late": two places back, once
    late = phone.locator("#ph-late")
    expect(late).to_contain_text("Tôi sẽ đến muộn — lùi 2 lượt")
    late.click()
    expect(phone.locator("#ph-act-msg")).to_contain_text("Đã lùi 2 lượt", timeout=WAIT_MS)
    expect(phone.locator("#ph-ahead")).to_have_text("3")
    expect(late).to_be_disabled()
    expect(late).to_contain_text("Đã lùi lượt")
    expect(phone.locator("#ph-near")).to_be_hidden()

    # "Hủy số": nothing happens until confirmed
    phone.locator("#ph-leave").click()
    expect(phone.locator("#ph-leave-confirm")).to_be_visible()
    phone.locator("#ph-leave-no").click()
    expect(phone.locator("#ph-leave-confirm")).to_be_hidden()
    code = tickets[1]["status_url"].rsplit("/", 1)[1]
    status = requests.get(f"{server.url}/api/v1/t/{code}", timeout=10).json()["ticket"]["status"]
    assert status == "waiting"
    phone.locator("#ph-leave").click()
    phone.locator("#ph-leave-yes").click()
    expect(phone.locator("#ph-act-msg")).to_contain_text("Đã hủy số", timeout=WAIT_MS)
    expect(phone.locator("#ph-status")).to_contain_text("Số này đã bị hủy")
    expect(phone.locator("#ph-actions")).to_be_hidden()
    status = requests.get(f"{server.url}/api/v1/t/{code}", timeout=10).json()["ticket"]["status"]
    assert status == "cancelled"
    assert errors == []
