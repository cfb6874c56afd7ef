"""Every counter action in every counter state: allowed → 200, refused → a clear code, no change."""

from __future__ import annotations

from typing import Any

import pytest

ACTIONS = (
    "open",
    "close",
    "pause",
    "resume",
    "next",
    "recall",
    "start",
    "finish",
    "no-show",
    "hold",
    "unhold",
    "call",
    "transfer",
)

# state → action → (status, error code) for refusals, or (200, (counter state, current status))
OK = 200
EXPECTED: dict[str, dict[str, tuple[int, Any]]] = {
    "closed": {
        "open": (OK, ("open", None)),
        **{
            a: (403, "not_your_counter")
            for a in ACTIONS
            if a != "open"  # the clerk is no longer at the closed counter
        },
    },
    "idle": {
        "open": (OK, ("open", None)),
        "close": (OK, ("closed", None)),
        "pause": (OK, ("paused", None)),
        "resume": (409, "invalid_state"),
        "next": (OK, ("open", "called")),
        "recall": (409, "no_current_ticket"),
        "start": (409, "no_current_ticket"),
        "finish": (409, "no_current_ticket"),
        "no-show": (409, "no_current_ticket"),
        "hold": (409, "no_current_ticket"),
        "unhold": (OK, ("open", "called")),
        "call": (OK, ("open", "called")),
        "transfer": (409, "no_current_ticket"),
    },
    "paused": {
        "open": (OK, ("paused", None)),
        "close": (OK, ("closed", None)),
        "pause": (409, "counter_paused"),
        "resume": (OK, ("open", None)),
        "next": (409, "counter_paused"),
        "recall": (409, "counter_paused"),
        "start": (409, "no_current_ticket"),
        "finish": (409, "no_current_ticket"),
        "no-show": (409, "no_current_ticket"),
        "hold": (409, "no_current_ticket"),
        "unhold": (409, "counter_paused"),
        "call": (409, "counter_paused"),
        "transfer": (409, "no_current_ticket"),
    },
    "called": {
        "open": (OK, ("open", "called")),
        "close": (409, "counter_busy"),
        "pause": (409, "counter_busy"),
        "resume": (409, "invalid_state"),
        "next": (409, "counter_busy"),
        "recall": (OK, ("open", "called")),
        "start": (OK, ("open", "serving")),
        "finish": (409, "invalid_state"),
        "no-show": (OK, ("open", None)),
        "hold": (OK, ("open", None)),
        "unhold": (409, "counter_busy"),
        "call": (409, "counter_busy"),
        "transfer": (OK, ("open", None)),
    },
    "serving": {
        "open": (OK, ("open", "serving")),
        "close": (409, "counter_busy"),
        "pause": (409, "counter_busy"),
        "resume": (409, "invalid_state"),
        "next": (OK, ("open", "called")),
        "recall": (409, "invalid_state"),
        "start": (409, "invalid_state"),
        "finish": (OK, ("open", None)),
        "no-show": (409, "invalid_state"),
        "hold": (OK, ("open", None)),
        "unhold": (409, "counter_busy"),
        "call": (409, "counter_busy"),
        "transfer": (OK, ("open", None)),
    },
}


def prepare(desk: Any, state: str) -> dict[str, Any]:
    """Counter 1 in `state`, with a ticket held there and two more waiting."""
    held = desk.issue("TP")
    assert desk.ok(1, "next")["ticket"]["id"] == held["id"]
    desk.ok(1, "hold")
    waiting = [desk.issue("TP"), desk.issue("TP")]
    if state in ("called", "serving"):
        desk.ok(1, "next")
    if state == "serving":
        desk.ok(1, "start")
    if state == "paused":
        desk.ok(1, "pause", {"reason": "Đi họp"})
    if state == "closed":
        desk.ok(1, "close")
    return {"held": held, "waiting": waiting}


def body_for(action: str, data: dict[str, Any]) -> dict[str, Any]:
    if action == "pause":
        return {"reason": "Nghỉ trưa"}
    if action == "unhold":
        return {"ticket": data["held"]["id"]}
    if action == "call":
        return {"number": data["waiting"][-1]["number"], "service": "TP"}
    if action == "transfer":
        return {"service": "CT"}
    return {}


CASES = [(state, action) for state in EXPECTED for action in ACTIONS]


@pytest.mark.parametrize(("state", "action"), CASES, ids=[f"{s}-{a}" for s, a in CASES])
def test_action_in_state(desk: Any, state: str, action: str) -> None:
    data = prepare(desk, state)
    before = desk.seq()
    expected_status, expected = EXPECTED[state][action]

    status, body = desk.act(1, action, body_for(action, data))

    assert status == expected_status, body
    counter = desk.counter(1)
    if status == OK:
        state_after, ticket_status = expected
        assert counter["state"] == state_after
        current = counter["ticket"]
        assert (current["status"] if current else None) == ticket_status
    else:
        assert body["error"]["code"] == expected
        assert body["error"]["message"]  # a sentence, not only a code
        assert desk.seq() == before  # a refusal changes nothing


