"""Managers' side of bookings: slot templates per area, closures (holidays), booking rules, the
day's bookings with their state (phone and ID masked), and the merge rule in words.

Each change validates its whole input first (bad input changes nothing), then is audited and
announced (``config.changed`` {"what": "bookings"}), like the rest of the configuration. The
booking logic itself is :mod:`layso.services.bookings`.
"""

from __future__ import annotations

from collections import Counter as Tally
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import BookingState, Closure, Hall, Service, SlotTemplate, User
from layso.services import bookings
from layso.services.common import get_service
from layso.services.config.validation import (
    HHMM,
    audit_and_announce,
    bad,
    reject_unknown,
    text_field,
)

WHAT = "bookings"
STATES = [s.value for s in BookingState]
# a rule's bounds (inclusive) and its Vietnamese label
RULE_BOUNDS: dict[str, tuple[int, int, str]] = {
    "days_ahead": (0, 60, "Đặt trước tối đa (ngày)"),
    "per_person_day": (1, 20, "Số lượt mỗi người mỗi ngày"),
    "per_person_area_day": (1, 20, "Số lượt mỗi người mỗi lĩnh vực mỗi ngày"),
    "walk_in_reserve": (0, 999, "Số dành cho người đến trực tiếp"),
    "checkin_before_min": (0, 240, "Xác nhận sớm nhất (phút trước giờ hẹn)"),
    "checkin_after_min": (0, 240, "Xác nhận muộn nhất (phút sau giờ hẹn)"),
    "lead_min": (0, 120, "Gọi trước giờ hẹn (phút)"),
    "retention_days": (1, 3650, "Giữ dữ liệu cá nhân (ngày)"),
}
RULE_FLAGS = ("enabled", "remote_numbers", "require_id")


def _audit(
    session: Session,
    hall: Hall,
    user: User | None,
    action: str,
    detail: dict[str, Any],
    now: datetime,
) -> None:
    audit_and_announce(session, hall, user, action, detail, WHAT, now, audience="managers")


# --- slot templates ----------------------------------------------------------------------------


def template_view(t: SlotTemplate) -> dict[str, Any]:
    return {
        "id": t.id,
        "service": t.service.code,
        "weekdays": list(t.weekdays),
        "start": t.start,
        "end": t.end,
        "slot_min": t.slot_min,
        "capacity": t.capacity,
        "active": t.active,
    }


def _template_fields(data: dict[str, Any], current: SlotTemplate | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "weekdays" in data or current is None:
        days = data.get("weekdays")
        if (
            not isinstance(days, list)
            or not days
            or len(set(days)) != len(days)
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)
        ):
            raise bad(
                "Chọn các ngày trong tuần (0 = Thứ Hai … 6 = Chủ nhật), mỗi ngày một lần.",
                "weekdays: a list of days 0–6 (0 = Monday), each once.",
            )
        out["weekdays"] = sorted(days)
    for key in ("start", "end"):
        if key in data or current is None:
            value = data.get(key)
            if not isinstance(value, str) or not HHMM.match(value):
                raise bad(f"'{key}' phải là giờ dạng HH:MM.", f"'{key}' must be a time HH:MM.")
            out[key] = value
    start = out.get("start", current.start if current else None)
    end = out.get("end", current.end if current else None)
    if start is not None and end is not None and start >= end:
        raise bad("Giờ bắt đầu phải trước giờ kết thúc.", "The start must be before the end.")
    for key, lo, hi, label in (
        ("slot_min", 5, 240, "Độ dài mỗi khung (phút)"),
        ("capacity", 1, 100, "Số lượt mỗi khung"),
    ):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise bad(
                    f"'{label}' ({key}) phải là số nguyên từ {lo} đến {hi}.",
                    f"'{key}' must be a whole number from {lo} to {hi}.",
                )
            out[key] = value
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise bad("'active' phải là true hoặc false.", "'active' must be true or false.")
        out["active"] = data["active"]
    return out


