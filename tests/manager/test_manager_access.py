"""Who may read reports, change the configuration and open the manager pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("demo")

READS = ["reports/tickets", "reports/tickets?format=csv", "reports/summary?by=clerk", "config"]
WRITES = [
    ("PATCH", "config/hall", {"name": "X"}),
    (
        "POST",
        "config/services",
        {"code": "NEW", "name": "Mới", "first_number": 1, "last_number": 99, "target_wait_min": 10},
    ),
    ("PATCH", "config/services/TP", {"target_wait_min": 5}),
    ("POST", "config/counters", {"number": 9, "services": ["TP"]}),
    ("PATCH", "config/counters/1", {"name": "X"}),
    ("POST", "config/users", {"username": "x1", "role": "clerk", "password": "long-enough"}),
    ("PATCH", "config/users/clerk1", {"active": False}),
    ("POST", "config/users/clerk1/password", {"password": "long-enough"}),
    ("POST", "config/devices", {"kind": "kiosk", "name": "K2"}),
    ("POST", "config/devices/1/revoke", None),
    ("POST", "config/notices", {"text": "Xin chào"}),
    ("PATCH", "config/notices/1", {"text": "Xin chào"}),
    ("DELETE", "config/notices/1", None),
]
OUTSIDERS = ["clerk1", "kiosk", "display", "pad1", "cdisplay1", "print-agent"]


def call(client: Any, method: str, path: str, token: str | None, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.open(f"/api/v1/halls/demo/{path}", method=method, json=body, headers=headers)


@pytest.mark.parametrize("path", READS)
@pytest.mark.parametrize("who", OUTSIDERS)
def test_clerks_and_devices_cannot_read_reports_or_config(
    client: Any, tokens: Callable, path: str, who: str
) -> None:
    r = call(client, "GET", path, tokens(who))

    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
@pytest.mark.parametrize("who", ["clerk1", "kiosk", "display", "pad1"])
def test_clerks_and_devices_cannot_change_configuration(
    client: Any, tokens: Callable, db: Any, method: str, path: str, body: Any, who: str
) -> None:
    before = call(client, "GET", "config", tokens("manager")).get_json()

    r = call(client, method, path, tokens(who), body)

    assert r.status_code == 403
    assert call(client, "GET", "config", tokens("manager")).get_json() == before


@pytest.mark.parametrize("path", READS)
def test_no_token_is_401(client: Any, path: str) -> None:
    assert call(client, "GET", path, None).status_code == 401


@pytest.mark.parametrize(("method", "path", "body"), WRITES)
def test_no_token_cannot_change_configuration(
    client: Any, method: str, path: str, body: Any
) -> None:
    assert call(client, method, path, None, body).status_code == 401


def test_a_manager_of_another_hall_is_refused(client: Any, other_hall: dict[str, Any]) -> None:
    token = other_hall["manager"]["token"]

    assert call(client, "GET", "reports/tickets", token).status_code == 403
    assert call(client, "PATCH", "config/hall", token, {"name": "X"}).status_code == 403


def test_the_manager_reads_reports_and_config(client: Any, tokens: Callable) -> None:
    for path in READS:
        assert call(client, "GET", path, tokens("manager")).status_code == 200


PAGES = [
    "/manager",
    "/manager/log",
    "/manager/reports",
    "/manager/config",
    "/manager/suggestions",
    "/manager/audit",
]


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_strangers_to_sign_in_and_back(client: Any, path: str) -> None:
    r = client.get(path + "?x=1")

    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login?next=")
    assert path in r.headers["Location"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_refuse_a_clerk_with_a_403_page(client: Any, sign_in: Callable, path: str) -> None:
    sign_in("clerk1")

    r = client.get(path)

    assert r.status_code == 403 and r.mimetype == "text/html"
    assert "lãnh đạo" in r.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_pages_open_for_the_manager(client: Any, sign_in: Callable, path: str) -> None:
    sign_in("manager")

    r = client.get(path)
    html = r.get_data(as_text=True)

    assert r.status_code == 200
    assert 'data-hall="demo"' in html and "<script>" not in html  # CSP: no inline scripts
    assert "Trung tâm Phục vụ hành chính công xã Tân Phú" in html


def test_session_changes_need_the_csrf_header(client: Any, sign_in: Callable) -> None:
    csrf = sign_in("manager")

    without = client.patch("/api/v1/halls/demo/config/hall", json={"greeting": "Chào"})
    with_it = client.patch(
        "/api/v1/halls/demo/config/hall",
        json={"greeting": "Chào"},
        headers={"X-CSRF-Token": csrf},
    )

    assert without.status_code == 403
    assert with_it.status_code == 200 and with_it.get_json()["hall"]["greeting"] == "Chào"


def test_the_session_downloads_exports(client: Any, sign_in: Callable) -> None:
    sign_in("manager")

    r = client.get("/api/v1/halls/demo/reports/tickets?format=xlsx")

    assert r.status_code == 200 and r.data[:2] == b"PK"
