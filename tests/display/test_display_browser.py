"""The wall display and the counter display in headless Chromium against the real server."""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
READY_S = 15_000  # ms: page load, /me, settings and the first snapshot
# for what only the page decides (layout, filters, autoplay), one server mode is enough
PAGE_ONLY = pytest.mark.parametrize("async_mode", ["eventlet"])


class Hall:
    """The demo hall of a live server, driven over HTTP the way kiosks and clerks do."""

    def __init__(self, server: Any, demo: dict[str, Any], live_api: Any) -> None:
        self.server = server
        self.demo = demo
        self.api = live_api(server.url)

    def clerk(self, counter: int) -> str:
        return str(self.demo["counters"][counter - 1]["token"])

    def issue(self, service: str = "TP") -> dict[str, Any]:
        return self.api.issue(self.demo["devices"]["kiosk"], service)

    def act(self, counter: int, action: str, body: Any = None) -> dict[str, Any]:
        status, answer = self.api.post(f"counters/{counter}/{action}", self.clerk(counter), body)
        assert status == 200, answer
        return answer  # type: ignore[no-any-return]

    def call(self, counter: int) -> dict[str, Any]:
        ticket = self.act(counter, "next")["ticket"]
        assert ticket is not None
        return ticket  # type: ignore[no-any-return]

    def open_display(self, page: Any, query: str = "") -> Any:
        page.goto(f"{self.server.url}/display?token={self.demo['devices']['display']}{query}")
        expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=READY_S)
        return page


@pytest.fixture
def hall(live: Any, live_api: Any) -> Hall:
    server, demo = live
    return Hall(server, demo, live_api)


def test_the_display_shows_a_new_call_within_a_second_without_a_reload(
    hall: Hall, page_factory: Any
) -> None:
    page = hall.open_display(page_factory(1920, 1080))
    page.evaluate("window.__sameDocument = true")
    hall.issue("TP")
    hall.issue("TP")

    ticket = hall.call(2)

    expect(page.locator("#call-number")).to_have_text(ticket["display_number"], timeout=1000)
    expect(page.locator("#call-counter")).to_have_text("2", timeout=1000)
    expect(page.locator("#call")).to_have_class(re.compile(r"\bflash\b"))
    expect(page.locator('.tile[data-counter="2"] .t-number')).to_have_text(ticket["display_number"])
    expect(page.locator('.area[data-service="TP"] .a-count')).to_have_text("1")
    assert page.evaluate("window.__sameDocument") is True
    assert "token=" not in page.url  # the token left the address bar (kept in localStorage)


def test_calls_are_spoken_one_after_another_and_a_recall_speaks_again(
    hall: Hall, page_factory: Any, need: Any
) -> None:
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")
    page = hall.open_display(page_factory(1280, 720))
    hall.issue("TP")
    hall.issue("CT")

    first = hall.call(1)
    second = hall.call(5)
    hall.act(1, "recall")

    expect(page.locator("body")).to_have_attribute("data-played", "3", timeout=30_000)
    played = page.evaluate("window.LaysoDisplay.played")
    assert played == [
        {"number": first["display_number"], "counter": 1, "kind": "speech"},
        {"number": second["display_number"], "counter": 5, "kind": "speech"},
        {"number": first["display_number"], "counter": 1, "kind": "speech"},
    ]


@PAGE_ONLY
def test_without_the_spoken_call_the_display_chimes_and_still_shows_the_call(
    hall: Hall, page_factory: Any
) -> None:
    page = page_factory(1280, 720)
    page.route("**/audio/call.wav*", lambda route: route.abort())
    hall.open_display(page)
    hall.issue("DD")

    ticket = hall.call(3)

    expect(page.locator("#call-number")).to_have_text(ticket["display_number"], timeout=1000)
    expect(page.locator("body")).to_have_attribute("data-played", "1", timeout=15_000)
    assert page.evaluate("window.LaysoDisplay.played") == [
        {"number": ticket["display_number"], "counter": 3, "kind": "chime"}
    ]


