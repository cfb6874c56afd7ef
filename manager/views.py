"""The manager pages: server-rendered shells (the JS in static/manager/ fills them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import wraps
from typing import Any

import sqlalchemy as sa
from flask import g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from layso import errors
from layso.models import Hall, Role, User
from layso.services import records
from layso.services.common import get_hall, tz
from layso.web import db, load_principal, now
from manager import bp

MANAGERS = (Role.MANAGER.value, Role.ADMIN.value)
PER_PAGE = 50

ACTIONS = {
    "sign_in": ("Đăng nhập", "Signed in"),
    "sign_in_failed": ("Đăng nhập sai", "Failed sign-in"),
    "config.hall": ("Sửa thông tin đơn vị", "Hall settings changed"),
    "config.service.add": ("Thêm lĩnh vực", "Area added"),
    "config.service.edit": ("Sửa lĩnh vực", "Area changed"),
    "config.counter.add": ("Thêm quầy", "Counter added"),
    "config.counter.edit": ("Sửa quầy", "Counter changed"),
    "config.user.add": ("Thêm tài khoản", "User added"),
    "config.user.edit": ("Sửa tài khoản", "User changed"),
    "config.user.password": ("Đặt lại mật khẩu", "Password reset"),
    "config.device.token": ("Cấp mã thiết bị", "Device token issued"),
    "config.device.revoke": ("Thu hồi thiết bị", "Device revoked"),
    "config.notice.add": ("Thêm thông báo", "Notice added"),
    "config.notice.edit": ("Sửa thông báo", "Notice changed"),
    "config.notice.delete": ("Xóa thông báo", "Notice deleted"),
    "ticket_reprint": ("In lại phiếu", "Ticket reprinted"),
    "config.notify": ("Sửa thiết lập tin nhắn", "Notifier settings changed"),
    "config.notify_channel.add": ("Thêm kênh tin nhắn", "Channel added"),
    "config.notify_channel.update": ("Sửa kênh tin nhắn", "Channel changed"),
    "config.notify_channel.delete": ("Xóa kênh tin nhắn", "Channel deleted"),
    "notify.retry": ("Gửi lại tin nhắn", "Message resent"),
    "config.slot_template.add": ("Thêm khung giờ đặt lịch", "Slot template added"),
    "config.slot_template.update": ("Sửa khung giờ đặt lịch", "Slot template changed"),
    "config.slot_template.delete": ("Xóa khung giờ đặt lịch", "Slot template deleted"),
    "config.closure.add": ("Thêm ngày nghỉ", "Closure added"),
    "config.closure.delete": ("Mở lại ngày nghỉ", "Closure removed"),
    "config.booking_rules": ("Sửa thiết lập đặt lịch", "Booking rules changed"),
    "day.keep_open": ("Giữ hàng chờ mở sau giờ đóng cửa", "Queue kept open after closing"),
    "day.close_on_time": ("Đóng hàng chờ đúng giờ", "Queue closes on time"),
}

# the audit log's detail keys and field names in words (Vietnamese, English)
DETAIL_KEYS = {
    "username": ("Tài khoản", "Account"),
    "ip": ("Địa chỉ IP", "IP address"),
    "code": ("Mã", "Code"),
    "name": ("Tên", "Name"),
    "name_en": ("Tên tiếng Anh", "English name"),
    "number": ("Số", "Number"),
    "services": ("Lĩnh vực", "Areas"),
    "role": ("Vai trò", "Role"),
    "device": ("Thiết bị số", "Device no."),
    "kind": ("Loại thiết bị", "Device kind"),
    "text": ("Nội dung", "Text"),
    "text_en": ("Nội dung tiếng Anh", "English text"),
    "id": ("Mã số", "Id"),
    "ticket": ("Mã vé", "Ticket id"),
    "job": ("Lệnh in", "Print job"),
    "timezone": ("Múi giờ", "Time zone"),
    "hours": ("Giờ làm việc", "Working hours"),
    "priority_policy": ("Chính sách ưu tiên", "Priority policy"),
    "priority_interleave": ("Xen kẽ: 1 ưu tiên sau N số", "Interleave N"),
    "priority_weight": ("Hệ số chờ của số ưu tiên", "Priority weight"),
    "voice_template": ("Câu gọi số", "Call sentence"),
    "rating_scale": ("Thang đánh giá", "Rating scale"),
    "rating_labels": ("Nhãn mức đánh giá", "Rating labels"),
    "satisfaction_target": ("Mục tiêu hài lòng", "Satisfaction target"),
    "greeting": ("Lời chào trên kiosk", "Kiosk greeting"),
    "ticket_footer": ("Chân phiếu", "Ticket footer"),
    "prefix": ("Chữ đầu số", "Prefix"),
    "first_number": ("Số đầu", "First number"),
    "last_number": ("Số cuối", "Last number"),
    "step": ("Bước nhảy", "Step"),
    "daily_cap": ("Giới hạn số/ngày", "Daily cap"),
    "target_wait_min": ("Thời gian chờ tối đa (phút)", "Target wait (min)"),
    "position": ("Thứ tự", "Position"),
    "active": ("Đang dùng", "Active"),
    "procedures": ("Thủ tục", "Procedures"),
    "full_name": ("Họ tên", "Full name"),
}
# values that are codes: roles, device kinds, priority policies, yes / no
CODED_KEYS = ("role", "kind", "priority_policy")
DETAIL_VALUES = {
    "clerk": ("Cán bộ", "Clerk"),
    "manager": ("Lãnh đạo", "Manager"),
    "admin": ("Quản trị viên", "Admin"),
    "kiosk": ("Kiosk lấy số", "Kiosk"),
    "display": ("Màn hình gọi số", "Wall display"),
    "counter-display": ("Màn hình quầy", "Counter display"),
    "rating-pad": ("Bảng đánh giá", "Rating pad"),
    "print-agent": ("Máy in phiếu", "Print agent"),
    "strict": ("Ưu tiên tuyệt đối", "Strict"),
    "interleaved": ("Xen kẽ", "Interleaved"),
    "weighted": ("Theo thời gian chờ có trọng số", "Weighted"),
    True: ("có", "yes"),
    False: ("không", "no"),
}


@dataclass(frozen=True)
class PageUser:
    username: str
    full_name: str
    role: str
    hall: str
    hall_name: str
    today: str  # the hall's local date


def _signed_in_manager(s: Session) -> PageUser:
    principal = load_principal(s)
    if principal is None or principal.kind != "user":
        raise _SignIn()
    user = s.get(User, principal.id)
    assert user is not None
    if principal.role not in MANAGERS:
        raise _NoAccess(user.username)
    hall = None
    if user.hall_id is not None:
        hall = s.get(Hall, user.hall_id)
    else:  # an admin of the whole server picks a hall with ?hall=
        slug = request.args.get("hall")
        stmt = sa.select(Hall).order_by(Hall.id)
        if slug:
            stmt = stmt.where(Hall.slug == slug)
        hall = s.scalars(stmt).first()
    if hall is None:
        raise errors.UnknownHall(hall=request.args.get("hall") or "?")
    today = now().astimezone(tz(hall)).date().isoformat()
    return PageUser(user.username, user.full_name, user.role.value, hall.slug, hall.name, today)


class _SignIn(Exception):
    """Not signed in: the page sends the browser to /login and back."""


class _NoAccess(Exception):
    """Signed in with an account that may not see the manager pages (a clerk)."""

    def __init__(self, username: str) -> None:
        super().__init__(username)
        self.username = username


def manager_page(view: Callable[..., ResponseReturnValue]) -> Callable[..., ResponseReturnValue]:
    """Only a signed-in manager or admin; others get a 403 page, strangers go to /login?next=..."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> ResponseReturnValue:
        with db().read() as s:
            try:
                g.manager = _signed_in_manager(s)
            except _SignIn:
                target = request.full_path if request.query_string else request.path
                return redirect(url_for("pages.login", next=target))
            except _NoAccess as e:  # a page that says so, and a way to switch accounts
                target = request.full_path if request.query_string else request.path
                page = render_template("no_access.html", username=e.username, next=target)
                return page, 403
        return view(*args, **kwargs)

    return wrapped


