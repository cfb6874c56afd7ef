"""Managers' bookings: slot templates, closures and rules (validated, audited), the merge rule in
words, the day's bookings with their state (phone and ID masked), CSV/XLSX, no-show rate."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from layso.models import AuditEntry, Booking, BookingState, Event, SlotTemplate
from layso.services import bookings as bk
from layso.services.common import get_hall

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

TODAY = date(2026, 11, 21)
KEY = "test-id-key"


def book(db: Any, clock: Any, phone: str, slot: str | None = "08:30", **kw: Any) -> str:
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        b = bk.book(
            s,
            hall,
            service_code=kw.pop("service", "TP"),
            day=kw.pop("day", TODAY),
            slot=slot,
            phone=phone,
            id_key=KEY,
            now=clock(),
            **kw,
        )
        return b.code


def patch(api: Any, path: str, token: str, body: Any) -> tuple[int, Any]:
    r = api.client.patch(
        f"/api/v1/halls/demo/{path}", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    return r.status_code, r.get_json()


def delete(api: Any, path: str, token: str) -> tuple[int, Any]:
    r = api.client.delete(
        f"/api/v1/halls/demo/{path}", headers={"Authorization": f"Bearer {token}"}
    )
    return r.status_code, r.get_json()


def audits(db: Any) -> list[str]:
    with db.read() as s:
        return list(s.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_setup_shows_rules_templates_closures_and_the_merge_rule_in_words(
    api: Any, tokens: Callable
) -> None:
    status, body = api.get("config/bookings", tokens("manager"))

    assert status == 200
    assert {t["service"] for t in body["templates"]} == {"TP", "CT"}
    assert body["closures"] == []
    assert body["rules"]["hall"]["remote_numbers"] is True
    tp = next(a for a in body["rules"]["areas"] if a["service"] == "TP")
    assert tp["lead_min"] == 5 and tp["target_wait_min"] == 15
    words = body["merge_rule"]
    assert any("5 phút trước giờ hẹn" in line for line in words["vi"])
    assert any("thời gian chờ tối đa" in line for line in words["vi"])
    assert any("target wait" in line for line in words["en"])
    assert api.get("config/bookings", tokens("clerk1"))[0] == 403


def test_slot_templates_are_added_changed_and_removed_with_an_audit(
    api: Any, tokens: Callable, db: Any
) -> None:
    manager = tokens("manager")
    status, body = api.post(
        "config/bookings/templates",
        manager,
        {"service": "DD", "weekdays": [0, 2, 4], "start": "08:00", "end": "10:00", "capacity": 3},
    )
    assert status == 201
    t = body["template"]
    assert (t["service"], t["weekdays"], t["slot_min"], t["capacity"]) == ("DD", [0, 2, 4], 15, 3)

    status, body = patch(api, f"config/bookings/templates/{t['id']}", manager, {"capacity": 5})
    assert status == 200 and body["template"]["capacity"] == 5
    assert delete(api, f"config/bookings/templates/{t['id']}", manager) == (
        200,
        {"deleted": t["id"]},
    )
    assert delete(api, f"config/bookings/templates/{t['id']}", manager)[0] == 404
    assert audits(db)[-3:] == [
        "config.slot_template.add",
        "config.slot_template.update",
        "config.slot_template.delete",
    ]
    with db.read() as s:
        what = s.scalars(sa.select(Event).where(Event.name == "config.changed")).all()
    assert [e.payload["what"] for e in what][-3:] == ["bookings"] * 3


@pytest.mark.parametrize(
    "body",
    [
        {"service": "TP", "weekdays": [7], "start": "08:00", "end": "09:00"},
        {"service": "TP", "weekdays": [], "start": "08:00", "end": "09:00"},
        {"service": "TP", "weekdays": [1, 1], "start": "08:00", "end": "09:00"},
        {"service": "TP", "weekdays": [1], "start": "09:00", "end": "08:00"},
        {"service": "TP", "weekdays": [1], "start": "8h", "end": "09:00"},
        {"service": "TP", "weekdays": [1], "start": "08:00", "end": "09:00", "capacity": 0},
        {"service": "TP", "weekdays": [1], "start": "08:00", "end": "09:00", "slot_min": True},
        {"service": "TP", "weekdays": [1], "start": "08:00", "end": "09:00", "colour": "red"},
        {"service": "NOPE", "weekdays": [1], "start": "08:00", "end": "09:00"},
    ],
)
def test_a_bad_slot_template_is_refused_and_changes_nothing(
    api: Any, tokens: Callable, db: Any, body: dict[str, Any]
) -> None:
    with db.read() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(SlotTemplate))
    status, answer = api.post("config/bookings/templates", tokens("manager"), body)
    assert status in (400, 404) and answer["error"]["message"]
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(SlotTemplate)) == before


def test_a_closure_takes_the_day_out_of_booking(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    manager = tokens("manager")
    status, body = api.post(
        "config/bookings/closures",
        manager,
        {"day": "2026-11-23", "reason": "Nghỉ bù", "reason_en": "Day off in lieu"},
    )
    assert status == 201
    closure = body["closure"]
    assert closure == {
        "id": closure["id"],
        "day": "2026-11-23",
        "service": None,
        "reason": "Nghỉ bù",
        "reason_en": "Day off in lieu",
    }
    assert api.post("config/bookings/closures", manager, {"day": "2026-11-23"})[0] == 409
    assert api.post("config/bookings/closures", manager, {"day": "23/11/2026"})[0] == 400
    with pytest.raises(Exception) as refused:
        book(db, clock, "0912345678", day=date(2026, 11, 23))
    assert getattr(refused.value, "code", "") == "day_closed"

    assert delete(api, f"config/bookings/closures/{closure['id']}", manager)[0] == 200
    assert book(db, clock, "0912345678", day=date(2026, 11, 23))
    assert "config.closure.add" in audits(db) and "config.closure.delete" in audits(db)


def test_rules_change_for_the_hall_or_one_area_and_the_words_follow(
    api: Any, tokens: Callable
) -> None:
    manager = tokens("manager")
    status, body = patch(
        api, "config/bookings/rules", manager, {"lead_min": 10, "checkin_after_min": 5}
    )
    assert status == 200 and body["rules"]["hall"]["lead_min"] == 10
    status, body = patch(api, "config/bookings/rules?service=TP", manager, {"lead_min": 3})
    tp = next(a for a in body["rules"]["areas"] if a["service"] == "TP")
    ct = next(a for a in body["rules"]["areas"] if a["service"] == "CT")
    assert (tp["lead_min"], tp["own"], ct["lead_min"]) == (3, {"lead_min": 3}, 10)
    words = api.get("config/bookings", manager)[1]["merge_rule"]
    assert any("10 phút trước giờ hẹn" in line for line in words["vi"])
    assert next(a for a in words["areas"] if a["service"] == "TP")["lead_min"] == 3
    # null: the area follows the hall again
    body = patch(api, "config/bookings/rules?service=TP", manager, {"lead_min": None})[1]
    assert next(a for a in body["rules"]["areas"] if a["service"] == "TP")["lead_min"] == 10
    for bad in ({"lead_min": -1}, {"lead_min": "5"}, {"enabled": 1}, {"colour": 1}):
        assert patch(api, "config/bookings/rules", manager, bad)[0] == 400


def test_the_days_bookings_show_their_state_with_phone_and_id_masked(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    first = book(db, clock, "0912345678", "08:30")
    second = book(db, clock, "0987654321", "09:00", id_number="001099012789")
    third = book(db, clock, "0933333333", "09:15")
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        bk.cancel(s, hall, bk.find(s, hall, third), now=clock())
    clock.set_local("2026-11-21T08:20:00")
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        bk.check_in(s, hall, code=first, now=clock())

    status, body = api.get("reports/bookings", tokens("manager"))

    assert status == 200 and body["date"] == "2026-11-21"
    rows = {b["code"]: b for b in body["bookings"]}
    assert (rows[first]["state"], rows[second]["state"], rows[third]["state"]) == (
        "checked_in",
        "booked",
        "cancelled",
    )
    assert rows[first]["phone"] == "091****678" and rows[first]["ticket"]
    assert rows[second]["id_number"] == "*********789"
    assert body["counts"] == {
        "booked": 1,
        "checked_in": 1,
        "called": 0,
        "served": 0,
        "no_show": 0,
        "cancelled": 1,
    }
    text = str(body)
    assert "0912345678" not in text and "001099012789" not in text
    assert api.get("reports/bookings?service=CT", tokens("manager"))[1]["bookings"] == []
    assert api.get("reports/bookings?date=2026-11-22", tokens("manager"))[1]["bookings"] == []
    assert api.get("reports/bookings?date=tomorrow", tokens("manager"))[0] == 400
    assert api.get("reports/bookings", tokens("clerk1"))[0] == 403


def test_the_days_bookings_export_as_csv_and_xlsx_masked(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    code = book(db, clock, "0912345678", "08:30")
    auth = {"Authorization": f"Bearer {tokens('manager')}"}

    r = api.client.get("/api/v1/halls/demo/reports/bookings?format=csv", headers=auth)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    lines = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert lines[0][0] == "Mã đặt lịch / Booking code"
    assert lines[1][0] == code and "091****678" in lines[1] and "0912345678" not in r.data.decode()

    r = api.client.get("/api/v1/halls/demo/reports/bookings?format=xlsx", headers=auth)
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.data)).active
    assert ws is not None and ws.title == "Dat lich"
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[1][0] == code and "091****678" in values[1]
    assert (
        api.client.get("/api/v1/halls/demo/reports/bookings?format=pdf", headers=auth).status_code
        == 400
    )


def test_the_summary_reports_the_no_show_rate_of_bookings(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    codes = [
        book(db, clock, f"09{i}1234567", slot)
        for i, slot in enumerate(["08:30", "08:30", "09:00", "09:00", "09:15"])
    ]
    states = ["served", "no_show", "no_show", "cancelled", "booked"]
    with db.write() as s:
        for code, state in zip(codes, states, strict=True):
            s.scalars(sa.select(Booking).where(Booking.code == code)).one().state = BookingState(
                state
            )

    status, body = api.get("reports/summary", tokens("manager"))

    assert status == 200
    assert body["bookings"] == {
        "total": 5,
        "by_state": {
            "booked": 1,
            "checked_in": 0,
            "called": 0,
            "served": 1,
            "no_show": 2,
            "cancelled": 1,
        },
        "no_show": 2,
        "no_show_rate": round(2 / 3, 4),
    }
    other = api.get("reports/summary?from=2026-11-20&to=2026-11-20", tokens("manager"))[1]
    assert other["bookings"]["total"] == 0 and other["bookings"]["no_show_rate"] is None
