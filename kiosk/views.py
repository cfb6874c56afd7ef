"""The kiosk page, the phone page of one ticket and its QR code, the public booking pages.

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
* ``/dat-lich`` (alias ``/book``; ``/dat-lich/<hall>`` when there are several halls): book a
  time or take a remote number on the citizen's phone (``kiosk/static/kiosk/book.js`` over the
  public bookings API); ``/dat-lich/ma/<code>``: one booking, its state and cancelling it;
  ``/dat-lich/ma/<code>/qr.svg``: its QR (that page's address), which the kiosk's scanner reads.
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


# --- appointments: the public booking page and the page of one booking (issue 14) -------------

BOOKING_STATES = {
    "booked": ("Đã đặt", "Booked"),
    "checked_in": ("Đã xác nhận tại kiosk", "Checked in"),
    "called": ("Đã được mời", "Called"),
    "served": ("Đã phục vụ", "Served"),
    "no_show": ("Vắng mặt", "No-show"),
    "cancelled": ("Đã hủy", "Cancelled"),
}


def _halls() -> list[Hall]:
    import sqlalchemy as sa

    with db().read() as s:
        halls = list(s.scalars(sa.select(Hall).order_by(Hall.id)))
        for h in halls:
            s.expunge(h)
        return halls


@bp.get("/dat-lich")
@bp.get("/book")
@bp.get("/dat-lich/<slug>")
@bp.get("/book/<slug>")
def book_page(slug: str | None = None) -> ResponseReturnValue:
    """Book a time or take a remote number, on the citizen's phone; no sign-in."""
    halls = _halls()
    if slug is not None:
        halls = [h for h in halls if h.slug == slug]
        if not halls:
            abort(404)
    if len(halls) != 1:
        return render_template("kiosk/book_halls.html", halls=halls)
    resp = Response(render_template("kiosk/book.html", hall=halls[0]))
    resp.headers["Cache-Control"] = "no-store"
    return resp


def _booking_or_404(code: str) -> tuple[dict[str, Any], Hall]:
    import sqlalchemy as sa

    from layso.models import Booking
    from layso.services import bookings as bk

    with db().read() as s:
        row = s.scalars(sa.select(Booking).where(Booking.code == bk.clean_code(code))).first()
        hall = s.get(Hall, row.hall_id) if row is not None else None
        if row is None or hall is None:
            abort(404)
        booking = bk.public(hall, row)
        s.expunge(hall)
        return booking, hall


@bp.get("/dat-lich/ma/<code>")
def booking_page(code: str) -> ResponseReturnValue:
    """One booking, reached from its QR: state, ticket, cancelling."""
    booking, hall = _booking_or_404(code)
    day = "/".join(reversed(booking["date"].split("-")))
    resp = Response(
        render_template(
            "kiosk/booking.html", booking=booking, hall=hall, day=day, states=BOOKING_STATES
        )
    )
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@bp.get("/dat-lich/ma/<code>/qr.svg")
def booking_qr(code: str) -> ResponseReturnValue:
    """The booking's QR: its page's address, which ends in the code (a scanner at the kiosk
    types it; the kiosk keeps the last part)."""
    booking, _ = _booking_or_404(code)
    text = f"{public_base_url().rstrip('/')}/dat-lich/ma/{booking['code']}"
    resp = Response(qr_svg(text), mimetype="image/svg+xml")
    resp.headers["Cache-Control"] = "private, max-age=86400"
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp
