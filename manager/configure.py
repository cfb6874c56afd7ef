"""The hall's configuration: areas, counters, users, devices, notices and the hall itself.

Plain functions over a Session (no Flask). Each change is validated completely before anything
is touched (bad input changes nothing), writes an AuditEntry, and appends a `config.changed`
event {"what": ...} so that open screens (kiosk, display, counters) reload what changed.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import (
    Counter,
    CounterService,
    DailyNumber,
    Device,
    DeviceKind,
    Hall,
    Notice,
    PriorityPolicy,
    PriorityReason,
    Procedure,
    Role,
    Service,
    User,
)
from layso.services import accounts
from layso.services.common import (
    business_date,
    counter_changed,
    get_counter,
    iso,
    record,
)
from layso.services.counters import close_counter
from layso.voice import validate_template

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
PREFIX = re.compile(r"^[A-Z]{0,5}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_PROCEDURES = 300
MAX_ID = 2**53  # beyond any row id; a bigger number would overflow the database's integer
DEVICE_PAGES = {
    "kiosk": "/kiosk",
    "display": "/display",
    "counter-display": "/counter-display",
    "rating-pad": "/rating",
}


def _literal(text: str) -> str:
    """LaysoError formats its messages with str.format: keep literal braces literal."""
    return text.replace("{", "{{").replace("}", "}}")


def bad(vi: str, en: str) -> errors.LaysoError:
    return errors.BadRequest(vi=_literal(vi), en=_literal(en))


# --- field checks ----------------------------------------------------------------------------


def _text(
    data: dict[str, Any], key: str, label_vi: str, *, lo: int = 0, hi: int = 200
) -> str | None:
    """A stripped string of lo..hi characters, or None when the key is absent."""
    if key not in data:
        return None
    value = data[key]
    if value is None and lo == 0:
        return ""
    if not isinstance(value, str) or not lo <= len(value.strip()) <= hi:
        raise bad(
            f"'{label_vi}' ({key}) phải có từ {lo} đến {hi} ký tự.",
            f"'{key}' must be text of {lo} to {hi} characters.",
        )
    return value.strip()


def _int(
    data: dict[str, Any], key: str, label_vi: str, lo: int, hi: int, *, nullable: bool = False
) -> int | None:
    value = data.get(key)
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise bad(
            f"'{label_vi}' ({key}) phải là số nguyên từ {lo} đến {hi}.",
            f"'{key}' must be a whole number from {lo} to {hi}.",
        )
    return value


def _num(data: dict[str, Any], key: str, label_vi: str, lo: float, hi: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise bad(
            f"'{label_vi}' ({key}) phải là số từ {lo:g} đến {hi:g}.",
            f"'{key}' must be a number from {lo:g} to {hi:g}.",
        )
    return float(value)


def _bool(data: dict[str, Any], key: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        raise bad(f"'{key}' phải là true hoặc false.", f"'{key}' must be true or false.")
    return value


def check_hours(value: Any) -> dict[str, Any] | None:
    """Opening hours {"days": [0..6], "ranges": [["07:30", "11:30"], ...]}, or null."""
    if value is None:
        return None
    msg = bad(
        "Giờ làm việc không hợp lệ: chọn ngày (0 = Thứ Hai … 6 = Chủ nhật) và các khung giờ "
        "dạng HH:MM, giờ bắt đầu trước giờ kết thúc.",
        "Opening hours are {days: [0..6] (0 = Monday), ranges: [[HH:MM, HH:MM], ...]} with "
        "each range starting before it ends.",
    )
    if not isinstance(value, dict) or set(value) - {"days", "ranges"}:
        raise msg
    days = value.get("days", list(range(7)))
    ranges = value.get("ranges", [])
    if (
        not isinstance(days, list)
        or not all(isinstance(d, int) and not isinstance(d, bool) and 0 <= d <= 6 for d in days)
        or len(set(days)) != len(days)
        or not isinstance(ranges, list)
        or not 1 <= len(ranges) <= 6
    ):
        raise msg
    out = []
    for r in ranges:
        if (
            not isinstance(r, list | tuple)
            or len(r) != 2
            or not all(isinstance(x, str) and HHMM.match(x) for x in r)
            or time.fromisoformat(r[0]) >= time.fromisoformat(r[1])
        ):
            raise msg
        out.append([r[0], r[1]])
    return {"days": sorted(days), "ranges": sorted(out)}


def _audit_and_announce(
    session: Session,
    hall: Hall,
    user: User | None,
    action: str,
    detail: dict[str, Any],
    what: str,
    now: datetime,
    *,
    audience: str = "hall",
) -> None:
    accounts.audit(
        session,
        hall=hall,
        user_id=user.id if user else None,
        action=action,
        detail=detail,
        now=now,
    )
    record(session, hall, "config.changed", {"what": what}, now=now, user=user, audience=audience)


def _changes(obj: Any, new: dict[str, Any]) -> dict[str, Any]:
    """Apply new values; return {field: [old, new]} for those that changed."""
    changed = {}
    for key, value in new.items():
        old = getattr(obj, key)
        old_plain = old.value if isinstance(old, enum.Enum) else old
        new_plain = value.value if isinstance(value, enum.Enum) else value
        if old_plain != new_plain:
            changed[key] = [old_plain, new_plain]
            setattr(obj, key, value)
    return changed


# --- the hall --------------------------------------------------------------------------------

DEFAULT_LABELS = {
    # the state's official evaluation of public services uses these three levels
    3: [
        {"vi": "Rất hài lòng", "en": "Very satisfied"},
        {"vi": "Hài lòng", "en": "Satisfied"},
        {"vi": "Không hài lòng", "en": "Dissatisfied"},
    ],
    4: [
        {"vi": "Rất hài lòng", "en": "Very satisfied"},
        {"vi": "Hài lòng", "en": "Satisfied"},
        {"vi": "Bình thường", "en": "Neutral"},
        {"vi": "Không hài lòng", "en": "Dissatisfied"},
    ],
    5: [
        {"vi": "Rất hài lòng", "en": "Very satisfied"},
        {"vi": "Hài lòng", "en": "Satisfied"},
        {"vi": "Bình thường", "en": "Neutral"},
        {"vi": "Không hài lòng", "en": "Dissatisfied"},
        {"vi": "Rất không hài lòng", "en": "Very dissatisfied"},
    ],
}


def hall_dict(hall: Hall) -> dict[str, Any]:
    return {
        "slug": hall.slug,
        "name": hall.name,
        "name_en": hall.name_en,
        "timezone": hall.timezone,
        "hours": hall.hours,
        "priority_policy": hall.priority_policy.value,
        "priority_interleave": hall.priority_interleave,
        "priority_weight": hall.priority_weight,
        "voice_template": hall.voice_template,
        "rating_scale": hall.rating_scale,
        "rating_labels": hall.rating_labels or DEFAULT_LABELS.get(hall.rating_scale),
        "rating_labels_default": hall.rating_labels is None,
        "satisfaction_target": hall.satisfaction_target,
        "greeting": hall.greeting,
        "ticket_footer": hall.ticket_footer,
    }


def _labels(value: Any, scale: int) -> list[dict[str, str]] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != scale:
        raise bad(
            f"Cần đúng {scale} nhãn đánh giá (từ tốt nhất đến kém nhất).",
            f"Give exactly {scale} rating labels, best first.",
        )
    out = []
    for item in value:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("vi"), str)
            or not 1 <= len(item["vi"].strip()) <= 60
            or not isinstance(item.get("en", ""), str)
            or len(item.get("en", "")) > 60
        ):
            raise bad(
                "Mỗi nhãn đánh giá cần tiếng Việt (1–60 ký tự) và tiếng Anh (tối đa 60).",
                "Each rating label needs 'vi' (1-60 characters) and 'en' (up to 60).",
            )
        out.append({"vi": item["vi"].strip(), "en": item.get("en", "").strip()})
    return out


def update_hall(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> dict[str, Any]:
    """Change the hall's settings; only the keys given change."""
    known = {
        "name",
        "name_en",
        "timezone",
        "hours",
        "priority_policy",
        "priority_interleave",
        "priority_weight",
        "voice_template",
        "rating_scale",
        "rating_labels",
        "satisfaction_target",
        "greeting",
        "ticket_footer",
    }
    _unknown(data, known)
    new: dict[str, Any] = {}
    for key, label, lo, hi in (
        ("name", "Tên đơn vị", 1, 200),
        ("name_en", "Tên tiếng Anh", 0, 200),
        ("greeting", "Lời chào", 0, 300),
        ("ticket_footer", "Chân phiếu", 0, 200),
    ):
        value = _text(data, key, label, lo=lo, hi=hi)
        if value is not None:
            new[key] = value
    if "timezone" in data:
        zone = data["timezone"]
        try:
            if not isinstance(zone, str) or not zone or len(zone) > 64:
                raise ValueError
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise bad(
                "Múi giờ không hợp lệ (ví dụ: Asia/Ho_Chi_Minh).",
                "Unknown time zone (e.g. Asia/Ho_Chi_Minh).",
            ) from None
        new["timezone"] = zone
    if "hours" in data:
        new["hours"] = check_hours(data["hours"])
    if "priority_policy" in data:
        try:
            new["priority_policy"] = PriorityPolicy(data["priority_policy"])
        except ValueError:
            raise bad(
                "Chính sách ưu tiên phải là strict, interleaved hoặc weighted.",
                "The priority policy must be strict, interleaved or weighted.",
            ) from None
    if "priority_interleave" in data:
        new["priority_interleave"] = _int(data, "priority_interleave", "Xen kẽ N", 1, 50)
    if "priority_weight" in data:
        new["priority_weight"] = _num(data, "priority_weight", "Hệ số ưu tiên", 1, 20)
    if "voice_template" in data:
        template = _text(data, "voice_template", "Câu gọi số", lo=1, hi=300) or ""
        try:
            validate_template(template)
        except ValueError as e:
            raise bad(
                "Câu gọi số không hợp lệ: chỉ dùng {số} và {quầy} (mỗi chỗ viết trong ngoặc "
                f"nhọn). Chi tiết: {e}",
                f"The call sentence is not valid: {e}",
            ) from None
        new["voice_template"] = template
    scale = hall.rating_scale
    if "rating_scale" in data:
        scale = _int(data, "rating_scale", "Thang đánh giá", 3, 5) or 4
        new["rating_scale"] = scale
    if "rating_labels" in data:
        new["rating_labels"] = _labels(data["rating_labels"], scale)
    elif scale != hall.rating_scale and hall.rating_labels is not None:
        new["rating_labels"] = None  # the old labels do not fit: back to the scale's defaults
    if "satisfaction_target" in data:
        new["satisfaction_target"] = _num(data, "satisfaction_target", "Mục tiêu hài lòng", 0, 1)
    changed = _changes(hall, new)
    if changed:
        _audit_and_announce(session, hall, user, "config.hall", changed, "hall", now)
    return hall_dict(hall)


