"""The sign-in page in headless Chromium: errors in both languages, why it sent you, no bare 403."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
WAIT = 15_000  # ms: generous for a loaded machine; expect() returns as soon as it holds


@pytest.fixture(scope="module")
def url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One real server with the demo hall for the module (the tests only sign in and read)."""
    root = next(
        p
        for p in request.config.pluginmanager.get_plugins()
        if getattr(p, "__file__", None) == str(ROOT_CONFTEST)
    )
    tmp = tmp_path_factory.mktemp("sign_in")
    env = root.server_env(tmp / "instance")
    root.seed_demo_instance(env)
    server = root.start_server(env, tmp / "server.log")
    yield server.url
    server.stop()


def test_a_wrong_password_is_told_in_both_languages_and_the_username_stays(
    url: str, page_factory: Any
) -> None:
    page = page_factory(1280, 800)
    page.goto(f"{url}/login?next=/counter")
    page.fill("input[name=username]", "clerk1")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")

    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Sai tên đăng nhập hoặc mật khẩu", timeout=WAIT)
    expect(alert).to_contain_text("Wrong username or password")
    text = alert.inner_text()
    assert text.index("Sai tên") < text.index("Wrong")  # Vietnamese first
    expect(page.locator("input[name=username]")).to_have_value("clerk1")
    expect(page.locator("input[name=password]")).to_have_value("")
    expect(page.locator("input[name=password]")).to_be_focused()
    page.screenshot(path="/tmp/layso-login-wrong.png")

    # the corrected password still signs in and goes where the clerk was going
    page.fill("input[name=password]", "demo-clerk1")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/counter", timeout=WAIT)


def test_the_counter_without_a_session_says_why_it_asks_to_sign_in(
    url: str, page_factory: Any
) -> None:
    page = page_factory(1280, 800)
    page.goto(f"{url}/counter")

    expect(page).to_have_url(re.compile(r"/login\?next=/counter$"), timeout=WAIT)
    why = page.get_by_role("status")
    expect(why).to_contain_text("Vui lòng đăng nhập để dùng trang quầy")
    expect(why).to_contain_text("Please sign in to use the counter page")
    page.screenshot(path="/tmp/layso-login-counter.png")


def test_a_clerk_opening_the_manager_pages_can_sign_in_with_another_account(
    url: str, page_factory: Any
) -> None:
    page = page_factory(1280, 800)
    page.goto(f"{url}/login?next=/counter")
    page.fill("input[name=username]", "clerk1")
    page.fill("input[name=password]", "demo-clerk1")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{url}/counter", timeout=WAIT)

    answer = page.goto(f"{url}/manager/reports")

    assert answer is not None and answer.status == 403
    expect(page.locator("h1")).to_contain_text("không có quyền")
    expect(page.locator("main")).to_contain_text("clerk1")
    expect(page.locator("main")).to_contain_text("lãnh đạo")
    other = page.get_by_role("button", name=re.compile("Đăng nhập bằng tài khoản khác"))
    expect(other).to_be_visible()
    page.screenshot(path="/tmp/layso-manager-no-access.png")

    other.click()  # signs the clerk out, then the sign-in page for the page wanted
    expect(page).to_have_url(re.compile(r"/login\?next=/manager/reports$"), timeout=WAIT)
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(f"{url}/manager/reports") + r"(\?.*)?$"))
    expect(page.locator("h1")).to_contain_text("Báo cáo")
