"""HTTP API v1: thin edges over the services, one transaction per request.

One module on purpose, though long: it is the hall's API as one table of contents (tickets,
counters, state and log, ratings, devices) — some thirty routes, each a few lines of glue under
its ``@doc`` metadata, which is most of the length. The logic is in ``layso/services/``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError

from layso import errors
from layso import serializers as ser
from layso.apidoc import IDEMPOTENCY_KEY, doc, obj, query, ref
from layso.limits import rate_limit
from layso.models import Device, DeviceKind, Role, User
from layso.services import counters as ops
from layso.services import dossiers
from layso.services import idempotency as idem
from layso.services import state as state_ops
from layso.services import tickets as ticket_ops
from layso.services.common import by_id, get_counter, get_ticket
from layso.web import (
    Context,
    field_int,
    field_str,
    hall_context,
    json_body,
    now,
    public_base_url,
    query_int,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

ANY = ()  # any device or user of the hall
MAX_SEQ = 2**53  # the largest event seq a client may ask to replay after
STAFF = (Role.CLERK.value, Role.MANAGER.value, Role.ADMIN.value)
ISSUERS = (DeviceKind.KIOSK.value, *STAFF)
MANAGERS = (Role.MANAGER.value, Role.ADMIN.value)

TICKET = ref("Ticket")
# the answer to POST /tickets: the new ticket once, for its holder (with its code), nothing beside
ISSUED = {
    **obj(
        {
            "ticket": {
                "allOf": [
                    TICKET,
                    {
                        "properties": {
                            "code": {
                                "type": "string",
                                "description": "the ticket's secret code, key of its phone page",
                            }
                        },
                        "required": ["ahead", "estimated_wait_s", "status_url", "code"],
                    },
                ]
            }
        },
        ["ticket"],
    ),
    "additionalProperties": False,
}
TICKET_RESULT = obj({"ticket": {"oneOf": [TICKET, {"type": "null"}]}})
COUNTER_RESULT = obj({"counter": ref("Counter")})
CLERK = "the clerk signed in at that counter"
COUNTER_ERRS = (400, 401, 403, 404, 409)


@bp.before_request
def authenticate_first() -> None:
    """Who is asking comes before what is asked: a bad token is 401 whatever the body."""
    from layso.services.accounts import remembered_principal
    from layso.web import bearer_token, db, load_principal

    token = bearer_token()
    if token is not None and (known := remembered_principal(token)) is not None:
        g.layso_principal = known  # what load_principal keeps: no session opened for it
        return
    with db().read() as s:
        if load_principal(s) is None:
            raise errors.Unauthorized()


@bp.get("/me")
@doc(
    "Who this token or session is: kind, role, hall, counter",
    who="any device or user",
    ok=(
        200,
        "the principal",
        obj(
            {
                "kind": {"type": "string"},
                "role": {"type": "string"},
                "hall": {"type": ["string", "null"]},
                "counter": {"type": ["integer", "null"]},
            }
        ),
    ),
    errors=(401,),
)
def me() -> ResponseReturnValue:
    """Who the token or session belongs to: what a page needs to find its hall and counter."""

    from layso.models import Counter, Hall
    from layso.web import db, load_principal

    with db().read() as s:
        p = load_principal(s)
        if p is None:
            raise errors.Unauthorized()
        hall = s.get(Hall, p.hall_id) if p.hall_id else None
        counter = None
        if p.counter_id is not None:
            counter = s.get(Counter, p.counter_id)
        elif p.kind == "user":
            counter = s.scalars(sa.select(Counter).where(Counter.clerk_id == p.id)).first()
        return jsonify(
            {
                "kind": p.kind,
                "role": p.role,
                "name": p.name,
                "id": p.id,
                "hall": hall.slug if hall else None,
                "hall_name": hall.name if hall else None,
                "counter": counter.number if counter else None,
            }
        )


@bp.get("/halls/<slug>/services")
@doc(
    "List the hall's open service areas with waiting counts and estimated waits",
    who="any device or user of the hall",
    ok=(200, "areas", obj({"services": {"type": "array", "items": ref("Service")}})),
    errors=(401, 403, 404),
)
def services(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *ANY) as c:
        return jsonify({"services": state_ops.list_services(c.session, c.hall, now())})


@bp.post("/halls/<slug>/tickets")
@doc(
    "Issue the next ticket of an area",
    who="kiosk, clerk, manager",
    ok=(201, "the new ticket", ISSUED),
    also={
        200: (
            "the same ticket again, for a repeated Idempotency-Key (Idempotent-Replayed: true)",
            ISSUED,
        )
    },
    errors=(400, 401, 403, 404, 409, 422, 429),
    params=[IDEMPOTENCY_KEY],
    body=obj(
        {
            "service": {"type": "string", "maxLength": 20},
            "priority": {"type": ["string", "null"], "maxLength": 40},
        },
        ["service"],
    ),
)
def issue(slug: str) -> ResponseReturnValue:
    data = json_body()
    code = field_str(data, "service", max_len=20)
    priority = field_str(data, "priority", required=False, max_len=40)

    def act(c: Context) -> tuple[dict[str, Any], int]:
        rate_limit("issue", f"{c.principal.kind}:{c.principal.id}")
        # the issuing kiosk by its id (the principal's): its row is not read
        device_id = c.principal.id if c.principal.kind == "device" else None
        printing = current_app.extensions.get("layso.printer")
        prints = device_id is not None and (
            printing is None or printing.will_print(c.session, c.hall.id, device_id)
        )
        issued = ticket_ops.issue_ticket(
            c.session,
            c.hall,
            service_code=code or "",
            priority=priority,
            now=now(),
            device_id=device_id,
            print_state="pending" if prints else "none",
        )
        if printing is not None:  # the print job, in this same transaction
            printing.issued(
                c.session,
                c.hall,
                issued.ticket,
                base_url=printing.base_url(),
                position=(issued.ahead, issued.estimated_wait_s),
            )
        body = ser.ticket_for_holder(
            c.hall, issued.ticket, issued.ahead, issued.estimated_wait_s, public_base_url()
        )
        return {"ticket": body}, 201

    return idempotent(slug, ISSUERS, "ticket", {"service": code, "priority": priority}, act)


def idempotent(
    slug: str,
    roles: tuple[str, ...],
    scope: str,
    request_body: Any,
    action: Callable[[Context], tuple[dict[str, Any], int]],
) -> ResponseReturnValue:
    """Run ``action`` in the hall's write transaction, once per ``Idempotency-Key``.

    Without the header the action simply runs. With it, a key already stored for this hall
    replays its answer (200, ``Idempotent-Replayed: true``) and changes nothing; else the action
    runs and its answer is stored in the same transaction. A key used by someone else, for
    another action or with another body is refused (422).
    """
    key = idem.parse_key(request.headers.get(idem.HEADER))
    digest = idem.fingerprint(request_body) if key is not None else ""  # only a key's is kept
    try:
        with hall_context(slug, *roles, write=True) as c:
            who = f"{scope}|{c.principal.kind[:1]}{c.principal.id}"
            if key is not None:
                stored = idem.lookup(c.session, c.hall, key, who, digest)
                if stored is not None:
                    return _replay(stored)
            body, status = action(c)
            if key is not None:
                idem.remember(c.session, c.hall, key, who, digest, status, body, now=now())
    except IntegrityError:
        if key is None:
            raise
        # another process stored this key first (the unique constraint decided): replay it
        with hall_context(slug, *roles) as c:
            who = f"{scope}|{c.principal.kind[:1]}{c.principal.id}"
            stored = idem.lookup(c.session, c.hall, key, who, digest)
        if stored is None:
            raise
        return _replay(stored)
    return jsonify(body), status


def _replay(stored: idem.Stored) -> ResponseReturnValue:
    body = stored.body
    if "ticket" in body:  # answers stored by older versions repeated the ticket's fields beside it
        body = {"ticket": body["ticket"]}
    resp = jsonify(body)
    resp.status_code = 200
    resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get("/halls/<slug>/tickets/<int:ticket_id>")
@doc(
    "A ticket with its position, estimated wait and times",
    who="any device or user",
    ok=(200, "the ticket", obj({"ticket": TICKET})),
    errors=(401, 403, 404),
)
def ticket(slug: str, ticket_id: int) -> ResponseReturnValue:
    with hall_context(slug, *ANY) as c:
        t = get_ticket(c.session, c.hall, ticket_id)
        ahead, wait = ticket_ops.position(c.session, c.hall, t, now())
        if c.principal.kind == "user" or c.principal.role == DeviceKind.KIOSK.value:
            body = ser.ticket_for_holder(c.hall, t, ahead, wait, public_base_url())
        else:
            body = ser.ticket_with_position(c.hall, t, ahead, wait)
        return jsonify({"ticket": body})


@bp.post("/halls/<slug>/tickets/<int:ticket_id>/cancel")
@doc(
    "Cancel a waiting or held ticket",
    who="clerk, manager",
    ok=(200, "the ticket", TICKET_RESULT),
    errors=(401, 403, 404, 409),
)
def cancel(slug: str, ticket_id: int) -> ResponseReturnValue:
    with hall_context(slug, *STAFF, write=True) as c:
        t = get_ticket(c.session, c.hall, ticket_id)
        user = _user(c)
        ticket_ops.cancel_ticket(c.session, c.hall, t, now=now(), user=user)
        return jsonify({"ticket": _plain(c, t)})


@bp.post("/halls/<slug>/tickets/<int:ticket_id>/rating")
@doc(
    "Rate a served visit, once",
    who="the rating pad of the counter that served it (never a clerk, by page or by token: 403)",
    ok=(201, "the rating", obj({"rating": {"type": "object"}})),
    errors=(400, 401, 403, 404, 409),
    body=obj(
        {
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "reasons": {
                "type": "array",
                "maxItems": 10,
                "items": {"type": "string", "maxLength": 60},
            },
        },
        ["score"],
    ),
)
def rate(slug: str, ticket_id: int) -> ResponseReturnValue:
    data = json_body()
    score = field_int(data, "score", lo=1, hi=5)
    reasons = data.get("reasons", [])
    if (
        not isinstance(reasons, list)
        or len(reasons) > 10
        or not all(isinstance(r, str) and 0 < len(r) <= 60 for r in reasons)
    ):
        raise errors.BadRequest(
            vi="'reasons' là danh sách tối đa 10 lý do ngắn.",
            en="'reasons' must be a list of at most 10 short strings.",
        )
    with hall_context(slug, write=True) as c:
        p = c.principal
        if p.kind == "user":  # neither the counter page nor the clerk's token: only the pad
            raise errors.Forbidden(
                vi="Cán bộ không thể tự đánh giá thay công dân; chỉ bảng đánh giá của quầy "
                "mới gửi được đánh giá.",
                en="A clerk cannot rate on the citizen's behalf; only the counter's rating pad "
                "sends ratings.",
            )
        if p.role != DeviceKind.RATING_PAD.value:
            raise errors.Forbidden()
        t = get_ticket(c.session, c.hall, ticket_id)
        counter = next((x for x in c.hall.counters if x.id == p.counter_id), None)
        if counter is None:
            raise errors.Forbidden()
        rating = ticket_ops.rate_ticket(
            c.session, c.hall, t, score=score or 0, reasons=reasons, counter=counter, now=now()
        )
        return jsonify(
            {
                "rating": {
                    "id": rating.id,
                    "ticket": t.id,
                    "score": rating.score,
                    "scale": rating.scale,
                    "reasons": rating.reasons,
                    "counter": counter.number,
                }
            }
        ), 201


@bp.post("/halls/<slug>/suggestions")
@doc(
    "Drop a suggestion in the hall's box",
    who="kiosk",
    ok=(201, "stored", obj({"suggestion": {"type": "object"}})),
    errors=(400, 401, 403, 404, 429),
    body=obj(
        {
            "text": {"type": "string", "maxLength": 2000},
            "contact": {"type": ["string", "null"], "maxLength": 200},
        },
        ["text"],
    ),
)
def suggest(slug: str) -> ResponseReturnValue:
    data = json_body()
    text = field_str(data, "text", max_len=ticket_ops.MAX_TEXT)
    contact = field_str(data, "contact", required=False, max_len=ticket_ops.MAX_CONTACT)
    with hall_context(slug, DeviceKind.KIOSK.value, write=True) as c:
        rate_limit("suggest", f"{c.principal.kind}:{c.principal.id}")
        s = ticket_ops.add_suggestion(
            c.session,
            c.hall,
            text=text or "",
            contact=contact,
            now=now(),
            device=c.session.get(Device, c.principal.id),
        )
        return jsonify({"suggestion": {"id": s.id}}), 201


@bp.get("/halls/<slug>/state")
@doc(
    "The snapshot a screen starts from, with the current seq",
    who="any device or user",
    ok=(200, "snapshot", ref("State")),
    errors=(401, 403, 404),
)
def hall_state(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *ANY) as c:
        state = state_ops.hall_state(c.session, c.hall, now())
        if c.principal.kind == "device":
            state = state_ops.device_state(state)
        elif c.principal.role in MANAGERS:
            from layso.hub import manager_state

            state = manager_state(c.session, c.hall, state)
        return jsonify(state)


@bp.get("/halls/<slug>/events")
@doc(
    "The hall's events after a seq, oldest first",
    who="any device or user",
    params=[query("after", {"type": "integer", "minimum": 0, "maximum": MAX_SEQ})],
    ok=(
        200,
        "events",
        obj(
            {
                "events": {"type": "array", "items": {"type": "object"}},
                "seq": {"type": "integer"},
                "complete": {"type": "boolean"},
            }
        ),
    ),
    errors=(400, 401, 403, 404),
)
def events(slug: str) -> ResponseReturnValue:
    after = query_int("after", 0, 0, MAX_SEQ) or 0
    with hall_context(slug, *ANY) as c:
        from layso.hub import audiences_for

        aud = audiences_for(c.session, c.hall, c.principal)
        items = state_ops.events_after(c.session, c.hall, after, aud, kind=c.principal.device_kind)
        return jsonify(
            {
                "events": items,
                "seq": c.hall.event_seq,
                "complete": len(items) < state_ops.REPLAY_LIMIT,
            }
        )


# --- counters -------------------------------------------------------------------------------


def _user(c: Any) -> Any:
    if c.principal.kind != "user":
        raise errors.Forbidden()
    return by_id(c.session, User, c.principal.id)


def _plain(c: Any, t: Any) -> dict[str, Any] | None:
    return ser.ticket(c.hall, t) if t is not None else None


@bp.get("/halls/<slug>/counters/<int:number>")
@doc(
    "A counter, its state and current ticket",
    who="any device or user",
    ok=(200, "the counter", COUNTER_RESULT),
    errors=(401, 403, 404),
)
def counter(slug: str, number: int) -> ResponseReturnValue:
    with hall_context(slug, *ANY) as c:
        x = get_counter(c.session, c.hall, number)
        return jsonify({"counter": _counter_body(c, x)})


@bp.post("/halls/<slug>/counters/<int:number>/open")
@doc(
    "Sign in at a counter; move=true first leaves the clerk's other counter",
    who="a clerk",
    ok=(200, "the counter", COUNTER_RESULT),
    errors=COUNTER_ERRS,
    body=obj({"move": {"type": "boolean"}}),
)
def counter_open(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    move = data.get("move", False)
    if not isinstance(move, bool):
        raise errors.BadRequest(
            vi="'move' phải là true hoặc false.", en="'move' must be a boolean."
        )
    with hall_context(slug, Role.CLERK.value, Role.MANAGER.value, write=True) as c:
        x = ops.open_counter(c.session, c.hall, number, user=_user(c), now=now(), move=move)
        return jsonify({"counter": _counter_body(c, x)})


def _counter_body(c: Any, x: Any) -> dict[str, Any]:
    body = ser.counter(c.hall, x, ops.counter_ticket(c.session, x))
    return ser.counter_for_device(body) if c.principal.kind == "device" else body


@bp.post("/halls/<slug>/counters/<int:number>/close")
@doc("Leave the counter", who=CLERK, ok=(200, "the counter", COUNTER_RESULT), errors=COUNTER_ERRS)
def counter_close(slug: str, number: int) -> ResponseReturnValue:
    with hall_context(slug, *STAFF, write=True) as c:
        x = ops.close_counter(c.session, c.hall, number, user=_user(c), now=now())
        return jsonify({"counter": _counter_body(c, x)})


@bp.post("/halls/<slug>/counters/<int:number>/pause")
@doc(
    "Pause the counter with a reason: a code of the hall's pause reasons (the snapshot's "
    "info.pause_reasons, e.g. meeting, lunch), or free text",
    who=CLERK,
    ok=(200, "the counter", COUNTER_RESULT),
    errors=COUNTER_ERRS,
    body=obj({"reason": {"type": "string", "maxLength": 100}}),
)
def counter_pause(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    reason = field_str(data, "reason", required=False, max_len=100, default="Tạm dừng")
    with hall_context(slug, *STAFF, write=True) as c:
        x = ops.pause_counter(
            c.session, c.hall, number, user=_user(c), reason=reason or "", now=now()
        )
        return jsonify({"counter": _counter_body(c, x)})


@bp.post("/halls/<slug>/counters/<int:number>/resume")
@doc(
    "Resume a paused counter",
    who=CLERK,
    ok=(200, "the counter", COUNTER_RESULT),
    errors=COUNTER_ERRS,
)
def counter_resume(slug: str, number: int) -> ResponseReturnValue:
    with hall_context(slug, *STAFF, write=True) as c:
        x = ops.resume_counter(c.session, c.hall, number, user=_user(c), now=now())
        return jsonify({"counter": _counter_body(c, x)})


def counter_action(summary: str, body: dict[str, Any] | None = None) -> Any:
    """The document's entry of a counter action (one Idempotency-Key per press)."""
    return doc(
        summary,
        who=CLERK,
        params=[IDEMPOTENCY_KEY],
        ok=(
            200,
            "the counter's ticket (also the replay of a repeated Idempotency-Key)",
            TICKET_RESULT,
        ),
        errors=(*COUNTER_ERRS, 422),
        body=body,
    )


