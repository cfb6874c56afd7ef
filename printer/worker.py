"""The server's side of printing: one print job per kiosk ticket, after the ticket is committed.

Issuing never waits for a printer. ``POST /tickets`` commits the ticket and answers; the hub then
hands the committed ``ticket.issued`` event to :meth:`PrintService.committed` (a hub listener),
which starts a background task. That task, in its own short write transaction, creates the
:class:`~layso.models.PrintJob` and picks the printer:

* the kiosk's print agent (a ``print-agent`` device paired with the kiosk, ``kiosk_id``), once
  that agent has connected at least once: the job goes out as a ``print.job`` event to
  ``device:<agent>`` (in the hall's log, so a reconnecting agent gets it again), and the agent
  answers ``print.result`` (:mod:`printer.events`). Until an agent has ever connected, its
  kiosk prints on the server's printer, so a hall can register the agent before installing it;
* else the server's own printer (``LAYSO_PRINTER``), in the same background task, after the
  transaction: a short timeout, one retry (:func:`printer.delivery.deliver`);
* with ``LAYSO_PRINTER=none`` and no agent nothing prints (``print_state`` becomes ``none``).

The outcome is kept on the ticket (``print_state`` printed / failed), the job (done / failed),
and the printer's device row (the agent's, or the kiosk's for the server's printer; the
snapshot's ``printers`` list reads it). The kiosk hears ``ticket.printed`` or ``print.failed``
(audience ``device:<kiosk>``), managers hear ``printer.status`` when a printer's state changes.

The QR code's address is ``LAYSO_PUBLIC_URL`` + ``/t/<code>``; without it, the address the kiosk
used to reach the server when it issued the ticket (what ``status_url`` in the answer to
``POST /tickets`` says too), and ``http://127.0.0.1:5000`` when there is no request at all.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Flask, current_app, has_request_context, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from layso import errors
from layso.config import ConfigError
from layso.db import Database, PendingEvent, after_commit
from layso.hub import socketio
from layso.models import (
    Counter,
    Device,
    DeviceKind,
    Event,
    Hall,
    PrintJob,
    PriorityReason,
    Role,
    Ticket,
    TicketStatus,
)
from layso.services.accounts import audit
from layso.services.common import (
    business_date,
    estimate_wait_s,
    get_hall,
    get_ticket,
    record,
    ticket_dict,
    tz,
)
from layso.services.tickets import tickets_ahead
from layso.web import hall_context, now
from printer.delivery import SILENT, Outcome, deliver, view_to_dict
from printer.driver import PrinterConfig, parse_printer_uri, query_status
from printer.pool import DrawingPool
from printer.ticket import TicketView

logger = logging.getLogger(__name__)

FALLBACK_PUBLIC_URL = "http://127.0.0.1:5000"
AGENT_OFFLINE = "print agent not connected"
STATUS_POLL_S = 60.0
REPRINTERS = (Role.CLERK.value, Role.MANAGER.value, Role.ADMIN.value)
# on start, a ticket still waiting for its print is printed if it is this fresh, else failed
RESUME_WITHIN_S = 300.0
RESTARTED = "server restarted before this ticket was printed"


@dataclass(frozen=True)
class Plan:
    """A print job committed in a transaction, to carry out once that transaction is over."""

    hall: str
    job_id: int
    ticket_id: int
    route: str  # "agent" | "server"
    view: TicketView
    state_device: int | None  # whose printer state to keep: the agent, or the kiosk


def ticket_view(
    session: Session,
    hall: Hall,
    ticket: Ticket,
    base_url: str,
    *,
    reprint: bool,
    at: datetime,
    position: tuple[int, int] | None = None,
) -> TicketView:
    """What the printed ticket says, from the ticket as it is now.

    ``position``: (ahead, estimated wait) when the caller has just computed them."""
    waiting = ticket.status == TicketStatus.WAITING
    if position is not None and waiting:
        ahead, wait = position
    else:
        ahead = tickets_ahead(session, hall, ticket) if waiting else 0
        wait = estimate_wait_s(session, hall, ticket.service, ahead, at) if waiting else None
    priority = None
    if ticket.priority:
        priority = (
            session.scalar(
                sa.select(PriorityReason.name).where(
                    PriorityReason.hall_id == hall.id, PriorityReason.code == ticket.priority
                )
            )
            or ticket.priority
        )
    return TicketView(
        hall_name=hall.name,
        service_name=ticket.service.name,
        service_name_en=ticket.service.name_en,
        display_number=ticket.display_number,
        issued_at=ticket.issued_at.astimezone(tz(hall)),
        ahead=ahead,
        estimated_wait_s=wait,
        status_url=f"{base_url.rstrip('/')}/t/{ticket.code}",
        priority=priority,
        footer=hall.ticket_footer,
        reprint=reprint,
    )


class PrintService:
    """Print jobs for one app: the hub listener, the server's printer, the agents' answers."""

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
        # tickets whose job was made in their issuing transaction (the listener skips them)
        self._inline: set[int] = set()
        # drawing and encoding a ticket is CPU work: done in a worker process, never on the hub
        self.drawing = DrawingPool()

    # --- plumbing ---------------------------------------------------------------------------

    def now(self) -> datetime:
        clock: Callable[[], datetime] = self.app.extensions["layso.clock"]
        return clock()

    def base_url(self) -> str:
        """The public address of the phone pages, for the QR code."""
        if self.public_url:
            return self.public_url
        if has_request_context():
            return request.host_url.rstrip("/")
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

    def will_print(self, session: Session, kiosk: Device | None) -> bool:
        """Whether a ticket issued by this device gets a print job (an agent or our printer)."""
        if kiosk is None:
            return False
        return self.config.kind != "none" or self.agent_for(session, kiosk) is not None

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

        A rolled-back issue leaves no job. Once the transaction has committed, the server's
        printer (in a background task) or the agent (its ``print.job`` event) prints it."""
        if ticket.print_state != "pending":
            return None
        plan = self.create_job(
            session, hall, ticket, base_url=base_url, reprint=False, position=position
        )
        if plan is None:
            ticket.print_state = "none"
            return None

        def go() -> None:
            self._inline.add(plan.ticket_id)
            if plan.route == "server":
                self.spawn(self.print_on_server, plan)

        after_commit(session, go)
        return plan

    def committed(self, events: list[PendingEvent]) -> None:
        """Hub listener: start printing every committed kiosk ticket (never waits for it).

        Tickets issued through :meth:`issued` already have their job: nothing to do here."""
        for ev in events:
            if ev.name != "ticket.issued":
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
            if ticket is None or ticket.hall_id != hall.id or ticket.print_state != "pending":
                return
            has_job = s.scalar(
                sa.select(PrintJob.id).where(
                    PrintJob.ticket_id == ticket.id, PrintJob.reprint.is_(False)
                )
            )
            if has_job is not None:
                return
            plan = self.create_job(s, hall, ticket, base_url=base_url, reprint=False)
            if plan is None:
                ticket.print_state = "none"
        if plan is not None and plan.route == "server":
            self.print_on_server(plan)

    def agent_for(self, session: Session, kiosk: Device | None) -> Device | None:
        """The kiosk's print agent, once it has connected (reported a printer state) at all."""
        if kiosk is None or kiosk.kind != DeviceKind.KIOSK:
            return None
        return session.scalars(
            sa.select(Device)
            .where(
                Device.hall_id == kiosk.hall_id,
                Device.kind == DeviceKind.PRINT_AGENT,
                Device.kiosk_id == kiosk.id,
                Device.revoked_at.is_(None),
                Device.printer_state_at.is_not(None),
            )
            .order_by(Device.id)
        ).first()

    def create_job(
        self,
        session: Session,
        hall: Hall,
        ticket: Ticket,
        *,
        base_url: str,
        reprint: bool,
        position: tuple[int, int] | None = None,
    ) -> Plan | None:
        """Add a print job for the ticket (in the caller's transaction); None: no printer."""
        at = self.now()
        kiosk = session.get(Device, ticket.device_id) if ticket.device_id else None
        agent = self.agent_for(session, kiosk)
        if agent is None and self.config.kind == "none":
            return None
        job = PrintJob(
            hall_id=hall.id,
            ticket_id=ticket.id,
            device_id=agent.id if agent else None,
            reprint=reprint,
            state="pending",
            attempts=0,
            created_at=at,
        )
        session.add(job)
        session.flush()
        view = ticket_view(
            session, hall, ticket, base_url, reprint=reprint, at=at, position=position
        )
        if agent is None:
            return Plan(hall.slug, job.id, ticket.id, "server", view, kiosk.id if kiosk else None)
        record(
            session,
            hall,
            "print.job",
            {
                "job": job.id,
                "ticket": ticket_dict(hall, ticket),
                "reprint": reprint,
                "view": view_to_dict(view),
            },
            now=at,
            ticket=ticket,
            audience=f"device:{agent.id}",
        )
        if agent.printer_state == "offline" and not reprint:
            # the agent is away: tell the kiosk now; the job waits for the agent to come back
            self._tell_kiosk(
                session,
                hall,
                ticket,
                job,
                ok=False,
                state="offline",
                error=agent.printer_detail or AGENT_OFFLINE,
                queued=True,
                at=at,
            )
        return Plan(hall.slug, job.id, ticket.id, "agent", view, agent.id)

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
                self._record_server_printer(state)
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

    def _record_server_printer(self, state: str) -> None:
        """Keep ``state`` on every kiosk that prints on the server's printer, if it changed."""
        at = self.now()
        with self.db.write() as s:
            kiosks = s.scalars(
                sa.select(Device).where(
                    Device.kind == DeviceKind.KIOSK,
                    Device.revoked_at.is_(None),
                    Device.printer_state.is_not(None),
                    Device.printer_state != state,
                )
            ).all()
            for kiosk in kiosks:
                if self.agent_for(s, kiosk) is not None:
                    continue
                hall = s.get(Hall, kiosk.hall_id)
                if hall is None:
                    continue
                get_hall(s, hall.slug, lock=True)  # this hall's writers wait for this one
                detail = None if state in ("ok", "paper_low") else kiosk.printer_detail
                self.set_printer_state(s, hall, kiosk, state, detail, at=at)

    # --- after a crash ------------------------------------------------------------------------

    def recover(self, base_url: str | None = None) -> dict[str, int]:
        """On start: no kiosk ticket stays ``print_state=pending`` (after ``kill -9``).

        A ticket with no print job yet (the process died between its commit and its job) gets
        its job now; a job for the server's printer still pending (the process died while it
        waited or printed) is printed again. Both only when issued less than
        :data:`RESUME_WITHIN_S` ago on today's business day; older ones are marked failed and
        their kiosk hears ``print.failed`` (a clerk can reprint). A print agent's pending jobs
        are its own: it gets them again on its next ``print.hello`` (every reconnect, so also
        after this restart) and its journal prints each once. Returns counts, for the log.
        """
        at = self.now()
        base = base_url or self.base_url()
        plans: list[Plan] = []
        counts = {"resumed": 0, "failed": 0, "agent": 0}
        with self.db.write() as s:
            for slug in list(s.scalars(sa.select(Hall.slug))):
                hall = get_hall(s, slug, lock=True)
                today = business_date(hall, at)
                handled: set[int] = set()

                def fresh(ticket: Ticket, since: datetime, today: date = today) -> bool:
                    age = (at - since).total_seconds()
                    return ticket.business_date == today and age <= RESUME_WITHIN_S

                tickets = s.scalars(
                    sa.select(Ticket)
                    .where(Ticket.hall_id == hall.id, Ticket.print_state == "pending")
                    .order_by(Ticket.id)
                ).all()
                for ticket in tickets:
                    has_job = s.scalar(
                        sa.select(PrintJob.id).where(
                            PrintJob.ticket_id == ticket.id, PrintJob.reprint.is_(False)
                        )
                    )
                    if has_job is not None:
                        continue
                    if fresh(ticket, ticket.issued_at):
                        plan = self.create_job(s, hall, ticket, base_url=base, reprint=False)
                        if plan is None:
                            ticket.print_state = "none"
                            continue
                        handled.add(plan.job_id)
                        if plan.route == "server":
                            plans.append(plan)
                            counts["resumed"] += 1
                        else:
                            counts["agent"] += 1
                    else:
                        job = PrintJob(
                            hall_id=hall.id,
                            ticket_id=ticket.id,
                            reprint=False,
                            state="pending",
                            attempts=0,
                            created_at=at,
                        )
                        s.add(job)
                        s.flush()
                        handled.add(job.id)
                        self._fail(s, hall, ticket, job, at=at)
                        counts["failed"] += 1
                jobs = s.scalars(
                    sa.select(PrintJob)
                    .where(PrintJob.hall_id == hall.id, PrintJob.state == "pending")
                    .order_by(PrintJob.id)
                ).all()
                for job in jobs:
                    ticket = s.get(Ticket, job.ticket_id)
                    if job.id in handled or ticket is None:
                        continue
                    if job.device_id is not None:
                        counts["agent"] += 1  # re-sent on the agent's next hello
                        continue
                    kiosk = s.get(Device, ticket.device_id) if ticket.device_id else None
                    if fresh(ticket, job.created_at) and self.config.kind != "none":
                        view = ticket_view(s, hall, ticket, base, reprint=job.reprint, at=at)
                        plans.append(
                            Plan(hall.slug, job.id, ticket.id, "server", view,
                                 kiosk.id if kiosk else None)
                        )  # fmt: skip
                        counts["resumed"] += 1
                    else:
                        self._fail(s, hall, ticket, job, at=at)
                        counts["failed"] += 1
        for plan in plans:
            self.spawn(self.print_on_server, plan)
        if any(counts.values()):
            logger.warning(
                "after the restart: %(resumed)d tickets printed again, %(failed)d marked failed, "
                "%(agent)d left to their print agents",
                counts,
            )
        return counts

    def _fail(
        self, session: Session, hall: Hall, ticket: Ticket, job: PrintJob, *, at: datetime
    ) -> None:
        """Mark a job that will not be printed failed, and tell the kiosk."""
        job.state, job.error = "failed", RESTARTED
        if ticket.print_state != "printed":
            ticket.print_state = "failed"
        if not job.reprint:
            kiosk = session.get(Device, ticket.device_id) if ticket.device_id else None
            state = (kiosk.printer_state if kiosk else None) or "error"
            self._tell_kiosk(
                session, hall, ticket, job, ok=False, state=state, error=RESTARTED, at=at
            )

    # --- outcomes ---------------------------------------------------------------------------

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
        """Record a job's outcome once: "done", "failed", "duplicate" or "unknown".

        ``agent_id``: the job must belong to that agent (its ``print.result``). A job already
        done stays done and says nothing again, so a repeated answer changes nothing.
        """
        at = self.now()
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            job = s.get(PrintJob, job_id)
            if job is None or job.hall_id != hall.id:
                return "unknown"
            if agent_id is not None and job.device_id != agent_id:
                return "unknown"
            if job.state == "done" or (job.state == "failed" and not ok):
                return "duplicate"  # a repeated answer: no count, no state, no message
            device = s.get(Device, state_device) if state_device is not None else None
            if device is not None and device.hall_id == hall.id:
                detail = SILENT if state == "unknown" else None if ok else error
                self.set_printer_state(s, hall, device, state, detail, at=at)
            ticket = s.get(Ticket, job.ticket_id)
            assert ticket is not None  # the job cascades with its ticket
            job.attempts += max(0, attempts)
            if ok:
                job.state, job.done_at, job.error = "done", at, None
                ticket.print_state = "printed"
            else:
                job.state, job.error = "failed", (error or "error")[:200]
                if ticket.print_state != "printed":
                    ticket.print_state = "failed"
            if not job.reprint:
                self._tell_kiosk(s, hall, ticket, job, ok=ok, state=state, error=error, at=at)
            logger.info(
                "hall %s: ticket %s %s", slug, ticket.display_number, "printed" if ok else "failed"
            )
            return job.state

    def _tell_kiosk(
        self,
        session: Session,
        hall: Hall,
        ticket: Ticket,
        job: PrintJob,
        *,
        ok: bool,
        state: str,
        error: str | None,
        at: datetime,
        queued: bool = False,
    ) -> None:
        if ticket.device_id is None:
            return
        body: dict[str, Any] = {
            "ticket": ticket.id,
            "display_number": ticket.display_number,
            "job": job.id,
            "printer": state,
        }
        if not ok:
            body.update(reason=error, queued=queued)
        record(
            session,
            hall,
            "ticket.printed" if ok else "print.failed",
            body,
            now=at,
            ticket=ticket,
            audience=f"device:{ticket.device_id}",
        )

    def set_printer_state(
        self,
        session: Session,
        hall: Hall,
        device: Device,
        state: str,
        detail: str | None,
        *,
        at: datetime,
    ) -> None:
        """Keep a printer's state on its device row; tell managers when it changes."""
        detail = detail[:200] if detail else None
        changed = (device.printer_state, device.printer_detail) != (state, detail)
        device.printer_state, device.printer_detail, device.printer_state_at = state, detail, at
        if changed:
            record(
                session,
                hall,
                "printer.status",
                {
                    "device": device.id,
                    "device_name": device.name,  # not "name": that is the event's own
                    "kind": device.kind.value,
                    "state": state,
                    "detail": detail,
                },
                now=at,
                audience="managers",
            )

    # --- print agents -----------------------------------------------------------------------

    def agent_ready(
        self, slug: str, agent_id: int, state: str, detail: str | None
    ) -> list[dict[str, Any]]:
        """An agent (re)connected: keep its printer state; return its pending jobs to send."""
        at = self.now()
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            agent = s.get(Device, agent_id)
            if agent is None or agent.hall_id != hall.id:
                return []
            self.set_printer_state(s, hall, agent, state, detail, at=at)
        return self.pending_jobs(slug, agent_id)

    def agent_state(self, slug: str, agent_id: int, state: str, detail: str | None) -> None:
        with self.db.write() as s:
            hall = get_hall(s, slug, lock=True)
            agent = s.get(Device, agent_id)
            if agent is not None and agent.hall_id == hall.id:
                self.set_printer_state(s, hall, agent, state, detail, at=self.now())

    def agent_gone(self, slug: str, agent_id: int) -> None:
        """The agent's connection ended: its printer cannot print until it is back."""
        self.agent_state(slug, agent_id, "offline", AGENT_OFFLINE)

    def pending_jobs(self, slug: str, agent_id: int) -> list[dict[str, Any]]:
        """The ``print.job`` bodies of the agent's jobs not yet done, oldest first."""
        with self.db.read() as s:
            hall = get_hall(s, slug)
            jobs = list(
                s.scalars(
                    sa.select(PrintJob)
                    .where(
                        PrintJob.hall_id == hall.id,
                        PrintJob.device_id == agent_id,
                        PrintJob.state == "pending",
                    )
                    .order_by(PrintJob.id)
                )
            )
            if not jobs:
                return []
            logged: dict[int, dict[str, Any]] = {}
            for payload in s.scalars(
                sa.select(Event.payload).where(
                    Event.hall_id == hall.id,
                    Event.name == "print.job",
                    Event.audience == f"device:{agent_id}",
                    Event.ticket_id.in_({j.ticket_id for j in jobs}),
                )
            ):
                if isinstance(payload, dict) and isinstance(payload.get("job"), int):
                    logged[payload["job"]] = payload
            out = []
            for job in jobs:
                body = logged.get(job.id)
                if body is None:  # not in the log (pruned?): rebuild it as it is now
                    ticket = s.get(Ticket, job.ticket_id)
                    if ticket is None:
                        continue
                    view = ticket_view(
                        s, hall, ticket, self.base_url(), reprint=job.reprint, at=self.now()
                    )
                    body = {
                        "seq": hall.event_seq,
                        "hall": hall.slug,
                        "job": job.id,
                        "ticket": ticket_dict(hall, ticket),
                        "reprint": job.reprint,
                        "view": view_to_dict(view),
                    }
                out.append(body)
            return out


