"""Print jobs: one per kiosk ticket (and per reprint), in the caller's transaction.

A kiosk ticket gets its print job in the transaction that issues it (:func:`first_job`, called
by ``POST /tickets``), so a rolled-back issue leaves no job and a committed one is never without
it. The job goes to one of two printers:

* the kiosk's print agent (a ``print-agent`` device paired with the kiosk), once that agent has
  connected at least once (:func:`agent_of`): the job is logged as a ``print.job`` event for
  ``device:<agent>`` (a reconnecting agent gets it again, :func:`pending_jobs`), and the agent
  answers ``print.result`` (:func:`finish_job`). Until an agent has ever connected, its kiosk
  prints on the server's printer, so a hall can register the agent before installing it;
* else the server's own printer (``LAYSO_PRINTER``), which the caller drives once the
  transaction is over, from the returned :class:`Plan`;
* with no server printer (``server_printer=False``) and no agent nothing prints:
  ``print_state`` becomes ``none``.

The outcome is kept on the ticket (``print_state`` printed / failed), the job (done / failed)
and the printer's device row (the agent's, or the kiosk's for the server's printer). The kiosk
hears ``ticket.printed`` or ``print.failed`` (audience ``device:<kiosk>``), managers hear
``printer.status`` when a printer's state changes. :func:`recover_hall` finishes what a crash
left pending.

No Flask here: the time (``now``) and the public base URL of the QR code are passed in; the
server's glue (:mod:`printer.worker`) opens the transactions and drives the server's printer.
Every function works in the caller's transaction. A little over 500 lines: a job's whole life
(creation, outcome, the agents' share, recovery) is kept in one place on purpose, since each
part re-checks the rules of the others (one job per ticket, one outcome per job).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import serializers as ser
from layso.events import Ev
from layso.models import (
    RESULTS_WORDS,
    Device,
    DeviceKind,
    Event,
    Hall,
    PrintJob,
    ServiceKind,
    Ticket,
)
from layso.models import TicketStatus as Status
from layso.services.common import (
    business_date,
    estimate_wait_s,
    get_hall,
    on_connection,
    record,
    tz,
)
from layso.services.tickets import tickets_ahead
from layso_agent.delivery import SILENT, view_to_dict
from layso_agent.ticket import TicketView

AGENT_OFFLINE = "print agent not connected"
# on start, a ticket still waiting for its print is printed if it is this fresh, else failed
RESUME_WITHIN_S = 300.0
RESTARTED = "server restarted before this ticket was printed"


@dataclass(frozen=True)
class Plan:
    """A print job written in a transaction, to carry out once that transaction is over."""

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
    waiting = ticket.status == Status.WAITING
    if position is not None and waiting:
        ahead, wait = position
    else:
        ahead = tickets_ahead(session, hall, ticket) if waiting else 0
        wait = estimate_wait_s(session, hall, ticket.service, ahead, at) if waiting else None
    return TicketView(
        hall_name=hall.name,
        service_name=ticket.service.name,
        service_name_en=ticket.service.name_en,
        display_number=ticket.display_number,
        issued_at=ticket.issued_at.astimezone(tz(hall)),
        ahead=ahead,
        estimated_wait_s=wait,
        status_url=ser.status_url(base_url, ticket.code),
        priority=ser.priority_name(session, hall, ticket.priority),
        footer=hall.ticket_footer,
        reprint=reprint,
        booked_for=ticket.booked_for.astimezone(tz(hall)) if ticket.booked_for else None,
        purpose=" / ".join(RESULTS_WORDS) if ticket.service.kind == ServiceKind.RESULTS else None,
    )


# --- new jobs ---------------------------------------------------------------------------------


_DEVICE = Device.__table__.c
_AGENT = (
    # the columns a print job needs of its agent (Core, on the table: cheaper than an ORM row)
    sa.select(_DEVICE.id, _DEVICE.printer_state, _DEVICE.printer_detail)
    .where(
        _DEVICE.hall_id == sa.bindparam("hall_id", type_=sa.Integer),
        _DEVICE.kind == DeviceKind.PRINT_AGENT,
        _DEVICE.kiosk_id == sa.bindparam("kiosk_id", type_=sa.Integer),
        _DEVICE.revoked_at.is_(None),
        _DEVICE.printer_state_at.is_not(None),
    )
    .order_by(_DEVICE.id)
    .limit(1)
)


class Agent(NamedTuple):
    """A kiosk's print agent: what a print job needs of it."""

    id: int
    printer_state: str | None
    printer_detail: str | None


