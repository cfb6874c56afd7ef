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


def announce(*names: Ev) -> None:
    events = [PendingEvent("demo", n, "hall", {"seq": i}) for i, n in enumerate(names, 1)]
    hub.Hub.committed(object.__new__(hub.Hub), None, events=events)  # type: ignore[arg-type]


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
