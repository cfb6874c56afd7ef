"""The kiosk at 1080×1920 as a citizen meets it (issue 13): taps right after a screen change,
the language after a ticket and on idle, target sizes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT_MS = 15_000
ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
DEMO: dict[str, Any] = {}  # the module's demo hall (tokens), filled by the fixture


@pytest.fixture(scope="module")
def url_token(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[tuple[str, str]]:
    """One real server with the demo hall for the module: (base URL, the kiosk's token)."""
    conf = next(
        p
        for p in request.config.pluginmanager.get_plugins()
        if getattr(p, "__file__", None) == str(ROOT_CONFTEST)
    )
    tmp = tmp_path_factory.mktemp("kiosk-screens")
    env = conf.server_env(tmp / "instance", LAYSO_ASYNC_MODE="eventlet")
    demo = conf.seed_demo_instance(env)
    server = conf.start_server(env, tmp / "server.log")
    DEMO.update(demo)
    yield server.url, demo["devices"]["kiosk"]
    server.stop()


def open_kiosk(page_factory: Any, url_token: tuple[str, str], **params: Any) -> Any:
    url, token = url_token
    page = page_factory(1080, 1920)
    query = "&".join(f"{k}={v}" for k, v in {"token": token, **params}.items())
    page.goto(f"{url}/kiosk?{query}")
    expect(page.locator(".k-area").first).to_be_visible(timeout=WAIT_MS)
    return page


def test_a_double_tap_on_done_stays_home_and_the_kiosk_speaks_vietnamese_again(
    page_factory: Any, url_token: tuple[str, str]
) -> None:
    page = open_kiosk(page_factory, url_token)
    page.locator("#k-lang").click()
    expect(page.locator("#home-title .t1")).to_have_text("Please choose a service")
    page.locator(".k-area[data-code='TP']").click()
    expect(page.locator("#s-ticket")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#k")).not_to_have_class(re.compile(r"k-settling"))
    # a real double tap on "Done": the second tap must not open the priority screen beneath
    box = page.locator("#t-done").bounding_box()
    assert box is not None
    page.mouse.dblclick(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator("#s-home")).to_be_visible()
    page.wait_for_timeout(600)  # past the settling time: the screen stays where the tap left it
    expect(page.locator("#s-home")).to_be_visible()
    expect(page.locator("#s-prio")).to_be_hidden()
    # the ticket is over: the next citizen is greeted in Vietnamese
    expect(page.locator("#home-title .t1")).to_have_text("Mời chọn lĩnh vực cần giải quyết")
    expect(page.locator("#k-lang")).to_have_text("English")


def test_idle_goes_back_to_vietnamese_and_targets_are_big_enough(
    page_factory: Any, url_token: tuple[str, str]
) -> None:
    page = open_kiosk(page_factory, url_token, idle=2)
    box = page.locator("#k-lang").bounding_box()
    assert box is not None and box["width"] >= 90 and box["height"] >= 90, box
    page.locator("#k-lang").click()
    expect(page.locator("#home-title .t1")).to_have_text("Please choose a service")
    expect(page.locator("#home-title .t1")).to_have_text(
        "Mời chọn lĩnh vực cần giải quyết", timeout=WAIT_MS
    )  # nobody touched it: back to Vietnamese
    page.locator("#go-search").click()
    keys = page.locator("#search-kb .k-key")
    expect(keys.first).to_be_visible()
    sizes = keys.evaluate_all(
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return [e.dataset.key, Math.round(r.width), Math.round(r.height)]; })"
    )
    small = [s for s in sizes if s[1] < 90 or s[2] < 90]
    assert not small, small


def test_the_phone_page_speaks_to_quy_khach_and_says_when_the_visit_is_over(
    page_factory: Any, url_token: tuple[str, str]
) -> None:
    url, kiosk = url_token
    demo = DEMO

    def post(path: str, token: str, body: Any = None) -> Any:
        r = requests.post(
            f"{url}/api/v1/halls/demo/{path}",
            json=body or {},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    ticket = post("tickets", kiosk, {"service": "XD"})["ticket"]
    phone = page_factory(390, 844)
    phone.goto(f"{url}/t/{ticket['code']}")
    expect(phone.locator("#ph-wait")).to_contain_text("Được gọi ngay")  # nobody ahead: not "~0"
    text = phone.locator("body").inner_text()
    assert "bạn" not in text.replace("Bạn", "bạn") and "quý khách" in text, text
    expect(phone.locator("#ph-note")).to_be_visible()

    clerk = demo["counters"][2]["token"]  # counter 3 serves XD
    post("counters/3/next", clerk)
    post("counters/3/start", clerk)
    post("counters/3/finish", clerk)
    phone.reload()
    expect(phone.locator("#ph-status")).to_contain_text("Đã hoàn thành")
    expect(phone.locator("#ph-note")).to_be_hidden()
