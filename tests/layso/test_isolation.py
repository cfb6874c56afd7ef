"""Two halls on one deployment: the same area codes, and no data or event crosses."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from layso.hub import socketio


def received(client: Any) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0]) for m in client.get_received("/hall")]


def test_a_display_receives_only_its_own_halls_events(
    app: Any, client: Any, api: Any, tokens: Callable, other_hall: dict[str, Any]
) -> None:
    ours = socketio.test_client(
        app,
        namespace="/hall",
        flask_test_client=client,
        auth={"token": tokens("display"), "hall": "demo", "after": None},
    )
    theirs = socketio.test_client(
        app,
        namespace="/hall",
        flask_test_client=app.test_client(),
        auth={"token": other_hall["devices"]["display"], "hall": "other", "after": None},
    )
    assert [n for n, _ in received(ours)] == ["snapshot"]
    assert [n for n, _ in received(theirs)] == ["snapshot"]

    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    api.post("counters/1/next", tokens("clerk1"))
    api.post("/api/v1/halls/other/tickets", other_hall["devices"]["kiosk"], {"service": "TP"})

    mine, other = received(ours), received(theirs)
    assert {b["hall"] for _, b in mine} == {"demo"}
    assert {b["hall"] for _, b in other} == {"other"}
    assert [n for n, _ in mine].count("ticket.called") == 1
    assert [n for n, _ in other] == ["queue.changed"]  # what a display shows of an issue


def test_a_token_of_one_hall_cannot_join_another(
    app: Any, client: Any, other_hall: dict[str, Any]
) -> None:
    sneaky = socketio.test_client(
        app,
        namespace="/hall",
        flask_test_client=client,
        auth={"token": other_hall["devices"]["display"], "hall": "demo", "after": None},
    )

    assert not sneaky.is_connected("/hall")
