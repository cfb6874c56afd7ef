"""What a manager pages through: the log's filter choices, suggestions and the audit log.

Plain reads over a Session (no Flask); the manager pages put them into words.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.models import (
    AuditEntry,
    Counter,
    Device,
    Hall,
    PriorityReason,
    Role,
    Service,
    Suggestion,
    User,
)


def log_choices(session: Session, hall: Hall) -> dict[str, Any]:
    """The wait-time log's filter choices, and each priority group's full name by its code."""
    services = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id).order_by(Service.position, Service.id)
    )
    counters = session.scalars(
        sa.select(Counter).where(Counter.hall_id == hall.id).order_by(Counter.number)
    )
    clerks = session.scalars(
        sa.select(User)
        .where(User.hall_id == hall.id, User.role == Role.CLERK)
        .order_by(User.username)
    )
    reasons = session.scalars(sa.select(PriorityReason).where(PriorityReason.hall_id == hall.id))
    return {
        "services": [(x.code, x.name) for x in services],
        "counters": [(x.number, x.name) for x in counters],
        "clerks": [(x.username, x.full_name) for x in clerks],
        # the log names a priority group in full ("Người cao tuổi…"), never by its code
        "priorities": {r.code: [r.name, r.name_en] for r in reasons},
    }


def suggestions(
    session: Session, hall: Hall, *, page: int, per_page: int
) -> tuple[int, list[tuple[Suggestion, str | None]]]:
    """(how many suggestions, one page of them newest first, each with its device's name)."""
    total = session.scalar(
        sa.select(sa.func.count()).select_from(Suggestion).where(Suggestion.hall_id == hall.id)
    )
    rows = session.execute(
        sa.select(Suggestion, Device.name)
        .outerjoin(Device, Device.id == Suggestion.device_id)
        .where(Suggestion.hall_id == hall.id)
        .order_by(Suggestion.at.desc(), Suggestion.id.desc())
        .limit(per_page)
        .offset((page - 1) * per_page)
    ).all()
    return total or 0, [(sg, name) for sg, name in rows]


def audit_entries(
    session: Session,
    hall: Hall,
    *,
    actions: tuple[str, ...] | None,
    page: int,
    per_page: int,
) -> tuple[int, list[AuditEntry], dict[int, str]]:
    """(how many entries, one page newest first, the usernames of their users by id).

    Sign-ins are written without a hall: they belong to this hall when the user is the hall's.
    """
    hall_users = dict(
        session.execute(sa.select(User.id, User.username).where(User.hall_id == hall.id)).all()
    )
    names = list(hall_users.values())
    cond = sa.or_(
        AuditEntry.hall_id == hall.id,
        sa.and_(AuditEntry.hall_id.is_(None), AuditEntry.user_id.in_(list(hall_users))),
        sa.and_(
            AuditEntry.hall_id.is_(None),
            AuditEntry.user_id.is_(None),
            AuditEntry.detail["username"].as_string().in_(names),
        ),
    )
    stmt = sa.select(AuditEntry).where(cond)
    if actions:
        stmt = stmt.where(AuditEntry.action.in_(actions))
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    entries = list(
        session.scalars(
            stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(per_page)
            .offset((page - 1) * per_page)
        ).all()
    )
    users = dict(
        session.execute(
            sa.select(User.id, User.username).where(
                User.id.in_([e.user_id for e in entries if e.user_id])
            )
        ).all()
    )
    return total, entries, users
