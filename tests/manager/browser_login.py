"""Signing in as the demo manager in a real browser page (shared by the manager browser tests)."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect


def sign_in(page: Any, url: str, path: str = "/manager") -> None:
    """Open `path`, be sent to the sign-in page, sign in as the demo manager, land on `path`."""
    page.goto(f"{url}{path}")
    expect(page).to_have_url(re.compile(r"/login\?next=" + re.escape(path)))
    page.fill("input[name=username]", "manager")
    page.fill("input[name=password]", "demo-manager")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(re.escape(f"{url}{path}") + r"(#.*)?$"))
