"""The server's side of printing: the glue between print jobs, the hub and the printers.

The jobs themselves are core services (:mod:`layso.services.printing`): a kiosk ticket's job is
written in the transaction that issues it (``POST /tickets`` calls :meth:`PrintService.issued`),
so issuing never waits for a printer and a rolled-back issue leaves no job. This module opens
the transactions, supplies the time and the base URL, and carries out the jobs once their
transaction is over:

* a job for the server's own printer (``LAYSO_PRINTER``) is printed in a background task of the
  server's concurrency model (:meth:`PrintService.spawn`): one ticket at a time, a short
  timeout, one retry (:func:`layso_agent.delivery.deliver`), drawn and sent in a worker process
  of :class:`~layso_agent.pool.DrawingPool` so that the event loop never does that CPU work
  (the pool starts with the first ticket it draws, not with the server); after a failure the
  printer is watched until it is back;
* a job for a kiosk's print agent went out as a ``print.job`` event; the agent's answers come
  through :mod:`printer.events` to :meth:`PrintService.finish` and friends;
* a kiosk ticket committed without its job (issued by another path) gets it from
  :meth:`PrintService.committed` (a receiver of :data:`layso.signals.published`, which comes
  after the hub has the events), in a short write transaction of its own.

The QR code's address is ``LAYSO_PUBLIC_URL`` + ``/t/<code>``; without it, the address the kiosk
used to reach the server when it issued the ticket (what ``status_url`` in the answer to
``POST /tickets`` says too), and ``http://127.0.0.1:5000`` when there is no request at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, has_request_context
from sqlalchemy.orm import Session

from layso import signals
from layso.config import ConfigError
from layso.db import Database, PendingEvent, after_commit
from layso.events import Ev
from layso.hub import socketio
from layso.models import Hall, Ticket
from layso.services import printing
from layso.services.common import get_hall
from layso.services.printing import AGENT_OFFLINE, Plan
from layso.web import request_host_url
from layso_agent.delivery import Outcome, deliver
from layso_agent.driver import PrinterConfig, parse_printer_uri
from layso_agent.pool import DrawingPool
from layso_agent.status import query_status
from layso_agent.ticket import TicketView

logger = logging.getLogger(__name__)

FALLBACK_PUBLIC_URL = "http://127.0.0.1:5000"
STATUS_POLL_S = 60.0


class PrintService:
    """Print jobs for one app: committed tickets, the server's printer, the agents' answers."""

    def __init__(self, app: Flask) -> None:
        settings = app.config["LAYSO_SETTINGS"]
        self.app = app
        self.db: Database = app.extensions["layso.db"]
        try:
            self.config: PrinterConfig = parse_printer_uri(
                settings.printer, preview_dir=settings.instance_path / "tickets"
            )
        except ValueError as exc:
            raise ConfigError(f"LAYSO_PRINTER: {exc}") from None
        self.public_url = (app.config.get("LAYSO_PUBLIC_URL") or "").rstrip("/")
        self.deliver: Callable[[PrinterConfig, TicketView], Outcome] = deliver
        # one ticket at a time on the server's printer, in the order the tasks get here
        self._printer_lock = threading.Lock()
        self._tasks = threading.Condition()
        self._running = 0
        # after a failure, ask the server's printer its state now and then until it is back
        self.watch_every_s = STATUS_POLL_S if not app.testing else 0.0
        self._watching = False
        # tickets whose job was made in their issuing transaction (committed() skips them)
        self._inline: set[int] = set()
        # drawing and encoding a ticket is CPU work: done in a worker process, never on the hub;
        # the process starts with the first ticket drawn
        self.drawing = DrawingPool()

    # --- plumbing ---------------------------------------------------------------------------

    @property
    def server_printer(self) -> bool:
        """Whether the server has a printer of its own (``LAYSO_PRINTER`` is not ``none``)."""
        return self.config.kind != "none"

    def now(self) -> datetime:
        clock: Callable[[], datetime] = self.app.extensions["layso.clock"]
        return clock()

    def base_url(self) -> str:
        """The public address of the phone pages, for the QR code."""
        if self.public_url:
            return self.public_url
        if has_request_context():
            return request_host_url().rstrip("/")
        return FALLBACK_PUBLIC_URL

    def spawn(self, fn: Callable[..., object], *args: Any) -> None:
        """Run ``fn`` in a background task of the server's concurrency model."""
        with self._tasks:
            self._running += 1
        socketio.start_background_task(self._run, fn, *args)

    def _run(self, fn: Callable[..., object], *args: Any) -> None:
        try:
            fn(*args)
        except Exception:
            logger.exception("print task %s failed", getattr(fn, "__name__", fn))
        finally:
            with self._tasks:
                self._running -= 1
                self._tasks.notify_all()

    def wait_idle(self, timeout: float = 10) -> bool:
        """Wait until no print task runs (for tests and an orderly shutdown)."""
        with self._tasks:
            return self._tasks.wait_for(lambda: self._running == 0, timeout=timeout)

    # --- new tickets ------------------------------------------------------------------------

    def will_print(self, session: Session, hall_id: int, device_id: int | None) -> bool:
        """Whether a ticket issued by this device (its id; None: a person) gets a print job (an
        agent or our printer)."""
        return printing.will_print(session, hall_id, device_id, server_printer=self.server_printer)

    def issued(
        self,
        session: Session,
        hall: Hall,
        ticket: Ticket,
        *,
        base_url: str,
        position: tuple[int, int] | None = None,
    ) -> Plan | None:
        """In the issuing transaction: the ticket's print job, one write with the ticket.

        Once the transaction has committed, the server's printer (in a background task) or
        the agent (its ``print.job`` event) prints it."""
        plan = printing.first_job(
            session,
            hall,
            ticket,
            base_url=base_url,
            now=self.now(),
            server_printer=self.server_printer,
            position=position,
            no_job_yet=True,
        )
        if plan is None:
            return None

        def go() -> None:
            self._inline.add(plan.ticket_id)
            if plan.route == "server":
                self.spawn(self.print_on_server, plan)

        after_commit(session, go)
        return plan

    def create_job(
        self, session: Session, hall: Hall, ticket: Ticket, *, base_url: str, reprint: bool
    ) -> Plan | None:
        """Add a print job (a reprint) in the caller's transaction; None: no printer."""
        return printing.create_job(
            session,
            hall,
            ticket,
            base_url=base_url,
            reprint=reprint,
            now=self.now(),
            server_printer=self.server_printer,
        )

    def committed(self, _db: Database, *, events: list[PendingEvent]) -> None:
        """Once the hub has the events: start printing every committed kiosk ticket (never
        waits for it).

        Tickets issued through :meth:`issued` already have their job: nothing to do here."""
        for ev in events:
            if ev.name != Ev.TICKET_ISSUED:
                continue
            ticket = ev.payload.get("ticket") or {}
            if isinstance(ticket.get("id"), int) and ticket["id"] in self._inline:
                self._inline.discard(ticket["id"])
                continue
            if ticket.get("print_state") == "pending" and isinstance(ticket.get("id"), int):
                self.spawn(self.print_issued, ev.hall, ticket["id"], self.base_url())

    def print_issued(self, slug: str, ticket_id: int, base_url: str) -> None:
        """Create the ticket's print job, then print it on the server or hand it to the agent."""
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            ticket = s.get(Ticket, ticket_id)
            if ticket is None or ticket.hall_id != hall.id:
                return
            plan = printing.first_job(
                s,
                hall,
                ticket,
                base_url=base_url,
                now=self.now(),
                server_printer=self.server_printer,
            )
        if plan is not None and plan.route == "server":
            self.print_on_server(plan)

    # --- the server's printer ---------------------------------------------------------------

    def print_on_server(self, plan: Plan) -> None:
        """Print on the server's printer (never inside a transaction), then record the outcome."""
        with self._printer_lock:
            if self.deliver is deliver:  # the real thing: draw and send in a worker process
                outcome = self.drawing.run(deliver, self.config, plan.view)
            else:  # a stand-in (tests)
                outcome = self.deliver(self.config, plan.view)
        if not outcome.ok:
            self.watch_server_printer()
        self.finish(
            plan.hall,
            plan.job_id,
            ok=outcome.ok,
            state=outcome.state,
            error=outcome.error,
            attempts=outcome.attempts,
            state_device=plan.state_device,
        )

    def watch_server_printer(self) -> None:
        """Start asking the server's printer its state every minute or so, until it is fine.

        Managers then see a printer come back (paper loaded, cable plugged) without waiting for
        the next ticket. One watcher per process; not started in in-process tests.
        """
        if self.watch_every_s <= 0 or self.config.kind in ("none", "preview"):
            return
        with self._tasks:
            if self._watching:
                return
            self._watching = True
        socketio.start_background_task(self._watch)

    def _watch(self) -> None:
        try:
            while True:
                socketio.sleep(self.watch_every_s)
                state = query_status(self.config)
                with self.db.write() as s:
                    printing.set_server_printer_state(s, state, now=self.now())
                if state in ("ok", "paper_low", "unknown"):
                    return
        except Exception:
            logger.exception("watching the printer %s failed", self.config.uri)
        finally:
            with self._tasks:
                self._watching = False
                self._tasks.notify_all()

    def wait_watched(self, timeout: float = 10) -> bool:
        """Wait until the printer watch has ended (for tests)."""
        with self._tasks:
            return self._tasks.wait_for(lambda: not self._watching, timeout=timeout)

    # --- after a crash ----------------------------------------------------------------------

    def recover(self, base_url: str | None = None) -> dict[str, int]:
        """On start: finish what a crash left pending, hall by hall
        (:func:`layso.services.printing.recover_hall`); print the server's share. Returns
        counts, for the log."""
        at = self.now()
        base = base_url or self.base_url()
        plans: list[Plan] = []
        counts = {"resumed": 0, "failed": 0, "agent": 0}
        with self.db.write() as s:
            for slug in list(s.scalars(sa.select(Hall.slug))):
                hall = get_hall(s, slug, lock=True)
                found, hall_counts = printing.recover_hall(
                    s, hall, now=at, base_url=base, server_printer=self.server_printer
                )
                plans += found
                for key, n in hall_counts.items():
                    counts[key] += n
        for plan in plans:
            self.spawn(self.print_on_server, plan)
        if any(counts.values()):
            logger.warning(
                "after the restart: %(resumed)d tickets printed again, %(failed)d marked failed, "
                "%(agent)d left to their print agents",
                counts,
            )
        return counts

    # --- outcomes and print agents ----------------------------------------------------------

    def finish(
        self,
        slug: str,
        job_id: int,
        *,
        ok: bool,
        state: str,
        error: str | None,
        attempts: int = 1,
        state_device: int | None = None,
        agent_id: int | None = None,
    ) -> str:
        """Record a job's outcome once (:func:`layso.services.printing.finish_job`)."""
        at = self.now()
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            outcome = printing.finish_job(
                s,
                hall,
                job_id,
                ok=ok,
                state=state,
                error=error,
                now=at,
                attempts=attempts,
                state_device=state_device,
                agent_id=agent_id,
            )
        if outcome in ("done", "failed"):
            logger.info("hall %s: print job %d %s", slug, job_id, outcome)
        return outcome

    def agent_ready(
        self, slug: str, agent_id: int, state: str, detail: str | None
    ) -> list[dict[str, Any]]:
        """An agent (re)connected: keep its printer state; return its pending jobs to send."""
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            if not printing.set_agent_state(s, hall, agent_id, state, detail, now=self.now()):
                return []
        return self.pending_jobs(slug, agent_id)

    def agent_state(self, slug: str, agent_id: int, state: str, detail: str | None) -> None:
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            printing.set_agent_state(s, hall, agent_id, state, detail, now=self.now())

    def agent_gone(self, slug: str, agent_id: int) -> None:
        """The agent's connection ended: its printer cannot print until it is back."""
        self.agent_state(slug, agent_id, "offline", AGENT_OFFLINE)

    def pending_jobs(self, slug: str, agent_id: int) -> list[dict[str, Any]]:
        """The ``print.job`` bodies of the agent's jobs not yet done, oldest first."""
        with self.db.read() as s:
            hall = get_hall(s, slug)
            return printing.pending_jobs(
                s, hall, agent_id, base_url=self.base_url(), now=self.now()
            )


def init_app(app: Flask) -> PrintService:
    """Create the print service and hear committed events (the app registers the reprint
    endpoint, :data:`printer.bp`)."""
    from printer import events  # noqa: F401  (the print agents' socket events)

    service = PrintService(app)
    app.extensions["layso.printer"] = service
    signals.published.connect(service.committed, sender=service.db)
    return service
