"""Ratings: once per visit, only from the counter that served it, only served visits, on scale."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from layso.hub import NAMESPACE, socketio
from layso.models import Hall, Rating


def set_hall(db: Any, **fields: Any) -> None:
    with db.write() as s:
        s.execute(sa.update(Hall).where(Hall.slug == "demo").values(**fields))


def ratings(db: Any) -> list[Rating]:
    with db.read() as s:
        return list(s.scalars(sa.select(Rating).order_by(Rating.id)))


def test_the_serving_counters_pad_rates_a_finished_visit(desk: Any, db: Any) -> None:
    ticket = desk.serve(1)

    status, body = desk.rate(ticket["id"], 4, reasons=[])

    assert status == 201, body
    assert body["rating"] == {
        "id": body["rating"]["id"],
        "ticket": ticket["id"],
        "score": 4,
        "scale": 4,
        "reasons": [],
        "counter": 1,
    }
    [stored] = ratings(db)
    assert (stored.ticket_id, stored.score, stored.scale) == (ticket["id"], 4, 4)


def test_a_visit_is_rated_once(desk: Any, db: Any) -> None:
    ticket = desk.serve(1)
    desk.rate(ticket["id"], 4)

    status, body = desk.rate(ticket["id"], 1)

    assert status == 409 and body["error"]["code"] == "already_rated"
    assert [r.score for r in ratings(db)] == [4]


def test_another_counters_pad_is_refused(desk: Any, db: Any) -> None:
    ticket = desk.serve(1)

    status, body = desk.rate(ticket["id"], 4, who="pad2")

    assert status == 403 and body["error"]["code"] == "forbidden"
    assert ratings(db) == []


@pytest.mark.parametrize("step", ["called", "no_show", "held"])
def test_a_visit_not_served_cannot_be_rated(desk: Any, db: Any, step: str) -> None:
    ticket = desk.issue("TP")
    desk.ok(1, "next")
    if step == "no_show":
        desk.ok(1, "no-show")
    if step == "held":
        desk.ok(1, "hold")

    status, body = desk.rate(ticket["id"], 4)

    assert status == 409 and body["error"]["code"] == "not_rateable"
    assert ratings(db) == []


def test_a_waiting_ticket_was_served_by_no_counter(desk: Any) -> None:
    ticket = desk.issue("TP")

    status, body = desk.rate(ticket["id"], 4)

    assert status == 403


def test_a_visit_being_served_may_be_rated(desk: Any) -> None:
    ticket = desk.issue("TP")
    desk.ok(1, "next")
    desk.ok(1, "start")

    status, _ = desk.rate(ticket["id"], 3)

    assert status == 201


@pytest.mark.parametrize("score", [5, 0, -1, "4", 4.0, None, True])
def test_a_score_off_the_scale_is_400(desk: Any, db: Any, score: Any) -> None:
    ticket = desk.serve(1)

    status, body = desk.rate(ticket["id"], score)

    assert status == 400 and body["error"]["code"] == "bad_request"
    assert ratings(db) == []


def test_the_halls_scale_decides_what_is_on_it(desk: Any, db: Any) -> None:
    set_hall(db, rating_scale=5)
    ok_status, ok = desk.rate(desk.serve(1)["id"], 5)
    set_hall(db, rating_scale=3)

    off_status, off = desk.rate(desk.serve(1)["id"], 4)

    assert ok_status == 201 and ok["rating"]["scale"] == 5
    assert off_status == 400 and "1 đến 3" in off["error"]["message"]


@pytest.mark.parametrize(
    "reasons", ["Thái độ", [1], ["x" * 61], [""], ["a"] * 11, {"a": 1}], ids=str
)
def test_bad_reasons_are_400(desk: Any, db: Any, reasons: Any) -> None:
    ticket = desk.serve(1)

    status, _ = desk.rate(ticket["id"], 1, reasons=reasons)

    assert status == 400 and ratings(db) == []


def test_reasons_are_kept(desk: Any, db: Any) -> None:
    ticket = desk.serve(1)

    desk.rate(ticket["id"], 1, reasons=["Thời gian chờ lâu", "Thái độ phục vụ"])

    assert ratings(db)[0].reasons == ["Thời gian chờ lâu", "Thái độ phục vụ"]


def test_no_token_is_401(desk: Any, api: Any, db: Any) -> None:
    ticket = desk.serve(1)

    status, body = api.post(f"tickets/{ticket['id']}/rating", None, {"score": 4})

    assert status == 401 and body["error"]["code"] == "unauthorized"
    assert ratings(db) == []


def test_a_signed_in_clerk_cannot_rate_from_the_counter_page(
    desk: Any, client: Any, signed_in: Any, db: Any
) -> None:
    ticket = desk.serve(1)
    csrf = signed_in("clerk1")

    r = client.post(
        f"/api/v1/halls/demo/tickets/{ticket['id']}/rating",
        json={"score": 4},
        headers={"X-CSRF-Token": csrf},
    )

    assert r.status_code == 403 and r.get_json()["error"]["code"] == "forbidden"
    assert "thay công dân" in r.get_json()["error"]["message"]
    assert ratings(db) == []


def test_the_clerks_api_token_cannot_rate_either(desk: Any, db: Any) -> None:
    """API.md: the rating pad of the counter that served it, never the clerk's own token."""
    ticket = desk.serve(1)

    mine, body = desk.rate(ticket["id"], 4, who="clerk1")
    pad, _ = desk.rate(ticket["id"], 4, who="pad1")

    assert mine == 403 and "thay công dân" in body["error"]["message"]
    assert pad == 201