def agent_of(session: Session, hall_id: int, device_id: int | None) -> Agent | None:
    """The print agent paired with the device that issues (by its id, without loading that
    device), once the agent has connected (reported a printer state) at all. Only a kiosk is
    ever paired with an agent, so another device (or none) has no agent."""
    if device_id is None:
        return None
    row = on_connection(session, _AGENT, {"hall_id": hall_id, "kiosk_id": device_id}).first()
    return None if row is None else Agent(*row)


def will_print(
    session: Session, hall_id: int, device_id: int | None, *, server_printer: bool
) -> bool:
    """Whether a ticket issued by this device (its id; None: a person) gets a print job (an
    agent or the server's)."""
    if device_id is None:
        return False
    return server_printer or agent_of(session, hall_id, device_id) is not None


def _new_job(
    session: Session,
    hall: Hall,
    ticket: Ticket,
    agent: Agent | None,
    *,
    reprint: bool,
    at: datetime,
) -> PrintJob:
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
    return job


def create_job(
    session: Session,
    hall: Hall,
    ticket: Ticket,
    *,
    base_url: str,
    reprint: bool,
    now: datetime,
    server_printer: bool,
    position: tuple[int, int] | None = None,
) -> Plan | None:
    """Add a print job for the ticket (in the caller's transaction); None: no printer."""
    agent = agent_of(session, hall.id, ticket.device_id)
    if agent is None and not server_printer:
        return None
    job = _new_job(session, hall, ticket, agent, reprint=reprint, at=now)
    view = ticket_view(session, hall, ticket, base_url, reprint=reprint, at=now, position=position)
    if agent is None:
        return Plan(hall.slug, job.id, ticket.id, "server", view, ticket.device_id)
    record(
        session,
        hall,
        Ev.PRINT_JOB,
        {
            "job": job.id,
            "ticket": ser.ticket(hall, ticket),
            "reprint": reprint,
            "view": view_to_dict(view),
        },
        now=now,
        ticket=ticket,
        audience=f"device:{agent.id}",
    )
    if agent.printer_state == "offline" and not reprint:
        # the agent is away: tell the kiosk now; the job waits for the agent to come back
        tell_kiosk(
            session,
            hall,
            ticket,
            job,
            ok=False,
            state="offline",
            error=agent.printer_detail or AGENT_OFFLINE,
            queued=True,
            at=now,
        )
    return Plan(hall.slug, job.id, ticket.id, "agent", view, agent.id)


def has_first_job(session: Session, ticket: Ticket) -> bool:
    """Whether the ticket has its print job already (reprints aside)."""
    job = session.scalar(
        sa.select(PrintJob.id).where(PrintJob.ticket_id == ticket.id, PrintJob.reprint.is_(False))
    )
    return job is not None


def first_job(
    session: Session,
    hall: Hall,
    ticket: Ticket,
    *,
    base_url: str,
    now: datetime,
    server_printer: bool,
    position: tuple[int, int] | None = None,
    no_job_yet: bool = False,
) -> Plan | None:
    """The ticket's own print job (not a reprint): the one place it is created.

    Called in the issuing transaction (``no_job_yet``: the ticket was made in it, so there is
    no job to look for), by the print service for a ticket issued elsewhere, and at recovery.
    None when the ticket needs no job: not ``pending``, already has its job, or nothing can
    print it (its ``print_state`` then becomes ``none``)."""
    if ticket.print_state != "pending":
        return None
    if not no_job_yet and has_first_job(session, ticket):
        return None
    plan = create_job(
        session,
        hall,
        ticket,
        base_url=base_url,
        reprint=False,
        now=now,
        server_printer=server_printer,
        position=position,
    )
    if plan is None:
        ticket.print_state = "none"
    return plan


# --- outcomes ---------------------------------------------------------------------------------


