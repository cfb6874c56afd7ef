"""A clerk's own figures for today: what the counter page shows beside the queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.models import Hall, Rating, Ticket, TicketStatus
from layso.services.common import business_date


def satisfied_min(scale: int) -> int:
    """The lowest score that counts as satisfied: the top two levels of the scale.

    The same definition as the manager's reports (the product's "share rating in the top two
    levels"): 4 levels → Rất hài lòng and Hài lòng.
    """
    return scale - 1


def clerk_today(session: Session, hall: Hall, user_id: int, now: datetime) -> dict[str, Any]:
    """Served, no-shows, mean service time and satisfaction of one clerk on the hall's day."""
    today = business_date(hall, now)
    rows = session.execute(
        sa.select(Ticket.status, Ticket.started_at, Ticket.finished_at).where(
            Ticket.hall_id == hall.id,
            Ticket.business_date == today,
            Ticket.clerk_id == user_id,
            Ticket.status.in_([TicketStatus.DONE, TicketStatus.NO_SHOW]),
        )
    ).all()
    served = [r for r in rows if r.status == TicketStatus.DONE]
    durations = [
        (r.finished_at - r.started_at).total_seconds()
        for r in served
        if r.started_at is not None and r.finished_at is not None
    ]
    ratings = session.execute(
        sa.select(Rating.score, Rating.scale)
        .join(Ticket, Ticket.id == Rating.ticket_id)
        .where(
            Rating.hall_id == hall.id,
            Rating.clerk_id == user_id,
            Ticket.business_date == today,
        )
    ).all()
    satisfied = sum(1 for r in ratings if r.score >= satisfied_min(r.scale))
    return {
        "business_date": today.isoformat(),
        "served": len(served),
        "no_show": len(rows) - len(served),
        "mean_service_s": round(sum(durations) / len(durations)) if durations else None,
        "ratings": len(ratings),
        "satisfied": satisfied,
        "satisfaction_rate": round(satisfied / len(ratings), 4) if ratings else None,
        "satisfaction_target": hall.satisfaction_target,
    }
