"""Configuration through the API: validation, audit, and config.changed reaching open screens."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from layso.hub import NAMESPACE, socketio
from layso.models import AuditEntry, Event

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

NEW_AREA = {
    "code": "BHXH",
    "name": "Bảo hiểm xã hội",
    "name_en": "Social insurance",
    "prefix": "B",
    "first_number": 1,
    "last_number": 500,
    "target_wait_min": 12,
    "procedures": ["Cấp lại thẻ bảo hiểm y tế", "  ", "Gia hạn thẻ BHYT"],
}


class Manager:
    def __init__(self, client: Any, token: str) -> None:
        self.client, self.token = client, token

    def __call__(self, method: str, path: str, body: Any = None, lang: str = "vi") -> Any:
        r = self.client.open(
            f"/api/v1/halls/demo/config{path}",
            method=method,
            json=body,
            headers={"Authorization": f"Bearer {self.token}", "Accept-Language": lang},
        )
        return r.status_code, r.get_json()


@pytest.fixture
def mgr(client: Any, tokens: Callable) -> Manager:
    return Manager(client, tokens("manager"))


def snapshot(db: Any) -> tuple[Any, ...]:
    """Everything a refused change must leave alone."""
    with db.read() as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Event)),
            s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)),
        )


def audits(db: Any) -> list[tuple[str, dict]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(AuditEntry.action, AuditEntry.detail)
            .where(AuditEntry.action.like("config.%"))
            .order_by(AuditEntry.id)
        ).all()
        return [(a, d) for a, d in rows]


def config_events(db: Any) -> list[tuple[str, str]]:
    with db.read() as s:
        rows = s.execute(
            sa.select(Event.payload, Event.audience)
            .where(Event.name == "config.changed")
            .order_by(Event.seq)
        ).all()
        return [(p["what"], a) for p, a in rows]


def test_adding_an_area_reaches_the_kiosk_list_audit_and_hub(
    app: Any, mgr: Manager, api: Any, tokens: Callable, db: Any
) -> None:
    kiosk = socketio.test_client(
        app, namespace=NAMESPACE, auth={"token": tokens("kiosk"), "hall": "demo", "after": None}
    )
    kiosk.get_received(NAMESPACE)  # the snapshot

    status, body = mgr("POST", "/services", NEW_AREA)
    _, services = api.get("services", tokens("kiosk"))
    _, ticket = api.post("tickets", tokens("kiosk"), {"service": "BHXH"})
    received = kiosk.get_received(NAMESPACE)

    assert status == 201
    assert body["service"]["procedures"] == ["Cấp lại thẻ bảo hiểm y tế", "Gia hạn thẻ BHYT"]
    added = next(s for s in services["services"] if s["code"] == "BHXH")
    assert (added["name"], added["target_wait_min"]) == ("Bảo hiểm xã hội", 12)
    assert ticket["ticket"]["display_number"] == "B001"
    changed = [m["args"][0] for m in received if m["name"] == "config.changed"]
    assert [c["what"] for c in changed] == ["services"]
    assert changed[0]["hall"] == "demo" and isinstance(changed[0]["seq"], int)
    assert audits(db)[-1] == ("config.service.add", {"code": "BHXH", "name": "Bảo hiểm xã hội"})
    kiosk.disconnect(NAMESPACE)


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"code": "tp x"}, "Mã lĩnh vực"),
        ({"code": "TP"}, "đã có"),
        ({"name": ""}, "Tên lĩnh vực"),
        ({"first_number": 50, "last_number": 10}, "Số cuối"),
        ({"target_wait_min": 0}, "chờ tối đa"),
        ({"prefix": "AB1"}, "Tiền tố"),
        ({"daily_cap": -1}, "Giới hạn"),
        ({"hours": {"days": [0], "ranges": [["11:30", "07:30"]]}}, "Giờ làm việc"),
        ({"hours": {"days": [9], "ranges": [["07:30", "11:30"]]}}, "Giờ làm việc"),
        ({"procedures": "Khai sinh"}, "thủ tục"),
        ({"active": "yes"}, "active"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_area_input_is_refused_and_changes_nothing(
    mgr: Manager, db: Any, change: dict, needle: str
) -> None:
    before, cfg_before = snapshot(db), mgr("GET", "")[1]

    status, body = mgr("POST", "/services", {**NEW_AREA, **change})

    assert status in (400, 409)
    assert needle in body["error"]["message"]
    assert snapshot(db) == before and mgr("GET", "")[1] == cfg_before


def test_english_errors_when_asked(mgr: Manager) -> None:
    status, body = mgr("POST", "/services", {**NEW_AREA, "target_wait_min": 0}, lang="en")

    assert status == 400 and "target_wait_min" in body["error"]["message"]


def test_editing_an_area_and_its_procedures(mgr: Manager, api: Any, tokens: Callable) -> None:
    status, body = mgr(
        "PATCH",
        "/services/CT",
        {"name": "Chứng thực bản sao", "target_wait_min": 8, "procedures": ["Chứng thực chữ ký"]},
    )
    _, services = api.get("services", tokens("kiosk"))

    assert status == 200 and body["service"]["target_wait_min"] == 8
    ct = next(s for s in services["services"] if s["code"] == "CT")
    assert (ct["name"], ct["procedures"]) == ("Chứng thực bản sao", ["Chứng thực chữ ký"])


def test_deactivating_an_area_hides_it_from_the_kiosk(
    mgr: Manager, api: Any, tokens: Callable
) -> None:
    mgr("PATCH", "/services/XD", {"active": False})

    _, services = api.get("services", tokens("kiosk"))
    status, _ = api.post("tickets", tokens("kiosk"), {"service": "XD"})

    assert "XD" not in [s["code"] for s in services["services"]]
    assert status == 409


def test_numbering_is_locked_once_the_area_issued_numbers_today(
    mgr: Manager, api: Any, tokens: Callable, db: Any
) -> None:
    assert mgr("PATCH", "/services/KD", {"first_number": 5101})[0] == 200
    api.post("tickets", tokens("kiosk"), {"service": "KD"})
    before = snapshot(db)

    status, body = mgr("PATCH", "/services/KD", {"first_number": 5201, "name": "Kinh doanh"})
    after_refusal = snapshot(db)
    ok, renamed = mgr("PATCH", "/services/KD", {"name": "Kinh doanh", "first_number": 5101})

    assert status == 409 and "đánh số" in body["error"]["message"]
    assert after_refusal == before  # the name did not change either
    assert ok == 200 and renamed["service"]["name"] == "Kinh doanh"


def test_counters_are_added_and_their_areas_reordered(
    app: Any, mgr: Manager, tokens: Callable, db: Any
) -> None:
    display = socketio.test_client(
        app, namespace=NAMESPACE, auth={"token": tokens("display"), "hall": "demo", "after": None}
    )
    display.get_received(NAMESPACE)

    added, body = mgr(
        "POST", "/counters", {"number": 6, "name": "Quầy 6", "services": ["DD", "TP"]}
    )
    edited, body2 = mgr("PATCH", "/counters/1", {"services": ["CT", "TP"]})
    dup, _ = mgr("POST", "/counters", {"number": 6, "services": ["TP"]})
    unknown, err = mgr("PATCH", "/counters/1", {"services": ["NOPE"]})
    empty, _ = mgr("PATCH", "/counters/1", {"services": []})
    got = [m for m in display.get_received(NAMESPACE)]

    assert (added, body["counter"]["services"]) == (201, ["DD", "TP"])
    assert (edited, body2["counter"]["services"]) == (200, ["CT", "TP"])
    assert (dup, unknown, empty) == (409, 400, 400) and "NOPE" in err["error"]["message"]
    names = [(m["name"], m["args"][0].get("counter"), m["args"][0].get("what")) for m in got]
    assert ("counter.changed", 6, None) in names and ("counter.changed", 1, None) in names
    assert names.count(("config.changed", None, "counters")) == 2
    display.disconnect(NAMESPACE)


def test_users_are_added_reset_and_disabled(
    mgr: Manager, client: Any, api: Any, sign_in: Callable, db: Any, tokens: Callable
) -> None:
    status, body = mgr(
        "POST",
        "/users",
        {
            "username": "clerk6",
            "full_name": "Nguyễn Thị Hoa",
            "role": "clerk",
            "password": "hoa-quay-so-6",
        },
    )
    assert status == 201 and body["user"]["full_name"] == "Nguyễn Thị Hoa"
    sign_in("clerk6", "hoa-quay-so-6")

    assert mgr("POST", "/users/clerk6/password", {"password": "short"})[0] == 400
    assert mgr("POST", "/users/clerk6/password", {"password": "hoa-doi-mat-khau"})[0] == 200
    assert client.get("/api/v1/me").status_code == 401  # the old session ended with the reset
    sign_in("clerk6", "hoa-doi-mat-khau")

    # clerk1 is signed in at counter 1: disabling signs them out and their token stops working
    status, _ = mgr("PATCH", "/users/clerk1", {"active": False})
    _, counter = api.get("counters/1", tokens("manager"))
    assert status == 200 and counter["counter"]["state"] == "closed"
    assert api.get("/api/v1/me", tokens("clerk1"))[0] == 401
    assert [a for a, _ in audits(db)] == [
        "config.user.add",
        "config.user.password",
        "config.user.edit",
    ]
    assert all("hoa-quay" not in str(d) and "hoa-doi" not in str(d) for _, d in audits(db))


def test_a_manager_cannot_create_an_admin_or_disable_themselves(mgr: Manager) -> None:
    admin, _ = mgr(
        "POST", "/users", {"username": "boss", "role": "admin", "password": "long-enough"}
    )
    me, body = mgr("PATCH", "/users/manager", {"active": False})
    dup, _ = mgr(
        "POST", "/users", {"username": "clerk2", "role": "clerk", "password": "long-enough"}
    )

    assert admin == 403 and me == 400 and "chính mình" in body["error"]["message"]
    assert dup == 409


def test_disabling_a_clerk_with_a_ticket_open_is_refused(
    mgr: Manager, api: Any, tokens: Callable
) -> None:
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    api.post("counters/2/next", tokens("clerk2"))

    status, body = mgr("PATCH", "/users/clerk2", {"active": False})
    _, users = mgr("GET", "")

    assert status == 409
    assert next(u for u in users["users"] if u["username"] == "clerk2")["active"] is True


def test_device_tokens_are_issued_once_and_revoked(
    mgr: Manager, api: Any, db: Any, tokens: Callable
) -> None:
    status, body = mgr("POST", "/devices", {"kind": "kiosk", "name": "Kiosk cửa phụ"})
    token = body["token"]
    who = api.get("/api/v1/me", token)
    pad, pad_body = mgr("POST", "/devices", {"kind": "rating-pad", "name": "Pad 6"})
    agent, agent_body = mgr(
        "POST", "/devices", {"kind": "print-agent", "name": "Máy in", "kiosk": body["device"]["id"]}
    )

    assert status == 201 and body["url"].endswith(f"/kiosk?token={token}")
    assert who == (200, who[1]) and who[1]["role"] == "kiosk"
    assert pad == 400 and "quầy" in pad_body["error"]["message"]
    assert agent == 201 and "layso print-agent" in agent_body["command"]
    assert token not in str(audits(db)) and token not in str(mgr("GET", "")[1])

    revoked, _ = mgr("POST", f"/devices/{body['device']['id']}/revoke")

    assert revoked == 200 and api.get("/api/v1/me", token)[0] == 401
    assert [a for a, _ in audits(db)][-1] == "config.device.revoke"
    assert ("devices", "managers") in config_events(db)


def test_notices_reach_the_display_snapshot(mgr: Manager, api: Any, tokens: Callable) -> None:
    status, body = mgr("POST", "/notices", {"text": "Nghỉ trưa 11:30–13:30", "text_en": "Lunch"})
    nid = body["notice"]["id"]
    _, state = api.get("state", tokens("display"))
    shown = [n["text"] for n in state["notices"]]
    mgr("PATCH", f"/notices/{nid}", {"active": False})
    hidden = [n["text"] for n in api.get("state", tokens("display"))[1]["notices"]]
    deleted, _ = mgr("DELETE", f"/notices/{nid}")
    again, _ = mgr("DELETE", f"/notices/{nid}")

    assert status == 201 and shown[-1] == "Nghỉ trưa 11:30–13:30"  # added last
    assert "Nghỉ trưa 11:30–13:30" not in hidden
    assert (deleted, again) == (200, 404)


def test_hall_settings_validate_and_change(
    mgr: Manager, api: Any, tokens: Callable, db: Any
) -> None:
    bad_voice, err = mgr("PATCH", "/hall", {"voice_template": "Mời số {so} đến quầy {quầy}"})
    bad_zone, _ = mgr("PATCH", "/hall", {"timezone": "Mars/Olympus"})
    bad_scale, _ = mgr("PATCH", "/hall", {"rating_scale": 7})
    bad_labels, _ = mgr("PATCH", "/hall", {"rating_scale": 3, "rating_labels": [{"vi": "Tốt"}]})
    bad_policy, _ = mgr("PATCH", "/hall", {"priority_policy": "random"})
    before = snapshot(db)
    assert (bad_voice, bad_zone, bad_scale, bad_labels, bad_policy) == (400,) * 5
    assert "{số}" in err["error"]["message"]

    status, body = mgr(
        "PATCH",
        "/hall",
        {
            "voice_template": "Xin mời số {số} tới quầy {quầy}",
            "priority_policy": "interleaved",
            "priority_interleave": 2,
            "rating_scale": 5,
            "satisfaction_target": 0.9,
            "hours": {"days": [0, 1, 2, 3, 4], "ranges": [["07:30", "11:30"], ["13:30", "17:00"]]},
        },
    )
    _, state = api.get("state", tokens("display"))
    _, summary = api.get("reports/summary", tokens("manager"))

    assert status == 200 and body["hall"]["rating_scale"] == 5
    assert len(body["hall"]["rating_labels"]) == 5
    assert state["info"]["priority_policy"] == "interleaved"
    assert state["info"]["voice_template"] == "Xin mời số {số} tới quầy {quầy}"
    assert summary["satisfaction_target"] == 0.9
    assert snapshot(db) != before
    action, detail = audits(db)[-1]
    assert action == "config.hall"
    assert detail["priority_policy"] == ["strict", "interleaved"]
    assert config_events(db)[-1] == ("hall", "hall")


def test_an_unchanged_save_writes_nothing(mgr: Manager, db: Any) -> None:
    _, cfg = mgr("GET", "")
    before = snapshot(db)

    status, _ = mgr("PATCH", "/hall", {"name": cfg["hall"]["name"]})

    assert status == 200 and snapshot(db) == before
