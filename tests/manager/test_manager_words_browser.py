"""Manager pages in plain Vietnamese, in headless Chromium against one real server.

Labels a manager understands, priority reasons named in full, the audit log in Vietnamese,
dates typed and shown as dd/mm/yyyy whatever the browser's locale, the ticket footer not cut."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
WAIT = 15_000  # ms: generous for a loaded machine; expect() returns as soon as it holds
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")


class Site:
    def __init__(self, url: str, demo: dict[str, Any], api_ok: Any) -> None:
        self.url, self.demo, self.api_ok = url, demo, api_ok  # api_ok: the root conftest's

    def call(self, method: str, path: str, body: Any = None, who: str = "manager") -> Any:
        token = self.demo["manager"]["token"] if who == "manager" else self.demo["devices"][who]
        return self.api_ok(self.url, token, method, path, body)


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    root = next(
        p
        for p in request.config.pluginmanager.get_plugins()
        if getattr(p, "__file__", None) == str(ROOT_CONFTEST)
    )
    tmp = tmp_path_factory.mktemp("manager_words")
    env = root.server_env(tmp / "instance")
    demo = root.seed_demo_instance(env)
    server = root.start_server(env, tmp / "server.log")
    yield Site(server.url, demo, root.api_ok)
    server.stop()


@pytest.fixture
def en_us_page(browser: Any) -> Iterator[Any]:
    """A page whose browser speaks American English: <input type=date> would show mm/dd/yyyy."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="en-US")
    yield ctx.new_page()
    ctx.close()


def sign_in(page: Any, url: str, path: str) -> None:
    page.goto(f"{url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next="), timeout=WAIT)
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(f"{url}{path}")), timeout=WAIT)


def today() -> datetime:
    return datetime.now(HANOI)


def test_log_labels_and_priority_reasons_are_plain_vietnamese(
    site: Site, page_factory: Any
) -> None:
    site.call("POST", "tickets", {"service": "TP", "priority": "NCT"}, who="kiosk")
    page = page_factory(1440, 900)
    sign_in(page, site.url, "/manager/log")

    expect(page.locator("label.check")).to_contain_text("Chỉ hiện số chờ quá hạn")
    row = page.locator("#log tbody tr").first
    expect(row).to_contain_text("Người cao tuổi", timeout=WAIT)
    assert not re.search(r"\bNCT\b", row.inner_text())
    page.screenshot(path="/tmp/layso-manager-log.png", full_page=True)


@pytest.mark.parametrize("path", ["/manager", "/manager/reports"])
def test_the_median_wait_is_explained(site: Site, page_factory: Any, path: str) -> None:
    page = page_factory(1440, 900)
    sign_in(page, site.url, path)

    kpi = page.locator(".kpi", has_text="Chờ trung vị")
    expect(kpi).to_contain_text("Một nửa số lượt chờ ít hơn mức này")
    page.screenshot(path=f"/tmp/layso-manager-median{path.replace('/', '-')}.png")


def test_the_audit_log_reads_in_vietnamese(site: Site, page_factory: Any) -> None:
    site.call("PATCH", "config/hall", {"greeting": "Xin kính chào quý khách đến Trung tâm"})
    page = page_factory(1440, 900)
    sign_in(page, site.url, "/manager/audit")

    table = page.locator("#audit tbody")
    signed = table.locator('tr[data-action="sign_in"]').first
    expect(signed).to_contain_text("Tài khoản: manager")
    expect(signed).to_contain_text("Địa chỉ IP")
    changed = table.locator('tr[data-action="config.hall"]').first
    expect(changed).to_contain_text("Lời chào trên kiosk: ")
    expect(changed).to_contain_text(" → Xin kính chào quý khách đến Trung tâm")
    for code in ("username:", "ip:", "greeting:"):
        assert code not in table.inner_text()
    page.screenshot(path="/tmp/layso-manager-audit.png", full_page=True)


def test_dates_are_dd_mm_yyyy_in_an_en_us_browser(site: Site, en_us_page: Any) -> None:
    page = en_us_page
    now = today()
    shown, iso = now.strftime("%d/%m/%Y"), now.date().isoformat()
    sign_in(page, site.url, "/manager/log")

    start = page.locator("#f-from")
    expect(start).to_have_value(shown, timeout=WAIT)
    expect(page.locator("#f-to")).to_have_value(shown)
    start.fill("31/02/2026")  # no such day: said so, nothing sent
    page.click("#f-apply")
    expect(page.locator("#f-date-msg")).to_contain_text("Ngày không hợp lệ")
    assert "from=" not in page.url or "2026-02-31" not in page.url
    start.fill(f"01/{now:%m/%Y}")
    page.click("#f-apply")
    expect(page).to_have_url(re.compile(rf"from={now:%Y-%m}-01"), timeout=WAIT)
    expect(page.locator("#f-date-msg")).to_have_text("")
    page.screenshot(path="/tmp/layso-manager-log-en-us.png")

    page.goto(f"{site.url}/manager/reports?from={iso}&to={iso}")
    expect(page.locator("#r-from")).to_have_value(shown, timeout=WAIT)
    expect(page.locator("#r-to")).to_have_value(shown)
    page.fill("#r-from", f"01/{now:%m/%Y}")
    page.click("#range-form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"from={now:%Y-%m}-01"), timeout=WAIT)
    page.screenshot(path="/tmp/layso-manager-reports-en-us.png")


def test_a_date_typed_while_the_report_loads_is_kept(site: Site, en_us_page: Any) -> None:
    """The page fills its date fields from the report's answer; a date the manager typed while
    that answer was on its way is not overwritten by it (the Apply then asks for it)."""
    page = en_us_page
    now = today()
    shown, iso = now.strftime("%d/%m/%Y"), now.date().isoformat()
    sign_in(page, site.url, "/manager/log")
    held: list[Any] = []
    page.route("**/reports/summary?*", lambda route: held.append(route))  # answers wait
    with page.expect_request(lambda r: "/reports/summary?" in r.url):
        page.goto(f"{site.url}/manager/reports?from={iso}&to={iso}")
    expect(page.locator("#r-from")).to_have_value(shown, timeout=WAIT)
    typed = f"01/{now:%m/%Y}"
    page.fill("#r-from", typed)
    for route in held:
        route.continue_()
    page.unroute("**/reports/summary?*")
    expect(page.locator("#range")).to_have_text(shown, timeout=WAIT)  # the answer is shown
    expect(page.locator("#r-from")).to_have_value(typed)
    page.click("#range-form button[type=submit]")
    expect(page).to_have_url(re.compile(rf"from={now:%Y-%m}-01"), timeout=WAIT)


def test_the_ticket_footer_field_shows_the_whole_footer(site: Site, page_factory: Any) -> None:
    footer = (
        "Xin cảm ơn quý khách đã sử dụng dịch vụ của Trung tâm Phục vụ hành chính công. "
        "Mọi góp ý xin gửi về hộp thư góp ý / Thank you, please leave us your suggestions"
    )
    site.call("PATCH", "config/hall", {"ticket_footer": footer})
    page = page_factory(1440, 900)
    sign_in(page, site.url, "/manager/config")

    field = page.locator("#hall-form [name=ticket_footer]")
    expect(field).to_have_value(footer, timeout=WAIT)
    expect(field).to_be_visible()
    assert field.get_attribute("maxlength") == "200"
    fits = field.evaluate(
        "f => f.scrollWidth <= f.clientWidth + 1 && f.scrollHeight <= f.clientHeight + 1"
    )
    assert fits, "the footer is cut in its field"
    field.screenshot(path="/tmp/layso-manager-footer.png")
