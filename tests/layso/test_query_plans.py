"""The statements every issue, call and finish runs read one index range, not a whole day or a
whole table: SQLite's own query plan of each, on the migrated schema.

A province's halls share one database: a read through the business-date index touches every
ticket of the day in every hall, and a scan of counter_service every hall's counters."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from layso.db import Database
from layso.services.common import (
    _QUEUE_FIGURES,
    get_hall,
    get_service,
    mean_service_s,
    open_counters_for,
)
from layso.services.next_ticket import _CANDIDATES

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize("backend", ["sqlite"], indirect=True),
]


def plan_of(db: Database, stmt: Any, params: dict[str, Any]) -> list[str]:
    compiled = stmt.compile(dialect=sqlite.dialect())
    values = compiled.construct_params(params)
    args = [values[name] for name in compiled.positiontup]
    args = [v.isoformat() if isinstance(v, date) else v for v in args]
    with db.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled.string}", tuple(args)).all()
    return [str(r[3]) for r in rows]


def assert_bounded(plan: list[str]) -> None:
    text = "\n".join(plan)
    assert "ix_ticket_business_date" not in text, text  # the whole day, every hall
    assert "TEMP B-TREE" not in text, text  # sorted after reading
    for step in plan:  # a SCAN of a real table (not of a subquery's row or a constant)
        assert not (step.startswith("SCAN ") and "anon" not in step and "CONSTANT" not in step), (
            text
        )


def test_the_queue_figures_read_index_ranges(db: Database) -> None:
    plan = plan_of(db, _QUEUE_FIGURES, {"hall_id": 1, "service_id": 1, "day": date(2026, 12, 1)})
    assert_bounded(plan)
    text = "\n".join(plan)
    assert "COVERING INDEX ix_ticket_recent" in text  # the day's last finished tickets
    assert "COVERING INDEX ix_ticket_queue " in text  # the priority count without the rows


def test_the_wait_model_reads_index_ranges(db: Database, clock: Any) -> None:
    """mean_service_s and open_counters_for, as a read outside a write runs them."""
    seen: list[tuple[str, Any]] = []

    def grab(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    with db.read() as s:
        hall = get_hall(s, "demo")
        service = get_service(s, hall, "TP")
        sa.event.listen(db.engine, "before_cursor_execute", grab)
        try:
            mean_service_s(s, hall, service, clock())
            open_counters_for(s, service)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", grab)
    assert len(seen) == 2
    with db.engine.connect() as conn:
        for statement, parameters in seen:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            assert_bounded([str(r[3]) for r in rows])


def test_a_calls_candidates_read_one_index_range_per_area(db: Database, clock: Any) -> None:
    """The first ticket of each of the counter's areas and kinds, and the first sent to it:
    none of them reads the whole waiting queue and sorts it."""
    plan = plan_of(db, _CANDIDATES, {"hall_id": 1, "counter_id": 1, "now": clock()})
    # the only sort is the last step: the few candidates found, put in queue order
    assert plan[-1] == "USE TEMP B-TREE FOR ORDER BY"
    assert_bounded(plan[:-1])
    text = "\n".join(plan)
    assert "ix_ticket_sent (target_counter_id=? AND status=?)" in text
    # one correlated look per area and kind, the first entry of one range of ix_ticket_lane
    # (area, priority or not, booked or not, then queue order), not a walk through the queue
    assert text.count("CORRELATED SCALAR SUBQUERY") == 4
    lane = "ix_ticket_lane (hall_id=? AND status=? AND service_id=? AND <expr>=? AND <expr>=?"
    assert text.count(lane) == 4