def _page(template: str, active: str, **ctx: Any) -> ResponseReturnValue:
    return render_template(template, me=g.manager, active=active, **ctx)


def _hall(s: Session) -> Hall:
    return get_hall(s, g.manager.hall)


@bp.get("")
@bp.get("/")
@manager_page
def board() -> ResponseReturnValue:
    return _page("manager/board.html", "board")


@bp.get("/log")
@manager_page
def log() -> ResponseReturnValue:
    with db().read() as s:
        choices = records.log_choices(s, _hall(s))
    return _page("manager/log.html", "log", **choices)


@bp.get("/reports")
@manager_page
def reports_page() -> ResponseReturnValue:
    return _page("manager/reports.html", "reports")


@bp.get("/official")
@manager_page
def official_page() -> ResponseReturnValue:
    return _page("manager/official.html", "official")


@bp.get("/config")
@manager_page
def config() -> ResponseReturnValue:
    return _page("manager/config.html", "config")


@bp.get("/bookings")
@manager_page
def bookings_page() -> ResponseReturnValue:
    """The day's bookings, the merge rule in words, rules, slot templates and closures."""
    return _page("manager/bookings.html", "bookings")


@bp.get("/notify")
@manager_page
def notify_page() -> ResponseReturnValue:
    """The notifier: settings, channels, sent and failed messages."""
    return _page("manager/notify.html", "notify")


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isascii() and raw.isdigit() and 0 < int(raw) < 10**6 else 1


