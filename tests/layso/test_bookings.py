"""Appointments and remote numbers (services/bookings.py) over a bare Session and a clock.

The clock starts on Saturday 21 November 2026, 08:00 in Hà Nội. The demo hall has 15-minute
slots (two places) in Tư pháp (TP) and Chứng thực (CT), 07:30–11:30 and 13:30–17:00 every day,
and remote numbers in every area.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from layso import errors
from layso.db import Database
from layso.models import Booking, BookingState, Closure, Event, Service, Ticket, User
from layso.services import bookings as bk
from layso.services import counters as ops
from layso.services.common import get_hall, get_service
from layso.services.tickets import cancel_ticket, issue_ticket

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

KEY = "test-id-key"
TODAY = date(2026, 11, 21)
PHONE = "0912345678"


class Desk:
    """One write transaction per action, as the API does."""

    def __init__(self, db: Database, clock: Any) -> None:
        self.db, self.clock = db, clock

    def book(
        self,
        service: str = "TP",
        slot: str | None = "08:30",
        day: date = TODAY,
        phone: str = PHONE,
        id_number: str | None = None,
    ) -> dict[str, Any]:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            b = bk.book(
                s,
                hall,
                service_code=service,
                day=day,
                slot=slot,
                phone=phone,
                id_number=id_number,
                id_key=KEY,
                now=self.clock(),
            )
            return bk.public(hall, b)

    def check_in(self, **kw: Any) -> dict[str, Any]:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            c = bk.check_in(s, hall, now=self.clock(), **kw)
            t = c.ticket
            return {
                "booking": bk.public(hall, c.booking),
                "number": t.display_number,
                "booked_for": t.booked_for,
                "queued_at": t.queued_at,
                "ticket_id": t.id,
                "new": c.issued is not None,
                "late": c.late,
                "vi": c.message_vi,
                "en": c.message_en,
            }

    def cancel(self, code: str) -> dict[str, Any]:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            return bk.public(hall, bk.cancel(s, hall, bk.find(s, hall, code), now=self.clock()))

    def rules(self, service: str | None = None, **values: Any) -> None:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            svc = get_service(s, hall, service) if service else None
            bk.set_rules(s, hall, svc, **values)

    def slots(self, service: str = "TP", day: date = TODAY) -> list[bk.Slot]:
        with self.db.read() as s:
            hall = get_hall(s, "demo")
            return bk.slots(s, hall, get_service(s, hall, service), day, self.clock())

    def booking(self, code: str) -> Booking:
        with self.db.read() as s:
            b = s.scalars(sa.select(Booking).where(Booking.code == code)).one()
            s.expunge(b)
            return b

    def events(self, name: str | None = None) -> list[Event]:
        with self.db.read() as s:
            q = sa.select(Event).order_by(Event.seq)
            if name:
                q = q.where(Event.name == name)
            return list(s.scalars(q))

    def act(self, action: Any, counter: int, **kw: Any) -> Any:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            user = s.scalars(sa.select(User).where(User.username == f"clerk{counter}")).one()
            return action(s, hall, counter, user=user, now=self.clock(), **kw)


@pytest.fixture
def desk(db: Database, clock: Any) -> Desk:
    return Desk(db, clock)


def refused(desk: Desk, err: type[errors.LaysoError], fn: Any, *a: Any, **kw: Any) -> Any:
    """The call is refused with `err` and changes nothing (no booking, no event)."""
    before = (len(desk.events()), _count(desk))
    with pytest.raises(err) as info:
        fn(*a, **kw)
    assert (len(desk.events()), _count(desk)) == before
    assert info.value.message("vi") and info.value.message("en")
    return info.value


def _count(desk: Desk) -> int:
    with desk.db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(Booking)) or 0


# --- slots and days -----------------------------------------------------------------------------


def test_slots_of_today_start_after_now_and_count_free_places(desk: Desk) -> None:
    slots = desk.slots()
    assert slots[0].local == "08:15"  # 08:00 itself has begun
    assert [s.local for s in slots[:3]] == ["08:15", "08:30", "08:45"]
    assert "12:00" not in [s.local for s in slots]  # the midday break
    assert slots[-1].local == "16:45"
    assert (slots[1].capacity, slots[1].free) == (2, 2)

    desk.book(slot="08:30")
    assert desk.slots()[1].free == 1
    desk.book(slot="08:30", phone="0987654321")
    assert desk.slots()[1].free == 0
    err = refused(desk, errors.SlotFull, desk.book, slot="08:30", phone="0911111111")
    assert err.code == "slot_full"


def test_bookable_days_run_from_today_to_days_ahead_and_show_closures(
    desk: Desk, db: Database
) -> None:
    with db.write() as s:
        hall = get_hall(s, "demo")
        s.add(Closure(hall_id=hall.id, day=TODAY + timedelta(days=2), reason="Nghỉ lễ"))
    with db.read() as s:
        hall = get_hall(s, "demo")
        days = bk.bookable_days(s, hall, get_service(s, hall, "TP"), desk.clock())
    assert [d["date"] for d in days] == [str(TODAY + timedelta(days=n)) for n in range(7)]
    assert days[2]["closed"] and days[2]["reason"] == "Nghỉ lễ" and days[2]["free"] == 0
    assert days[1]["free"] == 2 * 30  # 16 + 14 slots, two places each
    assert days[0]["remote_number"] is True and days[1]["remote_number"] is False

    err = refused(desk, errors.DayClosed, desk.book, day=TODAY + timedelta(days=2))
    assert "Nghỉ lễ" in err.message("vi")


def test_days_outside_the_horizon_are_refused(desk: Desk) -> None:
    desk.book(day=TODAY + timedelta(days=6))
    err = refused(desk, errors.BadDay, desk.book, day=TODAY + timedelta(days=7), phone="0987654321")
    assert "27/11/2026" in err.message("vi")
    refused(desk, errors.BadDay, desk.book, day=TODAY - timedelta(days=1), phone="0987654321")
    desk.rules(days_ahead=0)
    refused(desk, errors.BadDay, desk.book, day=TODAY + timedelta(days=1), phone="0977777777")


@pytest.mark.parametrize("slot", ["08:07", "12:00", "25:00", "xx"])
def test_a_time_that_is_no_slot_is_refused(desk: Desk, slot: str) -> None:
    assert refused(desk, errors.NoSuchSlot, desk.book, slot=slot).code == "no_such_slot"


@pytest.mark.parametrize("slot", ["07:45", "08:00"])
def test_a_slot_that_has_begun_is_refused(desk: Desk, slot: str) -> None:
    assert refused(desk, errors.SlotPast, desk.book, slot=slot).code == "slot_past"


# --- personal data and quotas -------------------------------------------------------------------


@pytest.mark.parametrize(
    "given", ["0912345678", "0912 345 678", "+84 912-345-678", "84912345678", "(091) 234.5678"]
)
def test_phone_numbers_are_normalised(given: str) -> None:
    assert bk.normalize_phone(given) in ("0912345678", "0912345678")


@pytest.mark.parametrize("given", ["", "12345", "091234567", "09123456789012", "abc", None])
def test_bad_phone_numbers_are_refused(desk: Desk, given: Any) -> None:
    refused(desk, errors.BadPhone, desk.book, phone=given)


def test_quota_per_person_per_day_and_per_area(desk: Desk) -> None:
    desk.book("TP", "08:30")
    err = refused(desk, errors.QuotaPerArea, desk.book, "TP", "09:00", phone="+84912345678")
    assert err.code == "quota_per_area" and "1" in err.message("vi")
    desk.book("CT", "09:00")
    err = refused(desk, errors.QuotaPerDay, desk.book, "DD", None)  # a remote number counts too
    assert err.code == "quota_per_day"
    # another day has its own quota; a cancelled booking frees its place in the quota
    desk.book("TP", "08:30", day=TODAY + timedelta(days=1))
    first = desk.book("TP", "10:00", day=TODAY + timedelta(days=2))
    desk.cancel(first["code"])
    desk.book("TP", "10:15", day=TODAY + timedelta(days=2))


def test_the_id_number_is_kept_only_as_a_keyed_hash_and_counts_for_the_quota(
    desk: Desk, db: Database
) -> None:
    desk.rules(require_id=True)
    refused(desk, errors.IdRequired, desk.book)
    refused(desk, errors.BadIdNumber, desk.book, id_number="12345")
    b = desk.book(id_number="001 088 123 789")
    assert b["id_number"] == "*********789" and b["phone"] == "091****678"
    stored = desk.booking(b["code"])
    assert stored.id_hash == bk.hash_id(KEY, "001088123789") != bk.hash_id("other", "001088123789")
    assert "001088123789" not in stored.id_hash and stored.id_last == "789"
    # the same ID with another phone is the same person
    refused(
        desk,
        errors.QuotaPerArea,
        desk.book,
        slot="09:00",
        phone="0987654321",
        id_number="001088123789",
    )
    for ev in desk.events():
        assert "0912345678" not in str(ev.payload) and "001088123789" not in str(ev.payload)


def test_the_last_numbers_of_a_day_are_kept_for_walk_ins(desk: Desk) -> None:
    with desk.db.write() as s:
        s.scalars(sa.select(Service).where(Service.code == "CT")).one().last_number = 2004
    desk.rules("CT", walk_in_reserve=2)
    with desk.db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        issue_ticket(s, hall, service_code="CT", priority=None, now=desk.clock())  # 2001
    desk.book("CT", "08:30")  # 2002 promised; 2003 and 2004 kept
    err = refused(desk, errors.KeptForWalkIns, desk.book, "CT", "08:45", phone="0987654321")
    assert err.code == "kept_for_walk_ins"


def test_area_rules_override_the_halls_and_can_close_booking(desk: Desk) -> None:
    desk.rules(per_person_area_day=2)
    desk.rules("TP", per_person_area_day=1)
    desk.book("CT", "08:30")
    desk.book("CT", "09:00", phone=PHONE, day=TODAY + timedelta(days=1))
    with desk.db.read() as s:
        hall = get_hall(s, "demo")
        assert bk.rules_for(s, hall, get_service(s, hall, "TP")).per_person_area_day == 1
        assert bk.rules_for(s, hall, get_service(s, hall, "CT")).per_person_area_day == 2
    desk.rules("TP", enabled=False)
    assert refused(desk, errors.BookingClosed, desk.book, "TP", phone="0987654321")
    assert desk.slots("TP") == []
    with pytest.raises(errors.BadRequest):
        desk.rules("TP", days_ahead=-1)
    with pytest.raises(errors.BadRequest):
        desk.rules("TP", no_such=1)


def test_remote_numbers_are_for_today_in_open_areas(desk: Desk, db: Database) -> None:
    b = desk.book("DD", None)
    assert b["remote_number"] and b["slot"] is None and len(b["code"]) == 6
    assert set(b["code"]) <= set(bk.CODE_ALPHABET)
    refused(desk, errors.RemoteNumberNotToday, desk.book, "CT", None, day=TODAY + timedelta(days=1))
    desk.rules("CT", remote_numbers=False)
    refused(desk, errors.RemoteNumbersOff, desk.book, "CT", None, phone="0987654321")
    with db.write() as s:
        s.scalars(sa.select(Service).where(Service.code == "XD")).one().hours = {
            "ranges": [["13:30", "17:00"]]
        }
    refused(desk, errors.ServiceClosed, desk.book, "XD", None, phone="0987654321")


# --- cancel -----------------------------------------------------------------------------------


def test_cancel_once_and_again_and_not_after_check_in(desk: Desk) -> None:
    b = desk.book()
    assert desk.cancel(b["code"].lower())["state"] == "cancelled"
    assert desk.cancel(b["code"])["state"] == "cancelled"  # twice: nothing new
    assert len(desk.events("booking.cancelled")) == 1
    refused(desk, errors.BookingNotActive, desk.check_in, code=b["code"])
    other = desk.book(slot="08:15", phone="0987654321")
    desk.check_in(code=other["code"])
    refused(desk, errors.BookingNotActive, desk.cancel, other["code"])
    refused(desk, errors.UnknownBooking, desk.cancel, "ZZZZZZ")


# --- check-in -----------------------------------------------------------------------------------


def test_check_in_window_too_early_in_time_and_again(desk: Desk, clock: Any) -> None:
    b = desk.book(slot="08:30")
    clock.set_local("2026-11-21T08:14:59")
    err = refused(desk, errors.CheckInTooEarly, desk.check_in, code=b["code"])
    assert err.fields["come_back"] == "08:15" and "08:15" in err.message("vi")

    clock.set_local("2026-11-21T08:15:00")
    got = desk.check_in(code=f" {b['code'][:3].lower()}-{b['code'][3:]} ")
    assert got["new"] and not got["late"] and got["booking"]["state"] == "checked_in"
    assert got["number"] == "1001"  # the area's own gap-free numbering
    assert got["booked_for"] == clock.now + timedelta(minutes=15)
    assert got["queued_at"] == clock.now + timedelta(minutes=10)  # callable at 08:25 (lead 5)
    assert "08:30" in got["vi"] and "1001" in got["vi"]
    issued = desk.events("ticket.issued")[-1].payload["ticket"]
    assert issued["booked_for"].startswith("2026-11-21T08:30:00")
    assert desk.events("booking.checked_in")[-1].ticket_id == got["ticket_id"]

    again = desk.check_in(code=b["code"])  # a second scan: the same ticket, nothing new
    assert (again["new"], again["ticket_id"]) == (False, got["ticket_id"])
    assert len(desk.events("ticket.issued")) == 1


def test_late_check_in_joins_as_a_walk_in(desk: Desk, clock: Any) -> None:
    b = desk.book(slot="08:30")
    clock.set_local("2026-11-21T08:40:00")
    assert desk.check_in(code=b["code"])["booked_for"] is not None  # the window's last minute
    b2 = desk.book(slot="09:00", phone="0987654321")
    clock.set_local("2026-11-21T09:10:01")
    got = desk.check_in(code=b2["code"])
    assert got["late"] and got["booked_for"] is None and got["queued_at"] == clock.now
    assert "muộn" in got["vi"] and "walk-in" in got["en"]
    assert desk.booking(b2["code"]).late


def test_check_in_by_phone_takes_the_booking_whose_window_is_open(desk: Desk, clock: Any) -> None:
    desk.book("TP", "09:00")
    ct = desk.book("CT", "08:30")
    clock.set_local("2026-11-21T08:20:00")
    got = desk.check_in(phone="+84 912 345 678")
    assert got["booking"]["code"] == ct["code"] and got["number"] == "2001"
    err = refused(desk, errors.CheckInTooEarly, desk.check_in, phone=PHONE)
    assert err.fields["come_back"] == "08:45"
    refused(desk, errors.UnknownBooking, desk.check_in, phone="0987654321")
    refused(desk, errors.UnknownBooking, desk.check_in)


def test_check_in_on_another_day_is_refused(desk: Desk) -> None:
    b = desk.book(day=TODAY + timedelta(days=1))
    err = refused(desk, errors.CheckInOtherDay, desk.check_in, code=b["code"])
    assert "22/11/2026" in err.message("vi")


def test_a_remote_number_keeps_its_place_up_to_the_areas_target_wait(
    desk: Desk, clock: Any
) -> None:
    early = desk.book("TP", None)
    later = desk.book("TP", None, phone="0987654321")
    clock.set_local("2026-11-21T08:05:00")
    got = desk.check_in(code=early["code"])
    assert got["booked_for"] is None and got["queued_at"] == clock.now - timedelta(minutes=5)
    assert "số từ xa" in got["vi"]
    clock.set_local("2026-11-21T10:00:00")
    got = desk.check_in(code=later["code"])
    assert got["queued_at"] == clock.now - timedelta(minutes=15)  # TP's target wait


# --- the ticket drives the booking; the day's end; deletion -------------------------------------


def test_the_booking_follows_its_ticket(desk: Desk, clock: Any) -> None:
    codes = [
        desk.book(slot=t, phone=p)["code"] for t, p in [("08:15", PHONE), ("08:15", "0987654321")]
    ]
    for c in codes:
        desk.check_in(code=c)
    clock.set_local("2026-11-21T08:10:00")
    first = desk.act(ops.call_next, 2)
    assert desk.booking(codes[0]).state == BookingState.CALLED
    desk.act(ops.start, 2)
    desk.act(ops.finish, 2)
    assert desk.booking(codes[0]).state == BookingState.SERVED
    desk.act(ops.call_next, 2)
    desk.act(ops.no_show, 2)
    assert desk.booking(codes[1]).state == BookingState.NO_SHOW
    assert first is not None

    third = desk.book(slot="09:00", phone="0977777777")["code"]
    clock.set_local("2026-11-21T08:50:00")
    tid = desk.check_in(code=third)["ticket_id"]
    with desk.db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        cancel_ticket(s, hall, s.get(Ticket, tid), now=clock(), user=None)
    assert desk.booking(third).state == BookingState.CANCELLED


def test_day_end_marks_no_shows_and_personal_data_is_deleted_after_retention(
    desk: Desk, clock: Any
) -> None:
    desk.rules(require_id=True)
    kept = desk.book(slot="08:30", id_number="001088123789")
    served = desk.book("CT", "08:30", phone="0987654321", id_number="001088123000")
    clock.set_local("2026-11-21T08:30:00")
    desk.check_in(code=served["code"])
    clock.set_local("2026-12-21T12:00:00")  # 30 days later: still kept
    assert purge(desk) == 0
    b = desk.booking(kept["code"])
    assert b.state == BookingState.NO_SHOW and b.phone == PHONE and b.id_hash
    assert len(desk.events("booking.no_show")) == 1  # the checked-in one is not a no-show
    clock.set_local("2026-12-22T00:00:01")
    assert purge(desk) == 2
    assert purge(desk) == 0
    for code in (kept["code"], served["code"]):
        b = desk.booking(code)
        assert (b.phone, b.id_hash, b.id_last) == (None, None, None) and b.purged_at
    with desk.db.read() as s:
        hall = get_hall(s, "demo")
        shown = bk.public(
            hall, s.scalars(sa.select(Booking).where(Booking.code == kept["code"])).one()
        )
    assert shown["phone"] is None and shown["id_number"] is None and shown["state"] == "no_show"


def purge(desk: Desk) -> int:
    with desk.db.write() as s:
        return bk.purge(s, get_hall(s, "demo", lock=True), desk.clock())


def test_clean_code_and_masks() -> None:
    assert bk.clean_code(" ab3-xy7 ") == "AB3XY7"
    assert bk.clean_code("https://hall.example/dat-lich/ma/AB3XY7") == "AB3XY7"
    assert bk.mask_phone("0912345678") == "091****678"
    assert bk.mask_phone("02438123456") == "024*****456"
    assert bk.mask_id("789") == "*********789"
    assert bk.mask_phone(None) is None and bk.mask_id(None) is None
