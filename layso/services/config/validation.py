"""Checks shared by every configuration change: field validation, unknown keys, the audit.

Each change validates its whole input before touching anything (bad input changes nothing),
then `apply_changes` records what changed and `audit_and_announce` writes the AuditEntry and
the `config.changed` event {"what": ...} that makes open screens reload.
"""

from __future__ import annotations

import enum
import re
from datetime import datetime, time
from typing import Any

from sqlalchemy.orm import Session

from layso import errors
from layso.events import Ev
from layso.models import Hall, User
from layso.services import accounts
from layso.services.common import record

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_ID = 2**53  # beyond any row id; a bigger number would overflow the database's integer


def _literal(text: str) -> str:
    """LaysoError formats its messages with str.format: keep literal braces literal."""
    return text.replace("{", "{{").replace("}", "}}")


def bad(vi: str, en: str) -> errors.LaysoError:
    return errors.BadRequest(vi=_literal(vi), en=_literal(en))


def text_field(
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


def int_field(
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


def number_field(data: dict[str, Any], key: str, label_vi: str, lo: float, hi: float) -> float:
    value = data.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not lo <= value <= hi:
        raise bad(
            f"'{label_vi}' ({key}) phải là số từ {lo:g} đến {hi:g}.",
            f"'{key}' must be a number from {lo:g} to {hi:g}.",
        )
    return float(value)


def bool_field(data: dict[str, Any], key: str) -> bool:
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


def audit_and_announce(
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
    record(session, hall, Ev.CONFIG_CHANGED, {"what": what}, now=now, user=user, audience=audience)


def apply_changes(obj: Any, new: dict[str, Any]) -> dict[str, Any]:
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


def reject_unknown(data: dict[str, Any], known: set[str]) -> None:
    extra = sorted(set(data) - known)
    if extra:
        raise bad(
            f"Trường không hợp lệ: {', '.join(extra)}.",
            f"Unknown field(s): {', '.join(extra)}.",
        )
