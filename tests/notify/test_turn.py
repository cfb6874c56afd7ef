""" "Your turn is near" and the phone page's actions, in the engine, through the HTTP API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import Event, NotifyOutbox, TicketContact

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]


def issue(api: Any, tokens: Callable, n: int, clock: Any = None) -> list[str]:
    """n tickets of an area, a second apart (with a clock; else all in the same instant);
    their codes."""
    codes = []
    for _ in range(n):
        if clock is not None:
            clock.advance(1)
        status, body = api.post("tickets", tokens("kiosk"), {"service": "TP"})
        assert status == 201
        codes.append(body["ticket"]["status_url"].rsplit("/", 1)[1])
    return codes


def put_phone(client: Any, code: str, phone: Any) -> tuple[int, Any]:
    r = client.put(f"/api/v1/t/{code}/phone", json={"phone": phone})
    return r.status_code, r.get_json()


def act(client: Any, code: str, action: str, body: Any = None) -> tuple[int, Any]:
    r = client.post(f"/api/v1/t/{code}/{action}", json=body if body is not None else {})
    return r.status_code, r.get_json()


def call_next(api: Any, tokens: Callable, counter: int = 2) -> str:
    """Serve the counter's current ticket, if any, and call the next one."""
    token = tokens(f"clerk{counter}")
    status, body = api.post(f"counters/{counter}/next", token)
    if status == 409 and body["error"]["code"] == "counter_busy":
        assert api.post(f"counters/{counter}/start", token)[0] == 200
        assert api.post(f"counters/{counter}/finish", token)[0] == 200
        status, body = api.post(f"counters/{counter}/next", token)
    assert status == 200, body
    return str(body["ticket"]["display_number"])


def notices(db: Any) -> list[tuple[str, str, str | None]]:
    with db.read() as s:
        rows = s.scalars(sa.select(NotifyOutbox).order_by(NotifyOutbox.id))
        return [(r.kind, str(r.channel_id), r.recipient) for r in rows]


