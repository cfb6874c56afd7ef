""" "Your turn is near" and what a ticket's holder can do from the phone page.

* A waiting ticket whose holder left a phone (on the phone page, or from a booking through
  :func:`remember_phone`) gets at most two notices: ``turn.near`` once ``near_ahead`` people or
  fewer are ahead of it (the hall's setting), ``turn.called`` when it is called. Both are written
  to the outbox in the very transaction that moved the queue (:func:`queue_moved`, called by
  :func:`layso.services.common.queue_changed`; :func:`ticket_event`, called by
  :func:`layso.services.common.record`), so a notice exists exactly when its cause committed.
  The phone is erased once the ticket is called or leaves the queue.
* "Tôi sẽ đến muộn" (:func:`postpone`): a waiting ticket moves back behind the next
  ``late_places`` people of its queue, once.
* "Hủy số" (:func:`leave`): the holder leaves the queue (the ticket is cancelled).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso import serializers as ser
from layso.events import Ev
from layso.models import (
    Counter,
    Hall,
    NotifyChannel,
    NotifySetting,
    PriorityPolicy,
    Service,
    Ticket,
    TicketContact,
    TicketStatus,
)
from layso.services import notify
from layso.services.common import on_connection, tz

DEFAULT_NEAR_AHEAD = 3
DEFAULT_LATE_PLACES = 3
ENDED = {Ev.TICKET_CANCELLED, Ev.TICKET_NO_SHOW, Ev.TICKET_FINISHED, Ev.TICKET_EXPIRED}


def settings_of(session: Session, hall: Hall) -> NotifySetting:
    """The hall's settings (the defaults, unsaved, when it has none)."""
    found = session.get(NotifySetting, hall.id)
    if found is None:
        return NotifySetting(
            hall_id=hall.id, near_ahead=DEFAULT_NEAR_AHEAD, late_places=DEFAULT_LATE_PLACES
        )
    return found


def _position(session: Session, hall: Hall, ticket: Ticket) -> int:
    from layso.services.tickets import queue_position

    return queue_position(session, hall, ticket)[0]


# --- the notices --------------------------------------------------------------------------------


def _near_message(
    hall: Hall, ticket: Ticket, ahead: int, phone: str, now: datetime
) -> notify.Message:
    number = ticket.display_number
    data: dict[str, Any] = {"number": number, "ahead": ahead, "service": ticket.service.name}
    if ticket.queued_at > now:
        # a booking checked in before its time: nobody may be ahead, yet it is not called
        # before its slot minus the lead, so "you are next" would send the citizen too early
        at = ticket.queued_at.astimezone(tz(hall)).strftime("%H:%M")
        data["from"] = at
        vi = (
            f"{hall.name}: số {number} sẽ được mời từ khoảng {at}"
            + (f", còn {ahead} người trước quý khách" if ahead else "")
            + ". Mời quý khách có mặt trước giờ đó."
        )
        en = (
            f"{hall.name_en or hall.name}: number {number} will be called from about {at}"
            + (f", {ahead} ahead of you" if ahead else "")
            + ". Please be in the hall by then."
        )
    elif ahead == 0:
        vi = f"{hall.name}: số {number} là người kế tiếp. Mời quý khách có mặt gần quầy."
        en = f"{hall.name_en or hall.name}: number {number} is next. Please be near the counters."
    else:
        vi = (
            f"{hall.name}: sắp đến lượt số {number}, còn {ahead} người trước quý khách. "
            "Mời quý khách quay lại sảnh."
        )
        en = (
            f"{hall.name_en or hall.name}: your turn is near, number {number}, "
            f"{ahead} ahead of you. Please come back to the hall."
        )
    return notify.Message(
        kind="turn.near",
        text=vi,
        text_en=en,
        recipient=phone,
        data=data,
        ticket_id=ticket.id,
    )


def _called_message(hall: Hall, ticket: Ticket, counter: Counter | None, phone: str) -> Any:
    number = ticket.display_number
    where = counter.number if counter is not None else ""
    return notify.Message(
        kind="turn.called",
        text=f"{hall.name}: mời số {number} đến quầy số {where}.",
        text_en=f"{hall.name_en or hall.name}: number {number}, please come to counter {where}.",
        recipient=phone,
        data={"number": number, "counter": where, "service": ticket.service.name},
        ticket_id=ticket.id,
    )