# --- the reprint endpoint ------------------------------------------------------------------

bp = Blueprint("printing", __name__)


@bp.post("/api/v1/halls/<slug>/tickets/<int:ticket_id>/reprint")
def reprint(slug: str, ticket_id: int) -> ResponseReturnValue:
    """Print a ticket again ("IN LẠI") on the printer that printed it."""
    service: PrintService = current_app.extensions["layso.printer"]
    base_url = service.base_url()
    with hall_context(slug, *REPRINTERS, write=True) as c:
        ticket = get_ticket(c.session, c.hall, ticket_id)
        if c.principal.role == Role.CLERK.value:
            counter = c.session.scalars(
                sa.select(Counter).where(Counter.clerk_id == c.principal.id)
            ).first()
            if counter is None or ticket.counter_id != counter.id:
                raise errors.Forbidden(
                    vi="Chỉ quầy đang phục vụ số này mới được in lại phiếu.",
                    en="Only the counter serving this ticket can reprint it.",
                )
        plan = service.create_job(c.session, c.hall, ticket, base_url=base_url, reprint=True)
        if plan is None:
            raise errors.Conflict(
                vi="Chưa có máy in nào để in lại phiếu này.",
                en="No printer is set up to reprint this ticket.",
            )
        audit(
            c.session,
            hall=c.hall,
            user_id=c.principal.id,
            action="ticket_reprint",
            detail={"ticket": ticket.id, "number": ticket.display_number, "job": plan.job_id},
            now=now(),
        )
        body = {
            "job": {
                "id": plan.job_id,
                "ticket": ticket.id,
                "display_number": ticket.display_number,
                "reprint": True,
                "state": "pending",
                "printer": plan.route,
            }
        }
    if plan.route == "server":
        service.spawn(service.print_on_server, plan)
    return jsonify(body), 202


