"""The hall itself: name, time zone, hours, priority policy, voice, rating scale and labels."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from layso import serializers as ser
from layso.models import Hall, PriorityPolicy, User
from layso.services import alerts, pauses
from layso.services.config.validation import (
    apply_changes,
    audit_and_announce,
    bad,
    check_hours,
    int_field,
    number_field,
    reject_unknown,
    text_field,
)
from layso.voice import validate_template


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
        "alert_settings",
        "pause_reasons",
    }
    reject_unknown(data, known)
    new: dict[str, Any] = {}
    for key, label, lo, hi in (
        ("name", "Tên đơn vị", 1, 200),
        ("name_en", "Tên tiếng Anh", 0, 200),
        ("greeting", "Lời chào", 0, 300),
        ("ticket_footer", "Chân phiếu", 0, 200),
    ):
        value = text_field(data, key, label, lo=lo, hi=hi)
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
        new["priority_interleave"] = int_field(data, "priority_interleave", "Xen kẽ N", 1, 50)
    if "priority_weight" in data:
        new["priority_weight"] = number_field(data, "priority_weight", "Hệ số ưu tiên", 1, 20)
    if "voice_template" in data:
        template = text_field(data, "voice_template", "Câu gọi số", lo=1, hi=300) or ""
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
        scale = int_field(data, "rating_scale", "Thang đánh giá", 3, 5) or 4
        new["rating_scale"] = scale
    if "rating_labels" in data:
        new["rating_labels"] = _labels(data["rating_labels"], scale)
    elif scale != hall.rating_scale and hall.rating_labels is not None:
        new["rating_labels"] = None  # the old labels do not fit: back to the scale's defaults
    if "satisfaction_target" in data:
        new["satisfaction_target"] = number_field(
            data, "satisfaction_target", "Mục tiêu hài lòng", 0, 1
        )
    if "alert_settings" in data:
        new["alert_settings"] = alerts.check_settings(data["alert_settings"], hall)
    if "pause_reasons" in data:
        new["pause_reasons"] = pauses.check_reasons(data["pause_reasons"])
    changed = apply_changes(hall, new)
    if changed:
        audit_and_announce(session, hall, user, "config.hall", changed, "hall", now)
    return ser.hall_settings(hall)
