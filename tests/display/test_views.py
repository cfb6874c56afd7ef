"""The display pages and the display's settings (its zone filter)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import Device, DeviceKind, Hall


@pytest.mark.parametrize(
    ("path", "script"), [("/display", "wall.js"), ("/counter-display", "counter.js")]
)
def test_pages_load_their_scripts_from_the_server_only(client: Any, path: str, script: str) -> None:
    resp = client.get(path)

    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    sources = re.findall(r"<script([^>]*)>", html)
    assert sources and all(re.search(r'src="/(display/)?static/', a) for a in sources), (
        "no inline scripts"
    )
    assert f'src="/display/static/display/{script}"' in html
    assert not re.search(r"<[^>]+\son[a-z]+\s*=", html), "no inline event handlers"
    for src in re.findall(r'(?:src|href)="(/(?:display/)?static/[^"]+)"', html):
        assert client.get(src).status_code == 200, src


def _set_filter(db: Any, value: Any) -> None:
    with db.write() as s:
        hall_id = s.scalar(sa.select(Hall.id).where(Hall.slug == "demo"))
        s.execute(
            sa.update(Device)
            .where(Device.hall_id == hall_id, Device.kind == DeviceKind.DISPLAY)
            .values(filter=value)
        )


def test_settings_give_the_display_its_zone_filter(api: Any, tokens: Any, db: Any) -> None:
    _set_filter(db, {"services": ["TP", "CT", "bad code!", 7], "counters": [1, 2, "3", True]})

    status, body = api.get("display/settings", tokens("display"))

    assert status == 200
    assert body["filter"] == {"services": ["TP", "CT"], "counters": [1, 2]}
    assert body["device"]["kind"] == "display"


def test_settings_without_a_filter_show_everything(api: Any, tokens: Any) -> None:
    status, body = api.get("display/settings", tokens("manager"))

    assert status == 200
    assert body == {"device": None, "filter": {"services": [], "counters": []}}


def test_settings_refuse_another_halls_device(api: Any, other_hall: Any) -> None:
    status, body = api.get("display/settings", other_hall["devices"]["display"])

    assert status == 403 and body["error"]["code"] == "forbidden"


def test_both_endpoints_are_in_the_openapi_document(client: Any) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]

    audio = paths["/halls/{hall}/audio/call.wav"]["get"]
    assert "audio/wav" in audio["responses"]["200"]["content"]
    assert {p["name"] for p in audio["parameters"]} == {"hall", "number", "counter"}
    assert "get" in paths["/halls/{hall}/display/settings"]
