"""The shapes the server sends out: one function per shape, JSON-ready dicts.

A ticket, a counter, a hall, a priority reason and a ticket's public address look the same in
every answer, event and snapshot because they are all built here. Where an audience sees a
shape differently (a device never sees a clerk's login name; only the ticket's holder sees its
secret code), the function is named for that audience. Nothing here knows about Flask: the
caller passes what depends on the request (the public base URL).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.models import Counter, Hall, PriorityReason, Ticket, TicketStatus


def iso(hall: Hall, at: datetime | None) -> str | None:
    """An ISO 8601 time in the hall's zone, with its offset."""
    return at.astimezone(ZoneInfo(hall.timezone)).isoformat(timespec="seconds") if at else None


def status_url(base_url: str, code: str) -> str:
    """The address of a ticket's phone page (its QR code): the public base URL + /t/<code>."""
    return f"{base_url.rstrip('/')}/t/{code}"


# --- tickets ----------------------------------------------------------------------------------


# the columns `ticket` reads; read from the object's loaded values when all are there
_TICKET_COLUMNS = (
    "id", "number", "display_number", "service_id", "issued_service_id", "priority", "status",
    "business_date", "issued_at", "called_at", "first_called_at", "started_at", "finished_at",
    "call_count", "counter_id", "target_counter_id", "print_state", "booked_for", "dossier_code",
)  # fmt: skip
_TICKET_LOADED = frozenset(_TICKET_COLUMNS)


def ticket(hall: Hall, t: Ticket) -> dict[str, Any]:
    """The ticket as every client sees it (no secret code): in events, snapshots, answers.

    A call draws it two or three times (its events, its answer): the columns are read from the
    object's loaded values (its ``__dict__``, where the ORM keeps them) rather than through
    the ORM's attribute descriptors, about a tenth of a call's work; an object with a column
    expired or not loaded is read through them, which load it."""
    d: dict[str, Any] = t.__dict__
    if not d.keys() >= _TICKET_LOADED:
        d = {k: getattr(t, k) for k in _TICKET_COLUMNS}
    zone = ZoneInfo(hall.timezone)

    def at(value: datetime | None) -> str | None:
        return value.astimezone(zone).isoformat(timespec="seconds") if value else None

    service = t.__dict__.get("service") or t.service
    issued = service if d["issued_service_id"] == d["service_id"] else t.issued_service
    # by the key first: with none, the relationship is not asked (its loader costs more than
    # the rest of this dict)
    counter = t.counter if d["counter_id"] is not None else None
    target = t.target_counter if d["target_counter_id"] is not None else None
    return {
        "id": d["id"],
        "number": d["number"],
        "display_number": d["display_number"],
        "service": service.code,
        "service_name": service.name,
        "service_name_en": service.name_en,
        "service_kind": service.kind.value,
        "issued_service": issued.code,
        "priority": d["priority"],
        "status": d["status"].value,
        "business_date": d["business_date"].isoformat(),
        "issued_at": at(d["issued_at"]),
        "called_at": at(d["called_at"]),
        "first_called_at": at(d["first_called_at"]),
        "started_at": at(d["started_at"]),
        "finished_at": at(d["finished_at"]),
        "call_count": d["call_count"],
        "counter": counter.number if counter else None,
        "target_counter": target.number if target else None,
        "print_state": d["print_state"],
        "booked_for": at(d["booked_for"]),
        "dossier_code": d["dossier_code"],
    }


def ticket_with_position(hall: Hall, t: Ticket, ahead: int, wait_s: int) -> dict[str, Any]:
    """The ticket and its place in the queue (GET /tickets/{id}, the phone page)."""
    return {**ticket(hall, t), "ahead": ahead, "estimated_wait_s": wait_s}


def ticket_for_holder(
    hall: Hall, t: Ticket, ahead: int, wait_s: int, base_url: str
) -> dict[str, Any]:
    """The ticket for whoever holds it (the kiosk that issued it, staff): with its secret code
    and the phone page's address, which are the key to that page."""
    return {
        **ticket_with_position(hall, t, ahead, wait_s),
        "status_url": status_url(base_url, t.code),
        "code": t.code,
    }


def ticket_for_phone(hall: Hall, t: Ticket, ahead: int, wait_s: int) -> dict[str, Any]:
    """The ticket on its phone page (reached by its code): whether it is being called now."""
    return {
        **ticket_with_position(hall, t, ahead, wait_s),
        "called": t.status in (TicketStatus.CALLED, TicketStatus.SERVING),
    }


# --- counters ---------------------------------------------------------------------------------


