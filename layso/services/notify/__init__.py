"""Notices to people outside the hall: "your turn is near" to a citizen's phone, alerts to
managers — through pluggable channels, never blocking the queue.

The API (plain functions over a Session, no Flask; for any part of Layso that has something
to say)::

    from layso.services import notify

    notify.enqueue(
        session, hall,
        notify.Message(
            kind="turn.near",                 # what it is about; channels filter on it
            text="Sắp đến lượt số A012 ...",  # Vietnamese: what an SMS says
            text_en="Your turn is near ...",  # English beside it (webhook body)
            recipient="0912345678",           # a phone (any Vietnamese form) or None
            data={"number": "A012"},          # values for templates (ZNS template_data)
            ticket_id=ticket.id,              # optional link to a ticket
        ),
        now=now,
    )

:func:`enqueue` writes one :class:`~layso.models.NotifyOutbox` row per active channel of the
hall that carries the message, in the caller's transaction: the notice exists exactly when the
change that caused it committed, and a rollback takes it back. A channel carries a message when
the message's kind starts with one of the channel's ``kinds`` prefixes (its settings; none: every
kind) and, for a channel that sends to a phone (SMS, ZNS), when the message has a recipient.

The rows are sent later, off the request path, by :class:`layso.services.notify.outbox.Sender`
(a background task of the server: retries with backoff, failures kept for managers, pending
rows resent after a restart). The channels (:mod:`layso.services.notify.channels`) turn a row
into one HTTP request:

* ``webhook``: a JSON POST signed with HMAC-SHA256 (``LAYSO_WEBHOOK_SECRET``);
* ``sms``: a configurable JSON or form POST to an SMS gateway (``LAYSO_SMS_API_KEY``);
* ``zns``: a Zalo ZNS template message through the Official Account API
  (``LAYSO_ZALO_ACCESS_TOKEN``).

Secrets come only from the environment, never from the database; a channel's settings may name
another ``LAYSO_…`` variable (``secret_env``) so that two halls keep two secrets.

Phone numbers are personal data: they are kept in 84… form only while needed (a ticket's phone
is erased once it is called or leaves the queue; an outbox row's recipient is masked once it
is sent or given up), and shown masked everywhere (:func:`mask_phone`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.db import after_commit
from layso.models import Hall, NotifyChannel, NotifyOutbox

__all__ = [
    "PHONE_KINDS",
    "Message",
    "enqueue",
    "mask_phone",
    "normalize_phone",
    "poke",
]

#: channel kinds that send to a phone number (a message without a recipient skips them)
PHONE_KINDS = frozenset({"sms", "zns"})

_PHONE = re.compile(r"^(?:\+?84|0)([35789]\d{8})$")


@dataclass(frozen=True)
class Message:
    """One notice: what it is about (``kind``), what it says, to whom, template values."""

    kind: str
    text: str
    text_en: str = ""
    recipient: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    ticket_id: int | None = None


def normalize_phone(raw: str | None) -> str | None:
    """A Vietnamese mobile number in 84… form (what ZNS and most gateways take), or None when
    it is not one: ``0912 345 678``, ``+84912345678`` and ``84912345678`` → ``84912345678``."""
    if not isinstance(raw, str):
        return None
    digits = re.sub(r"[\s.\-()]", "", raw)
    m = _PHONE.match(digits)
    return f"84{m.group(1)}" if m else None


def mask_phone(phone: str | None) -> str | None:
    """``84912345678`` → ``84******678``: enough to recognise, not enough to call."""
    if not phone:
        return phone
    return phone[:2] + "*" * max(0, len(phone) - 5) + phone[-3:]


def carries(channel: NotifyChannel, message: Message) -> bool:
    """Whether the channel takes this message (its kinds, and a phone where it needs one)."""
    if not channel.active:
        return False
    if channel.kind in PHONE_KINDS and not message.recipient:
        return False
    settings = channel.settings or {}
    if channel.kind == "zns" and not zns_template(settings, message.kind):
        return False
    kinds = settings.get("kinds") or []
    return not kinds or any(message.kind.startswith(k) for k in kinds)


def zns_template(settings: dict[str, Any], kind: str) -> str | None:
    """The ZNS template of a message kind: ``templates[kind]``, else — for the citizens'
    ``turn.*`` notices only — ``template_id``. A ZNS template is approved by Zalo for one
    content, so any other kind (a manager's ``alert.*``) needs a template of its own."""
    templates = settings.get("templates") or {}
    found = templates.get(kind) or (
        settings.get("template_id") if kind.startswith("turn.") else None
    )
    return str(found) if found else None


def enqueue(session: Session, hall: Hall, message: Message, *, now: datetime) -> list[NotifyOutbox]:
    """Queue ``message`` on every active channel of the hall that carries it, in this
    transaction; the sender is woken once it commits. Returns the new rows (none: no channel)."""
    phone = normalize_phone(message.recipient) if message.recipient else None
    # not a mobile number: as if there were none (only channels that need no phone get it)
    msg = Message(
        message.kind, message.text, message.text_en, phone, message.data, message.ticket_id
    )
    channels = session.scalars(
        sa.select(NotifyChannel)
        .where(NotifyChannel.hall_id == hall.id, NotifyChannel.active.is_(True))
        .order_by(NotifyChannel.id)
    ).all()
    rows = []
    for channel in channels:
        if not carries(channel, msg):
            continue
        row = NotifyOutbox(
            hall_id=hall.id,
            channel_id=channel.id,
            kind=msg.kind,
            recipient=phone,
            ticket_id=msg.ticket_id,
            body={"text": msg.text, "text_en": msg.text_en, "data": dict(msg.data)},
            state="pending",
            attempts=0,
            next_at=now,
            created_at=now,
        )
        session.add(row)
        rows.append(row)
    if rows:
        session.flush()
        after_commit(session, poke)
    return rows


# --- waking the senders of this process -------------------------------------------------------

_wakers: list[Any] = []


def poke() -> None:
    """Wake this process's senders: a new row is due (called after a commit)."""
    for wake in list(_wakers):
        try:
            wake()
        except Exception:  # a sender that is gone: nothing to wake
            pass