def test_refusals_speak_vietnamese_by_default_and_english_on_request(desk: Any, api: Any) -> None:
    desk.issue("TP")
    desk.ok(1, "next")

    _, vi = desk.act(1, "finish")
    _, en = api.post("counters/1/finish", desk.tokens("clerk1"), {}, lang="en")

    assert "Số" in vi["error"]["message"] and "không thể" in vi["error"]["message"]
    assert "cannot" in en["error"]["message"]


def test_next_with_nobody_waiting_answers_null(desk: Any) -> None:
    status, body = desk.act(1, "next")

    assert status == 200 and body == {"ticket": None}


def test_next_follows_strict_policy_priority_first_then_oldest(desk: Any) -> None:
    first = desk.issue("TP")
    other_area = desk.issue("CT")
    elderly = desk.issue("TP", priority="NCT")
    last = desk.issue("TP")

    order = []
    for _ in range(4):
        order.append(desk.ok(1, "next")["ticket"]["id"])
        desk.ok(1, "start")
        desk.ok(1, "finish")

    assert order == [elderly["id"], first["id"], other_area["id"], last["id"]]


@pytest.mark.parametrize("action", [a for a in ACTIONS if a != "open"])
def test_clerk_of_another_counter_is_refused(desk: Any, action: str) -> None:
    data = prepare(desk, "called")
    before = desk.seq()

    status, body = desk.act(1, action, body_for(action, data), who="clerk2")

    assert status == 403, body
    assert body["error"]["code"] == "not_your_counter"
    assert desk.seq() == before


def test_opening_a_counter_another_clerk_holds_is_refused(desk: Any) -> None:
    status, body = desk.act(1, "open", who="clerk2")

    assert status == 409 and body["error"]["code"] == "counter_taken"


def test_clerk_at_another_counter_must_ask_to_move(desk: Any) -> None:
    desk.ok(2, "close")

    status, body = desk.act(2, "open", {}, who="clerk1")
    moved_status, moved = desk.act(2, "open", {"move": True}, who="clerk1")

    assert status == 409 and body["error"]["code"] == "clerk_elsewhere"
    assert body["error"]["details"] == {"counter": 1}
    assert moved_status == 200 and moved["counter"]["clerk"] == "clerk1"
    assert desk.counter(1)["state"] == "closed" and desk.counter(1)["clerk"] is None


def test_moving_is_refused_while_a_ticket_is_open_at_the_old_counter(desk: Any) -> None:
    desk.ok(2, "close")
    desk.issue("TP")
    desk.ok(1, "next")

    status, body = desk.act(2, "open", {"move": True}, who="clerk1")

    assert status == 409 and body["error"]["code"] == "counter_busy"
    assert desk.counter(2)["state"] == "closed"


@pytest.mark.parametrize("action", ACTIONS)
def test_no_token_is_401(api: Any, desk: Any, action: str) -> None:
    data = prepare(desk, "idle")

    status, body = api.post(f"counters/1/{action}", None, body_for(action, data))

    assert status == 401 and body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize("who", ["kiosk", "pad1", "display"])
def test_devices_cannot_act_at_a_counter(desk: Any, who: str) -> None:
    desk.issue("TP")

    status, _ = desk.act(1, "next", who=who)

    assert status == 403


def test_manager_token_cannot_act_at_a_clerks_counter(desk: Any) -> None:
    desk.issue("TP")

    status, body = desk.act(1, "next", who="manager")

    assert status == 403 and body["error"]["code"] == "not_your_counter"


def test_transfer_needs_exactly_one_target(desk: Any) -> None:
    desk.issue("TP")
    desk.ok(1, "next")

    both, b1 = desk.act(1, "transfer", {"service": "CT", "counter": 2})
    none, b2 = desk.act(1, "transfer", {})

    assert both == 400 and none == 400
    assert b1["error"]["code"] == b2["error"]["code"] == "bad_request"


def test_transfer_to_a_counter_reaches_only_that_counter(desk: Any) -> None:
    ticket = desk.issue("TP")
    desk.ok(1, "next")

    desk.ok(1, "transfer", {"counter": 3})  # counter 3 serves other areas

    assert desk.ok(2, "next")["ticket"] is None
    assert desk.ok(3, "next")["ticket"]["id"] == ticket["id"]


def test_call_a_number_that_does_not_exist_is_404(desk: Any) -> None:
    status, body = desk.act(1, "call", {"number": 1999, "service": "TP"})

    assert status == 404 and body["error"]["code"] == "unknown_ticket"


def test_pause_needs_a_reason(desk: Any) -> None:
    status, body = desk.act(1, "pause", {"reason": "   "})

    assert status == 400 and desk.counter(1)["state"] == "open"


def test_a_second_next_never_calls_twice(desk: Any) -> None:
    desk.issue("TP")
    desk.issue("TP")

    first, _ = desk.act(1, "next")
    second, body = desk.act(1, "next")

    assert (first, second) == (200, 409)
    assert body["error"]["code"] == "counter_busy"
    called = [e for e in desk.events() if e["name"] == "ticket.called"]
    assert len(called) == 1
