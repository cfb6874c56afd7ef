"""The dossier code (mã hồ sơ) of a results ticket: entered at the counter, kept with the
ticket, logged as ``ticket.dossier`` and searchable in the manager's log."""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy.orm import Session

from layso import errors
from layso.events import Ev
from layso.models import Hall, ServiceKind, Ticket, TicketStatus, User
from layso.services.counters import _clerk_counter, _current, _ticket_event

#: letters, digits and - . / ; starts with a letter or digit; at most 40 characters
DOSSIER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9./-]{0,39}$")


def check_code(code: object) -> str | None:
    """A valid dossier code (trimmed), or None for "no code"; anything else is refused."""
    if code is None or (isinstance(code, str) and not code.strip()):
        return None
    if not isinstance(code, str) or not DOSSIER_CODE.match(code.strip()):
        raise errors.BadRequest(
            vi="Mã hồ sơ gồm tối đa 40 chữ cái không dấu, chữ số, '-', '.' hoặc '/' "
            "(ví dụ: 000.00.12.H01-261121-0001).",
            en="A dossier code is up to 40 letters A-Z, digits, '-', '.' or '/' "
            "(e.g. 000.00.12.H01-261121-0001).",
        )
    return code.strip()


def set_dossier_code(
    session: Session, hall: Hall, number: int, *, user: User, code: object, now: datetime
) -> Ticket:
    """Keep the dossier code with the results ticket now at this clerk's counter."""
    value = check_code(code)
    counter = _clerk_counter(session, hall, number, user)
    ticket = _current(session, counter)
    if ticket is None:
        raise errors.NoCurrentTicket(counter=counter.number)
    if ticket.status not in (TicketStatus.CALLED, TicketStatus.SERVING):
        raise errors.InvalidTransition(
            ticket=ticket.display_number, status=ticket.status.value, action="given a dossier code"
        )
    if ticket.service.kind != ServiceKind.RESULTS:
        raise errors.Conflict(
            vi="Chỉ số của lĩnh vực trả kết quả mới ghi mã hồ sơ.",
            en="Only a ticket of a results area takes a dossier code.",
        )
    if ticket.dossier_code != value:
        ticket.dossier_code = value
        session.flush()
        _ticket_event(session, hall, Ev.TICKET_DOSSIER, ticket, counter, user, now)
    return ticket
