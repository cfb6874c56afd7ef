"""common.as_loaded makes a Core row into the object an ORM load of it gives: persistent, clean,
in the session's identity map, its relationships loaded on use, its changes flushed, on SQLite
and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.db import Database
from layso.models import Base, Counter, Service, Ticket
from layso.services.common import as_loaded, by_id, get_hall, on_connection, set_loaded
from layso.services.tickets import issue_ticket

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

_T = Ticket.__table__
_BY_ID = sa.select(_T).where(_T.c.id == sa.bindparam("id", type_=sa.Integer))


def _issue(db: Database, clock: Any) -> int:
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        return issue_ticket(s, hall, service_code="TP", priority=None, now=clock()).ticket.id


def _row(s: Session, ticket_id: int) -> dict[str, Any]:
    return dict(on_connection(s, _BY_ID, {"id": ticket_id}).mappings().first() or {})


def test_the_object_is_the_one_an_orm_load_gives(db: Database, clock: Any) -> None:
    ticket_id = _issue(db, clock)
    with db.read() as s:
        made = as_loaded(s, Ticket, _row(s, ticket_id))
        state = sa.inspect(made)
        assert state.persistent and not state.modified and made in s
        assert s.get(Ticket, ticket_id) is made  # the identity map answers with it
        assert not s.dirty and not s.new
        with db.read() as other:
            loaded = other.get(Ticket, ticket_id)
            columns = [c.key for c in _T.columns]
            assert [getattr(made, k) for k in columns] == [getattr(loaded, k) for k in columns]
        # a relationship left out of the row is loaded on use, as after a load
        assert isinstance(made.service, Service) and made.service.code == "TP"
        assert made.counter is None


def test_a_change_to_it_is_flushed_and_committed(db: Database, clock: Any) -> None:
    ticket_id = _issue(db, clock)
    with db.write() as s:
        get_hall(s, "demo", lock=True)
        made = as_loaded(s, Ticket, _row(s, ticket_id))
        made.dossier_code = "HS-001"
        assert made in s.dirty
    with db.read() as s:
        assert s.get(Ticket, ticket_id).dossier_code == "HS-001"  # type: ignore[union-attr]


def test_a_row_already_in_the_session_is_refused(db: Database, clock: Any) -> None:
    """Two objects for one row would each hold their own values: refused, as Session.add
    refuses to attach a second one."""
    ticket_id = _issue(db, clock)
    with db.read() as s:
        first = as_loaded(s, Ticket, _row(s, ticket_id))
        with pytest.raises(sa.exc.InvalidRequestError):
            as_loaded(s, Ticket, _row(s, ticket_id))
        assert s.get(Ticket, ticket_id) is first


def test_objects_already_in_the_session_win(db: Database, clock: Any) -> None:
    """by_id gives the object already in the session, not a second one made from the row."""
    with db.read() as s:
        hall = get_hall(s, "demo")
        counter = s.scalars(sa.select(Counter).where(Counter.hall_id == hall.id)).first()
        assert counter is not None
        assert by_id(s, Counter, counter.id) is counter


def test_no_load_event_is_listened_for(db: Database) -> None:
    """as_loaded fires neither the ORM's load event nor the session's loaded-as-persistent
    one: none may be listened for."""
    for mapper in Base.registry.mappers:
        assert not mapper.class_manager.dispatch.load, mapper
    with db.write() as s:
        assert not s.dispatch.loaded_as_persistent


def test_set_loaded_keeps_values_as_loaded_and_other_changes_pending(
    db: Database, clock: Any
) -> None:
    """set_loaded on a clean object: the values read back and nothing is to flush; on an object
    with a change pending, that change stays pending (and is written), the others are loaded;
    on one with an attribute expired, that attribute holds the value given."""
    ticket_id = _issue(db, clock)
    with db.write() as s:
        get_hall(s, "demo", lock=True)
        t = as_loaded(s, Ticket, _row(s, ticket_id))
        set_loaded(t, {"print_state": "printed", "call_count": 3})
        assert (t.print_state, t.call_count) == ("printed", 3)
        assert t not in s.dirty and not sa.inspect(t).modified
        t.dossier_code = "HS-002"  # pending
        set_loaded(t, {"print_state": "failed"})
        assert t in s.dirty and t.print_state == "failed"
        assert sa.inspect(t).attrs.dossier_code.history.added == ["HS-002"]
        assert not sa.inspect(t).attrs.print_state.history.has_changes()
    with db.read() as s:
        stored = s.get(Ticket, ticket_id)
        assert stored is not None
        # the pending change was written; the loaded values were never to be written by a flush
        assert (stored.dossier_code, stored.print_state, stored.call_count) == ("HS-002", "none", 0)
        s.expire(stored, ["call_count"])
        set_loaded(stored, {"call_count": 7})
        assert stored.call_count == 7 and "call_count" not in sa.inspect(stored).expired_attributes