def _unknown(data: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise bad(
            f"Trường không hợp lệ: {', '.join(extra)}.",
            f"Unknown field(s): {', '.join(extra)}.",
        )


# --- service areas ---------------------------------------------------------------------------

SERVICE_FIELDS = {
    "code",
    "name",
    "name_en",
    "prefix",
    "first_number",
    "last_number",
    "step",
    "daily_cap",
    "target_wait_min",
    "hours",
    "position",
    "active",
    "procedures",
}


def service_dict(session: Session, hall: Hall, s: Service, now: datetime) -> dict[str, Any]:
    issued = session.scalar(
        sa.select(DailyNumber.issued).where(
            DailyNumber.service_id == s.id,
            DailyNumber.business_date == business_date(hall, now),
        )
    )
    return {
        "code": s.code,
        "name": s.name,
        "name_en": s.name_en,
        "prefix": s.prefix,
        "first_number": s.first_number,
        "last_number": s.last_number,
        "step": s.step,
        "daily_cap": s.daily_cap,
        "target_wait_min": s.target_wait_min,
        "hours": s.hours,
        "position": s.position,
        "active": s.active,
        "procedures": [p.name for p in s.procedures],
        "issued_today": issued or 0,
    }


def _service_values(data: dict[str, Any], current: Service | None) -> dict[str, Any]:
    """Validate an area's fields (all required when adding, any subset when editing)."""
    _unknown(data, SERVICE_FIELDS)
    adding = current is None
    new: dict[str, Any] = {}
    if adding or "code" in data:
        code = data.get("code")
        code = code.strip().upper() if isinstance(code, str) else code
        if not isinstance(code, str) or not CODE.match(code):
            raise bad(
                "Mã lĩnh vực gồm 1–20 chữ cái in hoa không dấu, chữ số, '-' hoặc '_'.",
                "An area code is 1-20 letters A-Z, digits, '-' or '_'.",
            )
        new["code"] = code
    if adding or "name" in data:
        new["name"] = _text({"name": data.get("name")}, "name", "Tên lĩnh vực", lo=1, hi=200)
    if "name_en" in data:
        new["name_en"] = _text(data, "name_en", "Tên tiếng Anh", hi=200)
    if "prefix" in data:
        prefix = data["prefix"] if data["prefix"] is not None else ""
        prefix = prefix.strip().upper() if isinstance(prefix, str) else prefix
        if not isinstance(prefix, str) or not PREFIX.match(prefix):
            raise bad(
                "Tiền tố số gồm tối đa 5 chữ cái in hoa không dấu (ví dụ: A).",
                "A number prefix is up to 5 letters A-Z (e.g. A).",
            )
        new["prefix"] = prefix
    first = current.first_number if current else 1
    last = current.last_number if current else 999
    if adding or "first_number" in data:
        first = new["first_number"] = _int(data, "first_number", "Số đầu", 0, 999_999) or 0
    if adding or "last_number" in data:
        last = new["last_number"] = _int(data, "last_number", "Số cuối", 0, 999_999) or 0
    if last <= first:
        raise bad("Số cuối phải lớn hơn số đầu.", "The last number must be greater than the first.")
    if "step" in data:
        new["step"] = _int(data, "step", "Bước nhảy", 1, 1000)
    if "daily_cap" in data:
        new["daily_cap"] = _int(data, "daily_cap", "Giới hạn số/ngày", 1, 100_000, nullable=True)
    if adding or "target_wait_min" in data:
        new["target_wait_min"] = _int(data, "target_wait_min", "Thời gian chờ tối đa", 1, 600)
    if "hours" in data:
        new["hours"] = check_hours(data["hours"])
    if "position" in data:
        new["position"] = _int(data, "position", "Thứ tự", 0, 10_000)
    if "active" in data:
        new["active"] = _bool(data, "active")
    if "procedures" in data:
        procs = data["procedures"]
        if (
            not isinstance(procs, list)
            or len(procs) > MAX_PROCEDURES
            or not all(isinstance(p, str) and len(p.strip()) <= 300 for p in procs)
        ):
            raise bad(
                f"Danh sách thủ tục gồm tối đa {MAX_PROCEDURES} tên, mỗi tên tối đa 300 ký tự.",
                f"Procedures are a list of at most {MAX_PROCEDURES} names of up to 300 characters.",
            )
        seen: list[str] = []
        for p in procs:
            if p.strip() and p.strip() not in seen:
                seen.append(p.strip())
        new["procedures"] = seen
    return new


def _numbering_locked(session: Session, hall: Hall, service: Service, now: datetime) -> bool:
    issued = session.scalar(
        sa.select(DailyNumber.issued).where(
            DailyNumber.service_id == service.id,
            DailyNumber.business_date == business_date(hall, now),
        )
    )
    return bool(issued)


def add_service(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> Service:
    new = _service_values(data, None)
    if session.scalar(
        sa.select(Service.id).where(Service.hall_id == hall.id, Service.code == new["code"])
    ):
        raise errors.Conflict(
            vi=f"Mã lĩnh vực '{new['code']}' đã có.", en=f"Area code '{new['code']}' is taken."
        )
    procedures = new.pop("procedures", [])
    if "position" not in new:
        new["position"] = (
            session.scalar(
                sa.select(sa.func.max(Service.position)).where(Service.hall_id == hall.id)
            )
            or 0
        ) + 1
    service = Service(hall_id=hall.id, **new)
    service.procedures = [Procedure(name=p) for p in procedures]
    session.add(service)
    session.flush()
    _audit_and_announce(
        session,
        hall,
        user,
        "config.service.add",
        {"code": service.code, "name": service.name},
        "services",
        now,
    )
    return service


def update_service(
    session: Session,
    hall: Hall,
    code: str,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> Service:
    service = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id, Service.code == code)
    ).one_or_none()
    if service is None:
        raise errors.UnknownService(service=code)
    new = _service_values(data, service)
    if (
        "code" in new
        and new["code"] != service.code
        and session.scalar(
            sa.select(Service.id).where(Service.hall_id == hall.id, Service.code == new["code"])
        )
    ):
        raise errors.Conflict(
            vi=f"Mã lĩnh vực '{new['code']}' đã có.",
            en=f"Area code '{new['code']}' is taken.",
        )
    numbering = {"prefix", "first_number", "last_number", "step"}
    touched = {k for k in numbering & set(new) if new[k] != getattr(service, k)}
    if touched and _numbering_locked(session, hall, service, now):
        raise errors.Conflict(
            vi="Lĩnh vực này đã cấp số hôm nay: chỉ đổi cách đánh số từ ngày mai "
            "(hoặc khi chưa cấp số nào).",
            en="This area has issued numbers today; its numbering can change only before the "
            "first number of a day.",
        )
    procedures = new.pop("procedures", None)
    changed = _changes(service, new)
    if procedures is not None:
        old = [p.name for p in service.procedures]
        if old != procedures:
            service.procedures = [Procedure(name=p) for p in procedures]
            changed["procedures"] = [len(old), len(procedures)]
    if changed:
        session.flush()
        _audit_and_announce(
            session,
            hall,
            user,
            "config.service.edit",
            {"code": service.code, "changes": changed},
            "services",
            now,
        )
    return service


# --- counters --------------------------------------------------------------------------------


def counter_dict(c: Counter) -> dict[str, Any]:
    return {
        "number": c.number,
        "name": c.name,
        "state": c.state.value,
        "clerk": c.clerk.username if c.clerk else None,
        "services": [link.service.code for link in c.links],
    }


def _counter_services(session: Session, hall: Hall, value: Any) -> list[Service]:
    if (
        not isinstance(value, list)
        or not value
        or len(value) > 50
        or not all(isinstance(v, str) for v in value)
        or len(set(value)) != len(value)
    ):
        raise bad(
            "Chọn ít nhất một lĩnh vực cho quầy (không trùng lặp), theo thứ tự ưu tiên.",
            "Give the counter's areas as a non-empty list of distinct codes, in order.",
        )
    by_code = {
        s.code: s for s in session.scalars(sa.select(Service).where(Service.hall_id == hall.id))
    }
    missing = [v for v in value if v not in by_code]
    if missing:
        raise bad(
            f"Không có lĩnh vực: {', '.join(missing)}.",
            f"Unknown area code(s): {', '.join(missing)}.",
        )
    return [by_code[v] for v in value]


def add_counter(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> Counter:
    _unknown(data, {"number", "name", "services"})
    number = _int(data, "number", "Số quầy", 1, 9999) or 0
    name = _text(data, "name", "Tên quầy", hi=100) or ""
    services = _counter_services(session, hall, data.get("services"))
    if session.scalar(
        sa.select(Counter.id).where(Counter.hall_id == hall.id, Counter.number == number)
    ):
        raise errors.Conflict(vi=f"Quầy số {number} đã có.", en=f"Counter {number} exists.")
    counter = Counter(hall_id=hall.id, number=number, name=name, state_since=now)
    counter.links = [
        CounterService(service_id=s.id, service=s, position=i) for i, s in enumerate(services)
    ]
    session.add(counter)
    session.flush()
    counter_changed(session, hall, counter, now)
    _audit_and_announce(
        session,
        hall,
        user,
        "config.counter.add",
        {"number": number, "name": name, "services": [s.code for s in services]},
        "counters",
        now,
    )
    return counter


def update_counter(
    session: Session,
    hall: Hall,
    number: int,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> Counter:
    _unknown(data, {"name", "services"})
    if not 0 <= number <= 1_000_000:
        raise errors.UnknownCounter(counter=number)
    counter = get_counter(session, hall, number)
    changed: dict[str, Any] = {}
    name = _text(data, "name", "Tên quầy", hi=100)
    services = _counter_services(session, hall, data["services"]) if "services" in data else None
    if name is not None and name != counter.name:
        changed["name"] = [counter.name, name]
        counter.name = name
    if services is not None:
        old = [link.service.code for link in counter.links]
        codes = [s.code for s in services]
        if old != codes:
            changed["services"] = [old, codes]
            for link in list(counter.links):
                counter.links.remove(link)
            session.flush()
            counter.links.extend(
                CounterService(service_id=s.id, service=s, position=i)
                for i, s in enumerate(services)
            )
    if changed:
        session.flush()
        counter_changed(session, hall, counter, now)
        _audit_and_announce(
            session,
            hall,
            user,
            "config.counter.edit",
            {"number": number, "changes": changed},
            "counters",
            now,
        )
    return counter


# --- users -----------------------------------------------------------------------------------


def user_dict(u: User, counters: dict[int, int]) -> dict[str, Any]:
    return {
        "username": u.username,
        "full_name": u.full_name,
        "role": u.role.value,
        "active": u.active,
        "counter": counters.get(u.id),
    }


def list_users(session: Session, hall: Hall) -> list[dict[str, Any]]:
    counters = dict(
        session.execute(
            sa.select(Counter.clerk_id, Counter.number).where(
                Counter.hall_id == hall.id, Counter.clerk_id.is_not(None)
            )
        ).all()
    )
    users = session.scalars(
        sa.select(User).where(User.hall_id == hall.id).order_by(User.role, User.username)
    )
    return [user_dict(u, counters) for u in users]


def _may_manage(actor: User | None, role: str) -> None:
    if role == Role.ADMIN.value and (actor is None or actor.role != Role.ADMIN):
        raise errors.Forbidden(
            vi="Chỉ quản trị hệ thống mới tạo hoặc sửa tài khoản quản trị.",
            en="Only an admin can create or change admin accounts.",
        )


def _hall_user(session: Session, hall: Hall, username: str) -> User:
    user = session.scalars(
        sa.select(User).where(User.hall_id == hall.id, User.username == username)
    ).one_or_none()
    if user is None:
        raise errors.NotFound(
            vi=f"Không có tài khoản '{username}'.", en=f"There is no user '{username}'."
        )
    return user


def add_user(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> User:
    _unknown(data, {"username", "full_name", "role", "password"})
    username = data.get("username")
    username = username.strip().lower() if isinstance(username, str) else ""
    full_name = _text(data, "full_name", "Họ tên", hi=120) or ""
    role = data.get("role")
    if role not in [r.value for r in Role]:
        raise bad(
            "Vai trò phải là clerk (cán bộ), manager (quản lý) hoặc admin.",
            "The role must be clerk, manager or admin.",
        )
    _may_manage(user, role)
    password = data.get("password")
    if not isinstance(password, str):
        raise bad("Thiếu mật khẩu.", "A password is required.")
    created = accounts.add_user(
        session,
        username=username,
        password=password,
        role=role,
        hall=hall,
        full_name=full_name,
        now=now,
    )
    _audit_and_announce(
        session,
        hall,
        user,
        "config.user.add",
        {"username": created.username, "role": role},
        "users",
        now,
        audience="managers",
    )
    return created


def update_user(
    session: Session,
    hall: Hall,
    username: str,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> User:
    """Change a user's name, role or active flag; disabling signs them out of their counter."""
    _unknown(data, {"full_name", "role", "active"})
    target = _hall_user(session, hall, username)
    _may_manage(user, target.role.value)
    new: dict[str, Any] = {}
    if "full_name" in data:
        new["full_name"] = _text(data, "full_name", "Họ tên", hi=120)
    if "role" in data:
        if data["role"] not in [r.value for r in Role]:
            raise bad(
                "Vai trò phải là clerk, manager hoặc admin.",
                "The role must be clerk, manager or admin.",
            )
        _may_manage(user, data["role"])
        new["role"] = data["role"]
    if "active" in data:
        new["active"] = _bool(data, "active")
    if (
        user is not None
        and target.id == user.id
        and (new.get("active") is False or new.get("role", target.role.value) != target.role.value)
    ):
        raise bad(
            "Không thể tự khóa hoặc tự đổi vai trò của chính mình.",
            "You cannot disable yourself or change your own role.",
        )
    if new.get("active") is False and target.active:
        counter = session.scalars(
            sa.select(Counter).where(Counter.clerk_id == target.id)
        ).one_or_none()
        if counter is not None:
            close_counter(session, hall, counter.number, user=target, now=now)
        accounts.end_sessions(session, target, now)  # its open pages lose the hub too
    if "role" in new:
        new["role"] = Role(new["role"])
    changed = _changes(target, new)
    if changed:
        _audit_and_announce(
            session,
            hall,
            user,
            "config.user.edit",
            {"username": target.username, "changes": changed},
            "users",
            now,
            audience="managers",
        )
    return target


def reset_password(
    session: Session,
    hall: Hall,
    username: str,
    password: Any,
    *,
    user: User | None,
    now: datetime,
    keep_session: int | None = None,
) -> User:
    """Set a user's password; every session of theirs ends (but the one doing it, if theirs)."""
    target = _hall_user(session, hall, username)
    _may_manage(user, target.role.value)
    if (
        user is not None
        and user.role == Role.MANAGER
        and target.id != user.id
        and target.role in (Role.MANAGER, Role.ADMIN)
    ):
        raise errors.Forbidden(
            vi="Quản lý chỉ đặt lại mật khẩu cho cán bộ; mật khẩu của quản lý khác do quản trị "
            "hệ thống đặt lại.",
            en="A manager resets clerks' passwords only; an admin resets another manager's.",
        )
    if not isinstance(password, str):
        raise bad("Thiếu mật khẩu mới.", "A new password is required.")
    accounts.validate_password(password, target.username)
    target.password_hash = accounts.hash_password(password)
    accounts.end_sessions(session, target, now, keep=keep_session)
    _audit_and_announce(
        session,
        hall,
        user,
        "config.user.password",
        {"username": target.username},
        "users",
        now,
        audience="managers",
    )
    return target


# --- devices ---------------------------------------------------------------------------------


def device_dict(hall: Hall, d: Device, numbers: dict[int, int]) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind.value,
        "name": d.name,
        "counter": numbers.get(d.counter_id) if d.counter_id else None,
        "kiosk": d.kiosk_id,
        "filter": d.filter,
        "printer_state": d.printer_state,
        "printer_detail": d.printer_detail,
        "printer_state_at": iso(hall, d.printer_state_at),
        "created_at": iso(hall, d.created_at),
        "revoked_at": iso(hall, d.revoked_at),
        "page": DEVICE_PAGES.get(d.kind.value),
    }


def list_devices(session: Session, hall: Hall) -> list[dict[str, Any]]:
    numbers = dict(
        session.execute(
            sa.select(Counter.id, Counter.number).where(Counter.hall_id == hall.id)
        ).all()
    )
    devices = session.scalars(
        sa.select(Device)
        .where(Device.hall_id == hall.id)
        .order_by(Device.revoked_at.is_not(None), Device.kind, Device.name)
    )
    return [device_dict(hall, d, numbers) for d in devices]


def _display_filter(session: Session, hall: Hall, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    msg = bad(
        "Bộ lọc màn hình gồm danh sách mã lĩnh vực và/hoặc số quầy.",
        "A display filter is {services: [codes], counters: [numbers]}.",
    )
    if not isinstance(value, dict) or set(value) - {"services", "counters"}:
        raise msg
    services = value.get("services") or []
    counters = value.get("counters") or []
    if not isinstance(services, list) or not isinstance(counters, list):
        raise msg
    codes = set(session.scalars(sa.select(Service.code).where(Service.hall_id == hall.id)))
    numbers = set(session.scalars(sa.select(Counter.number).where(Counter.hall_id == hall.id)))
    if not all(s in codes for s in services) or not all(
        isinstance(n, int) and n in numbers for n in counters
    ):
        raise msg
    return {"services": services, "counters": counters} if services or counters else None


def issue_device(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> tuple[Device, str]:
    """Register a device and return its token (shown once; stored only as a hash)."""
    _unknown(data, {"kind", "name", "counter", "kiosk", "filter"})
    counter = _int(data, "counter", "Số quầy", 1, 9999, nullable=True)
    kiosk = None
    if data.get("kind") == DeviceKind.PRINT_AGENT.value:
        kiosk_id = _int(data, "kiosk", "Kiosk", 1, 2**31, nullable=True)
        if kiosk_id is not None:
            kiosk = session.get(Device, kiosk_id)
            if (
                kiosk is None
                or kiosk.hall_id != hall.id
                or kiosk.kind != DeviceKind.KIOSK
                or kiosk.revoked_at is not None
            ):
                raise bad("Không có kiosk này.", "There is no such kiosk.")
    filt = _display_filter(session, hall, data.get("filter"))
    name = data.get("name")
    device, token = accounts.add_device(
        session,
        hall,
        kind=str(data.get("kind") or ""),
        name=name if isinstance(name, str) else "",
        now=now,
        counter_number=counter,
        kiosk=kiosk,
    )
    if filt is not None and device.kind == DeviceKind.DISPLAY:
        device.filter = filt
    _audit_and_announce(
        session,
        hall,
        user,
        "config.device.token",
        {"device": device.id, "kind": device.kind.value, "name": device.name},
        "devices",
        now,
        audience="managers",
    )
    return device, token


def revoke_device(
    session: Session, hall: Hall, device_id: int, *, user: User | None, now: datetime
) -> Device:
    device = session.get(Device, device_id) if 0 < device_id <= MAX_ID else None
    if device is None or device.hall_id != hall.id:
        raise errors.NotFound(vi="Không có thiết bị này.", en="There is no such device.")
    if device.revoked_at is None:
        device.revoked_at = now
        _audit_and_announce(
            session,
            hall,
            user,
            "config.device.revoke",
            {"device": device.id, "kind": device.kind.value, "name": device.name},
            "devices",
            now,
            audience="managers",
        )
    return device


# --- notices ---------------------------------------------------------------------------------


def notice_dict(n: Notice) -> dict[str, Any]:
    return {
        "id": n.id,
        "text": n.text,
        "text_en": n.text_en,
        "position": n.position,
        "active": n.active,
    }


def _notice_values(data: dict[str, Any], adding: bool) -> dict[str, Any]:
    _unknown(data, {"text", "text_en", "position", "active"})
    new: dict[str, Any] = {}
    if adding or "text" in data:
        new["text"] = _text({"text": data.get("text")}, "text", "Nội dung", lo=1, hi=500)
    if "text_en" in data:
        new["text_en"] = _text(data, "text_en", "Nội dung tiếng Anh", hi=500)
    if "position" in data:
        new["position"] = _int(data, "position", "Thứ tự", 0, 10_000)
    if "active" in data:
        new["active"] = _bool(data, "active")
    return new


def _notice(session: Session, hall: Hall, notice_id: int) -> Notice:
    notice = session.get(Notice, notice_id) if 0 < notice_id <= MAX_ID else None
    if notice is None or notice.hall_id != hall.id:
        raise errors.NotFound(vi="Không có thông báo này.", en="There is no such notice.")
    return notice


def add_notice(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> Notice:
    new = _notice_values(data, True)
    if "position" not in new:
        new["position"] = (
            session.scalar(sa.select(sa.func.max(Notice.position)).where(Notice.hall_id == hall.id))
            or 0
        ) + 1
    notice = Notice(hall_id=hall.id, **new)
    session.add(notice)
    session.flush()
    _audit_and_announce(
        session,
        hall,
        user,
        "config.notice.add",
        {"id": notice.id, "text": notice.text},
        "notices",
        now,
    )
    return notice


def update_notice(
    session: Session,
    hall: Hall,
    notice_id: int,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> Notice:
    notice = _notice(session, hall, notice_id)
    changed = _changes(notice, _notice_values(data, False))
    if changed:
        _audit_and_announce(
            session,
            hall,
            user,
            "config.notice.edit",
            {"id": notice.id, "changes": changed},
            "notices",
            now,
        )
    return notice


def delete_notice(
    session: Session, hall: Hall, notice_id: int, *, user: User | None, now: datetime
) -> None:
    notice = _notice(session, hall, notice_id)
    session.delete(notice)
    _audit_and_announce(
        session,
        hall,
        user,
        "config.notice.delete",
        {"id": notice_id, "text": notice.text},
        "notices",
        now,
    )


# --- everything at once ----------------------------------------------------------------------


def configuration(session: Session, hall: Hall, now: datetime) -> dict[str, Any]:
    """The hall's whole configuration, as the config page shows it."""
    services = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id).order_by(Service.position, Service.id)
    )
    counters = session.scalars(
        sa.select(Counter).where(Counter.hall_id == hall.id).order_by(Counter.number)
    )
    notices = session.scalars(
        sa.select(Notice).where(Notice.hall_id == hall.id).order_by(Notice.position, Notice.id)
    )
    reasons = session.scalars(
        sa.select(PriorityReason)
        .where(PriorityReason.hall_id == hall.id)
        .order_by(PriorityReason.position, PriorityReason.id)
    )
    return {
        "hall": hall_dict(hall),
        "services": [service_dict(session, hall, s, now) for s in services],
        "counters": [counter_dict(c) for c in counters],
        "users": list_users(session, hall),
        "devices": list_devices(session, hall),
        "notices": [notice_dict(n) for n in notices],
        "priority_reasons": [
            {"code": r.code, "name": r.name, "name_en": r.name_en, "active": r.active}
            for r in reasons
        ],
        "device_kinds": [k.value for k in DeviceKind],
        "roles": [r.value for r in Role],
        "priority_policies": [p.value for p in PriorityPolicy],
    }
