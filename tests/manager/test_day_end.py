"""End of the day: waiting and held tickets expire at closing time (hết giờ), with the clock
fixture; a manager keeps today's queue open; past days catch up; not counted as no-shows."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from layso.cli import run_day_end
from layso.models import AuditEntry, Event, Hall, Ticket, TicketStatus

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]
HOURS = {"days": [0, 1, 2, 3, 4, 5], "ranges": [["07:30", "11:30"], ["13:30", "17:00"]]}


def patch_hall(api: Any, tokens: Any, body: dict[str, Any]) -> None:
    resp = api.client.patch(
        "/api/v1/halls/demo/config/hall",
        json=body,
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    assert resp.status_code == 200, resp.get_json()


def statuses(db: Any) -> dict[int, str]:
    with db.read() as s:
        return {t.id: t.status.value for t in s.scalars(sa.select(Ticket))}


def names_after(db: Any, seq: int) -> list[tuple[str, int | None]]:
    with db.read() as s:
        return [
            (name, ticket_id)
            for name, ticket_id in s.execute(
                sa.select(Event.name, Event.ticket_id).where(Event.seq > seq).order_by(Event.seq)
            )
        ]


def last_seq(db: Any) -> int:
    with db.read() as s:
        return int(s.scalar(sa.select(Hall.event_seq).where(Hall.slug == "demo")) or 0)


@pytest.fixture
def afternoon(day: Any, api: Any, tokens: Any) -> dict[str, int]:
    """Saturday 21 Nov 2026, hours 07:30–11:30 and 13:30–17:00: one waiting, one held, one
    being served, one finished, one no-show."""
    patch_hall(api, tokens, {"hours": HOURS})
    ids = {}
    day.at("16:00:00")
    for name in ("served", "no_show", "held", "serving", "waiting"):
        ids[name] = day.issue("TP")["id"]
    day.at("16:10:00")
    assert day.counter(2, "next")["id"] == ids["served"]
    day.counter(2, "start")
    day.counter(2, "finish")
    assert day.counter(2, "next")["id"] == ids["no_show"]
    day.counter(2, "no-show")
    assert day.counter(2, "next")["id"] == ids["held"]
    day.counter(2, "hold")
    assert day.counter(2, "next")["id"] == ids["serving"]
    day.counter(2, "start")
    return ids


def test_closing_time_expires_waiting_and_held_tickets_once(
    afternoon: dict[str, int], day: Any, db: Any, clock: Any, api: Any, tokens: Any
) -> None:
    day.at("16:59:59")
    assert run_day_end(db, clock()) == 0
    seq = last_seq(db)
    day.at("17:00:00")
    assert run_day_end(db, clock()) == 2
    st = statuses(db)
    assert st[afternoon["waiting"]] == "expired" and st[afternoon["held"]] == "expired"
    assert st[afternoon["serving"]] == "serving"  # the clerk's: left alone
    assert st[afternoon["served"]] == "done" and st[afternoon["no_show"]] == "no_show"
    assert names_after(db, seq) == [
        ("ticket.expired", afternoon["held"]),
        ("ticket.expired", afternoon["waiting"]),
        ("queue.changed", None),
    ]
    # idempotent: a second pass, later, changes nothing
    seq = last_seq(db)
    day.at("17:30:00")
    assert run_day_end(db, clock()) == 0
    assert names_after(db, seq) == []

    # still in the log and in the reports, as their own figure
    status, body = api.get("reports/summary?by=service", tokens("manager"))
    assert status == 200
    total = body["total"]
    assert (total["issued"], total["expired"], total["no_show"], total["served"]) == (5, 2, 1, 1)
    assert total["open"] == 1  # the one being served
    assert total["no_show_rate"] == round(1 / 4, 4)  # the expired never count as called
    status, log = api.get("reports/tickets?status=expired", tokens("manager"))
    assert [r["id"] for r in log["rows"]] == [afternoon["held"], afternoon["waiting"]]
    assert all(r["expired_at"].endswith("T17:00:00+07:00") for r in log["rows"])
    # the queue the screens see is empty, and an expired ticket cannot be called back
    status, state = api.get("state", tokens("display"))
    assert next(s for s in state["services"] if s["code"] == "TP")["waiting"] == 0
    status, out = api.post("counters/1/call", tokens("clerk1"), {"number": 1005, "service": "TP"})
    assert status == 409, out


def test_a_manager_keeps_the_queue_open_today_and_midnight_still_closes_it(
    afternoon: dict[str, int], day: Any, db: Any, clock: Any, api: Any, tokens: Any
) -> None:
    status, body = api.post("day/keep-open", tokens("manager"), {"keep_open": "yes"})
    assert status == 400
    status, body = api.post("day/keep-open", tokens("clerk1"), {"keep_open": True})
    assert status == 403
    status, body = api.get("day", tokens("manager"))
    assert body == {
        "business_date": "2026-11-21",
        "closing_time": "2026-11-21T17:00:00+07:00",
        "keep_open": False,
    }
    seq = last_seq(db)
    status, body = api.post("day/keep-open", tokens("manager"), {"keep_open": True})
    assert status == 200 and body["keep_open"] is True
    assert names_after(db, seq) == [("day.changed", None)]
    with db.read() as s:
        entry = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None
        assert (entry.action, entry.detail) == ("day.keep_open", {"date": "2026-11-21"})
    day.at("17:45:00")
    assert run_day_end(db, clock()) == 0
    assert statuses(db)[afternoon["waiting"]] == "waiting"
    day.at("18:00:00")
    assert day.counter(1, "next")["id"] == afternoon["waiting"]  # still served after hours
    # the opt-out was for that day: past midnight its open tickets expire (held, here)
    clock.set_local("2026-11-22T00:00:05")
    assert run_day_end(db, clock()) == 1
    assert statuses(db)[afternoon["held"]] == "expired"


def test_taking_the_opt_out_back_closes_on_time(
    afternoon: dict[str, int], day: Any, db: Any, clock: Any, api: Any, tokens: Any
) -> None:
    api.post("day/keep-open", tokens("manager"), {"keep_open": True})
    status, body = api.post("day/keep-open", tokens("manager"), {"keep_open": False})
    assert status == 200 and body["keep_open"] is False
    day.at("17:00:01")
    assert run_day_end(db, clock()) == 2


def test_past_days_catch_up_after_a_restart_without_hours(
    day: Any, db: Any, clock: Any, api: Any, tokens: Any
) -> None:
    """No opening hours: the day ends at midnight; a server off for two days catches up."""
    day.at("22:00:00")
    waiting = day.issue("CT")["id"]
    clock.set_local("2026-11-21T23:59:59")
    assert run_day_end(db, clock()) == 0
    clock.set_local("2026-11-23T08:00:00")  # Monday: the server was off since Saturday night
    today = day.issue("CT")["id"]
    assert run_day_end(db, clock()) == 1
    st = statuses(db)
    assert st[waiting] == "expired" and st[today] == "waiting"
    with db.read() as s:
        t = s.get(Ticket, waiting)
        assert t is not None and t.status == TicketStatus.EXPIRED
    status, body = api.get("reports/summary?from=2026-11-21", tokens("manager"))
    assert body["total"]["expired"] == 1 and body["total"]["no_show"] == 0


def test_a_pass_with_nothing_due_takes_no_hall_lock(
    afternoon: dict[str, int], day: Any, db: Any, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's pass every half minute reads first: a write transaction (the hall's lock,
    which issuing waits for) only for a hall with tickets to expire."""
    writes: list[int] = []
    real_write = db.write

    def counted() -> Any:
        writes.append(1)
        return real_write()

    monkeypatch.setattr(db, "write", counted)
    day.at("16:59:59")
    assert run_day_end(db, clock()) == 0
    assert writes == []  # open tickets, but their day has not ended
    day.at("17:00:00")
    assert run_day_end(db, clock()) == 2
    assert writes == [1]  # the demo hall, once
    day.at("17:30:00")
    assert run_day_end(db, clock()) == 0
    assert writes == [1]  # nothing left: no lock
