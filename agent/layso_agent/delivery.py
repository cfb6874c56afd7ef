"""Deliver one ticket to a printer and say what became of it: the same rules on the server and
on a kiosk PC's print agent.

1. Ask the printer its state first (DLE EOT; ``ok`` at once for preview and none). A printer
   that says it is out of paper gets nothing: the bytes would sit in its buffer and come out
   much later, long after the citizen has left with the number on screen.
2. Print, with a short timeout (the URI's ``timeout``, 3 s by default); on failure try once
   more after a second.
3. Report the printer's state: after a success, what the printer said before (``paper_low``
   stays visible, ``unknown`` for a network printer that never answers DLE EOT: many print
   fine, but nobody can tell their paper), ``ok`` when it was unreachable before; after a
   failure, what it says now, or ``error`` when it claims to be fine.

A printer found silent is not asked again before each ticket for :data:`SILENT_RECHECK_S`
(one status request costs its timeout): tickets then follow each other at printing speed.

Plain Python, like the rest of :mod:`layso_agent`: no Flask, no :mod:`layso`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from layso_agent.driver import PrinterConfig, PrinterUnavailable, print_ticket
from layso_agent.status import query_status
from layso_agent.ticket import TicketView

logger = logging.getLogger(__name__)

ATTEMPTS = 2
RETRY_DELAY_S = 1.0
PAPER_OUT = "paper out"
SILENT_RECHECK_S = 300.0
SILENT = "no answer to status requests"

# printers (by URI) that did not answer a status request, until when not to ask them again
_silent: dict[str, float] = {}


def status_before(config: PrinterConfig, status: Callable[[PrinterConfig], str]) -> str:
    """The printer's state before a ticket; a printer known to be silent is not asked again."""
    until = _silent.get(config.uri)
    if until is not None and time.monotonic() < until:
        return "unknown"
    state = status(config)
    if state == "unknown":
        _silent[config.uri] = time.monotonic() + SILENT_RECHECK_S
    else:
        _silent.pop(config.uri, None)
    return state


@dataclass(frozen=True)
class Outcome:
    """What happened to one ticket: printed or not, why not, and the printer's state after."""

    ok: bool
    state: str  # one of layso_agent.status.STATUSES
    error: str | None = None  # a few words, for the manager
    attempts: int = 0


def deliver(
    config: PrinterConfig,
    view: TicketView,
    *,
    attempts: int = ATTEMPTS,
    retry_delay_s: float = RETRY_DELAY_S,
    sleep: Callable[[float], object] = time.sleep,
    printer: Callable[[PrinterConfig, TicketView], None] = print_ticket,
    status: Callable[[PrinterConfig], str] = query_status,
) -> Outcome:
    """Print ``view`` on ``config``'s printer; never raises for the printer's sake."""
    before = status_before(config, status)
    if before == "paper_out":
        logger.warning(
            "printer %s is out of paper: ticket %s not sent", config.uri, view.display_number
        )
        return Outcome(ok=False, state="paper_out", error=PAPER_OUT)
    error: str | None = None
    tries = 0
    for attempt in range(max(1, attempts)):
        tries += 1
        try:
            printer(config, view)
            error = None
            break
        except PrinterUnavailable as exc:
            error = exc.reason
            logger.warning(
                "ticket %s not printed on %s (attempt %d): %s",
                view.display_number,
                config.uri,
                tries,
                exc.reason,
            )
        except Exception:  # a bug must not leave the ticket "printing" for ever
            logger.exception("ticket %s: printing failed unexpectedly", view.display_number)
            error = "internal error"
            break
        if attempt + 1 < attempts:
            sleep(retry_delay_s)
    if error is None:
        return Outcome(
            ok=True,
            state=before if before in ("ok", "paper_low", "unknown") else "ok",
            attempts=tries,
        )
    after = status(config)
    return Outcome(
        ok=False,
        state="error" if after in ("ok", "paper_low", "unknown") else after,
        error=error,
        attempts=tries,
    )


def view_to_dict(view: TicketView) -> dict[str, Any]:
    """The ticket as JSON, for the ``print.job`` event a print agent receives."""
    body = dataclasses.asdict(view)
    body["issued_at"] = view.issued_at.isoformat()
    body["booked_for"] = view.booked_for.isoformat() if view.booked_for else None
    return body


def view_from_dict(body: dict[str, Any]) -> TicketView:
    """Rebuild a ticket from :func:`view_to_dict`; raise ``ValueError`` when it is malformed."""
    if not isinstance(body, dict):
        raise ValueError("the ticket to print is not an object")
    names = {f.name for f in dataclasses.fields(TicketView)}
    fields = {k: v for k, v in body.items() if k in names}
    try:
        fields["issued_at"] = datetime.fromisoformat(str(fields["issued_at"]))
        if fields.get("booked_for"):
            fields["booked_for"] = datetime.fromisoformat(str(fields["booked_for"]))
        view = TicketView(**fields)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"the ticket to print is incomplete: {exc}") from None
    if not isinstance(view.display_number, str) or not isinstance(view.status_url, str):
        raise ValueError("the ticket to print has no number or no status URL")
    return view
