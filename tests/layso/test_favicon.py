"""Browsers ask every server for /favicon.ico: Layso answers with its icon, not a 404."""

from __future__ import annotations

import io
from typing import Any

from PIL import Image


def test_favicon_is_served(client: Any) -> None:
    r = client.get("/favicon.ico")

    assert r.status_code == 200
    assert r.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert "max-age" in r.headers.get("Cache-Control", "")
    with Image.open(io.BytesIO(r.data)) as icon:
        assert icon.format == "ICO" and icon.size[0] >= 16
