"""``POST /api/v1/halls/<slug>/tickets/<id>/reprint``: print a ticket again ("IN LẠI").

The job is a core service (:func:`layso.services.printing.create_job`, ``reprint=True``), written
in the request's transaction; the server's printer prints it after the commit, a print agent
gets it as a ``print.job`` event.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify
from flask.typing import ResponseReturnValue

from layso import errors
from layso.apidoc import doc, obj
from layso.models import Counter, Role
from layso.services.accounts import audit
from layso.services.common import get_ticket
from layso.web import hall_context, now
from printer.worker import PrintService

REPRINTERS = (Role.CLERK.value, Role.MANAGER.value, Role.ADMIN.value)

bp = Blueprint("printing", __name__)


@bp.post("/api/v1/halls/<slug>/tickets/<int:ticket_id>/reprint")
@doc(
    "Print a ticket again, marked IN LẠI / REPRINT, on the printer that printed it",
    who="the clerk at the counter serving the ticket, or a manager or admin; the answer comes "
    "at once, the printing follows (printer.status tells managers when a printer fails); 409 "
    "when no printer is set up",
    ok=(
        202,
        "the print job, queued",
        obj(
            {
                "job": obj(
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
        ),
    ),
    errors=(401, 403, 404, 409),
)
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
