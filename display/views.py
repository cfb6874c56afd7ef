"""Display pages, the display's settings and the spoken-call audio endpoint."""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, current_app, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from display import bp
from layso import errors
from layso.apidoc import doc, obj, query
from layso.limits import rate_limit
from layso.models import Device, Hall, Service, Ticket
from layso.services.common import business_date, get_counter
from layso.voice import DEFAULT_TEMPLATE_VI, CallAnnouncer
from layso.voice_words import with_results_purpose
from layso.web import hall_context, now

logger = logging.getLogger(__name__)

VOICE_KEY = "layso.voice"
# a ticket's display number as the hall prints it: an optional letter prefix, then digits
# ("1023", "A023", "ĐB007"); ten characters at most
NUMBER_RE = re.compile(r"[A-ZĂÂĐÊÔƠƯ]{0,5}[0-9]{1,9}")
NUMBER_MAX = 10
COUNTER_RE = re.compile(r"[0-9]{1,4}")
SERVICE_CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,20}")
FILTER_MAX = 100
CALLED_WITHIN = timedelta(hours=12)  # a ticket called this recently may still be announced


def init_app(app: Flask) -> None:
    """One announcer per app: its WAVs are cached under the instance folder."""
    app.extensions[VOICE_KEY] = CallAnnouncer(
        Path(app.instance_path) / "voice-cache",
        max_bytes=app.config.get("LAYSO_VOICE_CACHE_BYTES") or 50 * 1024 * 1024,
    )


# --- pages ----------------------------------------------------------------------------------


@bp.get("/display")
def wall() -> ResponseReturnValue:
    """The wall display: opened once with ?token=, then driven by the hub."""
    return render_template("display/wall.html", device_page=True)


@bp.get("/counter-display")
def counter_display() -> ResponseReturnValue:
    """The small screen over one counter (a counter-display device's token)."""
    return render_template("display/counter.html", device_page=True)


# --- API ------------------------------------------------------------------------------------


def clean_filter(raw: Any) -> dict[str, list[Any]]:
    """A device's zone filter, keeping only well-formed area codes and counter numbers."""
    out: dict[str, list[Any]] = {"services": [], "counters": []}
    if not isinstance(raw, dict):
        return out
    services = raw.get("services")
    if isinstance(services, list):
        out["services"] = [
            s for s in services[:FILTER_MAX] if isinstance(s, str) and SERVICE_CODE_RE.fullmatch(s)
        ]
    counters = raw.get("counters")
    if isinstance(counters, list):
        out["counters"] = [
            n
            for n in counters[:FILTER_MAX]
            if isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= 9999
        ]
    return out


@bp.get("/api/v1/halls/<slug>/display/settings")
@doc(
    "The calling display's zone filter (areas and counters it shows); empty lists show all",
    who="any device or user of the hall",
    ok=(
        200,
        "the display's settings",
        obj(
            {
                "device": {"type": ["object", "null"]},
                "filter": obj(
                    {
                        "services": {"type": "array", "items": {"type": "string"}},
                        "counters": {"type": "array", "items": {"type": "integer"}},
                    }
                ),
            }
        ),
    ),
    errors=(401, 403, 404),
)
def display_settings(slug: str) -> ResponseReturnValue:
    """What a display needs beyond the snapshot: its own zone filter."""
    with hall_context(slug) as c:
        device = c.session.get(Device, c.principal.id) if c.principal.kind == "device" else None
        return {
            "device": (
                {"id": device.id, "name": device.name, "kind": device.kind.value}
                if device is not None
                else None
            ),
            "filter": clean_filter(device.filter if device is not None else None),
        }


def _arg(name: str) -> str:
    values = request.args.getlist(name)
    if len(values) != 1:
        raise errors.BadRequest(
            vi=f"Cần đúng một tham số '{name}'.", en=f"Give exactly one '{name}' parameter."
        )
    return values[0]