@PAGE_ONLY
def test_with_autoplay_blocked_the_call_still_shows_and_a_tap_brings_the_sound_back(
    hall: Hall, browser: Any, rootconf: Any
) -> None:
    args = [a for a in rootconf.CHROMIUM_ARGS if not a.startswith("--autoplay-policy")]
    strict = browser.browser_type.launch(
        executable_path=rootconf.chromium_path(),
        headless=True,
        args=[*args, "--autoplay-policy=document-user-activation-required"],
        ignore_default_args=["--autoplay-policy=no-user-gesture-required"],  # Playwright's own
    )
    try:
        page = strict.new_page(viewport={"width": 1280, "height": 720}, locale="vi-VN")
        # anything Playwright evaluates in the page counts as a user gesture and would unlock
        # the sound: until the sound is refused, only listen to the console
        with page.expect_console_message(lambda m: "snapshot" in m.text, timeout=READY_S):
            page.goto(f"{hall.server.url}/display?token={hall.demo['devices']['display']}")
        hall.issue("TP")

        with page.expect_console_message(lambda m: "autoplay" in m.text, timeout=15_000):
            ticket = hall.call(1)

        expect(page.locator("#call-number")).to_have_text(ticket["display_number"])
        expect(page.locator("body")).to_have_attribute("data-played", "1", timeout=15_000)
        assert page.evaluate("window.LaysoDisplay.played")[0]["kind"] == "none"
        expect(page.locator("#sound-blocked")).to_be_visible()
        page.mouse.click(640, 360)
        expect(page.locator("#sound-blocked")).to_be_hidden()
        hall.act(1, "recall")
        expect(page.locator("body")).to_have_attribute("data-played", "2", timeout=15_000)
        assert page.evaluate("window.LaysoDisplay.played")[1]["kind"] != "none"
    finally:
        strict.close()


def test_the_display_survives_a_server_restart_and_catches_up_without_a_reload(
    hall: Hall, page_factory: Any, servers: Any
) -> None:
    page = hall.open_display(page_factory(1920, 1080))
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("#offline")).to_be_hidden()

    hall.server.stop()
    expect(page.locator("#offline")).to_be_visible(timeout=15_000)
    servers(hall.server.env, hall.server.log, port=hall.server.port)
    hall.issue("KD")
    ticket = hall.call(4)

    expect(page.locator("#call-number")).to_have_text(ticket["display_number"], timeout=20_000)
    expect(page.locator("#call-counter")).to_have_text("4")
    expect(page.locator("#offline")).to_be_hidden()
    assert page.evaluate("window.__sameDocument") is True


def test_a_display_refused_for_a_while_keeps_trying_and_comes_back(
    hall: Hall, page_factory: Any, servers: Any, server_env_factory: Any, cli: Any, tmp_path: Path
) -> None:
    # e.g. the server came back before its database: connections are refused for a while
    stranger_env = server_env_factory(tmp_path / "stranger")
    cli(stranger_env, "seed-demo", "--json")  # another database: it knows no such display
    page = hall.open_display(page_factory(1280, 720))

    hall.server.stop()
    stranger = servers(stranger_env, tmp_path / "stranger.log", port=hall.server.port)
    expect(page.locator("body")).to_have_attribute("data-refused", re.compile("."), timeout=30_000)
    stranger.stop()
    servers(hall.server.env, hall.server.log, port=hall.server.port)
    hall.issue("XD")
    ticket = hall.call(3)

    expect(page.locator("#call-number")).to_have_text(ticket["display_number"], timeout=45_000)
    expect(page.locator("#offline")).to_be_hidden()


def _set_display_filter(server: Any, value: dict[str, Any]) -> None:
    import sqlalchemy as sa

    from layso.config import Settings
    from layso.db import Database
    from layso.models import Device, DeviceKind

    database = Database(Settings.from_env(server.env).database_url)
    with database.write() as s:
        s.execute(sa.update(Device).where(Device.kind == DeviceKind.DISPLAY).values(filter=value))
    database.dispose()


@PAGE_ONLY
@pytest.mark.parametrize("source", ["address", "device"])
def test_a_zone_display_shows_only_its_areas_and_counters(
    hall: Hall, page_factory: Any, source: str
) -> None:
    if source == "device":
        _set_display_filter(hall.server, {"services": ["CT"]})
        page = hall.open_display(page_factory(1920, 1080))
    else:
        page = hall.open_display(page_factory(1920, 1080), "&services=CT")
    hall.issue("TP")
    hall.issue("CT")

    elsewhere = hall.call(2)  # TP only: not this zone
    here = hall.call(5)  # CT

    expect(page.locator("#call-number")).to_have_text(here["display_number"], timeout=1000)
    expect(page.locator("#call")).not_to_contain_text(elsewhere["display_number"])
    expect(page.locator(".area")).to_have_count(1)
    expect(page.locator(".area")).to_have_attribute("data-service", "CT")
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(2)  # counters 1 and 5 serve CT
    assert tiles.evaluate_all("ts => ts.map(t => t.dataset.counter)") == ["1", "5"]