def openapi_paths() -> dict[str, Any]:
    from layso.openapi import H, T, _obj, _op

    job = _obj(
        {
            "job": _obj(
                {
                    "id": {"type": "integer"},
                    "ticket": {"type": "integer"},
                    "display_number": {"type": "string"},
                    "reprint": {"type": "boolean"},
                    "state": {"enum": ["pending"]},
                    "printer": {
                        "enum": ["agent", "server"],
                        "description": "the kiosk's print agent, or the server's own printer",
                    },
                },
                ["id", "ticket", "state", "printer"],
            )
        },
        ["job"],
    )
    return {
        "/halls/{hall}/tickets/{id}/reprint": {
            "post": _op(
                "Print a ticket again, marked IN LẠI / REPRINT, on the printer that printed it",
                "the clerk at the counter serving the ticket, or a manager or admin; the "
                "answer comes at once, the printing follows (printer.status tells managers "
                "when a printer fails); 409 when no printer is set up",
                [H, T],
                ("202", "the print job, queued", job),
                401,
                403,
                404,
                409,
            )
        }
    }


def init_app(app: Flask) -> PrintService:
    """Create the print service, listen to the hub, serve the reprint endpoint."""
    service = PrintService(app)
    app.extensions["layso.printer"] = service
    hub = app.extensions.get("layso.hub")
    if hub is not None:
        hub.listeners.append(service.committed)
    else:  # the hub starts after the role packages; it takes these listeners then
        app.extensions.setdefault("layso.listeners", []).append(service.committed)
    app.register_blueprint(bp)
    from printer import events  # noqa: F401  (the print agents' socket events)

    return service
