"""Managers' side of the notifier: the hall's settings, its channels, the outbox and its failures.

Every change is validated whole before anything changes, then audited and announced
(``config.changed`` {"what": "notify"}, to managers), like the rest of the configuration.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso import serializers as ser
from layso.models import Hall, NotifyChannel, NotifyOutbox, NotifySetting, User
from layso.services.config.validation import (
    apply_changes,
    audit_and_announce,
    bad,
    int_field,
    reject_unknown,
    text_field,
)
from layso.services.notify import channels as ch
from layso.services.notify import mask_phone
from layso.services.notify.turn import settings_of

STATES = ("pending", "sent", "failed")


def settings_view(session: Session, hall: Hall) -> dict[str, Any]:
    s = settings_of(session, hall)
    return {"near_ahead": s.near_ahead, "late_places": s.late_places}


def update_settings(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> dict[str, Any]:
    reject_unknown(data, {"near_ahead", "late_places"})
    new: dict[str, Any] = {}
    if "near_ahead" in data:
        new["near_ahead"] = int_field(data, "near_ahead", "Báo trước khi còn N người", 0, 50)
    if "late_places" in data:
        new["late_places"] = int_field(data, "late_places", "Số chỗ lùi khi đến muộn", 0, 50)
    current = session.get(NotifySetting, hall.id)
    if current is None:
        current = settings_of(session, hall)
        session.add(current)
    changed = apply_changes(current, new)
    if changed:
        audit_and_announce(
            session, hall, user, "config.notify", changed, "notify", now, audience="managers"
        )
    return settings_view(session, hall)


def channel_view(channel: NotifyChannel) -> dict[str, Any]:
    return {
        "id": channel.id,
        "kind": channel.kind,
        "name": channel.name,
        "active": channel.active,
        "settings": ch.public_settings(channel),
    }


def list_channels(session: Session, hall: Hall) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(NotifyChannel).where(NotifyChannel.hall_id == hall.id).order_by(NotifyChannel.id)
    )
    return [channel_view(c) for c in rows]


def _settings(kind: str, value: Any) -> dict[str, Any]:
    out, problems = ch.check_settings(kind, value)
    if problems:
        raise bad(
            "Cấu hình kênh thông báo không hợp lệ: " + "; ".join(problems) + ".",
            "The channel's settings are not valid: " + "; ".join(problems) + ".",
        )
    return out


def get_channel(session: Session, hall: Hall, channel_id: int) -> NotifyChannel:
    channel = session.get(NotifyChannel, channel_id)
    if channel is None or channel.hall_id != hall.id:
        raise errors.NotFound(vi="Không tìm thấy kênh thông báo.", en="No such channel.")
    return channel


def add_channel(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> dict[str, Any]:
    reject_unknown(data, {"kind", "name", "settings", "active"})
    kind = data.get("kind")
    if kind not in ch.KINDS:
        raise bad(
            "Loại kênh phải là webhook, sms hoặc zns.", "The kind must be webhook, sms or zns."
        )
    name = text_field(data, "name", "Tên kênh", lo=1, hi=100)
    if name is None:
        raise bad("Cần đặt tên kênh.", "The channel needs a name.")
    settings = _settings(kind, data.get("settings"))
    active = data.get("active", True)
    if not isinstance(active, bool):
        raise bad("'active' phải là true hoặc false.", "'active' must be true or false.")
    channel = NotifyChannel(
        hall_id=hall.id, kind=kind, name=name, settings=settings, active=active, created_at=now
    )
    session.add(channel)
    session.flush()
    audit_and_announce(
        session,
        hall,
        user,
        "config.notify_channel.add",
        {"id": channel.id, "kind": kind, "name": name},
        "notify",
        now,
        audience="managers",
    )
    return channel_view(channel)


def update_channel(
    session: Session,
    hall: Hall,
    channel_id: int,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> dict[str, Any]:
    channel = get_channel(session, hall, channel_id)
    reject_unknown(data, {"name", "settings", "active"})
    new: dict[str, Any] = {}
    name = text_field(data, "name", "Tên kênh", lo=1, hi=100)
    if name is not None:
        new["name"] = name
    if "settings" in data:
        new["settings"] = _settings(channel.kind, data["settings"])
    if "active" in data:
        if not isinstance(data["active"], bool):
            raise bad("'active' phải là true hoặc false.", "'active' must be true or false.")
        new["active"] = data["active"]
    changed = apply_changes(channel, new)
    if changed:
        audit_and_announce(
            session,
            hall,
            user,
            "config.notify_channel.update",
            {"id": channel.id, **changed},
            "notify",
            now,
            audience="managers",
        )
    return channel_view(channel)


def delete_channel(
    session: Session, hall: Hall, channel_id: int, *, user: User | None, now: datetime
) -> None:
    """Remove a channel and its undelivered notices (use ``active: false`` to keep them)."""
    channel = get_channel(session, hall, channel_id)
    session.execute(sa.delete(NotifyOutbox).where(NotifyOutbox.channel_id == channel.id))
    session.delete(channel)
    audit_and_announce(
        session,
        hall,
        user,
        "config.notify_channel.delete",
        {"id": channel_id, "name": channel.name},
        "notify",
        now,
        audience="managers",
    )


def outbox_view(hall: Hall, row: NotifyOutbox, channel_names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": row.id,
        "channel": channel_names.get(row.channel_id),
        "channel_id": row.channel_id,
        "kind": row.kind,
        "to": mask_phone(row.recipient),
        "text": row.body.get("text", ""),
        "state": row.state,
        "attempts": row.attempts,
        "last_error": row.last_error,
        "created_at": ser.iso(hall, row.created_at),
        "next_at": ser.iso(hall, row.next_at) if row.state == "pending" else None,
        "sent_at": ser.iso(hall, row.sent_at) if row.sent_at else None,
    }


def list_outbox(
    session: Session, hall: Hall, *, state: str | None, limit: int = 100
) -> dict[str, Any]:
    """The newest notices (of one state, e.g. the failures), with counts per state."""
    if state is not None and state not in STATES:
        raise bad(
            "Trạng thái phải là pending, sent hoặc failed.",
            "The state must be pending, sent or failed.",
        )
    stmt = sa.select(NotifyOutbox).where(NotifyOutbox.hall_id == hall.id)
    if state is not None:
        stmt = stmt.where(NotifyOutbox.state == state)
    rows = session.scalars(stmt.order_by(NotifyOutbox.id.desc()).limit(limit)).all()
    names = dict(
        session.execute(
            sa.select(NotifyChannel.id, NotifyChannel.name).where(NotifyChannel.hall_id == hall.id)
        ).all()
    )
    counts = dict(
        session.execute(
            sa.select(NotifyOutbox.state, sa.func.count())
            .where(NotifyOutbox.hall_id == hall.id)
            .group_by(NotifyOutbox.state)
        ).all()
    )
    return {
        "notices": [outbox_view(hall, r, names) for r in rows],
        "counts": {s: int(counts.get(s, 0)) for s in STATES},
    }


def retry_failed(
    session: Session, hall: Hall, notice_id: int, *, user: User | None, now: datetime
) -> dict[str, Any]:
    """Send a failed notice again (its phone is gone: only channels that need none can)."""
    row = session.get(NotifyOutbox, notice_id)
    if row is None or row.hall_id != hall.id:
        raise errors.NotFound(vi="Không tìm thấy thông báo.", en="No such notice.")
    if row.state != "failed":
        raise errors.Conflict(
            vi="Chỉ gửi lại được thông báo đã thất bại.", en="Only a failed notice can be resent."
        )
    if row.recipient and "*" in row.recipient:
        raise errors.Conflict(
            vi="Số điện thoại đã được xóa sau lần gửi thất bại; không thể gửi lại.",
            en="The phone number was erased after the failure; this notice cannot be resent.",
        )
    row.state = "pending"
    row.attempts = 0
    row.next_at = now
    audit_and_announce(
        session,
        hall,
        user,
        "notify.retry",
        {"id": row.id},
        "notify",
        now,
        audience="managers",
    )
    from layso.db import after_commit
    from layso.services.notify import poke

    after_commit(session, poke)
    return outbox_view(hall, row, {})