def queue_moved(session: Session, hall: Hall, service: Service, now: datetime) -> int:
    """After a change to an area's queue: notify the tickets with a phone that are now near.

    One indexed read when nobody of that queue left a phone. Returns the notices queued."""
    contacts = session.execute(
        sa.select(TicketContact, Ticket)
        .join(Ticket, Ticket.id == TicketContact.ticket_id)
        .where(
            TicketContact.hall_id == hall.id,
            TicketContact.phone.is_not(None),
            TicketContact.near_at.is_(None),
            Ticket.service_id == service.id,
            Ticket.status == TicketStatus.WAITING,
        )
    ).all()
    if not contacts:
        return 0
    near = settings_of(session, hall).near_ahead
    if near <= 0:
        return 0
    queued = 0
    for contact, ticket in contacts:
        ahead = _position(session, hall, ticket)
        if ahead > near:
            continue
        contact.near_at = now
        queued += len(
            notify.enqueue(
                session, hall, _near_message(hall, ticket, ahead, contact.phone or "", now), now=now
            )
        )
    return queued


_CONTACT = TicketContact.__table__.c
_HAS_PHONE = sa.select(_CONTACT.ticket_id).where(
    _CONTACT.ticket_id == sa.bindparam("ticket", type_=sa.Integer), _CONTACT.phone.is_not(None)
)


def ticket_event(session: Session, hall: Hall, name: str, ticket: Ticket, now: datetime) -> None:
    """A ticket was called (its second notice) or left the queue (its phone is erased). A
    "near" notice still unsent by then (a provider down) is dropped by the sender (too late)."""
    if on_connection(session, _HAS_PHONE, {"ticket": ticket.id}).first() is None:
        return  # the usual case, asked on the table: no ORM row built for nobody to tell
    contact = session.get(TicketContact, ticket.id)
    if contact is None or contact.phone is None:
        return
    if name == Ev.TICKET_CALLED and contact.called_at is None:
        contact.called_at = now
        counter = session.get(Counter, ticket.counter_id) if ticket.counter_id else None
        message = _called_message(hall, ticket, counter, contact.phone)
        notify.enqueue(session, hall, message, now=now)
        contact.phone = None
    elif name in ENDED:
        contact.phone = None


# --- the phone page's actions -------------------------------------------------------------------


def _waiting(ticket: Ticket, action_vi: str, action_en: str) -> None:
    if ticket.status != TicketStatus.WAITING:
        raise errors.NotWaiting(ticket=ticket.display_number, action=action_vi, action_en=action_en)


def _contact(session: Session, hall: Hall, ticket: Ticket) -> TicketContact:
    contact = session.get(TicketContact, ticket.id)
    if contact is None:
        contact = TicketContact(ticket_id=ticket.id, hall_id=hall.id)
        session.add(contact)
    return contact


def remember_phone(
    session: Session, hall: Hall, ticket: Ticket, phone: str | None, *, now: datetime
) -> str | None:
    """Keep (or, with None, forget) the phone to notify for a waiting ticket; the masked
    number. A ticket already near is notified at once."""
    if phone is None:
        contact = session.get(TicketContact, ticket.id)
        if contact is not None:
            contact.phone = None
        return None
    normal = notify.normalize_phone(phone)
    if normal is None:
        raise errors.BadRequest(
            vi="Số điện thoại di động không hợp lệ (ví dụ: 0912 345 678).",
            en="Not a Vietnamese mobile number (e.g. 0912 345 678).",
        )
    _waiting(ticket, "nhận thông báo", "notified")
    contact = _contact(session, hall, ticket)
    contact.phone = normal
    session.flush()
    queue_moved(session, hall, ticket.service, now)
    return notify.mask_phone(normal)


def postpone(session: Session, hall: Hall, ticket: Ticket, *, now: datetime) -> dict[str, Any]:
    """ "I'll be late": move a waiting ticket back behind the next ``late_places`` people of its
    queue, once per ticket. Again: nothing moves, the same answer (idempotent)."""
    from layso.services.common import queue_changed, record

    places = settings_of(session, hall).late_places
    contact = session.get(TicketContact, ticket.id)
    if contact is not None and contact.late_at is not None:
        return {"moved": 0, "already": True}
    if places <= 0:
        raise errors.PostponeNotOffered()
    _waiting(ticket, "lùi lượt", "moved back")
    behind = _behind(session, hall, ticket, places)
    contact = _contact(session, hall, ticket)
    contact.late_at = now
    if behind:
        ticket.queued_at = _slot_after(session, hall, ticket, behind[-1])
    record(
        session,
        hall,
        Ev.TICKET_POSTPONED,
        {"ticket": ser.ticket(hall, ticket), "places": len(behind)},
        now=now,
        ticket=ticket,
    )
    queue_changed(session, hall, ticket.service, now)
    return {"moved": len(behind), "already": False}


