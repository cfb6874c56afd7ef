"""The merge rule of booked and walk-in tickets (services/next_ticket.py), branch by branch.

Counter 2 serves Tư pháp (TP, target wait 15 min) only; counter 1 serves TP and Chứng thực (CT,
target 10 min). A booked ticket is made as a check-in makes it: booked_for = the slot, queued_at
= the slot minus the lead (5 minutes here). The clock starts at 08:00 in Hà Nội.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from layso.db import Database
from layso.models import PriorityPolicy, Ticket, TicketStatus, User
from layso.services import bookings as bk
from layso.services import counters as ops
from layso.services.common import business_date, get_hall
from layso.services.next_ticket import choose_next
from layso.services.tickets import issue_ticket

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

LEAD = timedelta(minutes=5)


class Floor:
    def __init__(self, db: Database, clock: Any) -> None:
        self.db, self.clock = db, clock

    def walk_in(self, code: str = "TP", priority: str | None = None) -> str:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            t = issue_ticket(s, hall, service_code=code, priority=priority, now=self.clock())
            return t.ticket.display_number

    def booked(self, slot_in_min: float, code: str = "TP", priority: str | None = None) -> str:
        """A booking checked in now for the slot `slot_in_min` minutes from now."""
        slot = self.clock() + timedelta(minutes=slot_in_min)
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            t = issue_ticket(
                s,
                hall,
                service_code=code,
                priority=priority,
                now=self.clock(),
                booked_for=slot,
                queued_at=slot - LEAD,
            )
            return t.ticket.display_number

    def next(self, counter: int = 2) -> str | None:
        """Call the next ticket and finish it at once (so the counter is free again)."""
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            user = s.scalars(sa.select(User).where(User.username == f"clerk{counter}")).one()
            t = ops.call_next(s, hall, counter, user=user, now=self.clock())
            if t is None:
                return None
            ops.start(s, hall, counter, user=user, now=self.clock())
            ops.finish(s, hall, counter, user=user, now=self.clock())
            return t.display_number

    def calls(self, n: int, counter: int = 2) -> list[str | None]:
        return [self.next(counter) for _ in range(n)]

    def minutes(self, m: float) -> None:
        self.clock.advance(m * 60)

    def set(self, **fields: Any) -> None:
        with self.db.write() as s:
            hall = get_hall(s, "demo")
            for k, v in fields.items():
                setattr(hall, k, v)


@pytest.fixture
def floor(db: Database, clock: Any) -> Floor:
    return Floor(db, clock)


def test_a_booking_before_slot_minus_lead_waits_and_is_no_candidate(floor: Floor) -> None:
    b = floor.booked(20)  # slot 08:20: callable from 08:15
    assert floor.next() is None  # nobody else: the counter still does not call it
    w = floor.walk_in()
    assert floor.next() == w
    floor.minutes(14)
    assert floor.next() is None
    floor.minutes(1)
    assert floor.next() == b


def test_a_callable_booking_goes_before_walk_ins_of_its_class(floor: Floor) -> None:
    w1 = floor.walk_in()
    floor.minutes(2)
    w2 = floor.walk_in()
    b = floor.booked(5)  # callable now (slot − lead)
    assert floor.calls(3) == [b, w1, w2]


def test_a_walk_in_waiting_longer_than_the_areas_target_goes_first(floor: Floor) -> None:
    w1 = floor.walk_in()
    floor.minutes(15)
    b = floor.booked(5)
    assert floor.next() == b  # w1 has waited exactly the target: not longer
    floor.minutes(0.01)
    b2 = floor.booked(5)
    assert floor.calls(2) == [w1, b2]  # now it has


def test_each_walk_in_is_measured_against_its_own_areas_target(floor: Floor) -> None:
    ct = floor.walk_in("CT")  # target 10 min
    floor.minutes(11)
    tp = floor.walk_in("TP")
    b = floor.booked(5, "TP")
    assert floor.calls(3, counter=1) == [ct, b, tp]


def test_bookings_go_by_slot_time_whatever_their_check_in_order(floor: Floor) -> None:
    late_slot = floor.booked(5)  # slot 08:05
    early_slot = floor.booked(-5)  # slot 07:55, checked in after it (within the window)
    assert floor.calls(2) == [early_slot, late_slot]


def test_strict_policy_keeps_priority_walk_ins_ahead_of_ordinary_bookings(floor: Floor) -> None:
    floor.set(priority_policy=PriorityPolicy.STRICT)
    b = floor.booked(5)
    p = floor.walk_in(priority="NCT")
    pb = floor.booked(5, priority="NCT")
    w = floor.walk_in()
    # the priority class first, and in it the booking before the walk-in; then the ordinary
    assert floor.calls(4) == [pb, p, b, w]


def test_interleaved_policy_chooses_the_class_and_the_merge_rule_the_ticket(
    floor: Floor,
) -> None:
    floor.set(priority_policy=PriorityPolicy.INTERLEAVED, priority_interleave=2)
    w1 = floor.walk_in()
    p1 = floor.walk_in(priority="NCT")
    w2 = floor.walk_in()
    b = floor.booked(5)
    p2 = floor.booked(5, priority="NCT")
    # counter 2 has made no call yet (calls_since_priority 0): two ordinary, then priority
    assert floor.calls(5) == [b, w1, p2, w2, p1]


def test_weighted_policy_chooses_the_class_by_weighted_waits_then_merges(floor: Floor) -> None:
    floor.set(priority_policy=PriorityPolicy.WEIGHTED, priority_weight=2.0)
    w = floor.walk_in()
    floor.minutes(6)
    p = floor.walk_in(priority="NCT")
    floor.minutes(4)  # w has waited 10 min, p 4 × 2 = 8: the ordinary class is served
    b = floor.booked(5)
    assert floor.next() == b  # … and in it the callable booking goes first
    floor.minutes(2)  # w 12 min, p 6 × 2 = 12: equal, the older ticket's class
    assert floor.next() == w
    assert floor.next() == p


def test_a_ticket_sent_to_the_counter_comes_before_any_booking(floor: Floor, db: Database) -> None:
    b = floor.booked(5)
    sent = floor.walk_in()
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        t = s.scalars(sa.select(Ticket).where(Ticket.display_number == sent)).one()
        t.target_counter_id = ops.get_counter(s, hall, 2).id
    assert floor.calls(2) == [sent, b]


def test_a_late_check_in_and_a_remote_number_queue_as_walk_ins(
    floor: Floor, db: Database, clock: Any
) -> None:
    def book(slot: str | None, phone: str) -> str:
        with db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            day = business_date(hall, clock())
            b = bk.book(s, hall, service_code="TP", day=day, slot=slot, phone=phone, now=clock())
            return b.code

    def check_in(code: str) -> str:
        with db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            return bk.check_in(s, hall, code=code, now=clock()).ticket.display_number

    late = book("08:15", "0911111111")
    remote = book(None, "0922222222")
    floor.minutes(5)
    w1 = floor.walk_in()
    floor.minutes(21)  # 08:26: past 08:15's window (until 08:25)
    w2 = floor.walk_in()
    late_ticket = check_in(late)
    remote_ticket = check_in(remote)  # keeps its place from 08:11 (08:26 − TP's 15 min)
    on_time = book("08:45", "0933333333")
    floor.minutes(14)  # 08:40: 08:45's window is open and it is callable (lead 5)
    booked = check_in(on_time)
    # w1 has waited 35 min > 15: first; then the remote number (waited 29 > 15), then the
    # booking, then the rest in queue order
    assert floor.calls(5) == [w1, remote_ticket, booked, w2, late_ticket]


@pytest.mark.parametrize(
    "policy", [PriorityPolicy.STRICT, PriorityPolicy.INTERLEAVED, PriorityPolicy.WEIGHTED]
)
def test_candidates_read_few_rows_and_agree_with_the_whole_queue(
    floor: Floor, db: Database, clock: Any, policy: PriorityPolicy
) -> None:
    """Bookings (callable or not), walk-ins and priorities mixed over two areas: the at most
    five candidates lead to the same choice as the whole waiting queue."""
    import random

    rng = random.Random(f"merge-{policy.value}")
    floor.set(priority_policy=policy, priority_interleave=2, priority_weight=2.0)
    for _ in range(40):
        code = rng.choice(["TP", "TP", "CT"])
        prio = rng.choice([None, None, None, "NCT"])
        if rng.random() < 0.4:
            floor.booked(rng.choice([-5, 5, 10, 30, 60]), code, prio)
        else:
            floor.walk_in(code, prio)
        floor.minutes(rng.choice([0, 0.5, 2]))
    seen = 0
    for _ in range(30):
        with db.read() as s:
            hall = get_hall(s, "demo")
            counter = ops.get_counter(s, hall, 1)
            everyone = list(
                s.scalars(
                    sa.select(Ticket)
                    .where(
                        Ticket.status == TicketStatus.WAITING,
                        Ticket.service_id.in_(counter.service_ids),
                    )
                    .order_by(Ticket.queued_at, Ticket.id)
                )
            )
            few = ops._candidates(s, counter, clock())
            # the first sent here, and per area the first of each kind (booked or walk-in,
            # priority or not)
            assert len(few) <= 1 + 4 * len(counter.service_ids)
            expected = choose_next(hall, counter, everyone, clock())
            chosen = choose_next(hall, counter, few, clock())
            assert (chosen.id if chosen else None) == (expected.id if expected else None)
            want = expected.display_number if expected else None
        got = floor.next(1)
        assert got == want
        seen += got is not None
        floor.minutes(rng.choice([1, 3]))
    assert seen > 20


def test_a_bookings_place_counts_only_the_bookings_before_it_in_its_class(
    floor: Floor, db: Database
) -> None:
    from layso.services.tickets import queue_position

    def ahead(number: str) -> int:
        with db.read() as s:
            hall = get_hall(s, "demo")
            t = s.scalars(sa.select(Ticket).where(Ticket.display_number == number)).one()
            return queue_position(s, hall, t)[0]

    floor.set(priority_policy=PriorityPolicy.STRICT)
    w1 = floor.walk_in()
    w2 = floor.walk_in()
    p = floor.walk_in(priority="NCT")
    first = floor.booked(5)
    second = floor.booked(10)
    # strict: the priority walk-in is ahead of every ordinary ticket; among the rest, only the
    # earlier booking is ahead of a booking, never the walk-ins
    assert (ahead(first), ahead(second)) == (1, 2)
    assert (ahead(p), ahead(w1), ahead(w2)) == (0, 1, 2)  # walk-ins: queue order, as before
    assert floor.calls(4) == [p, first, w1, w2]  # the second booking is not callable yet


def test_only_the_chosen_candidate_becomes_a_ticket_of_the_session(
    floor: Floor, db: Database, clock: Any
) -> None:
    """The candidates are read as rows: none is an object of the session until one is chosen,
    which is then the session's ticket as a load makes it (equal to a fresh read of it)."""
    floor.walk_in("TP")
    floor.walk_in("TP", "NCT")
    floor.walk_in("CT")
    floor.booked(-1, "CT")
    with db.read() as s:
        hall = get_hall(s, "demo")
        counter = ops.get_counter(s, hall, 1)
        before = {k for k in s.identity_map if k[0] is Ticket}
        few = ops._candidates(s, counter, clock())
        assert len(few) == 4
        assert {k for k in s.identity_map if k[0] is Ticket} == before
        chosen = choose_next(hall, counter, few, clock())
        assert chosen is not None and chosen.priority == "NCT"  # strict: priority first
        ticket = chosen.ticket()
        assert isinstance(ticket, Ticket) and ticket in s and chosen.ticket() is ticket
        assert not s.dirty and ticket.service.code == "TP"
        fresh = {c.key: getattr(ticket, c.key) for c in Ticket.__table__.columns}
    with db.read() as s:
        again = s.get(Ticket, chosen.id)
        assert fresh == {c.key: getattr(again, c.key) for c in Ticket.__table__.columns}