def counter(hall: Hall, c: Counter, current: Ticket | None) -> dict[str, Any]:
    """A counter and the ticket at it, as staff see it (GET /counters/{n}, the snapshot)."""
    return {
        "number": c.number,
        "name": c.name,
        "state": c.state.value,
        **_pause(hall, c),
        "clerk": c.clerk.username if c.clerk else None,
        "clerk_name": c.clerk.full_name if c.clerk else None,
        "services": [link.service.code for link in c.links],
        "ticket": ticket(hall, current) if current else None,
    }


def counter_settings(c: Counter) -> dict[str, Any]:
    """A counter as the manager configures it (no ticket)."""
    return {
        "number": c.number,
        "name": c.name,
        "state": c.state.value,
        "clerk": c.clerk.username if c.clerk else None,
        "services": [link.service.code for link in c.links],
    }


def counter_event(
    hall: Hall, c: Counter, current: Ticket | None, *, shown: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The fields of ``counter.changed``: a subset of :func:`counter`, keyed by ``counter``
    (built directly: the counter's areas, which it leaves out, cost a query per area).
    `shown`: the current ticket already drawn by :func:`ticket`, in place of `current`."""
    if shown is None and current is not None:
        shown = ticket(hall, current)
    return {
        "counter": c.number,
        "state": c.state.value,
        "clerk": c.clerk.username if c.clerk else None,
        "clerk_name": c.clerk.full_name if c.clerk else None,
        "ticket": shown,
        **_pause(hall, c),
    }


def _pause(hall: Hall, c: Counter) -> dict[str, Any]:
    """Why the counter is paused: the text shown (Vietnamese), its code in the hall's list
    (null for free text) and the English name."""
    from layso.services.pauses import english

    return {
        "pause_reason": c.pause_reason,
        "pause_code": c.pause_code,
        "pause_reason_en": english(hall, c.pause_code) if c.pause_code else None,
    }


def counter_for_device(body: dict[str, Any]) -> dict[str, Any]:
    """A counter (or its counter.changed event) as a device sees it: the clerk by full name
    (``clerk`` and ``clerk_name`` alike), never by login name; null when the name is unknown."""
    if "clerk" not in body:
        return body
    return {**body, "clerk": body.get("clerk_name") or None}


# --- the hall ---------------------------------------------------------------------------------


def hall(h: Hall) -> dict[str, Any]:
    """What every screen knows of its hall (the snapshot's ``info``, the phone page's ``hall``)."""
    return {
        "slug": h.slug,
        "name": h.name,
        "name_en": h.name_en,
        "timezone": h.timezone,
        "greeting": h.greeting,
        "priority_policy": h.priority_policy.value,
        "priority_interleave": h.priority_interleave,
        "priority_weight": h.priority_weight,
        "voice_template": h.voice_template,
        "voice_lang": h.voice_lang,
        "rating_scale": h.rating_scale,
        "rating_labels": h.rating_labels,  # null: the pad's default labels for the scale
        "rating_reasons": h.rating_reasons,  # null: the pad's default reason chips
        "rating_on": h.rating_on,
        "satisfaction_target": h.satisfaction_target,
        "hours": h.hours,
        "pause_reasons": _pause_reasons(h),
    }


def _pause_reasons(h: Hall) -> list[dict[str, str]]:
    from layso.services.pauses import reasons

    return reasons(h)


#: The rating pad's labels for each scale (best first) when the hall has set none of its own.
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


def hall_settings(h: Hall) -> dict[str, Any]:
    """The hall as its manager configures it (the rating labels filled in with the defaults)."""
    return {
        "slug": h.slug,
        "name": h.name,
        "name_en": h.name_en,
        "timezone": h.timezone,
        "hours": h.hours,
        "priority_policy": h.priority_policy.value,
        "priority_interleave": h.priority_interleave,
        "priority_weight": h.priority_weight,
        "voice_template": h.voice_template,
        "rating_scale": h.rating_scale,
        "rating_labels": h.rating_labels or DEFAULT_LABELS.get(h.rating_scale),
        "rating_labels_default": h.rating_labels is None,
        "satisfaction_target": h.satisfaction_target,
        "greeting": h.greeting,
        "ticket_footer": h.ticket_footer,
        "pause_reasons": _pause_reasons(h),
        "pause_reasons_default": h.pause_reasons is None,
        "alert_settings": _alert_settings(h),
    }


def _alert_settings(h: Hall) -> dict[str, Any]:
    from layso.services.alerts import settings

    return settings(h)


def priority_reason(r: PriorityReason) -> dict[str, Any]:
    """A priority reason as the kiosk offers it."""
    return {"code": r.code, "name": r.name, "name_en": r.name_en}


def priority_name(session: Session, h: Hall, code: str | None) -> str | None:
    """The name of a ticket's priority reason, for people (its code when it is gone)."""
    if not code:
        return None
    name = session.scalar(
        sa.select(PriorityReason.name).where(
            PriorityReason.hall_id == h.id, PriorityReason.code == code
        )
    )
    return name or code
