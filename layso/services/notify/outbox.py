"""Sending the outbox: off the request path, retried with backoff, failures kept, nothing lost.

:class:`Sender` is one background task per server process (made by the app factory, started by
``layso run``, in
the server's concurrency model — a green thread under eventlet and gevent, whose sockets are
green, so a slow provider never blocks the hub). It loops:

1. **claim** the due rows (``state = pending``, ``next_at`` passed) in a short write transaction:
   each attempt is counted and the row leased for ``lease_s`` (``next_at`` moves on), so that
   another process does not send it too (PostgreSQL: ``FOR UPDATE SKIP LOCKED``); a
   ``turn.near`` notice whose ticket no longer waits (called or gone while a provider was down)
   is deleted instead — it would come too late;
2. **send** each one, outside any transaction: one HTTP request (:mod:`.channels`), a short
   timeout, no redirects;
3. **record** the outcome in another short transaction: ``sent`` (recipient masked); or a
   failure, kept in ``last_error`` and logged, and retried after ``retry_s`` × 2^(attempt − 1)
   (at most an hour) until ``attempts`` tries, or at once given up for a refusal that cannot
   change by itself. A row given up is ``failed`` (recipient masked) and announced to managers
   (``notify.failed``).

Then it sleeps until the next row is due or :func:`layso.services.notify.poke` (called after a
commit that queued rows) wakes it, at most ``poll_s``.

Nothing is lost on a restart: the rows are in the database. A row whose send was cut short by
a crash is due again when its lease ends, so delivery is at least once; the delivery id
(``<hall>-<row id>``, the webhook's ``X-Layso-Delivery``, ZNS's ``tracking_id``, SMS ``ref``)
lets the receiving side drop a repeat.

Settings (layso/config.py, validated at start): ``LAYSO_NOTIFY_RETRY_S`` (first retry delay,
default 10), ``LAYSO_NOTIFY_ATTEMPTS`` (tries before giving up, default 6),
``LAYSO_NOTIFY_TIMEOUT_S`` (per request, default 5).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from layso import serializers as ser
from layso.db import Database
from layso.events import Ev
from layso.models import Hall, NotifyChannel, NotifyOutbox
from layso.services import notify
from layso.services.common import record
from layso.services.notify.channels import ChannelError, HttpRequest, build_request, judge

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 3600
BATCH = 20
KEEP_DAYS = 31  # sent and failed notices are kept this long for managers, then deleted


@dataclass
class Claimed:
    row: NotifyOutbox
    channel: NotifyChannel
    hall: str
    created_at: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer, not a delivery


_opener = urllib.request.build_opener(_NoRedirect)


def http_post(req: HttpRequest, timeout: float) -> tuple[int, bytes]:
    """POST once; (status, body) of any HTTP answer; ChannelError when none came."""
    request = urllib.request.Request(req.url, data=req.body, headers=req.headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as resp:
            return resp.status, resp.read(64 * 1024)
    except urllib.error.HTTPError as e:
        try:
            body = e.read(64 * 1024)
        finally:
            e.close()
        return e.code, body
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", e)
        raise ChannelError(f"no answer: {reason}") from None


class Sender:
    """The outbox sender of one database (one per server process)."""

    def __init__(
        self,
        db: Database,
        clock: Callable[[], datetime],
        *,
        spawn: Callable[..., Any] | None = None,
        retry_s: float = 10.0,
        attempts: int = 6,
        timeout_s: float = 5.0,
        lease_s: float | None = None,
        poll_s: float = 1.0,
        env: Mapping[str, str] | None = None,
        post: Callable[[HttpRequest, float], tuple[int, bytes]] = http_post,
    ) -> None:
        self.db = db
        self.clock = clock
        self.spawn = spawn
        self.retry_s = retry_s
        self.attempts = max(1, attempts)
        self.timeout_s = timeout_s
        # long enough for one send to end (a crash mid-send: due again after this)
        self.lease_s = lease_s if lease_s is not None else timeout_s * 2 + 5
        self.poll_s = poll_s
        self.env = env
        self.post = post
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._started = False
        self._lock = threading.Lock()

    # --- the loop ---------------------------------------------------------------------------

    def start(self) -> bool:
        """Start the background loop once (True when this call started it)."""
        with self._lock:
            if self._started or self.spawn is None:
                return False
            self._started = True
        notify._wakers.append(self._wake.set)
        self.spawn(self._loop)
        return True

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        try:
            notify._wakers.remove(self._wake.set)
        except ValueError:
            pass

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                done = self.run_once()
            except Exception:
                logger.exception("the notice sender failed; trying again shortly")
                done = 0
            if done:
                continue
            self._wake.wait(self._idle_s())
            self._wake.clear()

    def _idle_s(self) -> float:
        """Until the next row is due, at most poll_s."""
        try:
            with self.db.read() as s:
                due = s.scalar(
                    sa.select(sa.func.min(NotifyOutbox.next_at)).where(
                        NotifyOutbox.state == "pending"
                    )
                )
        except Exception:
            return self.poll_s
        if due is None:
            return self.poll_s
        return min(self.poll_s, max(0.01, (due - self.clock()).total_seconds()))

    # --- one round --------------------------------------------------------------------------

    def run_once(self, limit: int = BATCH) -> int:
        """Claim the due rows, send them, record the outcomes; how many were tried.

        Each channel's rows go one after another; with ``spawn``, the channels side by side,
        so that a provider that hangs (up to ``timeout_s`` a row) holds up only its own."""
        claimed = self.claim(limit)
        groups: dict[int, list[Claimed]] = {}
        for item in claimed:
            groups.setdefault(item.channel.id, []).append(item)
        if self.spawn is None or len(groups) < 2:
            for items in groups.values():
                self._send_group(items)
            return len(claimed)
        done = threading.Semaphore(0)

        def run(items: list[Claimed]) -> None:
            try:
                self._send_group(items)
            except Exception:
                logger.exception("sending notices failed")
            finally:
                done.release()

        for items in groups.values():
            self.spawn(run, items)
        for _ in groups:
            done.acquire()
        return len(claimed)

    def _send_group(self, items: list[Claimed]) -> None:
        for item in items:
            ok, error, permanent = self.send(item)
            self.finish(item.row.id, ok=ok, error=error, permanent=permanent)

    def claim(self, limit: int = BATCH) -> list[Claimed]:
        at = self.clock()
        out: list[Claimed] = []
        with self.db.write() as s:
            rows = s.scalars(
                sa.select(NotifyOutbox)
                .where(NotifyOutbox.state == "pending", NotifyOutbox.next_at <= at)
                .order_by(NotifyOutbox.next_at, NotifyOutbox.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                if row.kind == "turn.near" and not _still_waiting(s, row):
                    s.delete(row)  # called or gone meanwhile: "near" would come too late
                    continue
                row.attempts += 1
                row.next_at = at + timedelta(seconds=self.lease_s)
                channel = s.get(NotifyChannel, row.channel_id)
                hall = s.get(Hall, row.hall_id)
                if channel is None or hall is None:
                    continue
                out.append(Claimed(row, channel, hall.slug, ser.iso(hall, row.created_at)))
        return out

    def send(self, item: Claimed) -> tuple[bool, str | None, bool]:
        """One attempt: (ok, error, permanent)."""
        try:
            req = build_request(item.channel, item.row, item.hall, item.created_at, env=self.env)
            status, body = self.post(req, self.timeout_s)
            judge(item.channel, status, body)
        except ChannelError as e:
            return False, str(e)[:300], e.permanent
        except Exception as e:  # a bug must not stop the sender: keep it as the row's error
            logger.exception("sending notice %d failed unexpectedly", item.row.id)
            return False, f"{type(e).__name__}: {e}"[:300], False
        return True, None, False

    def backoff(self, attempts: int) -> float:
        return float(min(MAX_BACKOFF_S, self.retry_s * 2 ** max(0, attempts - 1)))

    def finish(self, row_id: int, *, ok: bool, error: str | None, permanent: bool) -> str:
        """Record one attempt's outcome; the row's new state."""
        at = self.clock()
        with self.db.write() as s:
            row = s.get(NotifyOutbox, row_id)
            if row is None or row.state != "pending":
                return row.state if row is not None else "gone"
            if ok:
                row.state = "sent"
                row.sent_at = at
                row.last_error = None
                row.recipient = notify.mask_phone(row.recipient)
                return row.state
            if permanent or row.attempts >= self.attempts:
                # the hall's lock first, as every writer of the hall takes it (then the row)
                hall = s.scalars(
                    sa.select(Hall).where(Hall.id == row.hall_id).with_for_update()
                ).one()
                row.last_error = error
                row.state = "failed"
                row.recipient = notify.mask_phone(row.recipient)
                logger.error(
                    "hall %s: notice %d (%s) given up after %d attempts: %s",
                    hall.slug,
                    row.id,
                    row.kind,
                    row.attempts,
                    error,
                )
                channel = s.get(NotifyChannel, row.channel_id)
                record(
                    s,
                    hall,
                    Ev.NOTIFY_FAILED,
                    {
                        "notice": row.id,
                        "kind": row.kind,
                        "channel": channel.name if channel else None,
                        "error": error,
                        "attempts": row.attempts,
                    },
                    now=at,
                    audience="managers",
                )
            else:
                row.last_error = error
                row.next_at = at + timedelta(seconds=self.backoff(row.attempts))
                logger.warning(
                    "notice %d (%s), attempt %d failed, next in %.0f s: %s",
                    row.id,
                    row.kind,
                    row.attempts,
                    self.backoff(row.attempts),
                    error,
                )
            return row.state


def _still_waiting(session: Any, row: NotifyOutbox) -> bool:
    from layso.models import Ticket, TicketStatus

    if row.ticket_id is None:
        return True
    ticket = session.get(Ticket, row.ticket_id)
    return ticket is not None and ticket.status == TicketStatus.WAITING


def purge(session: Any, *, now: datetime, keep_days: int = KEEP_DAYS) -> int:
    """Delete sent and failed notices older than ``keep_days`` (their text named a ticket and
    a time); pending ones stay. How many went."""
    cutoff = now - timedelta(days=keep_days)
    gone = session.execute(
        sa.delete(NotifyOutbox).where(
            NotifyOutbox.state.in_(("sent", "failed")), NotifyOutbox.created_at < cutoff
        )
    ).rowcount
    if gone:
        logger.info("deleted %d old notices", gone)
    return int(gone or 0)
