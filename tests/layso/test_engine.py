"""The queue engine's rules, over a bare Session and a controlled clock."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from layso import errors
from layso import serializers as ser
from layso.db import Database
from layso.models import Event, Hall, PriorityPolicy, Service, Ticket, TicketStatus, User
from layso.services import counters as ops
from layso.services.common import get_hall
from layso.services.tickets import issue_ticket

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]


class Hall_:
    """Drive the engine as the edges do: one write transaction per action."""

    def __init__(self, db: Database, clock: Any, slug: str = "demo") -> None:
        self.db, self.clock, self.slug = db, clock, slug

    def issue(self, code: str = "TP", priority: str | None = None) -> Ticket:
        with self.db.write() as s:
            hall = get_hall(s, self.slug, lock=True)
            return issue_ticket(
                s, hall, service_code=code, priority=priority, now=self.clock()
            ).ticket

    def act(self, action: Any, counter: int, clerk: str | None = None, **kw: Any) -> Any:
        with self.db.write() as s:
            hall = get_hall(s, self.slug, lock=True)
            user = s.scalars(sa.select(User).where(User.username == (clerk or f"clerk{counter}")))
            return action(s, hall, counter, user=user.one(), now=self.clock(), **kw)

    def next(self, counter: int) -> Ticket | None:
        return self.act(ops.call_next, counter)

    def serve(self, counter: int) -> Ticket | None:
        """Call next, start and finish: one full visit."""
        t = self.next(counter)
        if t is not None:
            self.act(ops.start, counter)
            self.act(ops.finish, counter)
        return t

    def set(self, **fields: Any) -> None:
        with self.db.write() as s:
            hall = get_hall(s, self.slug)
            for k, v in fields.items():
                setattr(hall, k, v)

    def service(self, code: str, **fields: Any) -> None:
        with self.db.write() as s:
            svc = s.scalars(sa.select(Service).where(Service.code == code)).first()
            assert svc is not None
            for k, v in fields.items():
                setattr(svc, k, v)

    def events(self) -> list[Event]:
        with self.db.read() as s:
            return list(s.scalars(sa.select(Event).order_by(Event.seq)))


@pytest.fixture
def hall(db: Database, clock: Any) -> Hall_:
    return Hall_(db, clock)


def test_numbers_are_consecutive_per_area_and_independent_between_areas(hall: Hall_) -> None:
    tp = [hall.issue("TP").display_number for _ in range(3)]
    ct = [hall.issue("CT").display_number for _ in range(2)]
    xd = [hall.issue("XD").display_number for _ in range(2)]

    assert tp == ["1001", "1002", "1003"]
    assert ct == ["2001", "2002"]
    assert xd == ["X001", "X002"]


def test_step_skips_numbers_as_configured(hall: Hall_) -> None:
    hall.service("KD", step=5)

    assert [hall.issue("KD").number for _ in range(3)] == [5001, 5006, 5011]


def test_local_midnight_starts_a_new_day_and_utc_midnight_does_not(hall: Hall_, clock: Any) -> None:
    clock.set_local("2026-11-21T23:59:59")
    before = hall.issue("TP")
    clock.set_local("2026-11-22T00:00:00")
    after = hall.issue("TP")
    clock.set_local("2026-11-22T06:59:59")  # 23:59:59 UTC
    before_utc_midnight = hall.issue("TP")
    clock.set_local("2026-11-22T07:00:00")  # 00:00:00 UTC
    after_utc_midnight = hall.issue("TP")

    assert (before.number, str(before.business_date)) == (1001, "2026-11-21")
    assert (after.number, str(after.business_date)) == (1001, "2026-11-22")
    assert before_utc_midnight.number == 1002
    assert (after_utc_midnight.number, str(after_utc_midnight.business_date)) == (
        1003,
        "2026-11-22",
    )


def test_daily_cap_says_numbers_are_used_up_and_changes_nothing(hall: Hall_) -> None:
    hall.service("TP", daily_cap=2)
    hall.issue("TP")
    hall.issue("TP")
    seq_before = hall.events()[-1].seq

    with pytest.raises(errors.NumbersExhausted):
        hall.issue("TP")
    with pytest.raises(errors.NumbersExhausted):
        hall.issue("TP")

    assert hall.events()[-1].seq == seq_before
    hall.service("TP", daily_cap=3)
    assert hall.issue("TP").number == 1003  # the refused tries left no gap


def test_last_number_of_the_range_is_the_end(hall: Hall_) -> None:
    hall.service("XD", last_number=2)
    assert [hall.issue("XD").display_number for _ in range(2)] == ["X1", "X2"]

    with pytest.raises(errors.NumbersExhausted):
        hall.issue("XD")


def test_closed_or_inactive_area_is_refused(hall: Hall_, clock: Any) -> None:
    hall.service("DD", hours={"days": [0, 1, 2, 3, 4], "ranges": [["07:30", "11:30"]]})
    clock.set_local("2026-11-23T08:00:00")  # a Monday morning
    assert hall.issue("DD").number == 3001
    clock.set_local("2026-11-23T12:00:00")  # lunch
    with pytest.raises(errors.ServiceClosed):
        hall.issue("DD")
    clock.set_local("2026-11-22T08:00:00")  # Sunday
    with pytest.raises(errors.ServiceClosed):
        hall.issue("DD")
    hall.service("CT", active=False)
    with pytest.raises(errors.ServiceClosed):
        hall.issue("CT")


def test_unknown_area_and_priority_are_refused(hall: Hall_) -> None:
    with pytest.raises(errors.UnknownService):
        hall.issue("ZZ")
    with pytest.raises(errors.UnknownPriority):
        hall.issue("TP", priority="VIP")


def test_strict_policy_serves_priority_first_then_oldest_first(hall: Hall_, clock: Any) -> None:
    a = hall.issue("TP")
    clock.advance(10)
    b = hall.issue("TP")
    clock.advance(10)
    p = hall.issue("TP", priority="NCT")
    clock.advance(10)
    q = hall.issue("TP", priority="NKT")

    order = [hall.serve(2) for _ in range(5)]

    assert [t.id if t else None for t in order] == [p.id, q.id, a.id, b.id, None]


def test_interleaved_policy_takes_one_priority_after_every_n_others(
    hall: Hall_, clock: Any
) -> None:
    hall.set(priority_policy=PriorityPolicy.INTERLEAVED, priority_interleave=2)
    normal = []
    for _ in range(4):
        normal.append(hall.issue("TP").display_number)
        clock.advance(5)
    prio = [hall.issue("TP", priority="NCT").display_number for _ in range(2)]

    order = [t.display_number for t in (hall.serve(2) for _ in range(6)) if t]

    assert order == [normal[0], normal[1], prio[0], normal[2], normal[3], prio[1]]


def test_weighted_policy_weighs_priority_waits(hall: Hall_, clock: Any) -> None:
    hall.set(priority_policy=PriorityPolicy.WEIGHTED, priority_weight=2.0)
    n = hall.issue("TP")
    clock.advance(100)
    p = hall.issue("TP", priority="NCT")
    clock.advance(50)  # normal waited 150, priority 50 × 2 = 100

    assert hall.serve(2).id == n.id  # type: ignore[union-attr]

    n2 = hall.issue("TP")
    clock.advance(200)  # priority 250 × 2 = 500 beats normal 200
    assert hall.serve(2).id == p.id  # type: ignore[union-attr]
    assert hall.serve(2).id == n2.id  # type: ignore[union-attr]


def test_counter_serves_its_areas_oldest_first_across_them(hall: Hall_, clock: Any) -> None:
    ct = hall.issue("CT")
    clock.advance(1)
    tp = hall.issue("TP")
    clock.advance(1)
    hall.issue("DD")  # counter 1 does not serve land

    assert [hall.serve(1).id, hall.serve(1).id, hall.serve(1)] == [ct.id, tp.id, None]  # type: ignore[union-attr]


def test_two_counters_never_get_the_same_ticket(hall: Hall_) -> None:
    first, second = hall.issue("TP"), hall.issue("TP")

    got = {hall.next(1).id, hall.next(2).id}  # type: ignore[union-attr]

    assert got == {first.id, second.id}
    assert hall.act(ops.call_next, 5) is None  # counter 5 serves CT only


def test_next_while_the_called_ticket_is_unresolved_is_refused(hall: Hall_) -> None:
    hall.issue("TP")
    hall.issue("TP")
    hall.next(1)

    with pytest.raises(errors.CounterBusy):
        hall.next(1)


def test_next_finishes_the_ticket_being_served(hall: Hall_) -> None:
    a, b = hall.issue("TP"), hall.issue("TP")
    hall.next(1)
    hall.act(ops.start, 1)

    assert hall.next(1).id == b.id  # type: ignore[union-attr]
    with hall.db.read() as s:
        assert s.get(Ticket, a.id).status == TicketStatus.DONE  # type: ignore[union-attr]


def test_next_at_a_serving_counter_announces_the_counter_once(hall: Hall_) -> None:
    a, b = hall.issue("TP"), hall.issue("TP")
    hall.next(1)
    hall.act(ops.start, 1)
    before = hall.events()[-1].seq

    hall.next(1)  # finishes a, calls b: the counter goes straight from a to b
    after = [e for e in hall.events() if e.seq > before]
    names = [(e.name, (e.payload.get("ticket") or {}).get("id")) for e in after]
    changes = [e.payload for e in after if e.name == "counter.changed"]
    assert ("ticket.finished", a.id) in names and ("ticket.called", b.id) in names
    assert len(changes) == 1 and changes[0]["ticket"]["id"] == b.id

    hall.act(ops.start, 1)
    last = hall.events()[-1].seq
    assert hall.next(1) is None  # b finished, nobody waits: the counter is announced free
    changes = [e.payload for e in hall.events() if e.seq > last and e.name == "counter.changed"]
    assert len(changes) == 1 and changes[0]["ticket"] is None


def test_a_counters_change_shows_its_ticket_as_stored_after_a_call_and_a_start(
    hall: Hall_,
) -> None:
    """counter.changed reuses the call's (the start's) drawing of the ticket: it must be the
    ticket as the database holds it once the transaction is over."""
    a, b = hall.issue("TP"), hall.issue("TP")
    steps = (
        (lambda: hall.next(1), a.id, "called"),
        (lambda: hall.act(ops.start, 1), a.id, "serving"),
        (lambda: hall.next(1), b.id, "called"),  # a finished, b called
    )
    for step, ticket_id, status in steps:
        before = hall.events()[-1].seq
        step()
        [change] = [
            e.payload for e in hall.events() if e.seq > before and e.name == "counter.changed"
        ]
        with hall.db.read() as s:
            demo = get_hall(s, "demo")
            stored = ser.ticket(demo, s.get(Ticket, change["ticket"]["id"]))
        assert change["ticket"] == stored
        assert (change["ticket"]["id"], change["ticket"]["status"]) == (ticket_id, status)


def _drawn_through_the_attributes(demo: Any, t: Ticket) -> dict[str, Any]:
    """ser.ticket's shape, every value read through the ORM's attributes (as it was built
    before it read the loaded values directly)."""
    at = ser.iso
    return {
        "id": t.id, "number": t.number, "display_number": t.display_number,
        "service": t.service.code, "service_name": t.service.name,
        "service_name_en": t.service.name_en, "service_kind": t.service.kind.value,
        "issued_service": t.issued_service.code, "priority": t.priority,
        "status": t.status.value, "business_date": t.business_date.isoformat(),
        "issued_at": at(demo, t.issued_at), "called_at": at(demo, t.called_at),
        "first_called_at": at(demo, t.first_called_at), "started_at": at(demo, t.started_at),
        "finished_at": at(demo, t.finished_at), "call_count": t.call_count,
        "counter": t.counter.number if t.counter else None,
        "target_counter": t.target_counter.number if t.target_counter else None,
        "print_state": t.print_state, "booked_for": at(demo, t.booked_for),
        "dossier_code": t.dossier_code,
    }  # fmt: skip


def test_a_ticket_is_drawn_alike_from_its_loaded_values_and_through_its_attributes(
    hall: Hall_, clock: Any
) -> None:
    """ser.ticket reads a loaded ticket's values directly; the answer must be the one its
    attributes give, for a ticket called, moved to another area (its issuing area differs) and
    sent to a counter, and for one with a value expired in the session (read through the
    attribute, which loads it again)."""
    served, moved = hall.issue("TP", priority="NCT"), hall.issue("TP")
    assert hall.next(2).id == served.id  # type: ignore[union-attr]  # counter 2 serves TP only
    hall.act(ops.transfer, 2, to_service="CT")  # served: now in CT, issued in TP
    assert hall.next(2).id == moved.id  # type: ignore[union-attr]
    hall.act(ops.transfer, 2, to_counter=4)  # moved: sent to counter 4
    with hall.db.read() as s:
        demo = get_hall(s, "demo")
        for ticket_id in (served.id, moved.id):
            t = s.get(Ticket, ticket_id)
            assert t is not None
            assert ser.ticket(demo, t) == _drawn_through_the_attributes(demo, t)
            s.expire(t, ["called_at", "status"])
            assert "called_at" not in t.__dict__
            assert ser.ticket(demo, t) == _drawn_through_the_attributes(demo, t)
        drawn = {i: ser.ticket(demo, s.get(Ticket, i)) for i in (served.id, moved.id)}
    assert (drawn[served.id]["service"], drawn[served.id]["issued_service"]) == ("CT", "TP")
    assert drawn[served.id]["priority"] == "NCT" and drawn[served.id]["called_at"]
    assert drawn[moved.id]["target_counter"] == 4 and drawn[moved.id]["status"] == "waiting"


def test_recall_counts_calls_and_the_last_call_counts(hall: Hall_, clock: Any) -> None:
    hall.issue("TP")
    first = hall.next(1).called_at  # type: ignore[union-attr]
    clock.advance(60)
    again = hall.act(ops.recall, 1)
    clock.advance(30)
    started = hall.act(ops.start, 1)

    assert again.call_count == 2
    assert again.called_at > first  # type: ignore[operator]
    assert (started.started_at - started.called_at).total_seconds() == 30  # type: ignore[operator]
    assert (started.called_at - started.first_called_at).total_seconds() == 60  # type: ignore[operator]


def test_no_show_frees_the_counter_and_a_late_citizen_can_be_called_by_number(
    hall: Hall_,
) -> None:
    t = hall.issue("TP")
    hall.next(1)
    gone = hall.act(ops.no_show, 1)
    assert gone.status == TicketStatus.NO_SHOW

    back = hall.act(ops.call_number, 1, ticket_number=t.number, service_code="TP")

    assert back.id == t.id and back.status == TicketStatus.CALLED and back.call_count == 2


def test_hold_and_bring_back(hall: Hall_) -> None:
    t = hall.issue("TP")
    other = hall.issue("TP")
    hall.next(1)
    held = hall.act(ops.hold, 1)
    assert held.status == TicketStatus.HELD
    assert hall.next(1).id == other.id  # type: ignore[union-attr]  # the counter is free meanwhile
    hall.act(ops.start, 1)
    hall.act(ops.finish, 1)

    back = hall.act(ops.unhold, 1, ticket_id=t.id)

    assert back.id == t.id and back.status == TicketStatus.CALLED
    with pytest.raises(errors.InvalidTransition):
        hall.act(ops.unhold, 2, ticket_id=t.id)


def test_transfer_to_an_area_keeps_the_citizens_place(hall: Hall_, clock: Any) -> None:
    t = hall.issue("TP")
    clock.advance(60)
    later_ct = hall.issue("CT")
    hall.next(2)  # counter 2 serves TP only

    moved = hall.act(ops.transfer, 2, to_service="CT")

    assert moved.status == TicketStatus.WAITING and moved.display_number == "1001"
    assert hall.next(5).id == t.id  # type: ignore[union-attr]  # counter 5 (CT) takes it before 2001
    hall.act(ops.start, 5)
    assert hall.next(5).id == later_ct.id  # type: ignore[union-attr]


def test_transfer_to_a_counter_reaches_only_that_counter(hall: Hall_) -> None:
    t = hall.issue("TP")
    hall.issue("TP")
    hall.next(1)
    hall.act(ops.transfer, 1, to_counter=4)  # counter 4 does not even serve TP

    other = hall.next(2)
    mine = hall.next(4)

    assert other.id != t.id and mine.id == t.id  # type: ignore[union-attr]


def test_pause_and_resume(hall: Hall_) -> None:
    hall.issue("TP")
    paused = hall.act(ops.pause_counter, 2, reason="Đi họp")
    assert (paused.state, paused.pause_reason) == ("paused", "Đi họp")
    with pytest.raises(errors.CounterPaused):
        hall.next(2)

    hall.act(ops.resume_counter, 2)

    assert hall.next(2) is not None


def test_one_clerk_per_counter_and_one_counter_per_clerk(hall: Hall_) -> None:
    with pytest.raises(errors.CounterTaken):
        hall.act(ops.open_counter, 2, clerk="clerk1")
    hall.act(ops.close_counter, 2, clerk="clerk2")
    with pytest.raises(errors.ClerkElsewhere):
        hall.act(ops.open_counter, 2, clerk="clerk1")

    moved = hall.act(ops.open_counter, 2, clerk="clerk1", move=True)

    assert moved.clerk.username == "clerk1"  # type: ignore[union-attr]
    with hall.db.read() as s:
        assert get_hall(s, "demo").counters[0].state == "closed"


def test_close_with_an_open_ticket_is_refused(hall: Hall_) -> None:
    hall.issue("TP")
    hall.next(1)

    with pytest.raises(errors.CounterBusy):
        hall.act(ops.close_counter, 1)


def test_estimated_wait_learns_from_the_days_service_times(hall: Hall_, clock: Any) -> None:
    from layso.services.common import estimate_wait_s

    for service_s in (240, 360):
        hall.issue("TP")
        hall.next(2)
        hall.act(ops.start, 2)
        clock.advance(service_s)
        hall.act(ops.finish, 2)

    with hall.db.read() as s:
        h = get_hall(s, "demo")
        tp = s.scalars(sa.select(Service).where(Service.code == "TP")).one()
        # mean 300 s × 3 ahead ÷ 2 open counters (1 and 2 serve TP)
        assert estimate_wait_s(s, h, tp, 3, clock()) == 450


def test_every_change_appends_events_with_strictly_increasing_seq(hall: Hall_) -> None:
    start = hall.events()[-1].seq
    hall.issue("TP")
    hall.serve(1)

    events = [e for e in hall.events() if e.seq > start]
    names = [e.name for e in events]

    assert [e.seq for e in events] == list(range(start + 1, start + 1 + len(events)))
    for name in (
        "ticket.issued",
        "ticket.called",
        "ticket.started",
        "ticket.finished",
        "rating.requested",
        "queue.changed",
        "counter.changed",
    ):
        assert name in names
    with hall.db.read() as s:
        assert s.get(Hall, 1).event_seq == events[-1].seq  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "policy", [PriorityPolicy.STRICT, PriorityPolicy.INTERLEAVED, PriorityPolicy.WEIGHTED]
)
def test_next_reads_few_rows_but_picks_what_the_whole_queue_would(
    hall: Hall_, clock: Any, db: Database, policy: PriorityPolicy
) -> None:
    """The call reads at most three candidates; a reference over every waiting ticket agrees,
    through a mixed day: areas the counter does and does not serve, priorities, a transfer to
    this counter and to another one, equal issue times."""
    import random

    rng = random.Random(f"next-{policy.value}")
    hall.set(priority_policy=policy, priority_interleave=2, priority_weight=3.0)
    for i in range(40):
        hall.issue(rng.choice(["TP", "TP", "CT", "DD"]), rng.choice([None, None, "NCT"]))
        if i % 3:
            clock.advance(rng.choice([0, 7, 30]))
    first = hall.next(3)  # counter 3 calls one, then sends it to counter 1
    assert first is not None
    hall.act(ops.transfer, 3, to_counter=1)

    for _ in range(12):
        with db.read() as s:
            h = get_hall(s, "demo")
            counter = ops.get_counter(s, h, 1)
            everyone = list(
                s.scalars(
                    sa.select(Ticket)
                    .where(
                        Ticket.status == TicketStatus.WAITING,
                        sa.or_(
                            Ticket.target_counter_id == counter.id,
                            sa.and_(
                                Ticket.target_counter_id.is_(None),
                                Ticket.service_id.in_(counter.service_ids),
                            ),
                        ),
                    )
                    .order_by(Ticket.queued_at, Ticket.id)
                )
            )
            expected = ops.choose_next(h, counter, everyone, clock())
            assert len(ops._candidates(s, counter, clock())) <= 5
        got = hall.serve(1)
        assert (got.id if got else None) == (expected.id if expected else None)
        clock.advance(rng.choice([5, 60]))


@pytest.mark.parametrize(
    "policy", [PriorityPolicy.STRICT, PriorityPolicy.INTERLEAVED, PriorityPolicy.WEIGHTED]
)
def test_a_new_tickets_place_counted_quickly_equals_its_place_in_the_queue(
    hall: Hall_, clock: Any, db: Database, policy: PriorityPolicy
) -> None:
    """Issuing counts the queue instead of ranking it: the same answer as the full ranking,
    with priorities, a transfer back into the queue and calls in between."""
    from layso.services.tickets import queue_position

    hall.set(priority_policy=policy)
    plan = [None, "NCT", None, None, "NCT", None, "NCT", None]
    for i, priority in enumerate(plan):
        with db.write() as s:
            h = get_hall(s, "demo", lock=True)
            issued = issue_ticket(s, h, service_code="TP", priority=priority, now=clock())
            ranked = queue_position(s, h, issued.ticket)
            assert (issued.ahead, ranked[1]) == ranked, (i, priority)
        clock.advance(10)
        if i == 3:
            hall.next(2)