@pytest.mark.parametrize("who", ["kiosk", "display", "manager", "cdisplay1"])
def test_other_principals_cannot_rate(desk: Any, who: str) -> None:
    ticket = desk.serve(1)

    status, _ = desk.rate(ticket["id"], 4, who=who)

    assert status == 403


def test_a_pad_of_another_hall_is_refused(desk: Any, api: Any, other_hall: Any) -> None:
    ticket = desk.serve(1)
    foreign_pad = other_hall["counters"][0]["rating_pad"]

    status, _ = api.post(f"tickets/{ticket['id']}/rating", foreign_pad, {"score": 4})

    assert status == 403


def test_the_rating_reaches_managers_log_only(desk: Any) -> None:
    ticket = desk.serve(1)
    desk.rate(ticket["id"], 2, reasons=["Cơ sở vật chất"])

    managers = [e for e in desk.events("manager") if e["name"] == "ticket.rated"]
    display = [e for e in desk.events("display") if e["name"] == "ticket.rated"]

    assert [(e["ticket"]["id"], e["score"], e["reasons"]) for e in managers] == [
        (ticket["id"], 2, ["Cơ sở vật chất"])
    ]
    assert display == []


def test_rating_is_requested_of_that_counters_pad_on_finish(desk: Any) -> None:
    ticket = desk.serve(1)

    pad1 = [e for e in desk.events("pad1") if e["name"] == "rating.requested"]
    pad2 = [e for e in desk.events("pad2") if e["name"] == "rating.requested"]

    assert [(e["ticket"]["id"], e["counter"], e["scale"]) for e in pad1] == [(ticket["id"], 1, 4)]
    assert pad2 == []


def test_rating_is_requested_on_start_when_the_hall_says_so(desk: Any, db: Any) -> None:
    set_hall(db, rating_on="start")
    ticket = desk.issue("TP")
    desk.ok(1, "next")
    desk.ok(1, "start")

    requested = [e for e in desk.events("pad1") if e["name"] == "rating.requested"]
    desk.ok(1, "finish")
    after_finish = [e for e in desk.events("pad1") if e["name"] == "rating.requested"]

    assert [e["ticket"]["status"] for e in requested] == ["serving"]
    assert requested[0]["ticket"]["id"] == ticket["id"]
    assert len(after_finish) == 1  # not asked twice


def test_the_pad_receives_the_request_over_the_hub_and_no_other_pad_does(
    app: Any, desk: Any, tokens: Any
) -> None:
    pads = {
        name: socketio.test_client(
            app, namespace=NAMESPACE, auth={"token": tokens(name), "hall": "demo", "after": None}
        )
        for name in ("pad1", "pad2")
    }
    for pad in pads.values():
        assert pad.is_connected(NAMESPACE)
        pad.get_received(NAMESPACE)  # the snapshot

    ticket = desk.serve(1)

    def requests(name: str) -> list[Any]:
        got = pads[name].get_received(NAMESPACE)
        return [m["args"][0] for m in got if m["name"] == "rating.requested"]

    mine, theirs = requests("pad1"), requests("pad2")
    assert [(r["ticket"]["id"], r["counter"]) for r in mine] == [(ticket["id"], 1)]
    assert theirs == []
    for pad in pads.values():
        pad.disconnect(NAMESPACE)


def test_the_snapshot_carries_the_halls_rating_scale_labels_and_reasons(
    api: Any, tokens: Any, db: Any
) -> None:
    labels = [
        {"vi": "Tốt", "en": "Good"},
        {"vi": "Được", "en": "Fine"},
        {"vi": "Kém", "en": "Poor"},
    ]
    reasons = [{"vi": "Chờ lâu", "en": "Long wait"}]
    _, default = api.get("state", tokens("pad1"))
    set_hall(db, rating_scale=3, rating_labels=labels, rating_reasons=reasons)

    _, configured = api.get("state", tokens("pad1"))

    assert default["info"]["rating_scale"] == 4
    assert default["info"]["rating_labels"] is None  # the pad's default labels
    assert default["info"]["rating_reasons"] is None
    assert configured["info"]["rating_scale"] == 3
    assert configured["info"]["rating_labels"] == labels
    assert configured["info"]["rating_reasons"] == reasons
