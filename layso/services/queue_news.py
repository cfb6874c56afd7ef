"""``queue.changed``, coalesced: each area's queue figures at most once per :data:`WINDOW_S`.

A write that moves an area's queue (a ticket issued, called, moved, cancelled...) recorded the
area's ``queue.changed`` in its own transaction: a count query, an event row, and a frame to
every screen of the hall, for every ticket. Under a burst (sixteen kiosks at opening time, a
row of counters calling) most of them are out of date a few milliseconds later.

The server (``layso run``) starts :class:`QueueNews` instead. A write then only notes the areas
it moved; once it has committed they are marked, and one background task records, for each
marked area, one ``queue.changed`` with the figures as they are by then, in one transaction per
hall, at most once per :data:`WINDOW_S` (the first :data:`SETTLE_S` after the write, once
that write's own call and answer are out; the next no sooner than the window after it). What
the event says and who gets it do not change; it is in the log with its seq like any other, so
a screen's replay and heal see no gap. The holders of tickets now near their turn
are told from the same transaction (:func:`layso.services.notify.turn.queue_moved`).

Nothing is lost: a pass that fails (the database locked by another process, a disk error) keeps
its areas for the next pass, and at start every area whose last ``queue.changed`` in the log
no longer gives its waiting count is marked, in case the last process ended between a write and
its pass. Without the server (the command line, a script, the in-process app of the tests)
``queue.changed`` is recorded in the write itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.db import QUEUE_NEWS, Database, after_commit
from layso.events import Ev
from layso.models import Event, Hall, Service, Ticket, TicketStatus
from layso.services.common import by_id, get_hall, queue_changed

logger = logging.getLogger(__name__)

WINDOW_S = 0.1  # at most one queue.changed per area in this time
SETTLE_S = 0.01  # a pass waits at least this long after the write that marked its areas
RETRY_S = 1.0  # after a pass that failed
LOOK_BACK = 500  # queue.changed events read back per hall at start (mark_stale)
_AREAS = "layso.queue_news.areas"  # the areas this write moved: (hall slug, service id)

Area = tuple[str, int]


class QueueNews:
    """The marked areas of one database, and the task that records their ``queue.changed``."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime],
        context: Callable[[], Any],
    ) -> None:
        self.db = db
        self.clock = clock
        self.context = context  # the application's context, entered for each pass
        self.marked: set[Area] = set()
        self.wake = threading.Event()  # green under eventlet and gevent
        self.last_pass = 0.0
        self.failed = 0  # halls whose last pass failed

    def later(self, session: Session, hall: Hall, service: Service) -> None:
        """Note that this write moved the area's queue: it is marked once the write commits."""
        areas: set[Area] | None = session.info.get(_AREAS)
        if areas is None:
            areas = session.info[_AREAS] = set()
            after_commit(session, lambda: self.mark(areas))
        areas.add((hall.slug, service.id))

    def mark(self, areas: set[Area]) -> None:
        self.marked |= areas
        self.wake.set()

    def mark_stale(self) -> int:
        """Mark every area whose last ``queue.changed`` in the log does not give its waiting
        count as it is now (at start: the last process may have ended between a write and its
        pass, and a screen that stays open across the restart replays the log). How many."""
        with self.db.read() as s:
            waiting = dict(
                s.execute(
                    sa.select(Ticket.service_id, sa.func.count())
                    .where(Ticket.status == TicketStatus.WAITING)
                    .group_by(Ticket.service_id)
                ).all()
            )
            stale: set[Area] = set()
            for hall_id, slug in s.execute(sa.select(Hall.id, Hall.slug)).all():
                said: dict[str, int] = {}
                for (payload,) in s.execute(
                    sa.select(Event.payload)
                    .where(Event.hall_id == hall_id, Event.name == str(Ev.QUEUE_CHANGED))
                    .order_by(Event.seq.desc())
                    .limit(LOOK_BACK)
                ):
                    said.setdefault(payload.get("service"), payload.get("waiting"))
                services = s.execute(
                    sa.select(Service.id, Service.code).where(Service.hall_id == hall_id)
                ).all()
                stale |= {
                    (slug, service_id)
                    for service_id, code in services
                    if said.get(code, 0) != waiting.get(service_id, 0)
                }
        self.mark(stale)
        return len(stale)

    def run_once(self) -> int:
        """Record the marked areas' queue.changed, one transaction per hall; the areas of a
        hall whose transaction failed stay marked. How many events were recorded."""
        areas, self.marked = self.marked, set()
        self.last_pass = time.monotonic()
        by_hall: dict[str, set[int]] = {}
        for slug, service_id in areas:
            by_hall.setdefault(slug, set()).add(service_id)
        recorded = self.failed = 0
        for slug, service_ids in sorted(by_hall.items()):
            try:
                recorded += self._record_hall(slug, service_ids)
            except errors.UnknownHall:
                continue  # deleted meanwhile: nobody to tell
            except Exception:
                logger.exception("queue figures of hall %s not recorded; retrying", slug)
                self.marked |= {(slug, i) for i in service_ids}
                self.failed += 1
        return recorded

    def _record_hall(self, slug: str, service_ids: set[int]) -> int:
        with self.context(), self.db.write() as s:
            s.info.pop(QUEUE_NEWS, None)  # this pass records them: not noted for another pass
            hall = get_hall(s, slug, lock=True)
            # by primary key on the connection (an ORM select of them cost a third of a pass)
            found = [by_id(s, Service, i) for i in service_ids]
            services = sorted(
                (x for x in found if x is not None and x.hall_id == hall.id),
                key=lambda x: (x.position, x.id),
            )
            now = self.clock()
            for service in services:
                queue_changed(s, hall, service, now)
            return len(services)

    def pause_s(self) -> float:
        """How long the next pass waits: until the window after the last pass is over."""
        return max(0.0, self.last_pass + WINDOW_S - time.monotonic())

    def loop(self, sleep: Callable[[float], None]) -> None:
        """The background task, for as long as the server runs."""
        while True:
            self.wake.wait()
            self.wake.clear()
            # never at once: the write that woke this task is still sending its call to every
            # screen and its answer to the clerk, and a pass would run before them
            sleep(max(SETTLE_S, self.pause_s()))
            if not self.marked:
                continue
            self.run_once()
            if self.failed:  # its areas are marked again: retry, not in a tight loop
                sleep(RETRY_S)
                self.wake.set()


def start_for(app: Any) -> QueueNews:
    """Coalesce this app's ``queue.changed`` from now on, in a background task of its hub."""
    from layso.hub import socketio

    db: Database = app.extensions["layso.db"]
    news = QueueNews(db, clock=app.extensions["layso.clock"], context=app.app_context)
    db.queue_news = news
    news.mark_stale()
    socketio.start_background_task(news.loop, socketio.sleep)
    return news
