"""Idempotency keys: a retried kiosk tap or counter press gets the first answer, not a new change.

A client sends ``Idempotency-Key: <uuid>`` (one per tap or press, kept across its retries). The
key is looked up and stored in the same write transaction as the change, after the hall's lock
(:func:`layso.services.common.get_hall` with ``lock``), so a retry that races the first request
waits for it and replays its stored answer. The unique constraint on (hall, scope, key) is the
last word when two server processes race anyway: the loser's transaction rolls back and the
request replays the winner's answer.

A key is bound to its use (``scope``: who sent it and what for, e.g. ``ticket|d5`` or
``counter:3:next|u7``) and to the request's body: the same key for anything else is refused
(422), never replayed as something it was not. Keys older than :data:`KEEP` are purged.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import Hall, IdempotencyKey

logger = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP = timedelta(days=2)
_KEY = re.compile(r"[\x21-\x7e]{8,100}")


def parse_key(raw: str | None) -> str | None:
    """The header's key, or None without one; 400 when it is not 8–100 printable ASCII chars."""
    if raw is None:
        return None
    key = raw.strip()
    if not _KEY.fullmatch(key):
        raise errors.BadIdempotencyKey()
    return key


def fingerprint(body: Any) -> str:
    """A digest of the request's JSON body: the same key must come with the same request."""
    text = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Stored:
    status: int
    body: dict[str, Any]


_LOOKUP = (
    sa.select(IdempotencyKey.scope, IdempotencyKey.status, IdempotencyKey.response)
    .where(
        IdempotencyKey.hall_id == sa.bindparam("hall_id", type_=sa.Integer),
        IdempotencyKey.key == sa.bindparam("key", type_=sa.String),
    )
    .limit(1)
)  # built once, like the insert below: a keyed request costs two plain statements


def lookup(session: Session, hall: Hall, key: str, scope: str, digest: str) -> Stored | None:
    """The stored answer for this key, if any; 422 when it was used for something else."""
    row = session.execute(_LOOKUP, {"hall_id": hall.id, "key": key}).first()
    if row is None:
        return None
    response = row.response if isinstance(row.response, dict) else {}
    if row.scope != scope or response.get("request") != digest:
        raise errors.IdempotencyKeyReused()
    return Stored(row.status, dict(response.get("body") or {}))


def remember(
    session: Session,
    hall: Hall,
    key: str,
    scope: str,
    digest: str,
    status: int,
    body: dict[str, Any],
    *,
    now: datetime,
) -> None:
    """Store the answer in the caller's transaction, at once (the unique constraint guards
    races: a second process's insert fails here, inside the caller's transaction)."""
    session.connection().execute(
        IdempotencyKey.__table__.insert(),
        {
            "hall_id": hall.id,
            "scope": scope[:60],
            "key": key,
            "status": status,
            "response": {"request": digest, "body": body},
            "created_at": now,
        },
    )


def purge(session: Session, *, now: datetime) -> int:
    """Forget keys older than :data:`KEEP`; returns how many."""
    result = session.execute(
        sa.delete(IdempotencyKey).where(IdempotencyKey.created_at < now - KEEP)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    if count:
        logger.info("purged %d old idempotency keys", count)
    return count
