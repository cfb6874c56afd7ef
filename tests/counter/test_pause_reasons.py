"""Pausing with a reason from the hall's list: the API (old free text still taken), the list a
manager edits, what counters and screens are told, and time paused by reason and clerk."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.usefixtures("demo")


def _patch_hall(client: Any, token: str, body: Any) -> Any:
    return client.patch(
        "/api/v1/halls/demo/config/hall", json=body, headers={"Authorization": f"Bearer {token}"}
    )


def test_pause_with_a_code_of_the_list_names_it_in_both_languages(api: Any, tokens: Any) -> None:
    status, body = api.post("counters/1/pause", tokens("clerk1"), {"reason": "meeting"})

    assert status == 200
    c = body["counter"]
    assert (c["state"], c["pause_code"], c["pause_reason"], c["pause_reason_en"]) == (
        "paused",
        "meeting",
        "Đi họp",
        "Meeting",
    )
    _, state = api.get("state", tokens("display"))
    shown = next(x for x in state["counters"] if x["number"] == 1)
    assert shown["pause_reason"] == "Đi họp" and shown["pause_code"] == "meeting"


def test_the_vietnamese_name_and_free_text_are_still_taken(api: Any, tokens: Any) -> None:
    _, body = api.post("counters/1/pause", tokens("clerk1"), {"reason": "nghỉ trưa"})
    assert body["counter"]["pause_code"] == "lunch"
    assert body["counter"]["pause_reason"] == "Nghỉ trưa"

    status, body = api.post("counters/2/pause", tokens("clerk2"), {"reason": "Sửa máy tính"})
    assert status == 200
    assert body["counter"]["pause_code"] is None
    assert body["counter"]["pause_reason"] == "Sửa máy tính"


def test_a_manager_edits_the_list_and_counters_use_the_new_codes(
    api: Any, tokens: Any, client: Any
) -> None:
    reasons = [
        {"code": "training", "vi": "Tập huấn", "en": "Training"},
        {"code": "lunch", "vi": "Nghỉ trưa", "en": "Lunch"},
    ]
    r = _patch_hall(client, tokens("manager"), {"pause_reasons": reasons})
    assert r.status_code == 200
    assert r.get_json()["hall"]["pause_reasons"] == reasons

    _, state = api.get("state", tokens("clerk1"))
    assert state["info"]["pause_reasons"] == reasons
    _, body = api.post("counters/1/pause", tokens("clerk1"), {"reason": "training"})
    assert body["counter"]["pause_reason"] == "Tập huấn"
    _, body = api.post("counters/2/pause", tokens("clerk2"), {"reason": "meeting"})
    assert body["counter"]["pause_code"] is None  # no longer in the list: kept as text


@pytest.mark.parametrize(
    "bad",
    [
        [],
        [{"code": "Bad Code", "vi": "x", "en": "x"}],
        [{"code": "a", "vi": "", "en": "x"}],
        [{"code": "a", "vi": "A", "en": "x"}, {"code": "a", "vi": "B", "en": "y"}],
        [{"code": "a", "vi": "A", "extra": 1}],
        "meeting",
    ],
)
def test_a_bad_list_is_refused_in_both_languages_and_changes_nothing(
    api: Any, tokens: Any, client: Any, bad: Any
) -> None:
    r = _patch_hall(client, tokens("manager"), {"pause_reasons": bad})

    assert r.status_code == 400
    assert "tạm dừng" in r.get_json()["error"]["message"]
    _, state = api.get("state", tokens("clerk1"))
    assert [x["code"] for x in state["info"]["pause_reasons"]][:2] == ["meeting", "break"]


def test_a_clerk_cannot_edit_the_list(tokens: Any, client: Any) -> None:
    r = _patch_hall(client, tokens("clerk1"), {"pause_reasons": None})
    assert r.status_code == 403


def test_time_paused_is_reported_by_reason_and_clerk(api: Any, tokens: Any, clock: Any) -> None:
    api.post("counters/1/pause", tokens("clerk1"), {"reason": "meeting"})
    clock.advance(600)
    api.post("counters/1/resume", tokens("clerk1"))
    api.post("counters/2/pause", tokens("clerk2"), {"reason": "lunch"})
    clock.advance(300)
    api.post("counters/1/pause", tokens("clerk1"), {"reason": "Sửa máy"})
    clock.advance(60)  # both still paused: counted up to now

    status, rep = api.get("reports/pauses", tokens("manager"))

    assert status == 200
    by_reason = {r["reason"]: (r["pauses"], r["paused_s"]) for r in rep["by_reason"]}
    assert by_reason == {"meeting": (1, 600), "lunch": (1, 360), "other": (1, 60)}
    other = next(r for r in rep["by_reason"] if r["reason"] == "other")
    assert other["texts"] == ["Sửa máy"]
    by_clerk = {r["clerk"]: (r["pauses"], r["paused_s"]) for r in rep["by_clerk"]}
    assert by_clerk == {"clerk1": (2, 660), "clerk2": (1, 360)}
    assert rep["paused_s"] == 1020
    assert api.get("reports/pauses", tokens("clerk1"))[0] == 403


def test_managers_read_open_alerts_and_devices_others_may_not(api: Any, tokens: Any) -> None:
    status, body = api.get("alerts", tokens("manager"))
    assert status == 200
    assert body["alerts"] == []
    kinds = {d["kind"] for d in body["devices"]}
    assert {"kiosk", "display", "counter-display", "rating-pad", "print-agent"} <= kinds
    assert all(d["online"] is None for d in body["devices"])  # none has reported yet
    assert api.get("alerts", tokens("clerk1"))[0] == 403
    assert api.get("alerts", tokens("display"))[0] == 403
    _, state = api.get("state", tokens("manager"))
    assert state["alerts"] == [] and len(state["devices"]) == len(body["devices"])
    _, state = api.get("state", tokens("clerk1"))
    assert "alerts" not in state and "devices" not in state