def parse_call(number: str, counter: str) -> tuple[str, int]:
    """Validate the ticket's display number and the counter number of a spoken call."""
    number = unicodedata.normalize("NFC", number)
    if len(number) > NUMBER_MAX or not NUMBER_RE.fullmatch(number):
        raise errors.BadRequest(
            vi="'number' phải là số thứ tự như 1023 hoặc A023 (tối đa 10 ký tự).",
            en="'number' must be a ticket number such as 1023 or A023 (10 characters at most).",
        )
    if not COUNTER_RE.fullmatch(counter):
        raise errors.BadRequest(
            vi="'counter' phải là số quầy (số nguyên từ 0 đến 9999).",
            en="'counter' must be a counter number (a whole number from 0 to 9999).",
        )
    return number, int(counter)


def _voice_lang(voice: str) -> str:
    """How numbers are read aloud: English words for an English voice, else Vietnamese."""
    return "en" if voice.lower().split("-")[0] == "en" else "vi"


def _ticket_kind(s: Session, hall: Hall, number: str) -> str | None:
    """The area kind of a ticket with this display number issued today, or called in the last
    CALLED_WITHIN (intake or results); None when there is no such ticket."""
    at = now()
    stmt = (
        sa.select(Service.kind)
        .join(Ticket, Ticket.service_id == Service.id)
        .where(Ticket.hall_id == hall.id, Ticket.display_number == number)
        .where(
            sa.or_(
                Ticket.business_date == business_date(hall, at),
                Ticket.called_at >= at - CALLED_WITHIN,
            )
        )
        .order_by(Ticket.id.desc())
        .limit(1)
    )
    kind = s.scalar(stmt)
    return None if kind is None else str(kind.value)


@bp.get("/api/v1/halls/<slug>/audio/call.wav")
@doc(
    "The spoken call: chime, then the hall's call sentence (voice_template) in its voice "
    "(voice_lang), rendered offline with espeak-ng and cached; the chime alone when no "
    "speech engine is installed (header X-Layso-Speech: no)",
    who="any device or user of the hall",
    params=[
        query(
            "number",
            {"type": "string", "pattern": r"^[A-ZĂÂĐÊÔƠƯ]{0,5}[0-9]{1,9}$", "maxLength": 10},
            required=True,
            description="the ticket's display number, e.g. 1023 or A023",
        ),
        query("counter", {"type": "string", "pattern": r"^[0-9]{1,4}$"}, required=True),
    ],
    ok=(200, "a mono 16-bit PCM WAV", None),
    media={"audio/wav": {"type": "string", "format": "binary"}},
    errors=(400, 401, 403, 404),
)
def call_audio(slug: str) -> ResponseReturnValue:
    """Chime + the hall's call sentence for one ticket and counter, as a WAV."""
    number, counter = parse_call(_arg("number"), _arg("counter"))
    with hall_context(slug) as c:
        get_counter(c.session, c.hall, counter)  # only real counters: bounds the voice cache
        kind = _ticket_kind(c.session, c.hall, number)
        if kind is None:  # only real tickets: bounds it too
            raise errors.UnknownTicket()
        rate_limit("audio", f"{c.principal.kind}:{c.principal.id}")
        template = c.hall.voice_template or DEFAULT_TEMPLATE_VI
        voice = c.hall.voice_lang or "vi"
    # speak outside the transaction: espeak-ng is a subprocess
    announcer: CallAnnouncer = current_app.extensions[VOICE_KEY]
    lang = _voice_lang(voice)
    if kind == "results":  # a results counter: "... để nhận kết quả"
        template = with_results_purpose(template, lang)
    try:
        data = announcer.announce_call(number, counter, template=template, lang=lang, voice=voice)
    except ValueError as exc:  # a template the manager broke: fall back to the default sentence
        logger.warning("hall %s: call template unusable (%s), using the default", slug, exc)
        data = announcer.announce_call(number, counter, lang=lang, voice=voice)
    spoken = data != announcer.chime_wav()
    resp = Response(data, mimetype="audio/wav")
    resp.headers["Cache-Control"] = "private, max-age=3600"
    resp.headers["X-Layso-Speech"] = "yes" if spoken else "no"
    return resp
