"""The hub inside one process (threading): a change that fails after recording events sends none."""

from __future__ import annotations

from typing import Any

import pytest

from layso.hub import socketio


def _display(app: Any, token: str) -> Any:
    client = socketio.test_client(
        app, namespace="/hall", auth={"token": token, "hall": "demo", "after": None}
    )
    assert client.is_connected("/hall")
    return client


def test_events_recorded_by_a_change_that_then_fails_are_never_sent(
    app: Any, api: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = tokens("clerk1")
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    api.post("counters/1/next", clerk)
    api.post("counters/1/start", clerk)
    display = _display(app, tokens("display"))
    [snapshot] = display.get_received("/hall")
    seq = snapshot["args"][0]["seq"]

    def broken(*args: Any, **kw: Any) -> None:
        # _finish has already recorded ticket.finished, rating.requested and counter.changed
        raise RuntimeError("the disk is full")

    monkeypatch.setattr("layso.services.counters.choose_next", broken)
    status, body = api.post("counters/1/next", clerk)
    monkeypatch.undo()
    fence_status, _ = api.post("tickets", clerk, {"service": "CT"})

    assert status == 500 and body["error"]["code"] == "internal"
    assert fence_status == 201
    received = [(m["name"], m["args"][0]["seq"]) for m in display.get_received("/hall")]
    # only the fence (of which a display renders queue.changed; ticket.issued, seq + 1, is not
    # sent to it): nothing of the failed change, and it used up no seq
    assert received == [("queue.changed", seq + 2)]
    status, ticket = api.get("counters/1", clerk)
    assert ticket["counter"]["ticket"]["status"] == "serving"  # still being served


def test_a_display_of_another_hall_is_refused(app: Any, other_hall: Any, tokens: Any) -> None:
    client = socketio.test_client(
        app,
        namespace="/hall",
        auth={"token": other_hall["devices"]["display"], "hall": "demo", "after": None},
    )

    assert not client.is_connected("/hall")