def _counter_act(
    slug: str, number: int, name: str, body: Any, action: Callable[[Context], Any]
) -> ResponseReturnValue:
    """A counter action that a retry must not do twice (``Idempotency-Key``, one per press)."""

    def act(c: Context) -> tuple[dict[str, Any], int]:
        return {"ticket": _plain(c, action(c))}, 200

    return idempotent(slug, STAFF, f"counter:{number}:{name}", body, act)


@bp.post("/halls/<slug>/counters/<int:number>/next")
@counter_action(
    "Call the next ticket by the hall's priority policy (finishes a ticket being served);"
    " ticket is null when nothing waits"
)
def counter_next(slug: str, number: int) -> ResponseReturnValue:
    return _counter_act(
        slug,
        number,
        "next",
        json_body(),
        lambda c: ops.call_next(c.session, c.hall, number, user=_user(c), now=now()),
    )


def _simple(name: str, action: Any) -> Any:
    def view(slug: str, number: int) -> ResponseReturnValue:
        return _counter_act(
            slug,
            number,
            name,
            json_body(),
            lambda c: action(c.session, c.hall, number, user=_user(c), now=now()),
        )

    return view


for _name, _action, _summary in (
    ("recall", ops.recall, "Call the current ticket again"),
    ("start", ops.start, "The citizen has arrived: service starts"),
    ("finish", ops.finish, "Finish the current ticket"),
    ("no-show", ops.no_show, "Mark the called ticket as a no-show"),
    ("hold", ops.hold, "Put the current ticket on hold"),
):
    bp.add_url_rule(
        f"/halls/<slug>/counters/<int:number>/{_name}",
        endpoint=f"counter_{_name.replace('-', '_')}",
        view_func=counter_action(_summary)(_simple(_name, _action)),
        methods=["POST"],
    )


