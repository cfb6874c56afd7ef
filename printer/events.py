"""What print agents send on the hub (namespace ``/hall``), and what the server does about it.

A print agent connects like every screen (auth ``{token, hall, after}``); the hub's connect
handler has checked its token and put it in its rooms, one of which is
``hall:<slug>:device:<id>``. These handlers take the sender's identity from that room (never
from the message) and accept it only from a live ``print-agent`` device.

* ``print.hello`` ``{"printer": state, "detail": text}``: sent after every (re)connect. The
  server keeps the printer's state and sends back, as ``print.job`` events, every job of this
  agent still pending: those issued while it was away, and those whose answer got lost.
* ``print.status`` ``{"printer": state, "detail": text}``: the printer's state changed.
* ``print.result`` ``{"ticket": id, "job": id, "ok": bool, "printer": state, "error": text}``:
  one job's outcome, recorded once (a repeated answer changes nothing); without ``job``, the
  oldest pending job of that ticket for this agent.

Each handler acknowledges with ``{"ok": true, ...}`` or ``{"ok": false, "error": ...}``.
When the agent's connection ends, its printer is marked ``offline`` ("print agent not
connected"), and the kiosk's tickets wait for the agent to come back.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from flask import current_app, request
from flask_socketio import emit, rooms

from layso.events import Ev
from layso.hub import NAMESPACE, on_disconnect, socketio
from layso.services import printing
from layso_agent.status import STATUSES

logger = logging.getLogger(__name__)

_DEVICE_ROOM = re.compile(r"hall:([^:]+):device:(\d+)")
# agents that said hello on this process's connections: sid -> (hall, device id)
_connected: dict[str, tuple[str, int]] = {}


def _service() -> Any:
    return current_app.extensions["layso.printer"]


def _sender() -> tuple[str, int] | None:
    """(hall slug, device id) of the print agent on this connection, or None."""
    for name in rooms(namespace=NAMESPACE):
        match = _DEVICE_ROOM.fullmatch(name)
        if match is None:
            continue
        slug, device_id = match.group(1), int(match.group(2))
        db = current_app.extensions["layso.db"]
        with db.read() as s:
            if printing.live_agent(s, slug, device_id):
                return slug, device_id
        return None
    return None


def _state(data: Any) -> tuple[str, str | None]:
    state = data.get("printer") if isinstance(data, dict) else None
    if state not in STATUSES:
        state = "error"
    detail = data.get("detail") if isinstance(data, dict) else None
    return state, detail[:200] if isinstance(detail, str) and detail else None


_REFUSED = {"ok": False, "error": "not a print agent"}


def _malformed(data: Any) -> dict[str, Any] | None:
    """A refusal for a message that is not an object or names an unknown printer state."""
    if data is None:
        return None
    if not isinstance(data, dict):
        return {"ok": False, "error": "expected an object"}
    state = data.get("printer")
    if state is not None and (not isinstance(state, str) or state not in STATUSES):
        return {"ok": False, "error": f"printer must be one of {', '.join(STATUSES)}"}
    detail = data.get("detail")
    if detail is not None and not isinstance(detail, str):
        return {"ok": False, "error": "detail must be text"}
    return None


@socketio.on(Ev.PRINT_HELLO, namespace=NAMESPACE)
def hello(data: Any = None) -> dict[str, Any]:
    """Sent by a print agent after each connect: its printer's state; answered with its jobs."""
    sender = _sender()
    if sender is None:
        return _REFUSED
    slug, agent_id = sender
    refusal = _malformed(data)
    if refusal is not None:
        return refusal
    state, detail = _state(data)
    _connected[request.sid] = sender  # type: ignore[attr-defined]
    jobs = _service().agent_ready(slug, agent_id, state, detail)
    for body in jobs:
        emit(Ev.PRINT_JOB, body)
    logger.info("print agent %d of hall %s ready, %d jobs pending", agent_id, slug, len(jobs))
    return {"ok": True, "pending": len(jobs)}


@socketio.on(Ev.PRINT_STATUS, namespace=NAMESPACE)
def status(data: Any = None) -> dict[str, Any]:
    """Sent by a print agent when its printer's state changes."""
    sender = _sender()
    if sender is None:
        return _REFUSED
    refusal = _malformed(data)
    if refusal is not None:
        return refusal
    state, detail = _state(data)
    _service().agent_state(*sender, state, detail)
    return {"ok": True}


@socketio.on(Ev.PRINT_RESULT, namespace=NAMESPACE)
def result(data: Any = None) -> dict[str, Any]:
    """Sent by a print agent after each job: printed or not, and its printer's state."""
    sender = _sender()
    if sender is None:
        return _REFUSED
    slug, agent_id = sender
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        return {"ok": False, "error": "expected {ticket, job, ok, printer}"}
    refusal = _malformed(data)
    if refusal is not None:
        return refusal
    job_id = data.get("job")
    ticket_id = data.get("ticket")
    if job_id is not None and not _is_id(job_id):
        return {"ok": False, "error": "job must be a positive integer id"}
    if ticket_id is not None and not _is_id(ticket_id):
        return {"ok": False, "error": "ticket must be a positive integer id"}
    if job_id is None:
        if ticket_id is None:
            return {"ok": False, "error": "expected a job or ticket id"}
        job_id = _oldest_pending_job(agent_id, ticket_id)
        if job_id is None:
            return {"ok": False, "error": "no pending job for this ticket"}
    state, detail = _state(data)
    error = data.get("error")
    error = error[:200] if isinstance(error, str) and error else detail
    attempts = data.get("attempts")
    if not isinstance(attempts, int) or isinstance(attempts, bool) or not 0 <= attempts <= 100:
        attempts = 1
    outcome = _service().finish(
        slug,
        job_id,
        ok=data["ok"],
        state=state,
        error=error,
        attempts=attempts,
        state_device=agent_id,
        agent_id=agent_id,
    )
    if outcome == "unknown":
        return {"ok": False, "error": "unknown job", "job": job_id}
    return {"ok": True, "job": job_id, "state": outcome}


MAX_ID = 2**63 - 1  # a database id (BIGINT); larger numbers cannot name a row


def _is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


def _oldest_pending_job(agent_id: int, ticket_id: int) -> int | None:
    db = current_app.extensions["layso.db"]
    with db.read() as s:
        return printing.oldest_pending_job(s, agent_id, ticket_id)


@on_disconnect
def disconnect(reason: Any = None) -> None:
    """A connection ended; if it was a print agent's last one here, its printer is offline."""
    sender = _connected.pop(request.sid, None)  # type: ignore[attr-defined]
    if sender is None or sender in _connected.values():
        return
    try:
        _service().agent_gone(*sender)
    except Exception:
        logger.exception("could not mark print agent %d offline", sender[1])