def _slot_after(session: Session, hall: Hall, ticket: Ticket, last: Ticket) -> datetime:
    """A queue time that puts ``ticket`` right after ``last`` (the queue orders by queued_at,
    then id): between ``last`` and the ticket after it. Tickets queued in the very same
    microsecond as ``last`` (a test clock, never a real one) move on by a microsecond."""
    step = timedelta(microseconds=1)
    after = _behind(session, hall, last, 2, skip=ticket)
    nxt = after[0] if after else None
    if nxt is None:
        return last.queued_at + step
    gap = nxt.queued_at - last.queued_at
    if gap >= 2 * step:
        return last.queued_at + gap // 2
    new = last.queued_at + step
    crowded = sa.select(Ticket).where(
        Ticket.hall_id == hall.id,
        Ticket.status == TicketStatus.WAITING,
        Ticket.service_id == ticket.service_id,
        Ticket.id != ticket.id,
        Ticket.queued_at >= last.queued_at,
        Ticket.queued_at <= new,
        sa.or_(Ticket.queued_at > last.queued_at, Ticket.id > last.id),
    )
    for t in session.scalars(crowded):
        t.queued_at = new + step
    return new


def _behind(
    session: Session, hall: Hall, ticket: Ticket, places: int, *, skip: Ticket | None = None
) -> list[Ticket]:
    """The next ``places`` waiting tickets after this one in its queue (of its class under the
    strict policy, where priority tickets go first anyway)."""
    later = sa.or_(
        Ticket.queued_at > ticket.queued_at,
        sa.and_(Ticket.queued_at == ticket.queued_at, Ticket.id > ticket.id),
    )
    where = [
        Ticket.hall_id == hall.id,
        Ticket.status == TicketStatus.WAITING,
        Ticket.service_id == ticket.service_id,
        Ticket.target_counter_id.is_(None),
        Ticket.id != ticket.id,
        later,
    ]
    if skip is not None:
        where.append(Ticket.id != skip.id)
    # a booking moves among bookings, a walk-in among walk-ins (the merge rule orders each)
    where.append(
        Ticket.booked_for.is_(None) if ticket.booked_for is None else Ticket.booked_for.is_not(None)
    )
    if hall.priority_policy == PriorityPolicy.STRICT:
        where.append(Ticket.priority.is_not(None) if ticket.priority else Ticket.priority.is_(None))
    stmt = sa.select(Ticket).where(*where).order_by(Ticket.queued_at, Ticket.id).limit(places)
    return list(session.scalars(stmt))


def leave(session: Session, hall: Hall, ticket: Ticket, *, now: datetime) -> bool:
    """ "Hủy số": the holder leaves the queue. False when it had already been cancelled (the
    same answer again); refused once it is called or served."""
    from layso.services.tickets import cancel_ticket

    if ticket.status == TicketStatus.CANCELLED:
        return False
    _waiting(ticket, "hủy", "cancelled")
    cancel_ticket(session, hall, ticket, now=now, user=None, by="citizen")
    return True


def phone_state(session: Session, hall: Hall, ticket: Ticket, ahead: int) -> dict[str, Any]:
    """What the phone page shows beside the ticket: near, the late option, the phone kept."""
    setting = settings_of(session, hall)
    contact = session.get(TicketContact, ticket.id)
    waiting = ticket.status == TicketStatus.WAITING
    return {
        "near": waiting and setting.near_ahead > 0 and ahead <= setting.near_ahead,
        "near_ahead": setting.near_ahead,
        "late_places": setting.late_places,
        "late_used": bool(contact and contact.late_at),
        "can_postpone": waiting and setting.late_places > 0 and not (contact and contact.late_at),
        "can_leave": waiting,
        "phone": notify.mask_phone(contact.phone) if contact and contact.phone else None,
        "notify": waiting and setting.near_ahead > 0 and _has_channel(session, hall),
    }


def _has_channel(session: Session, hall: Hall) -> bool:
    """Whether the hall can tell anyone anything (an active channel): else no phone is asked."""
    found = session.scalar(
        sa.select(NotifyChannel.id)
        .where(NotifyChannel.hall_id == hall.id, NotifyChannel.active.is_(True))
        .limit(1)
    )
    return found is not None