@bp.post("/halls/<slug>/counters/<int:number>/dossier")
@counter_action(
    "Keep the dossier code (mã hồ sơ) with the results ticket at this counter (called or being "
    "served); null or an empty string clears it. Letters, digits, '-', '.', '/', at most 40",
    obj({"dossier_code": {"type": ["string", "null"], "maxLength": 60}}, ["dossier_code"]),
)
def counter_dossier(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    if "dossier_code" not in data:
        raise errors.BadRequest(vi="Thiếu trường 'dossier_code'.", en="'dossier_code' is required.")
    return _counter_act(
        slug,
        number,
        "dossier",
        data,
        lambda c: dossiers.set_dossier_code(
            c.session, c.hall, number, user=_user(c), code=data["dossier_code"], now=now()
        ),
    )


@bp.post("/halls/<slug>/counters/<int:number>/unhold")
@counter_action(
    "Bring a held ticket back to this counter (it is called again)",
    obj({"ticket": {"type": "integer", "minimum": 1}}, ["ticket"]),
)
def counter_unhold(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    ticket_id = field_int(data, "ticket", lo=1)
    return _counter_act(
        slug,
        number,
        "unhold",
        data,
        lambda c: ops.unhold(
            c.session, c.hall, number, user=_user(c), ticket_id=ticket_id or 0, now=now()
        ),
    )


@bp.post("/halls/<slug>/counters/<int:number>/call")
@counter_action(
    "Call a given number of today (waiting, held or no-show)",
    obj(
        {
            "number": {"type": "integer", "minimum": 0},
            "service": {"type": "string", "maxLength": 20},
        },
        ["number", "service"],
    ),
)
def counter_call(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    ticket_number = field_int(data, "number", lo=0, hi=10**6)
    service = field_str(data, "service", max_len=20)
    return _counter_act(
        slug,
        number,
        "call",
        data,
        lambda c: ops.call_number(
            c.session,
            c.hall,
            number,
            user=_user(c),
            ticket_number=ticket_number or 0,
            service_code=service or "",
            now=now(),
        ),
    )


@bp.post("/halls/<slug>/counters/<int:number>/transfer")
@counter_action(
    "Move the current ticket to another area or counter",
    obj(
        {
            "service": {"type": "string", "maxLength": 20},
            "counter": {"type": "integer", "minimum": 0},
        }
    ),
)
def counter_transfer(slug: str, number: int) -> ResponseReturnValue:
    data = json_body()
    service = field_str(data, "service", required=False, max_len=20)
    to_counter = field_int(data, "counter", required=False, lo=0, hi=10**6)
    return _counter_act(
        slug,
        number,
        "transfer",
        data,
        lambda c: ops.transfer(
            c.session,
            c.hall,
            number,
            user=_user(c),
            now=now(),
            to_service=service,
            to_counter=to_counter,
        ),
    )


# a ticket's public page data, reached by its unguessable code (no sign-in)
public = Blueprint("public_api", __name__, url_prefix="/api/v1")

PHONE_STATE = obj(
    {
        "near": {"type": "boolean", "description": "few enough people ahead: almost its turn"},
        "near_ahead": {"type": "integer"},
        "late_places": {"type": "integer"},
        "late_used": {"type": "boolean"},
        "can_postpone": {"type": "boolean"},
        "can_leave": {"type": "boolean"},
        "phone": {"type": ["string", "null"], "description": "the phone kept, masked"},
        "notify": {"type": "boolean", "description": "whether a phone can be left (a channel)"},
    }
)


@public.get("/t/<code>")
@doc(
    "A ticket's public status, reached from its QR code",
    who="anyone with the code",
    path={"code": {"type": "string", "maxLength": 32}},
    ok=(
        200,
        "the ticket; turn: what the phone page offers (near, late, leave, phone)",
        obj({"ticket": TICKET, "hall": {"type": "object"}, "turn": PHONE_STATE}),
    ),
    errors=(404,),
    tag="public",
)
def public_ticket(code: str) -> ResponseReturnValue:
    from layso.models import Hall
    from layso.services.notify import turn
    from layso.web import db

    with db().read() as s:
        t = ticket_ops.find_ticket_by_code(s, code)
        hall = s.get(Hall, t.hall_id) if t is not None else None
        if t is None or hall is None:
            raise errors.UnknownTicket()
        ahead, wait = ticket_ops.position(s, hall, t, now())
        body = ser.ticket_for_phone(hall, t, ahead, wait)
        return jsonify(
            {
                "ticket": body,
                "hall": ser.hall(hall),
                "seq": hall.event_seq,
                "turn": turn.phone_state(s, hall, t, ahead),
            }
        )


# --- the phone page's actions: authorised by the ticket's code, rate-limited, idempotent -------

PHONE_RESULT = obj({"ticket": TICKET, "turn": PHONE_STATE})
CODE_PATH = {"code": {"type": "string", "maxLength": 32}}


def _phone_limits(code: str) -> None:
    rate_limit("phone", code)
    rate_limit("phone_addr", request.remote_addr or "?")


def _by_code(code: str, action: Callable[[Any, Any, Any], dict[str, Any]]) -> ResponseReturnValue:
    """Run ``action(session, hall, ticket)`` in the ticket's hall's write transaction."""
    from layso.models import Hall
    from layso.services.notify import turn
    from layso.web import db

    _phone_limits(code)
    with db().write() as s:
        t = ticket_ops.find_ticket_by_code(s, code)
        if t is None:
            raise errors.UnknownTicket()
        hall = s.get(Hall, t.hall_id, with_for_update=True)
        if hall is None:
            raise errors.UnknownTicket()
        s.refresh(t)
        extra = action(s, hall, t)
        ahead, wait = ticket_ops.position(s, hall, t, now())
        body = {
            "ticket": ser.ticket_for_phone(hall, t, ahead, wait),
            "turn": turn.phone_state(s, hall, t, ahead),
            **extra,
        }
    return jsonify(body)


@public.post("/t/<code>/postpone")
@doc(
    "“Tôi sẽ đến muộn”: move a waiting ticket back behind the next few people, once",
    who="anyone with the code",
    path=CODE_PATH,
    ok=(
        200,
        "the ticket; moved: places it went back (0 when asked again: nothing more moves)",
        {
            **PHONE_RESULT,
            "properties": {**PHONE_RESULT["properties"], "moved": {"type": "integer"}},
        },
    ),
    errors=(404, 409, 429),
    tag="public",
    notes="Logged as ticket.postponed. How many places: the hall's notifier setting late_places.",
)
def public_postpone(code: str) -> ResponseReturnValue:
    from layso.services.notify import turn

    def act(s: Any, hall: Any, t: Any) -> dict[str, Any]:
        return {"moved": turn.postpone(s, hall, t, now=now())["moved"]}

    return _by_code(code, act)


@public.post("/t/<code>/leave")
@doc(
    '“Hủy số”: leave the queue (the ticket is cancelled); needs {"confirm": true}',
    who="anyone with the code",
    path=CODE_PATH,
    body=obj({"confirm": {"type": "boolean", "const": True}}, ["confirm"]),
    ok=(200, "the cancelled ticket (the same answer when asked again)", PHONE_RESULT),
    errors=(400, 404, 409, 429),
    tag="public",
    notes="Logged as ticket.cancelled with by: citizen. Refused (409) once called.",
)
def public_leave(code: str) -> ResponseReturnValue:
    from layso.services.notify import turn

    data = json_body()
    if data.get("confirm") is not True:
        raise errors.BadRequest(
            vi="Vui lòng xác nhận hủy số (confirm: true).",
            en="Confirm leaving the queue (confirm: true).",
        )

    def act(s: Any, hall: Any, t: Any) -> dict[str, Any]:
        turn.leave(s, hall, t, now=now())
        return {}

    return _by_code(code, act)


@public.put("/t/<code>/phone")
@doc(
    "Leave a mobile number to be told when the turn is near (or null to take it back)",
    who="anyone with the code",
    path=CODE_PATH,
    body=obj({"phone": {"type": ["string", "null"], "maxLength": 20}}, ["phone"]),
    ok=(200, "the ticket; turn.phone: the number kept, masked", PHONE_RESULT),
    errors=(400, 404, 409, 429),
    tag="public",
    notes="The number is erased once the ticket is called or leaves the queue.",
)
def public_phone(code: str) -> ResponseReturnValue:
    from layso.services.notify import turn

    data = json_body()
    phone = data.get("phone")
    if phone is not None and (not isinstance(phone, str) or len(phone) > 20):
        raise errors.BadRequest(
            vi="Số điện thoại không hợp lệ.", en="The phone number is not valid."
        )

    def act(s: Any, hall: Any, t: Any) -> dict[str, Any]:
        turn.remember_phone(s, hall, t, phone, now=now())
        return {}

    return _by_code(code, act)