def finish_job(
    session: Session,
    hall: Hall,
    job_id: int,
    *,
    ok: bool,
    state: str,
    error: str | None,
    now: datetime,
    attempts: int = 1,
    state_device: int | None = None,
    agent_id: int | None = None,
) -> str:
    """Record a job's outcome once: "done", "failed", "duplicate" or "unknown".

    ``agent_id``: the job must belong to that agent (its ``print.result``). A job already
    done stays done and says nothing again, so a repeated answer changes nothing.
    """
    job = session.get(PrintJob, job_id)
    if job is None or job.hall_id != hall.id:
        return "unknown"
    if agent_id is not None and job.device_id != agent_id:
        return "unknown"
    if job.state == "done" or (job.state == "failed" and not ok):
        return "duplicate"  # a repeated answer: no count, no state, no message
    device = session.get(Device, state_device) if state_device is not None else None
    if device is not None and device.hall_id == hall.id:
        detail = SILENT if state == "unknown" else None if ok else error
        set_printer_state(session, hall, device, state, detail, at=now)
    ticket = session.get(Ticket, job.ticket_id)
    assert ticket is not None  # the job cascades with its ticket
    job.attempts += max(0, attempts)
    if ok:
        job.state, job.done_at, job.error = "done", now, None
        ticket.print_state = "printed"
    else:
        job.state, job.error = "failed", (error or "error")[:200]
        if ticket.print_state != "printed":
            ticket.print_state = "failed"
    if not job.reprint:
        tell_kiosk(session, hall, ticket, job, ok=ok, state=state, error=error, at=now)
    return job.state


def fail_job(
    session: Session, hall: Hall, ticket: Ticket, job: PrintJob, *, error: str, at: datetime
) -> None:
    """Mark a job that will not be printed failed, and tell the kiosk."""
    job.state, job.error = "failed", error
    if ticket.print_state != "printed":
        ticket.print_state = "failed"
    if not job.reprint:
        kiosk = session.get(Device, ticket.device_id) if ticket.device_id else None
        state = (kiosk.printer_state if kiosk else None) or "error"
        tell_kiosk(session, hall, ticket, job, ok=False, state=state, error=error, at=at)


def tell_kiosk(
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
    """``ticket.printed`` or ``print.failed`` to the kiosk that issued the ticket."""
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
        Ev.TICKET_PRINTED if ok else Ev.PRINT_FAILED,
        body,
        now=at,
        ticket=ticket,
        audience=f"device:{ticket.device_id}",
    )


