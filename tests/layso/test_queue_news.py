"""queue.changed, coalesced under the server: a write notes its areas, one pass records each
area's latest figures (layso/services/queue_news.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa

from layso.db import Database
from layso.models import Event, Hall, Service
from layso.services.common import get_hall, queue_changed
from layso.services.queue_news import WINDOW_S, QueueNews
from tests.conftest import events_after

both = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


@pytest.fixture
def news(app: Any, db: Database, clock: Any) -> QueueNews:
    made = QueueNews(db, clock=clock, context=app.app_context)
    db.queue_news = made
    return made


def last_seq(db: Database) -> int:
    with db.read() as s:
        return int(s.scalar(sa.select(sa.func.max(Event.seq))) or 0)


def area_ids(db: Database, *codes: str) -> set[tuple[str, int]]:
    with db.read() as s:
        rows = s.execute(sa.select(Service.code, Service.id).where(Service.code.in_(codes))).all()
    return {("demo", service_id) for _, service_id in rows}


@both
def test_writes_note_their_areas_and_one_pass_records_each_areas_latest_figures(
    news: QueueNews, db: Database, api: Any, tokens: Any
) -> None:
    start = last_seq(db)
    for code in ("TP", "TP", "TP", "CT"):
        assert api.post("tickets", tokens("kiosk"), {"service": code})[0] == 201
    assert [n for n, _ in events_after(db, start)] == ["ticket.issued"] * 4
    assert news.marked == area_ids(db, "TP", "CT")

    assert news.run_once() == 2
    assert news.marked == set() and news.failed == 0
    recorded = events_after(db, start)[4:]
    assert [(n, b["service"], b["waiting"]) for n, b in recorded] == [
        ("queue.changed", "TP", 3),
        ("queue.changed", "CT", 1),
    ]
    assert all(b["estimated_wait_s"] > 0 for _, b in recorded)

    status, body = api.post("counters/1/next", tokens("clerk1"))
    assert status == 200 and body["ticket"]["display_number"] == "1001"
    assert "queue.changed" not in [n for n, _ in events_after(db, start)[6:]]
    assert news.run_once() == 1
    name, body = events_after(db, start)[-1]
    assert (name, body["service"], body["waiting"]) == ("queue.changed", "TP", 2)


@both
def test_a_write_that_rolls_back_marks_nothing(
    news: QueueNews, db: Database, clock: Any, demo: Any
) -> None:
    with pytest.raises(RuntimeError), db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        service = s.scalars(sa.select(Service).where(Service.code == "TP")).one()
        queue_changed(s, hall, service, clock())
        raise RuntimeError("the write fails after noting its area")
    assert news.marked == set()


def test_the_next_pass_waits_out_the_window_after_the_last(news: QueueNews) -> None:
    assert news.pause_s() == 0  # none yet: the first waits only SETTLE_S
    news.run_once()
    assert 0 < news.pause_s() <= WINDOW_S
    news.last_pass -= WINDOW_S
    assert news.pause_s() == 0


@both
def test_at_start_the_areas_whose_last_figures_are_stale_are_marked(
    app: Any, db: Database, api: Any, tokens: Any, clock: Any
) -> None:
    assert api.post("tickets", tokens("kiosk"), {"service": "DD"})[0] == 201  # figures in the log
    db.queue_news = QueueNews(db, clock=clock, context=app.app_context)
    assert api.post("tickets", tokens("kiosk"), {"service": "TP"})[0] == 201  # noted, no pass:
    db.queue_news = None  # the process ends before its pass
    fresh = QueueNews(db, clock=clock, context=app.app_context)
    assert fresh.mark_stale() == 1
    assert fresh.marked == area_ids(db, "TP")  # DD's last figures still hold
    assert fresh.run_once() == 1
    again = QueueNews(db, clock=clock, context=app.app_context)
    assert again.mark_stale() == 0 and again.marked == set()


def test_a_pass_that_fails_keeps_its_areas_for_the_next(
    news: QueueNews, db: Database, api: Any, tokens: Any, settings: Any
) -> None:
    assert api.post("tickets", tokens("kiosk"), {"service": "TP"})[0] == 201
    start = last_seq(db)
    foreign = sqlite3.connect(settings.instance_path / "layso.sqlite3", isolation_level=None)
    foreign.execute("BEGIN IMMEDIATE")  # another process holds SQLite's write lock
    db.lock_wait = 0.2
    try:
        assert news.run_once() == 0
        assert news.failed == 1 and news.marked == area_ids(db, "TP")
    finally:
        foreign.execute("ROLLBACK")
        foreign.close()
    assert news.run_once() == 1
    assert [(n, b["waiting"]) for n, b in events_after(db, start)] == [("queue.changed", 1)]


def test_a_pass_records_only_areas_that_are_still_the_halls(
    news: QueueNews, db: Database, other_hall: Any
) -> None:
    """An area marked under a hall is recorded there only if it is still one of that hall's:
    an area deleted since, or another hall's id under this hall's name, records nothing."""
    with db.read() as s:
        ids = dict(
            s.execute(
                sa.select(Service.code, Service.id).join(Hall).where(Hall.slug == "other")
            ).all()
        )
        [demo_tp] = area_ids(db, "TP") - {("demo", i) for i in ids.values()}
    start = last_seq(db)
    news.marked = {demo_tp, ("demo", ids["CT"]), ("demo", 10**6)}

    assert news.run_once() == 1
    assert [(n, b["service"], b["hall"]) for n, b in events_after(db, start)] == [
        ("queue.changed", "TP", "demo")
    ]
    assert news.marked == set() and news.failed == 0
