"""What the core announces (blinker signals): senders do not know who listens.

A write transaction that commits events announces them through two signals, always in this
order (:func:`send_committed`, called by :meth:`layso.db.Database.write`):

1. :data:`committed`: publish the events to clients, in seq order. The hub connects here
   (:func:`layso.hub.init_app`), or, in a command line process, the emitter through the
   message queue (:func:`layso.hub.external_emitter`).
2. :data:`published`: the events are out; local work that reacts to them connects here (the
   print service). Whatever such a receiver records and emits comes after them.

Blinker calls the receivers of one signal in no set order, so anything that must happen before
something else belongs to an earlier signal, never to the same one. A receiver connects for one
database (``sender=db``): the tests run many apps, each with its own database, in one process.
Receivers are called with the database as sender and ``events=[PendingEvent, ...]``; one that
fails is logged and the others still run (the change is committed; screens heal by replaying
the log).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from blinker import Namespace

if TYPE_CHECKING:
    from layso.db import PendingEvent

logger = logging.getLogger(__name__)

_signals = Namespace()

#: A transaction committed these events: publish them to clients (the hub).
committed = _signals.signal("committed")
#: Every ``committed`` receiver has returned: react to the events (the print service).
published = _signals.signal("published")


def send_committed(db: Any, events: list[PendingEvent]) -> None:
    """Announce one transaction's committed events: ``committed``, then ``published``."""
    for signal in (committed, published):
        for receiver in list(signal.receivers_for(db)):
            try:
                receiver(db, events=events)
            except Exception:
                logger.exception(
                    "%s receiver %r failed on %d events", signal.name, receiver, len(events)
                )
