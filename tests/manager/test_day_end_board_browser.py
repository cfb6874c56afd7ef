"""The board's end-of-day control in Chromium against the real server: the closing time is
said, the checkbox keeps today's queue open (and takes it back), and a reload shows it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]
WAIT = 15_000


def test_keep_the_queue_open_from_the_board(
    tmp_path: Path, server_env_factory: Any, demo_seed: Any, servers: Any, page_factory: Any
) -> None:
    env = server_env_factory(tmp_path / "instance")
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    auth = {"Authorization": f"Bearer {demo['manager']['token']}"}

    def day() -> Any:
        return requests.get(f"{server.url}/api/v1/halls/demo/day", headers=auth, timeout=10).json()

    page = page_factory(1440, 900)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/manager")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/manager$"))
    box = page.locator("#keep-open")
    # the demo hall has no hours: its day ends at midnight
    expect(page.locator("#day-end-note")).to_contain_text("hết giờ lúc 00:00", timeout=WAIT)
    expect(box).not_to_be_checked()

    box.check()
    expect(page.locator("#day-end-note")).to_contain_text("Hàng chờ mở tới hết ngày", timeout=WAIT)
    assert day()["keep_open"] is True
    page.reload()
    expect(page.locator("#keep-open")).to_be_checked(timeout=WAIT)

    page.locator("#keep-open").uncheck()
    expect(page.locator("#day-end-note")).to_contain_text("hết giờ lúc", timeout=WAIT)
    assert day()["keep_open"] is False
    assert errors == []