def _local(hall: Hall, at: datetime | None) -> str:
    return at.astimezone(tz(hall)).strftime("%d/%m/%Y %H:%M:%S") if at else ""


@bp.get("/suggestions")
@manager_page
def suggestions() -> ResponseReturnValue:
    page = _page_number()
    with db().read() as s:
        hall = _hall(s)
        total, rows = records.suggestions(s, hall, page=page, per_page=PER_PAGE)
        items = [
            {
                "at": _local(hall, sg.at),
                "text": sg.text,
                "contact": sg.contact,
                "device": device_name,
            }
            for sg, device_name in rows
        ]
    return _page(
        "manager/suggestions.html",
        "suggestions",
        items=items,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
    )


def _detail_text(action: str, detail: dict[str, Any], lang: str = "vi") -> str:
    """A short human line for an audit entry's detail, in words (lang: "vi" or "en")."""
    i = 0 if lang == "vi" else 1
    if action == "config.hall":  # the hall's entry is the changes alone: {field: [old, new]}
        detail = {"changes": detail}
    parts = []
    for key, value in detail.items():
        if key == "changes" and isinstance(value, dict):
            for field, change in value.items():
                label = DETAIL_KEYS.get(field, (field, field))[i]
                if isinstance(change, list) and len(change) == 2:
                    old, new = (_value(field, x, i) for x in change)
                    parts.append(f"{label}: {old} → {new}")
                else:
                    parts.append(f"{label}: {_value(field, change, i)}")
        else:
            parts.append(f"{DETAIL_KEYS.get(key, (key, key))[i]}: {_value(key, value, i)}")
    return "; ".join(parts)


WEEKDAYS = (("T2", "Mon"), ("T3", "Tue"), ("T4", "Wed"), ("T5", "Thu"), ("T6", "Fri"))
WEEKDAYS += (("T7", "Sat"), ("CN", "Sun"))


def _value(key: str, value: Any, i: int) -> str:
    """A detail value in words: a code (role, device kind, policy) or yes / no by its name."""
    if key == "hours" and value is None:
        return ("không giới hạn", "always open")[i]
    if key == "hours" and isinstance(value, dict):  # {"days": [0..6], "ranges": [[a, b]]}
        days = [WEEKDAYS[d][i] for d in value.get("days", []) if isinstance(d, int) and 0 <= d < 7]
        ranges = [f"{r[0]}–{r[1]}" for r in value.get("ranges", []) if len(r) == 2]
        return _short(f"{', '.join(days)} {', '.join(ranges)}".strip())
    if isinstance(value, bool) or (key in CODED_KEYS and isinstance(value, str)):
        return DETAIL_VALUES.get(value, (str(value), str(value)))[i]
    if isinstance(value, list):
        return _short(", ".join(_value(key, x, i) for x in value) if value else None)
    return _short(value)


def _short(value: Any) -> str:
    text = "—" if value is None or value == "" else str(value)
    return text if len(text) <= 120 else text[:117] + "…"


AUDIT_KINDS = {
    "": None,
    "sign_in": ("sign_in", "sign_in_failed"),
    "config": tuple(k for k in ACTIONS if k.startswith("config.")),
}


@bp.get("/audit")
@manager_page
def audit() -> ResponseReturnValue:
    page = _page_number()
    kind = request.args.get("kind", "")
    kind = kind if kind in AUDIT_KINDS else ""
    with db().read() as s:
        hall = _hall(s)
        total, entries, users = records.audit_entries(
            s, hall, actions=AUDIT_KINDS[kind], page=page, per_page=PER_PAGE
        )
        items = [
            {
                "at": _local(hall, e.at),
                "user": users.get(e.user_id) if e.user_id else (e.detail or {}).get("username"),
                "action": ACTIONS.get(e.action, (e.action, e.action)),
                "code": e.action,
                "failed": e.action == "sign_in_failed",
                "detail": _detail_text(e.action, e.detail or {}),
                "detail_en": _detail_text(e.action, e.detail or {}, "en"),
            }
            for e in entries
        ]
    return _page(
        "manager/audit.html",
        "audit",
        items=items,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
        kind=kind,
    )