def test_the_counter_display_follows_its_counter(hall: Hall, page_factory: Any) -> None:
    page = page_factory(1280, 720)
    page.goto(
        f"{hall.server.url}/counter-display?token={hall.demo['counters'][0]['counter_display']}"
    )
    expect(page.locator("body")).to_have_attribute("data-ready", "1", timeout=READY_S)
    expect(page.locator("#counter-title")).to_contain_text("Quầy 1")
    expect(page.locator("#cd-label")).to_have_text(re.compile(r"^Quầy sẵn sàng\s*Ready$"))
    expect(page.locator("#cd")).not_to_contain_text("Xin mời số tiếp theo")  # nobody is called
    hall.issue("TP")

    ticket = hall.call(1)
    expect(page.locator("#cd-number")).to_have_text(ticket["display_number"], timeout=1000)
    expect(page.locator("#cd-label")).to_have_text(
        re.compile(r"^Mời quý khách có số\s*Now calling$")
    )
    expect(page.locator("#cd-sub")).not_to_contain_text("Now calling")
    expect(page.locator("#cd-clerk")).to_have_text("Cán bộ quầy 1")  # not "Cán bộ: Cán bộ …"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "counter-display.png"), animations="disabled")
    hall.act(1, "no-show")
    expect(page.locator("#cd-number")).to_have_text("—")
    hall.act(1, "pause", {"reason": "Đi họp"})
    expect(page.locator("#cd-number")).to_have_text("Tạm dừng — Đi họp")
    expect(page.locator("#cd-sub")).to_contain_text("Paused — Meeting")  # from the hall's list
    page.screenshot(path=str(ARTIFACTS / "counter-display-paused.png"), animations="disabled")
    hall.act(1, "resume")
    hall.act(1, "close")
    expect(page.locator("#cd-number")).to_have_text("Quầy đóng")


def _fill_the_hall(hall: Hall) -> None:
    for code, count in (("TP", 14), ("CT", 6), ("DD", 9), ("LD", 3), ("KD", 2), ("XD", 4)):
        for _ in range(count):
            hall.issue(code)
    for counter in (1, 2, 3, 5):
        hall.call(counter)
    hall.act(4, "pause", {"reason": "Đi họp"})
    hall.act(1, "start")
    hall.act(1, "next")


@PAGE_ONLY
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
def test_the_wall_fits_the_tv_and_nothing_spills(
    hall: Hall, page_factory: Any, width: int, height: int
) -> None:
    _fill_the_hall(hall)
    page = hall.open_display(page_factory(width, height))
    expect(page.locator(".tile")).to_have_count(5)

    overflow = page.evaluate(
        """() => {
        const out = [];
        const inside = (el, box) => {
          const r = el.getBoundingClientRect(), b = box.getBoundingClientRect();
          return r.left >= b.left - 1 && r.right <= b.right + 1 && r.top >= b.top - 1
                 && r.bottom <= b.bottom + 1;
        };
        if (document.documentElement.scrollHeight > innerHeight) out.push("page scrolls");
        for (const id of ["call-number", "call-counter", "history-box"]) {
          if (!inside(document.getElementById(id), document.getElementById("call"))) out.push(id);
        }
        document.querySelectorAll(".tile > *, .area > *").forEach((el) => {
          if (!inside(el, el.parentElement)) out.push(el.className + " of " +
                                                      el.parentElement.dataset.counter);
        });
        return out;
      }"""
    )
    assert overflow == []
    big = page.locator("#call-number").evaluate("e => parseFloat(getComputedStyle(e).fontSize)")
    assert big >= height * 0.2  # the called number is at least a fifth of the screen high
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"display-{width}x{height}.png"), animations="disabled")


@PAGE_ONLY
def test_a_screen_heals_events_it_never_received_from_the_log(
    hall: Hall, page_factory: Any, tmp_path: Path
) -> None:
    import subprocess
    import sys

    page = hall.open_display(page_factory(1280, 720))
    expect(page.locator('.area[data-service="CT"] .a-count')).to_have_text("0")
    # a change written straight to the database is logged but never emitted (as when another
    # worker's events are lost while the shared message queue is down)
    script = (
        "from layso.config import Settings; from layso.db import Database;"
        "from layso.services.common import get_hall; from layso.services.tickets import"
        " issue_ticket; from datetime import UTC, datetime;"
        "db = Database(Settings.from_env().database_url);"
        "s = db._writer(); h = get_hall(s, 'demo', lock=True);"
        "[issue_ticket(s, h, service_code='CT', priority=None, now=datetime.now(UTC))"
        " for _ in range(2)]; s.commit()"
    )
    subprocess.run([sys.executable, "-c", script], env=hall.server.env, check=True, timeout=60)
    expect(page.locator('.area[data-service="CT"] .a-count')).to_have_text("0")

    page.evaluate("window.LaysoDisplay.conn.heal()")

    expect(page.locator('.area[data-service="CT"] .a-count')).to_have_text("2", timeout=5000)
