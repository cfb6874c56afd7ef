"""The kiosk page, the phone page of one ticket and its QR code.

* ``/kiosk``: the touchscreen in the hall (opened once with ``?token=KIOSK_DEVICE_TOKEN``); it
  works from the JSON API and the hub (``kiosk/static/kiosk/kiosk.js``).
* ``/t/<code>``: the citizen's phone, reached from the ticket's QR code, no sign-in: the code
  (16 characters of ``secrets.token_urlsafe``) is the only key. The page is rendered with the
  ticket as it is now and then polls ``GET /api/v1/t/<code>`` every few seconds: a phone page
  has no token to join the hub with, and polling survives sleeping phones, captive Wi-Fi and
  proxies without any state on the server. While the ticket waits the page offers "Tôi sẽ
  đến muộn" (move back, once), "Hủy số" (leave, confirmed) and a phone number to be told when
  the turn is near (the public actions of ``/api/v1/t/<code>/…``, layso.services.notify.turn).
* ``/t/<code>/qr.svg``: the QR code of the phone page, drawn on the server (no JavaScript QR
  library), shown by the kiosk next to the number.
"""

from __future__ import annotations

from typing import Any

import qrcode
import qrcode.constants
from flask import Blueprint, Response, abort, current_app, render_template
from flask.typing import ResponseReturnValue

from layso import serializers as ser
from layso.models import Hall, TicketStatus
from layso.services.notify.turn import phone_state
from layso.services.tickets import find_ticket_by_code, position
from layso.web import db, now, public_base_url

bp = Blueprint(
    "kiosk",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/kiosk/static",
)

#: Seconds between two polls of the phone page.
PHONE_POLL_S = 5


@bp.get("/kiosk")
def kiosk_page() -> ResponseReturnValue:
    """The touchscreen kiosk; the device token comes once as ?token= and is remembered."""
    settings = current_app.config["LAYSO_SETTINGS"]
    return render_template(
        "kiosk/kiosk.html",
        server_printer="none" if settings.printer == "none" else "yes",
        device_page=True,
    )


def _ticket_or_404(code: str) -> tuple[Any, Hall]:
    with db().read() as s:
        ticket = find_ticket_by_code(s, code)
        hall = s.get(Hall, ticket.hall_id) if ticket is not None else None
        if ticket is None or hall is None:
            abort(404)
        return ticket, hall


@bp.get("/t/<code>")
def phone_page(code: str) -> ResponseReturnValue:
    """One ticket's live status for the citizen's phone."""
    with db().read() as s:
        ticket = find_ticket_by_code(s, code)
        hall = s.get(Hall, ticket.hall_id) if ticket is not None else None
        if ticket is None or hall is None:
            return render_template("kiosk/phone_unknown.html"), 404
        ahead, wait = position(s, hall, ticket, now())
        turn = phone_state(s, hall, ticket, ahead)
        resp = Response(
            render_template(
                "kiosk/phone.html",
                code=code,
                hall=hall,
                ticket=ser.ticket_with_position(hall, ticket, ahead, wait),
                priority=ser.priority_name(s, hall, ticket.priority),
                called=ticket.status == TicketStatus.CALLED,
                turn=turn,
                poll_s=PHONE_POLL_S,
            )
        )
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"  # the code is the key: keep it out of logs
    return resp


def qr_svg(text: str, *, border: int = 2) -> str:
    """A QR code as a small SVG: one path of dark modules on a white square."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=border)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()
    size = len(matrix)
    runs = []
    for y, row in enumerate(matrix):
        x = 0
        while x < size:
            if row[x]:
                start = x
                while x < size and row[x]:
                    x += 1
                runs.append(f"M{start} {y}h{x - start}v1h-{x - start}z")
            else:
                x += 1
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'shape-rendering="crispEdges"><rect width="{size}" height="{size}" fill="#fff"/>'
        f'<path fill="#000" d="{"".join(runs)}"/></svg>'
    )


@bp.get("/t/<code>/qr.svg")
def phone_qr(code: str) -> ResponseReturnValue:
    """The QR code of a ticket's phone page (what the printed ticket carries too)."""
    _ticket_or_404(code)
    resp = Response(qr_svg(ser.status_url(public_base_url(), code)), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, max-age=86400"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
