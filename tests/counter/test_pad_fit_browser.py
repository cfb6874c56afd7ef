"""Rating pad and counter page at their real sizes: every face, reason and name fits (issue 13)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT = 10_000
ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def rootconf(config: Any) -> Any:
    for plugin in config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


@pytest.fixture(scope="module")
def hall(request: pytest.FixtureRequest, tmp_path_factory: Any) -> Iterator[Any]:
    """One real server (eventlet) with the demo hall for the whole module."""
    conf = rootconf(request.config)
    tmp = tmp_path_factory.mktemp("padfit")
    env = conf.server_env(tmp / "instance", LAYSO_ASYNC_MODE="eventlet")
    demo = conf.seed_demo_instance(env)
    server = conf.start_server(env, tmp / "server.log")
    yield server, demo, tmp / "instance"
    server.stop()


def call(server: Any, demo: dict[str, Any], path: str, token: str, body: Any = None) -> Any:
    r = requests.post(
        f"{server.url}/api/v1/halls/demo/{path}",
        json=body or {},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def visit(server: Any, demo: dict[str, Any]) -> None:
    clerk = demo["counters"][0]["token"]
    call(server, demo, "tickets", demo["devices"]["kiosk"], {"service": "TP"})
    call(server, demo, "counters/1/next", clerk)
    call(server, demo, "counters/1/start", clerk)
    call(server, demo, "counters/1/finish", clerk)


# a chip's Vietnamese phrase lies on one line when its text node has one client rect per line
ONE_LINE = """(chip) => {
  const node = chip.querySelector('.chip-text').firstChild;
  const range = document.createRange();
  range.selectNodeContents(node);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  return tops.size;
}"""


@pytest.mark.parametrize("scale", [3, 4, 5])
def test_every_face_and_reason_fits_portrait_and_landscape(
    hall: Any, page_factory: Any, scale: int
) -> None:
    server, demo, instance = hall
    with sqlite3.connect(instance / "layso.sqlite3") as con:
        con.execute("UPDATE hall SET rating_scale = ?, rating_labels = NULL", (scale,))
    pads = {}
    for size in ((800, 1280), (1280, 800)):
        pad = page_factory(*size)
        pad.goto(f"{server.url}/rating?token={demo['counters'][0]['rating_pad']}")
        expect(pad.locator("#pad-conn")).to_have_class(re.compile(r"\bon\b"), timeout=WAIT)
        pads[size] = pad
    visit(server, demo)
    for (width, height), pad in pads.items():
        expect(pad.locator("#s-question")).to_be_visible(timeout=WAIT)
        expect(pad.locator(".smiley")).to_have_count(scale)
        for i in range(scale):
            box = pad.locator(".smiley").nth(i).bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, i, box)
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, (height, i, box)
        pad.locator(".smiley").last.click()
        expect(pad.locator("#s-reasons")).to_be_visible()
        chips = pad.locator(".chip")
        expect(chips).to_have_count(5)
        for i in range(5):
            chip = chips.nth(i)
            box = chip.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, (width, i, box)
            assert box["y"] >= 0 and box["y"] + box["height"] <= height, (height, i, box)
            assert chip.evaluate(ONE_LINE) == 1, (width, chip.inner_text())
        for button in ("#r-send", "#r-back"):
            box = pad.locator(button).bounding_box()
            assert box is not None and box["y"] + box["height"] <= height
    pads[(800, 1280)].locator("#r-send").click()
    pads[(1280, 800)].locator("#r-send").click()
    for pad in pads.values():
        expect(pad.locator("#s-thanks")).to_be_visible(timeout=WAIT)
    if scale == 3:
        # the official three levels by default
        expect(pads[(800, 1280)].locator(".smiley .label")).to_have_text(
            ["Rất hài lòng", "Hài lòng", "Không hài lòng"]
        )


# why an element's text is not wholly visible: its own overflow, or an ancestor that clips it
CLIPPED = """e => {
  const r = e.getBoundingClientRect();
  if (e.scrollWidth > e.clientWidth + 1) return "overflows itself";
  if (r.right > innerWidth + 1) return "beyond the window";
  for (let a = e.parentElement; a; a = a.parentElement) {
    if (getComputedStyle(a).overflowX === "visible") continue;
    const q = a.getBoundingClientRect();
    if (r.right > q.right + 1 || r.left < q.left - 1) return "clipped by " + a.className;
  }
  return "";
}"""


def test_counter_page_hall_name_transfer_areas_and_figures_explained(
    hall: Any, page_factory: Any
) -> None:
    server, demo, _ = hall
    call(server, demo, "tickets", demo["devices"]["kiosk"], {"service": "TP"})
    page = page_factory(1024, 768)  # the small screen of an older counter PC
    page.goto(f"{server.url}/login?next=/counter")
    page.fill("input[name=username]", "clerk2")
    page.fill("input[name=password]", "demo-clerk2")
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{server.url}/counter", timeout=WAIT)
    name = page.locator("#hall-name")
    expect(name).to_have_text("Trung tâm Phục vụ hành chính công xã Tân Phú", timeout=WAIT)
    cut = name.evaluate(CLIPPED)
    assert not cut, cut
    assert "trung bình" in (page.locator("#fig-mean-box").get_attribute("title") or "")
    expect(page.locator("#fig-mean-box")).to_contain_text("Phục vụ trung bình")

    call(server, demo, "counters/2/next", demo["counters"][1]["token"])
    expect(page.locator("[data-act=transfer]")).to_be_enabled(timeout=WAIT)
    page.locator("[data-act=transfer]").click()
    to_one = page.locator('[data-to-counter="1"]')
    expect(to_one.locator(".areas")).to_have_text("Tư pháp - Hộ tịch, Chứng thực")
    page.keyboard.press("Escape")
