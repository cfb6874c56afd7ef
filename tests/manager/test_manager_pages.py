"""The read-only pages: suggestions inbox and audit log, scoped to the manager's hall."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]


def test_suggestions_inbox_lists_the_halls_suggestions_newest_first(
    client: Any, api: Any, tokens: Callable, sign_in: Callable, clock: Any, other_hall: dict
) -> None:
    api.post(
        "suggestions", tokens("kiosk"), {"text": "Cần thêm ghế chờ", "contact": "0912 345 678"}
    )
    clock.advance(60)
    api.post("suggestions", tokens("kiosk"), {"text": "Cán bộ quầy 2 rất tận tình <b>"})
    other = api.post(
        "/api/v1/halls/other/suggestions", other_hall["devices"]["kiosk"], {"text": "Của xã khác"}
    )
    sign_in("manager")

    html = client.get("/manager/suggestions").get_data(as_text=True)

    assert other[0] == 201 and "Của xã khác" not in html
    assert html.index("rất tận tình") < html.index("Cần thêm ghế chờ")
    assert "&lt;b&gt;" in html and "<b>" not in html  # escaped
    assert "0912 345 678" in html and "Kiosk sảnh chính" in html
    assert "21/11/2026 08:01:00" in html  # the hall's local time


def test_audit_log_shows_sign_ins_and_config_changes_of_this_hall_only(
    client: Any, sign_in: Callable, other_hall: dict
) -> None:
    csrf = sign_in("manager")
    client.post("/logout", data={"csrf_token": csrf})
    sign_in("other-manager")  # a sign-in of the other hall
    client.post("/logout", data={"csrf_token": csrf_of_page(client)})
    csrf = sign_in("manager")
    client.post(
        "/api/v1/halls/demo/config/services",
        json={
            "code": "NV",
            "name": "Nội vụ",
            "first_number": 1,
            "last_number": 99,
            "target_wait_min": 10,
        },
        headers={"X-CSRF-Token": csrf},
    )

    everything = client.get("/manager/audit").get_data(as_text=True)
    config_only = client.get("/manager/audit?kind=config").get_data(as_text=True)

    assert "Thêm lĩnh vực" in everything and "Mã: NV" in everything  # details in Vietnamese
    assert everything.count('data-action="sign_in"') == 2
    assert "other-manager" not in everything
    assert 'data-action="sign_in"' not in config_only and "Thêm lĩnh vực" in config_only


def csrf_of_page(client: Any) -> str:
    import re

    html = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match
    return match.group(1)


def test_audit_details_are_in_words_in_both_languages() -> None:
    from manager.views import _detail_text

    hall = {
        "greeting": ["Xin chào", "Xin kính chào"],
        "hours": [None, {"days": [0, 1, 2, 3, 4], "ranges": [["07:30", "11:30"]]}],
        "priority_policy": ["strict", "interleaved"],
    }
    user = {
        "username": "clerk9",
        "changes": {"role": ["clerk", "manager"], "active": [True, False]},
    }

    assert _detail_text("config.hall", hall) == (
        "Lời chào trên kiosk: Xin chào → Xin kính chào; "
        "Giờ làm việc: không giới hạn → T2, T3, T4, T5, T6 07:30–11:30; "
        "Chính sách ưu tiên: Ưu tiên tuyệt đối → Xen kẽ"
    )
    assert _detail_text("config.user.edit", user) == (
        "Tài khoản: clerk9; Vai trò: Cán bộ → Lãnh đạo; Đang dùng: có → không"
    )
    assert _detail_text("config.user.edit", user, "en") == (
        "Account: clerk9; Role: Clerk → Manager; Active: yes → no"
    )
