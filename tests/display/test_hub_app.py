"""The hub inside one process (threading): a change that fails after recording events sends none."""

from __future__ import annotations

import weakref
from typing import Any

import pytest

from layso.hub import socketio
from layso.services import state


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


def test_screens_joining_at_the_same_seq_share_one_snapshot(
    app: Any, api: Any, tokens: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A thousand displays reconnecting at once cost one snapshot; any change (a new seq) or a
    new minute makes a fresh one, and each screen still gets its own kind's view and ``at``."""
    from layso.services import state

    made: list[int] = []
    real = state.hall_state

    def counting(*args: Any, **kw: Any) -> Any:
        body = real(*args, **kw)
        made.append(body["seq"])
        return body

    monkeypatch.setattr(state, "hall_state", counting)
    monkeypatch.setattr(state, "_snapshots", weakref.WeakKeyDictionary())
    screens = [_display(app, tokens("display")) for _ in range(5)]
    staff = socketio.test_client(
        app, namespace="/hall", auth={"token": tokens("manager"), "hall": "demo", "after": None}
    )
    firsts = [c.get_received("/hall")[0]["args"][0] for c in screens]
    staff_first = staff.get_received("/hall")[0]["args"][0]

    assert len(made) == 1
    assert all(body == firsts[0] for body in firsts)
    clerks = {c["number"]: c["clerk"] for c in staff_first["counters"]}
    assert clerks[1] == "clerk1"  # people see the login name ...
    assert {c["number"]: c["clerk"] for c in firsts[0]["counters"]}[1] != "clerk1"  # devices not

    api.post("tickets", tokens("kiosk"), {"service": "TP"})  # a new seq
    after_change = _display(app, tokens("display")).get_received("/hall")[0]["args"][0]
    clock.advance(60)  # the same seq, a new minute: open hours may have changed
    next_minute = _display(app, tokens("display")).get_received("/hall")[0]["args"][0]

    assert len(made) == 3 and after_change["seq"] == firsts[0]["seq"] + 2
    assert next_minute["at"] != after_change["at"]


def test_a_screen_far_behind_gets_the_snapshot_a_person_the_replay(
    app: Any, api: Any, tokens: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A display further behind than its replay limit gets one snapshot, not the events one by
    one (a hall's screens reconnecting at once); within the limit, exactly what it missed; a
    manager's log view is replayed up to the general limit."""
    monkeypatch.setitem(state.SCREEN_REPLAY_LIMIT, "display", 3)
    display = _display(app, tokens("display"))
    [snapshot] = display.get_received("/hall")
    start = snapshot["args"][0]["seq"]
    for code in ("TP", "CT", "DD", "TP", "CT"):  # five queue.changed for a display
        assert api.post("tickets", tokens("kiosk"), {"service": code})[0] == 201
    display.disconnect("/hall")

    def join(token: str, after: int) -> list[tuple[str, int]]:
        client = socketio.test_client(
            app, namespace="/hall", auth={"token": token, "hall": "demo", "after": after}
        )
        assert client.is_connected("/hall")
        got = [(m["name"], m["args"][0]["seq"]) for m in client.get_received("/hall")]
        client.disconnect("/hall")
        return got

    far = join(tokens("display"), start)
    assert [name for name, _ in far] == ["snapshot"] and far[0][1] == start + 10
    near = join(tokens("display"), start + 6)  # the last two issues: their queue.changed
    assert near == [("queue.changed", start + 8), ("queue.changed", start + 10)]
    person = join(tokens("manager"), start)
    assert [seq for _, seq in person] == list(range(start + 1, start + 11))


def test_a_call_and_a_start_reach_each_screen_without_what_it_already_knows(
    app: Any, api: Any, tokens: Any
) -> None:
    """A call's counter.changed (the counter's new ticket, which the call itself carries) goes to
    people only; a start's reaches the counter's own display ("Đang phục vụ") but not the wall,
    which shows the number alike; a pause reaches every screen. Live and in a replay alike."""
    clerk = tokens("clerk1")
    for _ in range(2):
        api.post("tickets", tokens("kiosk"), {"service": "TP"})
    wall, own = _display(app, tokens("display")), _display(app, tokens("cdisplay1"))
    manager = _display(app, tokens("manager"))
    start = wall.get_received("/hall")[0]["args"][0]["seq"]
    own.get_received("/hall")
    manager.get_received("/hall")

    assert api.post("counters/1/next", clerk)[0] == 200
    assert api.post("counters/1/start", clerk)[0] == 200
    assert api.post("counters/1/pause", clerk, {"reason": "Họp"})[0] == 409  # serving: refused
    assert api.post("counters/1/finish", clerk)[0] == 200
    assert api.post("counters/1/pause", clerk, {"reason": "Họp"})[0] == 200

    def seen(client: Any) -> list[tuple[str, str | None]]:
        return [
            (m["name"], m["args"][0].get("cause") or m["args"][0].get("state"))
            for m in client.get_received("/hall")
            if m["name"] in ("ticket.called", "counter.changed")
        ]

    people = seen(manager)
    assert people == [
        ("ticket.called", None),
        ("counter.changed", "ticket.called"),
        ("counter.changed", "ticket.started"),
        ("counter.changed", "open"),  # the finish: no ticket now, no cause
        ("counter.changed", "paused"),
    ]
    live_wall, live_own = seen(wall), seen(own)
    assert live_wall == [
        ("ticket.called", None),
        ("counter.changed", "open"),
        ("counter.changed", "paused"),
    ]
    assert live_own == [
        ("ticket.called", None),
        ("counter.changed", "ticket.started"),
        ("counter.changed", "open"),
        ("counter.changed", "paused"),
    ]

    def replayed(token: str) -> list[tuple[str, str | None]]:
        client = socketio.test_client(
            app, namespace="/hall", auth={"token": token, "hall": "demo", "after": start}
        )
        got = seen(client)
        client.disconnect("/hall")
        return got

    assert replayed(tokens("display")) == live_wall
    assert replayed(tokens("cdisplay1")) == live_own
    status, log = api.get(f"events?after={start}", tokens("display"))
    assert status == 200
    assert [
        (e["name"], e.get("cause") or e.get("state"))
        for e in log["events"]
        if e["name"] in ("ticket.called", "counter.changed")
    ] == live_wall
