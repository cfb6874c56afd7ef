"""The hub sends a call to every screen before the bookkeeping events of its transaction."""

from __future__ import annotations

from typing import Any

import pytest

from layso import hub
from layso.db import PendingEvent
from layso.events import Ev


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    out: list[Any] = []
    monkeypatch.setattr(hub.socketio, "emit", lambda name, body, **kw: out.append(name))
    monkeypatch.setattr(hub.socketio, "sleep", lambda s: out.append(("yield", s)))
    return out


def batch(*names: Ev, first: int = 1) -> list[PendingEvent]:
    return [PendingEvent("demo", n, "hall", {"seq": i}) for i, n in enumerate(names, first)]


def announce(*names: Ev) -> None:
    hub.Hub(None, object()).committed(None, events=batch(*names))  # type: ignore[arg-type]


def test_a_call_yields_to_the_sockets_writers_before_its_bookkeeping(sent: list[Any]) -> None:
    # "next" at a serving counter: the finish's counter change, then the call and its figures
    announce(Ev.COUNTER_CHANGED, Ev.TICKET_CALLED, Ev.QUEUE_CHANGED, Ev.COUNTER_CHANGED)
    assert sent == [
        Ev.COUNTER_CHANGED,
        Ev.TICKET_CALLED,
        ("yield", 0),
        Ev.QUEUE_CHANGED,
        Ev.COUNTER_CHANGED,
    ]


def test_a_recall_yields_too_and_nothing_else_does(sent: list[Any]) -> None:
    announce(Ev.TICKET_ISSUED, Ev.QUEUE_CHANGED)
    assert ("yield", 0) not in sent
    sent.clear()
    announce(Ev.TICKET_RECALLED, Ev.COUNTER_CHANGED)
    assert sent[1] == ("yield", 0)


def test_a_call_that_ends_the_transaction_does_not_yield(sent: list[Any]) -> None:
    announce(Ev.QUEUE_CHANGED, Ev.TICKET_CALLED)
    assert ("yield", 0) not in sent


def test_a_transaction_committed_during_the_calls_yield_goes_out_after_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The call's yield lets other green threads run: one that commits meanwhile (here, from
    inside the yield) must not get its events out between the call and its bookkeeping."""
    sent: list[Any] = []
    the_hub = hub.Hub(None, object())  # type: ignore[arg-type]
    later = batch(Ev.QUEUE_CHANGED, first=3)

    def other_commits(_s: float) -> None:
        sent.append("yield")
        if later:
            the_hub.committed(None, events=[later.pop()])  # type: ignore[arg-type]
            sent.append("committed, returned")

    monkeypatch.setattr(
        hub.socketio, "emit", lambda name, body, **kw: sent.append((name, body["seq"]))
    )
    monkeypatch.setattr(hub.socketio, "sleep", other_commits)
    the_hub.committed(None, events=batch(Ev.TICKET_CALLED, Ev.COUNTER_CHANGED))  # type: ignore[arg-type]
    assert sent == [
        (Ev.TICKET_CALLED, 1),
        "yield",
        "committed, returned",
        (Ev.COUNTER_CHANGED, 2),
        (Ev.QUEUE_CHANGED, 3),
    ]
    assert not the_hub.emitting and not the_hub.pending


def test_a_failed_emission_is_logged_and_the_next_transaction_still_goes_out(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[Any] = []

    def emit(name: str, body: Any, **_kw: Any) -> None:
        if body["seq"] == 1:
            raise OSError("a socket went away")
        sent.append(body["seq"])

    monkeypatch.setattr(hub.socketio, "emit", emit)
    the_hub = hub.Hub(None, object())  # type: ignore[arg-type]
    the_hub.committed(None, events=batch(Ev.QUEUE_CHANGED))  # type: ignore[arg-type]
    the_hub.committed(None, events=batch(Ev.QUEUE_CHANGED, first=2))  # type: ignore[arg-type]
    assert sent == [2] and "1 events not emitted" in caplog.text
