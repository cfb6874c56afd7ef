"""The bookings' HTTP API (layso/booking_api.py): the public booking path, every refusal with
its code and both languages, rate limits, idempotent retries, the kiosk's check-in.

The clock starts on Saturday 21 November 2026, 08:00 in Hà Nội (tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from layso.db import Database
from layso.models import Booking, Closure, Service
from layso.services import bookings as bk
from layso.services.common import get_hall

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

TODAY = date(2026, 11, 21)
BASE = "/api/v1/halls/demo"


class Public:
    def __init__(self, client: Any) -> None:
        self.client = client

    def get(self, path: str, lang: str | None = None) -> tuple[int, Any]:
        headers = {"Accept-Language": lang} if lang else {}
        r = self.client.get(BASE + path, headers=headers)
        return r.status_code, r.get_json()

    def book(
        self,
        service: str = "TP",
        slot: str | None = "08:30",
        day: date = TODAY,
        phone: str = "0912345678",
        addr: str = "10.0.0.1",
        key: str | None = None,
        lang: str | None = None,
        **extra: Any,
    ) -> tuple[int, Any]:
        headers = {"Accept-Language": lang} if lang else {}
        if key:
            headers["Idempotency-Key"] = key
        body = {"service": service, "date": day.isoformat(), "slot": slot, "phone": phone, **extra}
        r = self.client.post(
            BASE + "/bookings", json=body, headers=headers, environ_base={"REMOTE_ADDR": addr}
        )
        self.last = r
        return r.status_code, r.get_json()

    def delete(self, code: str) -> tuple[int, Any]:
        r = self.client.delete(f"{BASE}/bookings/{code}")
        return r.status_code, r.get_json()

    def check_in(self, token: str | None, **body: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.client.post(BASE + "/check-in", json=body, headers=headers)
        return r.status_code, r.get_json()


@pytest.fixture
def pub(client: Any) -> Public:
    return Public(client)


def set_rules(db: Database, service: str | None = None, **values: Any) -> None:
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        svc = (
            s.scalars(sa.select(Service).where(Service.code == service)).one() if service else None
        )
        bk.set_rules(s, hall, svc, **values)


def test_book_look_up_check_in_at_the_kiosk_and_again(
    pub: Public, tokens: Callable[[str], str], clock: Any
) -> None:
    status, body = pub.get("/booking")
    assert status == 200
    areas = {a["code"]: a for a in body["areas"]}
    assert areas["TP"]["has_slots"] and areas["CT"]["has_slots"]
    assert areas["DD"]["remote_number"] and not areas["DD"]["has_slots"]
    status, body = pub.get("/booking/TP/days")
    assert status == 200 and len(body["days"]) == 7 and body["days"][0]["date"] == "2026-11-21"
    status, body = pub.get("/booking/TP/days/2026-11-21")
    assert body["slots"][0] == {
        "time": "08:15",
        "start": "2026-11-21T08:15:00+07:00",
        "capacity": 2,
        "free": 2,
    }

    status, body = pub.book(phone="+84 912 345 678")
    assert status == 201, body
    booking = body["booking"]
    code = booking["code"]
    assert booking["phone"] == "091****678" and booking["slot"] == "08:30"
    assert booking["state"] == "booked" and booking["page_url"].endswith(f"/dat-lich/ma/{code}")
    assert pub.get(f"/bookings/{code.lower()}")[1]["booking"]["code"] == code
    assert pub.get("/booking/TP/days/2026-11-21")[1]["slots"][1]["free"] == 1

    clock.set_local("2026-11-21T08:20:00")
    status, body = pub.check_in(tokens("kiosk"), code=f"https://x.example/dat-lich/ma/{code}")
    assert status == 201, body
    ticket = body["ticket"]
    assert ticket["booked_for"] == "2026-11-21T08:30:00+07:00" and ticket["code"]
    assert body["booking"]["state"] == "checked_in" and body["already"] is False
    assert "08:30" in body["message"]["vi"] and "08:30" in body["message"]["en"]

    status, again = pub.check_in(tokens("kiosk"), code=code)
    assert status == 200 and again["already"] is True
    assert again["ticket"]["id"] == ticket["id"]


def test_check_in_by_phone_and_who_may_check_in(
    pub: Public, tokens: Callable[[str], str], clock: Any
) -> None:
    pub.book("CT", "08:30")
    clock.set_local("2026-11-21T08:20:00")
    assert pub.check_in(None, phone="0912345678")[0] == 401
    assert pub.check_in(tokens("display"), phone="0912345678")[0] == 403
    status, body = pub.check_in(tokens("clerk1"), phone="0912 345 678")
    assert status == 201 and body["ticket"]["display_number"] == "2001"
    status, body = pub.check_in(tokens("kiosk"))
    assert status == 400 and body["error"]["code"] == "bad_request"


def test_a_late_check_in_says_it_joins_as_a_walk_in(
    pub: Public, tokens: Callable[[str], str], clock: Any
) -> None:
    code = pub.book()[1]["booking"]["code"]
    clock.set_local("2026-11-21T08:41:00")
    status, body = pub.check_in(tokens("kiosk"), code=code)
    assert status == 201 and body["late"] is True and body["ticket"]["booked_for"] is None
    assert "muộn" in body["message"]["vi"]


def _closure(db: Database) -> None:
    with db.write() as s:
        hall = get_hall(s, "demo")
        s.add(Closure(hall_id=hall.id, day=TODAY + timedelta(days=1), reason="Nghỉ lễ"))


def _two_booked(pub: Public) -> None:
    pub.book(slot="09:00", phone="0911111111")
    pub.book(slot="09:00", phone="0922222222")


def _walk_in_reserve(db: Database) -> None:
    with db.write() as s:
        s.scalars(sa.select(Service).where(Service.code == "CT")).one().last_number = 2001
    set_rules(db, "CT", walk_in_reserve=1)


REFUSALS: list[tuple[str, int, str, Callable[..., Any] | None, dict[str, Any]]] = [
    ("bad phone", 400, "bad_phone", None, {"phone": "12345"}),
    ("ID required", 400, "id_required", lambda db, pub: set_rules(db, require_id=True), {}),
    ("bad ID", 400, "bad_id_number", None, {"id_number": "0123"}),
    ("past day", 409, "day_out_of_range", None, {"day": TODAY - timedelta(days=1)}),
    ("too far", 409, "day_out_of_range", None, {"day": TODAY + timedelta(days=7)}),
    (
        "holiday",
        409,
        "day_closed",
        lambda db, pub: _closure(db),
        {"day": TODAY + timedelta(days=1)},
    ),
    ("no slot", 409, "no_such_slot", None, {"slot": "08:10"}),
    ("slot begun", 409, "slot_past", None, {"slot": "07:45"}),
    ("slot full", 409, "slot_full", lambda db, pub: _two_booked(pub), {"slot": "09:00"}),
    ("walk-ins", 409, "kept_for_walk_ins", lambda db, pub: _walk_in_reserve(db), {"service": "CT"}),
    (
        "per area",
        409,
        "quota_per_area",
        lambda db, pub: pub.book(slot="10:00"),
        {"slot": "10:15"},
    ),
    (
        "per day",
        409,
        "quota_per_day",
        lambda db, pub: (pub.book("TP"), pub.book("CT")),
        {"service": "DD", "slot": None},
    ),
    (
        "remote off",
        409,
        "remote_numbers_off",
        lambda db, pub: set_rules(db, remote_numbers=False),
        {"slot": None},
    ),
    (
        "remote later",
        409,
        "remote_number_not_today",
        None,
        {"slot": None, "day": TODAY + timedelta(days=1)},
    ),
    (
        "area closed",
        409,
        "booking_closed",
        lambda db, pub: set_rules(db, "TP", enabled=False),
        {},
    ),
    ("unknown area", 404, "unknown_service", None, {"service": "NOPE"}),
    ("absurd date", 400, "bad_request", None, {"day": date(1899, 12, 31)}),
]


@pytest.mark.parametrize(
    ("status", "code", "setup", "change"),
    [r[1:] for r in REFUSALS],
    ids=[r[0] for r in REFUSALS],
)
def test_every_refusal_has_its_code_and_says_why_in_both_languages(
    pub: Public,
    db: Database,
    status: int,
    code: str,
    setup: Callable[..., Any] | None,
    change: dict[str, Any],
) -> None:
    if setup is not None:
        setup(db, pub)
    with db.read() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(Booking))
    got, body = pub.book(**change)
    assert (got, body["error"]["code"]) == (status, code), body
    vi = body["error"]["message"]
    assert body["error"]["message_vi"] == vi
    got, body = pub.book(**change, lang="en")
    en = body["error"]["message"]
    assert vi != en and vi and en and body["error"]["message_en"] == en
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Booking)) == before


def test_check_in_refusals(pub: Public, tokens: Callable[[str], str], clock: Any) -> None:
    kiosk = tokens("kiosk")
    code = pub.book(slot="09:00")[1]["booking"]["code"]
    status, body = pub.check_in(kiosk, code=code)
    assert (status, body["error"]["code"]) == (409, "check_in_too_early")
    assert body["error"]["details"]["come_back"] == "08:45" and "08:45" in body["error"]["message"]
    status, body = pub.check_in(kiosk, code="ZZZZZZ")
    assert (status, body["error"]["code"]) == (404, "unknown_booking")
    tomorrow = pub.book(slot="09:00", day=TODAY + timedelta(days=1))[1]["booking"]["code"]
    status, body = pub.check_in(kiosk, code=tomorrow)
    assert (status, body["error"]["code"]) == (409, "check_in_other_day")
    assert pub.delete(code)[0] == 200
    status, body = pub.check_in(kiosk, code=code)
    assert (status, body["error"]["code"]) == (409, "booking_not_active")


def test_cancel_by_code_twice_and_not_once_checked_in(
    pub: Public, tokens: Callable[[str], str]
) -> None:
    code = pub.book(slot="08:15")[1]["booking"]["code"]
    status, body = pub.delete(code)
    assert status == 200 and body["booking"]["state"] == "cancelled"
    assert pub.delete(code)[1]["booking"]["state"] == "cancelled"
    assert pub.delete("ZZZZZZ")[0] == 404
    other = pub.book(slot="08:15", phone="0987654321")[1]["booking"]["code"]
    assert pub.check_in(tokens("kiosk"), code=other)[0] == 201
    status, body = pub.delete(other)
    assert (status, body["error"]["code"]) == (409, "booking_not_active")


def test_a_retried_booking_with_its_key_is_the_same_booking(pub: Public, db: Database) -> None:
    first = pub.book(key="retry-key-0001")
    again = pub.book(key="retry-key-0001")
    assert first[0] == 201 and again[0] == 200
    assert pub.last.headers["Idempotent-Replayed"] == "true"
    assert first[1]["booking"]["code"] == again[1]["booking"]["code"]
    assert pub.book(key="retry-key-0001", slot="09:00")[0] == 422  # another request, same key
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_booking_is_rate_limited_per_address_and_per_phone(pub: Public, app: Any) -> None:
    app.config["LAYSO_RATE_BOOK"] = 2
    assert pub.book(slot="08:15", phone="0911111111", addr="10.0.0.7")[0] == 201
    assert pub.book(slot="08:15", phone="0922222222", addr="10.0.0.7")[0] == 201
    status, body = pub.book(slot="08:30", phone="0933333333", addr="10.0.0.7")
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert int(pub.last.headers["Retry-After"]) >= 1
    app.config["LAYSO_RATE_BOOK"] = 100
    app.config["LAYSO_RATE_BOOK_PHONE"] = 2
    for n, addr in enumerate(["10.0.1.1", "10.0.1.2"]):
        pub.book(slot="09:00", day=TODAY + timedelta(days=n + 1), phone="0944444444", addr=addr)
    status, body = pub.book(
        slot="09:00", day=TODAY + timedelta(days=3), phone="0944444444", addr="10.0.1.3"
    )
    assert status == 429


def test_the_booking_pages_and_the_qr(pub: Public, client: Any) -> None:
    for path in ("/dat-lich", "/book", "/dat-lich/demo", "/book/demo"):
        r = client.get(path)
        assert r.status_code == 200 and 'data-hall="demo"' in r.get_data(as_text=True)
    assert client.get("/dat-lich/nope").status_code == 404
    assert "/dat-lich" in client.get("/").get_data(as_text=True)
    code = pub.book()[1]["booking"]["code"]
    page = client.get(f"/dat-lich/ma/{code.lower()}").get_data(as_text=True)
    assert code in page and "091****678" in page and "0912345678" not in page
    assert "Đã đặt" in page and 'id="bk-cancel"' in page
    qr = client.get(f"/dat-lich/ma/{code}/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert client.get("/dat-lich/ma/ZZZZZZ").status_code == 404
