"""HTTP API v1: authentication, hall scoping, roles, and bad input that changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import Event, IdempotencyKey, Suggestion, Ticket
from layso.services.state import DEVICE_RENDERS

pytestmark = pytest.mark.usefixtures("demo")


def counts(db: Any) -> tuple[int, int, int]:
    with db.read() as s:
        return (
            s.scalar(sa.select(sa.func.count()).select_from(Ticket)),
            s.scalar(sa.select(sa.func.count()).select_from(Event)),
            s.scalar(sa.select(sa.func.count()).select_from(Suggestion)),
        )


def test_kiosk_issues_a_ticket_with_position_and_phone_link(api: Any, tokens: Callable) -> None:
    status, answer = api.post("tickets", tokens("kiosk"), {"service": "TP"})

    assert status == 201
    assert list(answer) == ["ticket"]  # the ticket once, nothing beside it
    body = answer["ticket"]
    for key in (
        "id",
        "number",
        "display_number",
        "service",
        "priority",
        "status",
        "issued_at",
        "ahead",
        "estimated_wait_s",
        "status_url",
    ):
        assert key in body
    assert (body["display_number"], body["status"], body["ahead"]) == ("1001", "waiting", 0)
    assert body["issued_at"].endswith("+07:00")
    assert "/t/" in body["status_url"] and len(body["status_url"].rsplit("/", 1)[1]) >= 16


def test_phone_page_data_needs_only_the_unguessable_code(api: Any, tokens: Callable) -> None:
    _, issued = api.post("tickets", tokens("kiosk"), {"service": "CT"})
    code = issued["ticket"]["status_url"].rsplit("/", 1)[1]

    status, body = api.get(f"/api/v1/t/{code}", None)
    missing, _ = api.get("/api/v1/t/not-a-real-code-000", None)

    assert status == 200 and body["ticket"]["display_number"] == "2001"
    assert "code" not in body["ticket"]
    assert missing == 404


def test_services_list_waiting_counts_and_estimates(api: Any, tokens: Callable) -> None:
    for _ in range(3):
        api.post("tickets", tokens("kiosk"), {"service": "TP"})

    status, body = api.get("services", tokens("display"))

    tp = next(s for s in body["services"] if s["code"] == "TP")
    assert status == 200
    assert (tp["waiting"], tp["open"], tp["name"]) == (3, True, "Tư pháp - Hộ tịch")
    assert tp["estimated_wait_s"] == 3 * 300 // 2  # default 5 min, two open counters


def test_state_and_events_replay_the_log(api: Any, tokens: Callable) -> None:
    _, state = api.get("state", tokens("clerk2"))
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    api.post("counters/2/next", tokens("clerk2"))

    status, body = api.get(f"events?after={state['seq']}", tokens("clerk2"))
    _, shown = api.get(f"events?after={state['seq']}", tokens("display"))
    _, kiosk = api.get(f"events?after={state['seq']}", tokens("kiosk"))

    names = [e["name"] for e in body["events"]]
    seqs = [e["seq"] for e in body["events"]]
    assert status == 200
    assert names[0] == "ticket.issued" and "ticket.called" in names
    assert seqs == list(range(state["seq"] + 1, state["seq"] + 1 + len(seqs)))
    assert all(e["hall"] == "demo" and e["at"].endswith("+07:00") for e in body["events"])
    # a device catches up on what its kind renders, as the hub sends it live: not the call's
    # counter.changed, which says what the call already told it (for people, it names its cause)
    everything = [(e["name"], e["seq"]) for e in body["events"]]
    counter = next(e for e in body["events"] if e["name"] == "counter.changed")
    assert counter["cause"] == "ticket.called" and counter["ticket"]["status"] == "called"
    assert [(e["name"], e["seq"]) for e in shown["events"]] == [
        (n, q)
        for n, q in everything
        if n in DEVICE_RENDERS["display"] and (n, q) != ("counter.changed", counter["seq"])
    ]
    assert {e["name"] for e in shown["events"]} == {"queue.changed", "ticket.called"}
    assert {e["name"] for e in kiosk["events"]} == {"queue.changed"}


def test_targeted_events_are_replayed_only_to_their_audience(api: Any, tokens: Callable) -> None:
    _, state = api.get("state", tokens("display"))
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    api.post("counters/2/next", tokens("clerk2"))
    api.post("counters/2/start", tokens("clerk2"))
    api.post("counters/2/finish", tokens("clerk2"))

    _, display = api.get(f"events?after={state['seq']}", tokens("display"))
    _, pad2 = api.get(f"events?after={state['seq']}", tokens("pad2"))
    _, pad1 = api.get(f"events?after={state['seq']}", tokens("pad1"))

    def names(body: Any) -> list[str]:
        return [e["name"] for e in body["events"]]

    assert "rating.requested" not in names(display)
    assert "rating.requested" in names(pad2)
    assert "rating.requested" not in names(pad1)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "unauthorized"),
        ({"Authorization": "Bearer forged-token"}, 401, "unauthorized"),
        ({"Authorization": "Basic abc"}, 401, "unauthorized"),
        ({"Authorization": "Bearer " + "x" * 5000}, 401, "unauthorized"),
    ],
)
def test_missing_or_forged_token_is_refused(
    client: Any, db: Any, headers: dict, status: int, code: str
) -> None:
    before = counts(db)

    r = client.post("/api/v1/halls/demo/tickets", json={"service": "TP"}, headers=headers)

    assert (r.status_code, r.get_json()["error"]["code"]) == (status, code)
    assert counts(db) == before


def test_another_halls_token_gets_403_and_nothing_crosses(
    api: Any, db: Any, other_hall: dict[str, Any]
) -> None:
    before = counts(db)
    other_kiosk = other_hall["devices"]["kiosk"]

    status, body = api.post("tickets", other_kiosk, {"service": "TP"})
    read_status, _ = api.get("state", other_kiosk)

    assert (status, body["error"]["code"]) == (403, "forbidden")
    assert read_status == 403
    assert counts(db) == before


def test_same_area_codes_in_two_halls_number_independently(
    api: Any, tokens: Callable, other_hall: dict[str, Any]
) -> None:
    other_kiosk = other_hall["devices"]["kiosk"]
    other_clerk = other_hall["counters"][0]["token"]
    _, other_state = api.get("/api/v1/halls/other/state", other_clerk)

    _, here = api.post("tickets", tokens("kiosk"), {"service": "TP"})
    _, there = api.post("/api/v1/halls/other/tickets", other_kiosk, {"service": "TP"})
    _, other_events = api.get(f"/api/v1/halls/other/events?after={other_state['seq']}", other_clerk)

    assert here["ticket"]["display_number"] == there["ticket"]["display_number"] == "1001"
    assert here["ticket"]["id"] != there["ticket"]["id"]
    assert {e["hall"] for e in other_events["events"]} == {"other"}
    assert [e["ticket"]["id"] for e in other_events["events"] if e["name"] == "ticket.issued"] == [
        there["ticket"]["id"]
    ]


@pytest.mark.parametrize(
    ("who", "path", "body"),
    [
        ("display", "tickets", {"service": "TP"}),
        ("pad1", "tickets", {"service": "TP"}),
        ("print-agent", "tickets", {"service": "TP"}),
        ("display", "counters/1/next", None),
        ("kiosk", "counters/1/next", None),
        ("clerk2", "counters/1/next", None),
        ("manager", "counters/1/next", None),
        ("display", "suggestions", {"text": "Hi"}),
        ("clerk1", "suggestions", {"text": "Hi"}),
    ],
)
def test_wrong_role_or_wrong_counter_is_403(
    api: Any, db: Any, tokens: Callable, who: str, path: str, body: Any
) -> None:
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    before = counts(db)

    status, resp = api.post(path, tokens(who), body)

    assert status == 403 and resp["error"]["code"] in ("forbidden", "not_your_counter")
    assert counts(db) == before


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        (b"{not json", 400, "bad_request"),
        (b"[1, 2]", 400, "bad_request"),
        (b'"TP"', 400, "bad_request"),
        (b"{}", 400, "bad_request"),
        (b'{"service": 12}', 400, "bad_request"),
        (b'{"service": null}', 400, "bad_request"),
        (b'{"service": ["TP"]}', 400, "bad_request"),
        (b'{"service": "ZZ"}', 404, "unknown_service"),
        (b'{"service": "TP", "priority": 1}', 400, "bad_request"),
        (b'{"service": "TP", "priority": "VIP"}', 400, "unknown_priority"),
        (b'{"service": "' + b"T" * 10000 + b'"}', 400, "bad_request"),
        (b'{"service": "' + b"T" * 400000 + b'"}', 413, "too_large"),
        (b'{"service": "TP\\u0000"}', 404, "unknown_service"),
    ],
)
def test_bad_ticket_requests_get_a_clear_error_and_change_nothing(
    api: Any, db: Any, tokens: Callable, raw: bytes, status: int, code: str
) -> None:
    before = counts(db)

    got, body = api.post("tickets", tokens("kiosk"), raw=raw)

    assert (got, body["error"]["code"]) == (status, code)
    assert body["error"]["message"]
    assert counts(db) == before


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("counters/1/call", {"number": "1001", "service": "TP"}, 400),
        ("counters/1/call", {"number": True, "service": "TP"}, 400),
        ("counters/1/call", {"number": 1001}, 400),
        ("counters/1/call", {"number": 1001, "service": "TP"}, 404),
        ("counters/1/transfer", {}, 400),
        ("counters/1/transfer", {"service": "TP", "counter": 2}, 400),
        ("counters/1/pause", {"reason": ""}, 400),
        ("counters/1/pause", {"reason": "x" * 500}, 400),
        ("counters/1/unhold", {"ticket": "1"}, 400),
        ("counters/1/open", {"move": "yes"}, 400),
        ("counters/99/next", None, 404),
        ("tickets/99999/rating", {"score": 4}, 404),
        ("tickets/1/rating", {"score": 9}, 400),
        ("tickets/1/rating", {"score": 4, "reasons": "bad"}, 400),
    ],
)
def test_bad_counter_and_rating_input(
    api: Any, db: Any, tokens: Callable, path: str, body: Any, status: int
) -> None:
    who = "pad1" if "rating" in path else "clerk1"
    before = counts(db)

    got, resp = api.post(path, tokens(who), body)

    assert got == status, resp
    assert set(resp["error"]) >= {"code", "message"}
    assert counts(db) == before


def test_bad_suggestions_are_refused(api: Any, db: Any, tokens: Callable) -> None:
    before = counts(db)
    assert api.post("suggestions", tokens("kiosk"), {"text": "   "})[0] == 400
    assert api.post("suggestions", tokens("kiosk"), {"text": "x" * 2001})[0] == 400
    assert api.post("suggestions", tokens("kiosk"), {"text": "ok", "contact": 5})[0] == 400
    assert counts(db) == before

    status, _ = api.post(
        "suggestions", tokens("kiosk"), {"text": "Nên thêm ghế chờ", "contact": "0901 234 567"}
    )

    assert status == 201 and counts(db)[2] == before[2] + 1


def test_unknown_hall_and_bad_after(api: Any, tokens: Callable) -> None:
    assert api.get("/api/v1/halls/nowhere/state", tokens("display"))[0] == 404
    assert api.get("events?after=-1", tokens("display"))[0] == 400
    assert api.get("events?after=abc", tokens("display"))[0] == 400


def test_errors_speak_vietnamese_by_default_and_english_on_request(
    api: Any, tokens: Callable
) -> None:
    _, vi = api.post("tickets", tokens("kiosk"), {"service": "ZZ"})
    _, en = api.post("tickets", tokens("kiosk"), {"service": "ZZ"}, lang="en-US,en;q=0.9")

    assert vi["error"]["message"] == "Không có lĩnh vực 'ZZ'."
    assert en["error"]["message"] == "There is no service area 'ZZ'."


def test_state_forbidden_changes_answer_409_with_a_stable_code(api: Any, tokens: Callable) -> None:
    clerk = tokens("clerk2")
    assert api.post("counters/2/recall", clerk)[1]["error"]["code"] == "no_current_ticket"
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    api.post("counters/2/next", clerk)
    assert api.post("counters/2/finish", clerk)[1]["error"]["code"] == "invalid_state"
    assert api.post("counters/2/next", clerk)[1]["error"]["code"] == "counter_busy"
    assert api.post("counters/2/pause", clerk, {"reason": "Đi họp"})[0] == 409
    assert api.post("counters/2/close", clerk)[0] == 409
    api.post("counters/2/start", clerk)
    assert api.post("counters/2/no-show", clerk)[1]["error"]["code"] == "invalid_state"
    assert api.post("counters/2/recall", clerk)[1]["error"]["code"] == "invalid_state"
    assert api.post("counters/2/finish", clerk)[0] == 200
    assert api.post("counters/2/resume", clerk)[0] == 409


def test_healthz_and_openapi_need_no_auth(client: Any) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    assert client.get("/api/openapi.json").get_json()["openapi"].startswith("3.")


def test_unknown_api_path_and_wrong_method_answer_json(client: Any) -> None:
    missing = client.get("/api/v1/nothing")
    wrong = client.get("/api/v1/halls/demo/tickets")

    assert (missing.status_code, missing.get_json()["error"]["code"]) == (404, "not_found")
    assert (wrong.status_code, wrong.get_json()["error"]["code"]) == (405, "method_not_allowed")


def test_me_tells_a_device_its_hall_and_counter(api: Any, tokens: Callable) -> None:
    _, pad = api.get("/api/v1/me", tokens("pad3"))
    _, clerk = api.get("/api/v1/me", tokens("clerk4"))

    assert (pad["kind"], pad["role"], pad["hall"], pad["counter"]) == (
        "device",
        "rating-pad",
        "demo",
        3,
    )
    assert (clerk["kind"], clerk["role"], clerk["counter"]) == ("user", "clerk", 4)


def test_a_replayed_issue_answers_the_ticket_once_even_if_stored_twice(
    client: Any, db: Any, tokens: Callable
) -> None:
    headers = {"Authorization": f"Bearer {tokens('kiosk')}", "Idempotency-Key": "k" * 16}
    first = client.post("/api/v1/halls/demo/tickets", json={"service": "TP"}, headers=headers)
    with db.write() as s:  # as older versions stored it: the ticket, then its fields again
        row = s.scalars(sa.select(IdempotencyKey)).one()
        ticket = row.response["body"]["ticket"]
        row.response = {**row.response, "body": {"ticket": ticket, **ticket}}

    again = client.post("/api/v1/halls/demo/tickets", json={"service": "TP"}, headers=headers)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json() == first.get_json() == {"ticket": ticket}