def add_template(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> dict[str, Any]:
    reject_unknown(data, {"service", "weekdays", "start", "end", "slot_min", "capacity", "active"})
    code = data.get("service")
    if not isinstance(code, str) or not code:
        raise bad("Cần chọn lĩnh vực (service).", "'service' must be an area code.")
    service = get_service(session, hall, code)
    values = _template_fields(data, None)
    t = SlotTemplate(hall_id=hall.id, service_id=service.id, **values)
    t.service = service
    session.add(t)
    session.flush()
    _audit(session, hall, user, "config.slot_template.add", template_view(t), now)
    return template_view(t)


def _template(session: Session, hall: Hall, template_id: int) -> SlotTemplate:
    t = session.get(SlotTemplate, template_id)
    if t is None or t.hall_id != hall.id:
        raise errors.NotFound(vi="Không tìm thấy khung giờ.", en="No such slot template.")
    return t


def update_template(
    session: Session,
    hall: Hall,
    template_id: int,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> dict[str, Any]:
    t = _template(session, hall, template_id)
    reject_unknown(data, {"weekdays", "start", "end", "slot_min", "capacity", "active"})
    values = _template_fields(data, t)
    changed = {}
    for key, value in values.items():
        if getattr(t, key) != value:
            changed[key] = [getattr(t, key), value]
            setattr(t, key, value)
    if changed:
        _audit(session, hall, user, "config.slot_template.update", {"id": t.id, **changed}, now)
    return template_view(t)


def delete_template(
    session: Session, hall: Hall, template_id: int, *, user: User | None, now: datetime
) -> None:
    """Remove a template (bookings already made keep their slot)."""
    t = _template(session, hall, template_id)
    view = template_view(t)
    session.delete(t)
    _audit(session, hall, user, "config.slot_template.delete", view, now)


# --- closures ----------------------------------------------------------------------------------


def closure_view(c: Closure, codes: dict[int, str]) -> dict[str, Any]:
    return {
        "id": c.id,
        "day": c.day.isoformat(),
        "service": codes.get(c.service_id) if c.service_id else None,
        "reason": c.reason,
        "reason_en": c.reason_en,
    }


def _codes(session: Session, hall: Hall) -> dict[int, str]:
    return dict(
        session.execute(sa.select(Service.id, Service.code).where(Service.hall_id == hall.id)).all()
    )


def parse_day(value: Any, key: str = "day") -> date:
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError
        day = date.fromisoformat(value)
    except ValueError:
        raise bad(
            f"'{key}' phải là ngày dạng YYYY-MM-DD.", f"'{key}' must be a date YYYY-MM-DD."
        ) from None
    if not 2000 <= day.year <= 2100:
        raise bad(f"'{key}' phải trong các năm 2000–2100.", f"'{key}' must be in 2000–2100.")
    return day


def add_closure(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> dict[str, Any]:
    """A day without bookings, for the hall (no service) or one area; once per day and area."""
    reject_unknown(data, {"day", "service", "reason", "reason_en"})
    day = parse_day(data.get("day"))
    code = data.get("service")
    if code is not None and not isinstance(code, str):
        raise bad("'service' phải là mã lĩnh vực.", "'service' must be an area code.")
    service = get_service(session, hall, code) if code else None
    reason = text_field(data, "reason", "Lý do", lo=0, hi=200) or ""
    reason_en = text_field(data, "reason_en", "Lý do (tiếng Anh)", lo=0, hi=200) or ""
    same = session.scalar(
        sa.select(Closure.id).where(
            Closure.hall_id == hall.id,
            Closure.day == day,
            Closure.service_id.is_(None) if service is None else Closure.service_id == service.id,
        )
    )
    if same is not None:
        raise errors.Conflict(
            vi="Ngày này đã được đánh dấu nghỉ.", en="This day is already closed."
        )
    c = Closure(
        hall_id=hall.id,
        service_id=service.id if service else None,
        day=day,
        reason=reason,
        reason_en=reason_en,
    )
    session.add(c)
    session.flush()
    view = closure_view(c, _codes(session, hall))
    _audit(session, hall, user, "config.closure.add", view, now)
    return view


def delete_closure(
    session: Session, hall: Hall, closure_id: int, *, user: User | None, now: datetime
) -> None:
    c = session.get(Closure, closure_id)
    if c is None or c.hall_id != hall.id:
        raise errors.NotFound(vi="Không tìm thấy ngày nghỉ.", en="No such closure.")
    view = closure_view(c, _codes(session, hall))
    session.delete(c)
    _audit(session, hall, user, "config.closure.delete", view, now)


# --- rules -------------------------------------------------------------------------------------


def rules_view(session: Session, hall: Hall) -> dict[str, Any]:
    """The hall's effective rules and each area's (with the fields the area sets itself)."""
    from layso.models import BookingRule

    own = {
        r.service_id: {k: getattr(r, k) for k in bookings.RULE_FIELDS if getattr(r, k) is not None}
        for r in session.scalars(sa.select(BookingRule).where(BookingRule.hall_id == hall.id))
    }
    areas = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id).order_by(Service.position, Service.id)
    ).all()
    return {
        "hall": {**vars(bookings.rules_for(session, hall, None)), "own": own.get(None, {})},
        "areas": [
            {
                "service": s.code,
                "name": s.name,
                "target_wait_min": s.target_wait_min,
                **vars(bookings.rules_for(session, hall, s)),
                "own": own.get(s.id, {}),
            }
            for s in areas
        ],
    }


def update_rules(
    session: Session,
    hall: Hall,
    service_code: str | None,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> dict[str, Any]:
    """Set rules of the hall (no service) or of one area; null clears an area's own value
    (it follows the hall again) or the hall's (the default)."""
    reject_unknown(data, set(RULE_BOUNDS) | set(RULE_FLAGS))
    service = get_service(session, hall, service_code) if service_code else None
    values: dict[str, Any] = {}
    for key, value in data.items():
        if value is None:
            values[key] = None
        elif key in RULE_FLAGS:
            if not isinstance(value, bool):
                raise bad(f"'{key}' phải là true hoặc false.", f"'{key}' must be true or false.")
            values[key] = value
        else:
            lo, hi, label = RULE_BOUNDS[key]
            if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
                raise bad(
                    f"'{label}' ({key}) phải là số nguyên từ {lo} đến {hi}.",
                    f"'{key}' must be a whole number from {lo} to {hi}.",
                )
            values[key] = value
    if values:
        bookings.set_rules(session, hall, service, **values)
        _audit(
            session,
            hall,
            user,
            "config.booking_rules",
            {"service": service.code if service else None, **values},
            now,
        )
    return rules_view(session, hall)


# --- the merge rule in words ----------------------------------------------------------------


def merge_rule_words(session: Session, hall: Hall) -> dict[str, Any]:
    """How booked tickets are called against walk-ins, said plainly, with this hall's numbers
    (the rule itself: :mod:`layso.services.next_ticket`)."""
    rules = rules_view(session, hall)
    h = rules["hall"]
    vi = [
        f"Người đặt lịch phải xác nhận tại máy lấy số từ {h['checkin_before_min']} phút trước "
        f"đến {h['checkin_after_min']} phút sau giờ hẹn; xác nhận muộn hơn thì được cấp số như "
        "người đến trực tiếp.",
        f"Số của người đặt lịch được gọi từ {h['lead_min']} phút trước giờ hẹn; trước đó số "
        "chờ và không được gọi.",
        "Khi đã đến giờ, người đặt lịch được gọi trước người đến trực tiếp cùng nhóm (ưu tiên "
        "hoặc thường) — trừ khi người đến trực tiếp đã chờ quá thời gian chờ tối đa của lĩnh "
        "vực: khi đó người đến trực tiếp được gọi trước.",
        "Nhóm ưu tiên (người cao tuổi, người khuyết tật, …) vẫn theo chính sách ưu tiên của "
        "đơn vị. Số lấy từ xa trong ngày được xếp như người đến trực tiếp, giữ chỗ từ lúc lấy "
        "số nhưng không quá thời gian chờ tối đa của lĩnh vực.",
    ]
    en = [
        f"A booking is checked in at the kiosk from {h['checkin_before_min']} min before to "
        f"{h['checkin_after_min']} min after its time; later, it gets a walk-in number.",
        f"A booked ticket can be called from {h['lead_min']} min before its time; until then "
        "it waits and is not called.",
        "Once callable, it goes before walk-ins of the same class (priority or ordinary) — unless "
        "a walk-in has waited longer than the area's target wait: that walk-in goes first.",
        "Priority classes (elderly, disabled, …) keep the hall's priority policy. A remote number "
        "for today queues as a walk-in that keeps its place from when it was taken, but never "
        "more than the area's target wait ahead.",
    ]
    areas = [
        {
            "service": a["service"],
            "name": a["name"],
            "lead_min": a["lead_min"],
            "checkin_before_min": a["checkin_before_min"],
            "checkin_after_min": a["checkin_after_min"],
            "target_wait_min": a["target_wait_min"],
        }
        for a in rules["areas"]
    ]
    return {"vi": vi, "en": en, "areas": areas}


# --- the whole set-up, and a day's bookings -----------------------------------------------


def setup_view(session: Session, hall: Hall) -> dict[str, Any]:
    codes = _codes(session, hall)
    templates = session.scalars(
        sa.select(SlotTemplate).where(SlotTemplate.hall_id == hall.id).order_by(SlotTemplate.id)
    )
    closures = session.scalars(
        sa.select(Closure).where(Closure.hall_id == hall.id).order_by(Closure.day, Closure.id)
    )
    return {
        "rules": rules_view(session, hall),
        "templates": [template_view(t) for t in templates],
        "closures": [closure_view(c, codes) for c in closures],
        "merge_rule": merge_rule_words(session, hall),
    }


def day_view(session: Session, hall: Hall, day: date, service_code: str | None) -> dict[str, Any]:
    """A day's bookings with their state, phone and ID masked, and counts per state."""
    service = get_service(session, hall, service_code) if service_code else None
    rows = bookings.day_bookings(session, hall, day, service)
    tally = Tally(b.state.value for b in rows)
    return {
        "date": day.isoformat(),
        "service": service.code if service else None,
        "bookings": [bookings.public(hall, b) for b in rows],
        "counts": {s: tally.get(s, 0) for s in STATES},
    }