@pytest.fixture
def channels(api: Any, tokens: Callable) -> list[int]:
    ids = []
    for kind, settings in (
        ("webhook", {"url": "http://127.0.0.1:9/"}),
        ("sms", {"url": "http://127.0.0.1:9/"}),
        ("zns", {"base_url": "http://127.0.0.1:9", "template_id": "42"}),
    ):
        status, body = api.post(
            "notify/channels", tokens("manager"), {"kind": kind, "name": kind, "settings": settings}
        )
        assert status == 201
        ids.append(body["channel"]["id"])
    r = api.client.patch(
        "/api/v1/halls/demo/notify/settings",
        json={"near_ahead": 2, "late_places": 3},
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    assert r.status_code == 200
    return ids


def test_a_ticket_with_a_phone_is_told_once_when_near_and_once_when_called(
    api: Any, tokens: Callable, client: Any, db: Any, clock: Any, channels: list[int]
) -> None:
    codes = issue(api, tokens, 6, clock)
    status, body = put_phone(client, codes[4], "0912 345 678")  # 1005: four ahead
    assert status == 200 and body["turn"]["phone"] == "84******678"
    assert body["turn"]["near"] is False
    assert notices(db) == []

    call_next(api, tokens)  # 1001: three ahead
    assert notices(db) == []
    call_next(api, tokens)  # 1002: two ahead → near
    near = notices(db)
    assert sorted(n[1] for n in near) == sorted(str(c) for c in channels)  # one per channel
    assert {n[0] for n in near} == {"turn.near"} and {n[2] for n in near} == {"84912345678"}
    with db.read() as s:
        text = s.scalars(sa.select(NotifyOutbox)).first().body["text"]  # type: ignore[union-attr]
    assert "1005" in text and "còn 2 người" in text

    call_next(api, tokens)  # 1003: one ahead: nothing more
    call_next(api, tokens)  # 1004
    assert len(notices(db)) == 3
    assert act(client, codes[4], "postpone")[0] == 200  # moving back does not notify again
    assert len(notices(db)) == 3
    while call_next(api, tokens) != "1005":
        pass
    called = notices(db)[3:]
    assert [n[0] for n in called] == ["turn.called"] * 3
    with db.read() as s:
        body_ = s.scalars(sa.select(NotifyOutbox).where(NotifyOutbox.kind == "turn.called")).first()
        assert body_ is not None and body_.body["data"]["counter"] == 2
        assert "quầy số 2" in body_.body["text"]
        contact = s.scalars(sa.select(TicketContact)).one()
        assert contact.phone is None  # erased once called
    api.post("counters/2/recall", tokens("clerk2"))
    assert len(notices(db)) == 6  # at most twice per channel


def test_a_ticket_already_near_is_told_as_soon_as_the_phone_is_given(
    api: Any, tokens: Callable, client: Any, db: Any, channels: list[int]
) -> None:
    codes = issue(api, tokens, 2)
    assert put_phone(client, codes[1], "+84987654321")[0] == 200
    assert [n[0] for n in notices(db)] == ["turn.near"] * 3
    # the first of the queue: "next", said plainly
    with db.read() as s:
        text = s.scalars(sa.select(NotifyOutbox)).first().body["text"]  # type: ignore[union-attr]
    assert "còn 1 người" in text


def test_no_phone_no_notice_and_a_cancelled_ticket_forgets_its_phone(
    api: Any, tokens: Callable, client: Any, db: Any, channels: list[int]
) -> None:
    codes = issue(api, tokens, 5)
    put_phone(client, codes[4], "0912345678")
    assert act(client, codes[4], "leave", {"confirm": True})[0] == 200
    for _ in range(4):
        call_next(api, tokens)
    assert notices(db) == []
    with db.read() as s:
        assert s.scalars(sa.select(TicketContact)).one().phone is None


def test_a_bad_phone_is_refused_and_nothing_is_kept(
    api: Any, tokens: Callable, client: Any, db: Any
) -> None:
    [code] = issue(api, tokens, 1)
    for bad in ("12345", "024 3825 1234", 912345678, "0912345678" * 3):
        status, body = put_phone(client, code, bad)
        assert status == 400 and body["error"]["message"]
    with db.read() as s:
        assert s.scalars(sa.select(TicketContact)).all() == []
    # taken back with null
    assert put_phone(client, code, "0912345678")[1]["turn"]["phone"] == "84******678"
    assert put_phone(client, code, None)[1]["turn"]["phone"] is None


@pytest.mark.parametrize("spread", [True, False], ids=["a-second-apart", "same-instant"])
def test_late_moves_back_behind_the_next_people_once(
    api: Any, tokens: Callable, client: Any, db: Any, clock: Any, channels: list[int], spread: bool
) -> None:
    codes = issue(api, tokens, 6, clock if spread else None)

    status, body = act(client, codes[0], "postpone")

    assert status == 200 and body["moved"] == 3
    assert body["ticket"]["ahead"] == 3
    assert body["turn"]["late_used"] is True and body["turn"]["can_postpone"] is False
    again = act(client, codes[0], "postpone")
    assert again[0] == 200 and again[1]["moved"] == 0 and again[1]["ticket"]["ahead"] == 3
    with db.read() as s:
        [ev] = s.scalars(sa.select(Event).where(Event.name == "ticket.postponed")).all()
    assert ev.payload["places"] == 3 and ev.payload["ticket"]["display_number"] == "1001"
    assert [call_next(api, tokens) for _ in range(5)] == ["1002", "1003", "1004", "1001", "1005"]


def test_late_near_the_end_goes_behind_everyone_left(
    api: Any, tokens: Callable, client: Any, clock: Any
) -> None:
    codes = issue(api, tokens, 3, clock)
    status, body = act(client, codes[1], "postpone")
    assert status == 200 and body["moved"] == 1 and body["ticket"]["ahead"] == 2


def test_late_is_refused_once_called_or_when_the_hall_does_not_offer_it(
    api: Any, tokens: Callable, client: Any
) -> None:
    codes = issue(api, tokens, 3)
    call_next(api, tokens)
    status, body = act(client, codes[0], "postpone")
    assert status == 409 and body["error"]["code"] == "not_waiting"
    api.client.patch(
        "/api/v1/halls/demo/notify/settings",
        json={"late_places": 0},
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    status, body = act(client, codes[1], "postpone")
    assert status == 409 and body["error"]["code"] == "postpone_not_offered"


def test_leave_needs_confirmation_is_logged_and_idempotent(
    api: Any, tokens: Callable, client: Any, db: Any
) -> None:
    codes = issue(api, tokens, 2)

    assert act(client, codes[0], "leave")[0] == 400  # no confirmation: nothing changes
    assert act(client, codes[0], "leave", {"confirm": "yes"})[0] == 400
    assert client.get(f"/api/v1/t/{codes[0]}").get_json()["ticket"]["status"] == "waiting"

    status, body = act(client, codes[0], "leave", {"confirm": True})
    assert status == 200 and body["ticket"]["status"] == "cancelled"
    assert body["turn"]["can_leave"] is False
    again = act(client, codes[0], "leave", {"confirm": True})
    assert again[0] == 200 and again[1]["ticket"]["status"] == "cancelled"
    with db.read() as s:
        cancelled = s.scalars(sa.select(Event).where(Event.name == "ticket.cancelled")).all()
    assert len(cancelled) == 1 and cancelled[0].user_id is None
    assert cancelled[0].payload["by"] == "citizen"
    assert client.get(f"/api/v1/t/{codes[1]}").get_json()["ticket"]["ahead"] == 0

    call_next(api, tokens)
    status, body = act(client, codes[1], "leave", {"confirm": True})
    assert status == 409  # called: the clerk decides now


def test_the_phone_actions_are_rate_limited_per_code(api: Any, tokens: Callable, app: Any) -> None:
    app.config["LAYSO_RATE_PHONE"] = 3
    [code] = issue(api, tokens, 1)
    client = app.test_client()
    answers = [act(client, code, "postpone")[0] for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_unknown_code_is_404_for_every_action(client: Any) -> None:
    assert act(client, "no-such-code-0000", "postpone")[0] == 404
    assert act(client, "no-such-code-0000", "leave", {"confirm": True})[0] == 404
    assert put_phone(client, "no-such-code-0000", "0912345678")[0] == 404


def test_the_public_status_says_when_the_turn_is_near(
    api: Any, tokens: Callable, client: Any, channels: list[int]
) -> None:
    codes = issue(api, tokens, 4)
    far = client.get(f"/api/v1/t/{codes[3]}").get_json()["turn"]
    near = client.get(f"/api/v1/t/{codes[2]}").get_json()["turn"]
    assert (far["near"], near["near"]) == (False, True)
    assert near == {
        "near": True,
        "near_ahead": 2,
        "late_places": 3,
        "late_used": False,
        "can_postpone": True,
        "can_leave": True,
        "phone": None,
        "notify": True,
    }


def test_a_near_notice_still_unsent_when_the_ticket_is_called_or_leaves_is_dropped(
    api: Any, tokens: Callable, client: Any, db: Any, clock: Any, channels: list[int]
) -> None:
    """The providers are down (nothing listens on port 9): "near" would come too late."""
    from layso.services.notify.outbox import Sender

    codes = issue(api, tokens, 4, clock)
    put_phone(client, codes[0], "0912345678")  # near at once
    put_phone(client, codes[1], "0987654321")
    put_phone(client, codes[2], "0933333333")
    assert [n[0] for n in notices(db)] == ["turn.near"] * 9

    call_next(api, tokens)  # 1001 called
    assert act(client, codes[1], "leave", {"confirm": True})[0] == 200  # 1002 leaves
    Sender(db, clock, env={"LAYSO_WEBHOOK_SECRET": "s"}, timeout_s=2).run_once()

    with db.read() as s:
        left = sorted((r.kind, r.ticket_id) for r in s.scalars(sa.select(NotifyOutbox)))
    ids = [client.get(f"/api/v1/t/{c}").get_json()["ticket"]["id"] for c in codes[:3]]
    # 1001's and 1002's near notices are gone; 1003 still waits: its own stay (and 1001's
    # called ones, tried: failed or waiting for a retry)
    assert left == sorted([("turn.near", ids[2])] * 3 + [("turn.called", ids[0])] * 3)
