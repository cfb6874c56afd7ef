"""Committed events are announced through blinker signals, in a fixed order, per database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from layso import signals
from layso.db import Database, PendingEvent, after_commit, queue_event
from layso.events import Ev


@pytest.fixture
def two_dbs(tmp_path: Path) -> Any:
    dbs = [Database(f"sqlite:///{tmp_path / name}") for name in ("a.sqlite3", "b.sqlite3")]
    yield dbs
    for db in dbs:
        db.dispose()


def event(n: int) -> PendingEvent:
    return PendingEvent("demo", Ev.TICKET_ISSUED, "hall", {"seq": n})


def test_the_transaction_then_the_publishers_then_the_reactors(two_dbs: Any) -> None:
    db, other = two_dbs
    heard: list[Any] = []

    def reactor(sender: Any, *, events: list[PendingEvent]) -> None:
        heard.append(("published", sender is db, [e.payload["seq"] for e in events]))

    def publisher(sender: Any, *, events: list[PendingEvent]) -> None:
        heard.append(("committed", sender is db, [e.payload["seq"] for e in events]))

    def broken(_sender: Any, **_: Any) -> None:
        raise RuntimeError("one receiver fails")

    def elsewhere(_sender: Any, **_: Any) -> None:
        heard.append("another database's receiver")

    # connected in the "wrong" order on purpose: the signal, not the order of connecting, decides
    signals.published.connect(reactor, sender=db)
    signals.committed.connect(broken, sender=db)
    signals.committed.connect(publisher, sender=db)
    signals.committed.connect(elsewhere, sender=other)
    try:
        with db.write() as s:
            queue_event(s, event(1))
            queue_event(s, event(2))
            after_commit(s, lambda: heard.append("after_commit"))
        with db.write() as s:  # a transaction without events announces nothing
            after_commit(s, lambda: heard.append("quiet"))
    finally:
        for receiver in (reactor, broken, publisher, elsewhere):
            signals.published.disconnect(receiver)
            signals.committed.disconnect(receiver)

    assert heard == [
        "after_commit",
        ("committed", True, [1, 2]),
        ("published", True, [1, 2]),
        "quiet",
    ]


def test_a_rolled_back_transaction_announces_nothing(two_dbs: Any) -> None:
    db, _ = two_dbs
    heard: list[Any] = []

    def publisher(_sender: Any, *, events: list[PendingEvent]) -> None:
        heard.append(events)

    signals.committed.connect(publisher, sender=db)
    try:
        with pytest.raises(ValueError), db.write() as s:
            queue_event(s, event(1))
            raise ValueError("the change fails")
    finally:
        signals.committed.disconnect(publisher)

    assert heard == []


def test_event_names_are_plain_strings_on_the_wire() -> None:
    assert Ev.TICKET_ISSUED == "ticket.issued" and f"{Ev.SNAPSHOT}" == "snapshot"
    assert {Ev.PRINT_HELLO: 1}.get("print.hello") == 1  # handler tables keyed by the name
