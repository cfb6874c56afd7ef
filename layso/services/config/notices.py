"""Ticker notices shown on the wall displays."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import Hall, Notice, User
from layso.services.config.validation import (
    MAX_ID,
    apply_changes,
    audit_and_announce,
    bool_field,
    int_field,
    reject_unknown,
    text_field,
)


def notice_dict(n: Notice) -> dict[str, Any]:
    return {
        "id": n.id,
        "text": n.text,
        "text_en": n.text_en,
        "position": n.position,
        "active": n.active,
    }


def _notice_values(data: dict[str, Any], adding: bool) -> dict[str, Any]:
    reject_unknown(data, {"text", "text_en", "position", "active"})
    new: dict[str, Any] = {}
    if adding or "text" in data:
        new["text"] = text_field({"text": data.get("text")}, "text", "Nội dung", lo=1, hi=500)
    if "text_en" in data:
        new["text_en"] = text_field(data, "text_en", "Nội dung tiếng Anh", hi=500)
    if "position" in data:
        new["position"] = int_field(data, "position", "Thứ tự", 0, 10_000)
    if "active" in data:
        new["active"] = bool_field(data, "active")
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
    audit_and_announce(
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
    changed = apply_changes(notice, _notice_values(data, False))
    if changed:
        audit_and_announce(
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
    audit_and_announce(
        session,
        hall,
        user,
        "config.notice.delete",
        {"id": notice_id, "text": notice.text},
        "notices",
        now,
    )
