"""The official evaluation page in Chromium against the real server: the table per counter
and the XLSX behind its download link."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest
import requests
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]
WAIT = 15_000


def test_the_official_page_shows_the_levels_and_downloads_the_workbook(
    tmp_path: Path, server_env_factory: Any, demo_seed: Any, servers: Any, page_factory: Any
) -> None:
    env = server_env_factory(tmp_path / "instance")
    demo = demo_seed(env)
    server = servers(env, tmp_path / "server.log")
    base = f"{server.url}/api/v1/halls/demo"

    def post(path: str, token: str, body: Any = None) -> Any:
        r = requests.post(
            f"{base}/{path}", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert r.status_code in (200, 201), r.text
        return r.json()

    kiosk = demo["devices"]["kiosk"]
    counter1 = demo["counters"][0]
    for score in (4, 4, 3, 1):  # of 4: two very satisfied, one satisfied, one dissatisfied
        ticket = post("tickets", kiosk, {"service": "TP"})["ticket"]
        for action in ("next", "start", "finish"):
            post(f"counters/1/{action}", counter1["token"])
        post(f"tickets/{ticket['id']}/rating", counter1["rating_pad"], {"score": score})

    page = page_factory(1440, 900)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{server.url}/manager/official?by=counter")
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/manager/official\?by=counter"))
    rows = page.locator("#official tbody tr")
    expect(rows).to_have_count(1, timeout=WAIT)
    cells = rows.first.locator("td")
    expect(cells.nth(1)).to_have_text("Quầy 1")
    assert [cells.nth(i).inner_text() for i in range(2, 6)] == ["4", "2", "1", "1"]
    expect(cells.nth(6)).to_have_text("75 %")
    expect(cells.nth(7)).to_have_text("Không đạt · not met")
    expect(page.locator("#o-key")).to_contain_text("Quầy")
    expect(page.locator("#official tfoot")).to_contain_text("Tổng cộng")

    with page.expect_download() as got:
        page.click("#o-xlsx")
    assert got.value.suggested_filename.endswith("-counter.xlsx")
    ws = load_workbook(io.BytesIO(Path(got.value.path()).read_bytes())).active
    assert ws["A4"].value.startswith("BÁO CÁO KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG")
    assert [c.value for c in ws[10]][:7] == [1, "Quầy 1", 4, 2, 1, 1, 0.75]

    page.select_option("#o-by", "area")
    expect(page.locator("#o-key")).to_contain_text("Lĩnh vực", timeout=WAIT)
    expect(rows.first.locator("td").nth(1)).to_have_text("Tư pháp - Hộ tịch")
    assert errors == []
