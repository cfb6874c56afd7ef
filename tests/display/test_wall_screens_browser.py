"""The wall display at 1920×1080 as the hall sees it (issue 13): a real idle screen, nothing
cut or small, the big call ends with its visit, a fresh call is spoken again after a reload."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

WAIT = 15_000


@pytest.fixture(scope="module")
def hall(rootconf: Any, tmp_path_factory: Any) -> Iterator[tuple[Any, dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("wall")
    env = rootconf.server_env(tmp / "instance", LAYSO_ASYNC_MODE="eventlet")
    demo = rootconf.seed_demo_instance(env)
    server = rootconf.start_server(env, tmp / "server.log")
    yield server, demo
    server.stop()


def post(server: Any, path: str, token: str, body: Any = None) -> Any:
    r = requests.post(
        f"{server.url}/api/v1/halls/demo/{path}",
        json=body or {},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


# every visible piece of text: its size, and whether it is cut (overflowing its box or the screen)
TEXTS = """() => {
  const out = [];
  const outside = (r, box) => {
    if (!box) return false;
    const b = box.getBoundingClientRect();
    return r.top < b.top - 1 || r.bottom > b.bottom + 1
      || r.left < b.left - 1 || r.right > b.right + 1;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const text = node.textContent.trim();
    const el = node.parentElement;
    if (!text || !el || el.closest('.ticker, script, style')) continue;
    const r = el.getBoundingClientRect();
    if (!el.getClientRects().length || r.width === 0) continue;
    const cs = getComputedStyle(el);
    if (cs.visibility === 'hidden' || cs.opacity === '0') continue;
    const cut = el.scrollWidth > el.clientWidth + 1 && cs.overflowX !== 'visible'
      || el.scrollHeight > el.clientHeight + 2 && cs.overflowY !== 'visible'
      || r.right > innerWidth + 1 || r.bottom > innerHeight + 1 || r.left < -1
      || outside(r, el.closest('.call, .counters, .areas, .bar, .tile, .area'));
    out.push([text.slice(0, 40), parseFloat(cs.fontSize), cut]);
  }
  return out;
}"""


def check_texts(page: Any) -> None:
    texts = page.evaluate(TEXTS)
    small = [t for t in texts if t[1] < 35.5]
    cut = [t for t in texts if t[2]]
    assert not small, small
    assert not cut, cut


def test_idle_screen_sizes_and_the_call_that_ends_with_its_visit(
    hall: Any, page_factory: Any
) -> None:
    server, demo = hall
    kiosk = demo["devices"]["kiosk"]
    clerk1, clerk2 = demo["counters"][0]["token"], demo["counters"][1]["token"]
    wall = page_factory(1920, 1080)
    wall.goto(f"{server.url}/display?token={demo['devices']['display']}")
    expect(wall.locator("body")).to_have_attribute("data-ready", "1", timeout=WAIT)

    # nobody called yet: a real idle screen, not dim placeholders
    idle = wall.locator("#call-idle")
    expect(idle).to_be_visible()
    expect(idle).to_contain_text("Xin mời quý khách lấy số")
    expect(idle).to_contain_text("Tân Phú")
    expect(wall.locator("#call-number")).to_be_hidden()
    check_texts(wall)

    post(server, "tickets", kiosk, {"service": "TP"})
    post(server, "tickets", kiosk, {"service": "TP"})
    first = post(server, "counters/1/next", clerk1)["ticket"]
    expect(wall.locator("#call-number")).to_have_text(first["display_number"], timeout=WAIT)
    expect(idle).to_be_hidden()
    check_texts(wall)
    second = post(server, "counters/2/next", clerk2)["ticket"]
    expect(wall.locator("#call-number")).to_have_text(second["display_number"], timeout=WAIT)
    expect(wall.locator("#history li")).to_have_count(1)
    check_texts(wall)  # with the recent calls below the big one

    # the newest visit ends: the big panel shows the call still going on
    post(server, "counters/2/start", clerk2)
    post(server, "counters/2/finish", clerk2)
    expect(wall.locator("#call-number")).to_have_text(first["display_number"], timeout=WAIT)
    # and when that one ends too, the screen is idle again
    post(server, "counters/1/no-show", clerk1)
    expect(idle).to_be_visible(timeout=WAIT)


def test_a_fresh_call_is_spoken_again_after_a_reload(hall: Any, page_factory: Any) -> None:
    server, demo = hall
    clerk3 = demo["counters"][2]["token"]
    post(server, "tickets", demo["devices"]["kiosk"], {"service": "DD"})
    called = post(server, "counters/3/next", clerk3)["ticket"]

    wall = page_factory(1920, 1080)
    wall.goto(f"{server.url}/display?token={demo['devices']['display']}")
    expect(wall.locator("#call-number")).to_have_text(called["display_number"], timeout=WAIT)
    expect(wall.locator("body")).to_have_attribute("data-played", "1", timeout=WAIT)
    played = wall.evaluate("() => window.LaysoDisplay.played")
    assert [(p["number"], p["counter"]) for p in played] == [(called["display_number"], 3)]
    post(server, "counters/3/no-show", clerk3)
