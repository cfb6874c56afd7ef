"""layso.rawsql runs the hot paths' Core statements on the DBAPI cursor: the same rows, the
same values (types, time zones, enums, JSON) and the same errors as SQLAlchemy's execution,
inside the session's transaction, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from layso import rawsql
from layso.db import Database
from layso.models import Event, Hall, Ticket, TicketStatus
from layso.services.common import get_hall
from layso.services.tickets import issue_ticket

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

_T = Ticket.__table__
_TICKETS_OF = sa.select(_T).where(_T.c.hall_id == sa.bindparam("hall")).order_by(_T.c.id)
_EVENTS_OF = (
    sa.select(Event.__table__.c.seq, Event.__table__.c.at, Event.__table__.c.payload)
    .where(Event.__table__.c.hall_id == sa.bindparam("hall"))
    .order_by(Event.__table__.c.seq)
)
_CALL = (
    sa.update(_T)
    .where(_T.c.id == sa.bindparam("ticket"), _T.c.status == TicketStatus.WAITING)
    .values(
        status=TicketStatus.CALLED,
        called_at=sa.bindparam("now", type_=_T.c.called_at.type),
        call_count=_T.c.call_count + 1,
    )
    .returning(_T.c.id, _T.c.status, _T.c.called_at, _T.c.call_count)
)
_COUNT_WAITING = sa.select(sa.func.count()).where(
    _T.c.hall_id == sa.bindparam("hall"), _T.c.status == TicketStatus.WAITING
)
_IN = sa.select(_T.c.id).where(_T.c.id.in_(sa.bindparam("ids", expanding=True))).order_by(_T.c.id)


def issue_two(db: Database, clock: Any) -> int:
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        for code in ("TP", "CT"):
            issue_ticket(s, hall, service_code=code, priority=None, now=clock())
        return hall.id


def test_rows_and_values_are_sqlalchemys(db: Database, clock: Any) -> None:
    hall_id = issue_two(db, clock)
    with db.read() as s:
        raw = rawsql.execute(s, _TICKETS_OF, {"hall": hall_id}).mappings().all()
        found = s.connection().execute(_TICKETS_OF, {"hall": hall_id})
        alchemy = [dict(r) for r in found.mappings()]
        raw_events = rawsql.execute(s, _EVENTS_OF, {"hall": hall_id}).all()
        alchemy_events = s.connection().execute(_EVENTS_OF, {"hall": hall_id}).all()
    assert len(raw) == 2 and raw == alchemy
    assert raw[0]["status"] is TicketStatus.WAITING  # the enum, not its text
    assert raw[0]["issued_at"].tzinfo is not None  # aware, in UTC (models.UTCDateTime)
    assert [tuple(e) for e in raw_events] == [tuple(e) for e in alchemy_events]
    assert isinstance(raw_events[-1].payload, dict)  # JSON read back as a dict
    assert raw_events[-1].at == alchemy_events[-1].at


def test_an_update_returning_in_the_sessions_transaction(db: Database, clock: Any) -> None:
    hall_id = issue_two(db, clock)
    with db.read() as s:
        first = s.scalars(sa.select(Ticket.id).order_by(Ticket.id)).first()
    when = datetime(2026, 11, 21, 2, 30, tzinfo=UTC)
    with db.write() as s:
        get_hall(s, "demo", lock=True)
        called = rawsql.execute(s, _CALL, {"ticket": first, "now": when}).one_or_none()
        assert called.status is TicketStatus.CALLED and called.call_count == 1
        assert called.called_at == when
        # the same transaction sees it; a second try finds the ticket no longer waiting
        assert rawsql.execute(s, _CALL, {"ticket": first, "now": when}).one_or_none() is None
        assert rawsql.execute(s, _COUNT_WAITING, {"hall": hall_id}).scalar() == 1
    with db.read() as s:
        ticket = s.get(Ticket, first)
        assert ticket.status is TicketStatus.CALLED and ticket.called_at == when


def test_a_rollback_takes_its_writes_back(db: Database, clock: Any) -> None:
    hall_id = issue_two(db, clock)
    with db.read() as s:
        first = s.scalars(sa.select(Ticket.id).order_by(Ticket.id)).first()
    with pytest.raises(RuntimeError), db.write() as s:
        get_hall(s, "demo", lock=True)
        rawsql.execute(s, _CALL, {"ticket": first, "now": clock()})
        raise RuntimeError("the request failed after its update")
    with db.read() as s:
        assert rawsql.execute(s, _COUNT_WAITING, {"hall": hall_id}).scalar() == 2


def test_a_constraint_breach_is_sqlalchemys_integrity_error(db: Database, clock: Any) -> None:
    issue_two(db, clock)
    with db.read() as s:
        existing = s.execute(sa.select(_T).order_by(_T.c.id)).mappings().first()
    clash = sa.insert(_T).values({k: sa.bindparam(k, type_=_T.c[k].type) for k in existing})
    with pytest.raises(sa.exc.IntegrityError), db.write() as s:
        rawsql.execute(s, clash, dict(existing))  # the same id again


def test_what_it_does_not_take_runs_through_sqlalchemy(db: Database, clock: Any) -> None:
    issue_two(db, clock)
    with db.read() as s:
        ids = s.scalars(sa.select(Ticket.id).order_by(Ticket.id)).all()
        assert rawsql.execute(s, _IN, {"ids": ids}).scalars().all() == ids  # expanding IN
        # a parameter the caller did not give: SQLAlchemy's own error, not a wrong answer
        with pytest.raises(sa.exc.StatementError):
            rawsql.execute(s, _TICKETS_OF, {})


def test_listeners_hear_every_statement(db: Database, clock: Any) -> None:
    hall_id = issue_two(db, clock)
    heard: list[tuple[str, Any]] = []

    def listen(_conn: Any, _cur: Any, sql: str, params: Any, *_: Any) -> None:
        heard.append((sql, params))

    for engine in db.engines:
        sa.event.listen(engine, "before_cursor_execute", listen)
    try:
        with db.read() as s:
            rawsql.execute(s, _COUNT_WAITING, {"hall": hall_id})
    finally:
        for engine in db.engines:
            sa.event.remove(engine, "before_cursor_execute", listen)
    [(sql, params)] = [(q, p) for q, p in heard if "count" in q.lower()]
    assert "ticket" in sql.lower() and hall_id in (
        params.values() if isinstance(params, dict) else params
    )


def test_many_rows_in_one_call(db: Database, clock: Any) -> None:
    hall_id = issue_two(db, clock)
    table = Hall.__table__
    bump = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("hall"))
        .values(event_seq=table.c.event_seq + sa.bindparam("by", type_=sa.Integer))
    )
    with db.read() as s:
        before = s.get(Hall, hall_id).event_seq
    with db.write() as s:
        rawsql.execute_many(s, bump, [{"hall": hall_id, "by": 1}, {"hall": hall_id, "by": 2}])
    with db.read() as s:
        assert s.get(Hall, hall_id).event_seq == before + 3


def test_statements_built_per_call_are_not_kept(
    db: Database, clock: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hall_id = issue_two(db, clock)
    monkeypatch.setattr(rawsql, "_PLANS", {})
    monkeypatch.setattr(rawsql, "MAX_PLANS", 3)
    with db.read() as s:
        for i in range(10):  # a new statement object each time
            since = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=i)
            stmt = sa.select(sa.func.count()).where(
                _T.c.hall_id == sa.bindparam("hall"), _T.c.issued_at >= since
            )
            assert rawsql.execute(s, stmt, {"hall": hall_id}).scalar() == 2
    assert len(rawsql._PLANS) == 3