def set_printer_state(
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
            Ev.PRINTER_STATUS,
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


def set_server_printer_state(session: Session, state: str, *, now: datetime) -> None:
    """Keep ``state`` on every kiosk that prints on the server's printer, if it changed."""
    kiosks = session.scalars(
        sa.select(Device).where(
            Device.kind == DeviceKind.KIOSK,
            Device.revoked_at.is_(None),
            Device.printer_state.is_not(None),
            Device.printer_state != state,
        )
    ).all()
    for kiosk in kiosks:
        if agent_of(session, kiosk.hall_id, kiosk.id) is not None:
            continue
        hall = session.get(Hall, kiosk.hall_id)
        if hall is None:
            continue
        get_hall(session, hall.slug, lock=True)  # this hall's writers wait for this one
        detail = None if state in ("ok", "paper_low") else kiosk.printer_detail
        set_printer_state(session, hall, kiosk, state, detail, at=now)


# --- print agents -----------------------------------------------------------------------------


def live_agent(session: Session, slug: str, device_id: int) -> bool:
    """Whether the device is a live (not revoked) print agent of the hall ``slug``."""
    device = session.get(Device, device_id)
    hall = session.scalar(sa.select(Hall.id).where(Hall.slug == slug))
    return (
        device is not None
        and device.hall_id == hall
        and device.kind == DeviceKind.PRINT_AGENT
        and device.revoked_at is None
    )


def set_agent_state(
    session: Session, hall: Hall, agent_id: int, state: str, detail: str | None, *, now: datetime
) -> bool:
    """Keep the agent's printer state; False when it is not this hall's device."""
    agent = session.get(Device, agent_id)
    if agent is None or agent.hall_id != hall.id:
        return False
    set_printer_state(session, hall, agent, state, detail, at=now)
    return True


def oldest_pending_job(session: Session, agent_id: int, ticket_id: int) -> int | None:
    """The agent's oldest job for the ticket still waiting for its answer."""
    return session.scalar(
        sa.select(PrintJob.id)
        .where(
            PrintJob.device_id == agent_id,
            PrintJob.ticket_id == ticket_id,
            PrintJob.state == "pending",
        )
        .order_by(PrintJob.id)
        .limit(1)
    )


def pending_jobs(
    session: Session, hall: Hall, agent_id: int, *, base_url: str, now: datetime
) -> list[dict[str, Any]]:
    """The ``print.job`` bodies of the agent's jobs not yet done, oldest first."""
    jobs = list(
        session.scalars(
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
    for payload in session.scalars(
        sa.select(Event.payload).where(
            Event.hall_id == hall.id,
            Event.name == Ev.PRINT_JOB,
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
            ticket = session.get(Ticket, job.ticket_id)
            if ticket is None:
                continue
            view = ticket_view(session, hall, ticket, base_url, reprint=job.reprint, at=now)
            body = {
                "seq": hall.event_seq,
                "hall": hall.slug,
                "job": job.id,
                "ticket": ser.ticket(hall, ticket),
                "reprint": job.reprint,
                "view": view_to_dict(view),
            }
        out.append(body)
    return out


# --- after a crash ----------------------------------------------------------------------------


def recover_hall(
    session: Session, hall: Hall, *, now: datetime, base_url: str, server_printer: bool
) -> tuple[list[Plan], dict[str, int]]:
    """On start: no kiosk ticket of the hall stays ``print_state=pending`` (after ``kill -9``).

    A ticket with no print job yet (the process died between its commit and its job) gets
    its job now (:func:`first_job`); a job for the server's printer still pending (the process
    died while it waited or printed) is to be printed again. Both only when issued less than
    :data:`RESUME_WITHIN_S` ago on today's business day; older ones are marked failed and
    their kiosk hears ``print.failed`` (a clerk can reprint). A print agent's pending jobs
    are its own: it gets them again on its next ``print.hello``, and its journal prints each
    once. Returns the server's jobs to print, and counts for the log.
    """
    today = business_date(hall, now)
    plans: list[Plan] = []
    counts = {"resumed": 0, "failed": 0, "agent": 0}
    handled: set[int] = set()

    def fresh(ticket: Ticket, since: datetime) -> bool:
        age = (now - since).total_seconds()
        return ticket.business_date == today and age <= RESUME_WITHIN_S

    tickets = session.scalars(
        sa.select(Ticket)
        .where(Ticket.hall_id == hall.id, Ticket.print_state == "pending")
        .order_by(Ticket.id)
    ).all()
    for ticket in tickets:
        if has_first_job(session, ticket):
            continue
        if fresh(ticket, ticket.issued_at):
            plan = first_job(
                session,
                hall,
                ticket,
                base_url=base_url,
                now=now,
                server_printer=server_printer,
                no_job_yet=True,  # looked for just above
            )
            if plan is None:
                continue
            handled.add(plan.job_id)
            if plan.route == "server":
                plans.append(plan)
                counts["resumed"] += 1
            else:
                counts["agent"] += 1
        else:
            job = _new_job(session, hall, ticket, None, reprint=False, at=now)
            handled.add(job.id)
            fail_job(session, hall, ticket, job, error=RESTARTED, at=now)
            counts["failed"] += 1
    jobs = session.scalars(
        sa.select(PrintJob)
        .where(PrintJob.hall_id == hall.id, PrintJob.state == "pending")
        .order_by(PrintJob.id)
    ).all()
    for job in jobs:
        ticket = session.get(Ticket, job.ticket_id)
        if job.id in handled or ticket is None:
            continue
        if job.device_id is not None:
            counts["agent"] += 1  # re-sent on the agent's next hello
            continue
        kiosk = session.get(Device, ticket.device_id) if ticket.device_id else None
        if fresh(ticket, job.created_at) and server_printer:
            view = ticket_view(session, hall, ticket, base_url, reprint=job.reprint, at=now)
            plans.append(
                Plan(hall.slug, job.id, ticket.id, "server", view, kiosk.id if kiosk else None)
            )
            counts["resumed"] += 1
        else:
            fail_job(session, hall, ticket, job, error=RESTARTED, at=now)
            counts["failed"] += 1
    return plans, counts
