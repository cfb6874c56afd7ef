"""The OpenAPI 3.1 document of the HTTP API; a test keeps it equal to the routes."""

from __future__ import annotations

from typing import Any

from layso import __version__

H = {"name": "hall", "in": "path", "required": True, "schema": {"type": "string", "maxLength": 40}}
C = {
    "name": "counter",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": 1000000},
}
T = {
    "name": "id",
    "in": "path",
    "required": True,
    "schema": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
}

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "one key per tap or press (a UUID), kept across its retries: the same key "
    "again replays the first answer (200, header Idempotent-Replayed: true) and changes nothing; "
    "the same key for another action, body or device is refused (422); keys are kept 2 days",
    "schema": {"type": "string", "minLength": 8, "maxLength": 100, "pattern": "^[!-~]+$"},
}
ERROR = {"$ref": "#/components/schemas/Error"}
TICKET = {"$ref": "#/components/schemas/Ticket"}


def _resp(status: str, desc: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"description": desc}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "bad input",
        401: "no or unknown token",
        403: "not allowed for this principal",
        404: "unknown hall, area, counter or ticket",
        409: "the state forbids it",
        422: "the Idempotency-Key was used for another request",
        429: "rate limited",
    }
    return {str(c): _resp(str(c), text[c], ERROR) for c in codes}


def _op(
    summary: str,
    who: str,
    params: list[dict[str, Any]],
    ok: tuple[str, str, Any],
    *errs: int,
    body: dict[str, Any] | None = None,
    tag: str = "hall",
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "description": f"Who: {who}.",
        "tags": [tag],
        "parameters": params,
        "responses": {ok[0]: _resp(ok[0], ok[1], ok[2]), **_errors(*errs)},
    }
    if body is not None:
        op["requestBody"] = {"required": False, "content": {"application/json": {"schema": body}}}
    if tag != "public":
        op["security"] = [{"bearer": []}, {"session": []}]
    return op


def _obj(props: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props}
    if required:
        schema["required"] = required
    return schema


# the answer to POST /tickets: the new ticket once, for its holder (with its code), nothing beside
ISSUED = {
    **_obj(
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
TICKET_RESULT = _obj({"ticket": {"oneOf": [TICKET, {"type": "null"}]}})
COUNTER_RESULT = _obj({"counter": {"$ref": "#/components/schemas/Counter"}})
CLERK = "the clerk signed in at that counter"
COUNTER_ERRS = (400, 401, 403, 404, 409)


def _counter_action(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "post": _op(
            summary,
            CLERK,
            [H, C, IDEMPOTENCY_KEY],
            (
                "200",
                "the counter's ticket (also the replay of a repeated Idempotency-Key)",
                TICKET_RESULT,
            ),
            *COUNTER_ERRS,
            422,
            body=body,
        )
    }


def role_paths() -> dict[str, Any]:
    """Each role package may add its endpoints' entries as OPENAPI_PATHS (a dict)."""
    import importlib

    from layso.app import ROLES

    out: dict[str, Any] = {}
    for role in ROLES:
        module = importlib.import_module(role)
        extra = getattr(module, "OPENAPI_PATHS", None)
        if callable(extra):
            extra = extra()
        out.update(extra or {})
    return out


def openapi_document() -> dict[str, Any]:
    paths: dict[str, Any] = {
        "/me": {
            "get": _op(
                "Who this token or session is: kind, role, hall, counter",
                "any device or user",
                [],
                (
                    "200",
                    "the principal",
                    _obj(
                        {
                            "kind": {"type": "string"},
                            "role": {"type": "string"},
                            "hall": {"type": ["string", "null"]},
                            "counter": {"type": ["integer", "null"]},
                        }
                    ),
                ),
                401,
            )
        },
        "/halls/{hall}/services": {
            "get": _op(
                "List the hall's open service areas with waiting counts and estimated waits",
                "any device or user of the hall",
                [H],
                (
                    "200",
                    "areas",
                    _obj(
                        {
                            "services": {
                                "type": "array",
                                "items": {"$ref": "#/components/schemas/Service"},
                            }
                        }
                    ),
                ),
                401,
                403,
                404,
            )
        },
        "/halls/{hall}/tickets": {
            "post": _op(
                "Issue the next ticket of an area",
                "kiosk, clerk, manager",
                [H, IDEMPOTENCY_KEY],
                ("201", "the new ticket", ISSUED),
                400,
                401,
                403,
                404,
                409,
                422,
                429,
                body=_obj(
                    {
                        "service": {"type": "string", "maxLength": 20},
                        "priority": {"type": ["string", "null"], "maxLength": 40},
                    },
                    ["service"],
                ),
            )
        },
        "/halls/{hall}/tickets/{id}": {
            "get": _op(
                "A ticket with its position, estimated wait and times",
                "any device or user",
                [H, T],
                ("200", "the ticket", _obj({"ticket": TICKET})),
                401,
                403,
                404,
            )
        },
        "/halls/{hall}/tickets/{id}/cancel": {
            "post": _op(
                "Cancel a waiting or held ticket",
                "clerk, manager",
                [H, T],
                ("200", "the ticket", TICKET_RESULT),
                401,
                403,
                404,
                409,
            )
        },
        "/halls/{hall}/tickets/{id}/rating": {
            "post": _op(
                "Rate a served visit, once",
                "the rating pad of the counter that served it (never a clerk, "
                "by page or by token: 403)",
                [H, T],
                ("201", "the rating", _obj({"rating": {"type": "object"}})),
                400,
                401,
                403,
                404,
                409,
                body=_obj(
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
        },
        "/halls/{hall}/suggestions": {
            "post": _op(
                "Drop a suggestion in the hall's box",
                "kiosk",
                [H],
                ("201", "stored", _obj({"suggestion": {"type": "object"}})),
                400,
                401,
                403,
                404,
                429,
                body=_obj(
                    {
                        "text": {"type": "string", "maxLength": 2000},
                        "contact": {"type": ["string", "null"], "maxLength": 200},
                    },
                    ["text"],
                ),
            )
        },
        "/halls/{hall}/state": {
            "get": _op(
                "The snapshot a screen starts from, with the current seq",
                "any device or user",
                [H],
                ("200", "snapshot", {"$ref": "#/components/schemas/State"}),
                401,
                403,
                404,
            )
        },
        "/halls/{hall}/events": {
            "get": _op(
                "The hall's events after a seq, oldest first",
                "any device or user",
                [
                    H,
                    {
                        "name": "after",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "maximum": 2**53},
                    },
                ],
                (
                    "200",
                    "events",
                    _obj(
                        {
                            "events": {"type": "array", "items": {"type": "object"}},
                            "seq": {"type": "integer"},
                            "complete": {"type": "boolean"},
                        }
                    ),
                ),
                400,
                401,
                403,
                404,
            )
        },
        "/halls/{hall}/counters/{counter}": {
            "get": _op(
                "A counter, its state and current ticket",
                "any device or user",
                [H, C],
                ("200", "the counter", COUNTER_RESULT),
                401,
                403,
                404,
            )
        },
        "/halls/{hall}/counters/{counter}/open": {
            "post": _op(
                "Sign in at a counter; move=true first leaves the clerk's other counter",
                "a clerk",
                [H, C],
                ("200", "the counter", COUNTER_RESULT),
                *COUNTER_ERRS,
                body=_obj({"move": {"type": "boolean"}}),
            )
        },
        "/halls/{hall}/counters/{counter}/close": {
            "post": _op(
                "Leave the counter",
                CLERK,
                [H, C],
                ("200", "the counter", COUNTER_RESULT),
                *COUNTER_ERRS,
            )
        },
        "/halls/{hall}/counters/{counter}/pause": {
            "post": _op(
                "Pause the counter with a reason",
                CLERK,
                [H, C],
                ("200", "the counter", COUNTER_RESULT),
                *COUNTER_ERRS,
                body=_obj({"reason": {"type": "string", "maxLength": 100}}),
            )
        },
        "/halls/{hall}/counters/{counter}/resume": {
            "post": _op(
                "Resume a paused counter",
                CLERK,
                [H, C],
                ("200", "the counter", COUNTER_RESULT),
                *COUNTER_ERRS,
            )
        },
        "/halls/{hall}/counters/{counter}/next": _counter_action(
            "Call the next ticket by the hall's priority policy (finishes a ticket being served);"
            " ticket is null when nothing waits"
        ),
        "/halls/{hall}/counters/{counter}/recall": _counter_action("Call the current ticket again"),
        "/halls/{hall}/counters/{counter}/start": _counter_action(
            "The citizen has arrived: service starts"
        ),
        "/halls/{hall}/counters/{counter}/finish": _counter_action("Finish the current ticket"),
        "/halls/{hall}/counters/{counter}/no-show": _counter_action(
            "Mark the called ticket as a no-show"
        ),
        "/halls/{hall}/counters/{counter}/hold": _counter_action("Put the current ticket on hold"),
        "/halls/{hall}/counters/{counter}/unhold": _counter_action(
            "Bring a held ticket back to this counter (it is called again)",
            _obj({"ticket": {"type": "integer", "minimum": 1}}, ["ticket"]),
        ),
        "/halls/{hall}/counters/{counter}/call": _counter_action(
            "Call a given number of today (waiting, held or no-show)",
            _obj(
                {
                    "number": {"type": "integer", "minimum": 0},
                    "service": {"type": "string", "maxLength": 20},
                },
                ["number", "service"],
            ),
        ),
        "/halls/{hall}/counters/{counter}/transfer": _counter_action(
            "Move the current ticket to another area or counter",
            _obj(
                {
                    "service": {"type": "string", "maxLength": 20},
                    "counter": {"type": "integer", "minimum": 0},
                }
            ),
        ),
        "/t/{code}": {
            "get": _op(
                "A ticket's public status, reached from its QR code",
                "anyone with the code",
                [
                    {
                        "name": "code",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "maxLength": 32},
                    }
                ],
                ("200", "the ticket", _obj({"ticket": TICKET, "hall": {"type": "object"}})),
                404,
                tag="public",
            )
        },
    }
    paths["/halls/{hall}/tickets"]["post"]["responses"]["200"] = _resp(
        "200",
        "the same ticket again, for a repeated Idempotency-Key (Idempotent-Replayed: true)",
        ISSUED,
    )
    paths.update(role_paths())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Layso API",
            "version": __version__,
            "description": "Queue tickets for public-service halls. Errors are "
            '{"error": {"code", "message"}} in the language of Accept-Language.',
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "layso_session"},
            },
            "schemas": {
                "Error": _obj(
                    {
                        "error": _obj(
                            {"code": {"type": "string"}, "message": {"type": "string"}},
                            ["code", "message"],
                        )
                    },
                    ["error"],
                ),
                "Ticket": _obj(
                    {
                        "id": {"type": "integer"},
                        "number": {"type": "integer"},
                        "display_number": {"type": "string"},
                        "service": {"type": "string"},
                        "priority": {"type": ["string", "null"]},
                        "status": {
                            "enum": [
                                "waiting",
                                "called",
                                "serving",
                                "held",
                                "done",
                                "no_show",
                                "cancelled",
                            ]
                        },
                        "issued_at": {"type": "string", "format": "date-time"},
                        "ahead": {"type": "integer"},
                        "estimated_wait_s": {"type": "integer"},
                        "status_url": {"type": "string"},
                        "counter": {"type": ["integer", "null"]},
                        "call_count": {"type": "integer"},
                    },
                    ["id", "number", "display_number", "service", "status", "issued_at"],
                ),
                "Service": _obj(
                    {
                        "code": {"type": "string"},
                        "name": {"type": "string"},
                        "waiting": {"type": "integer"},
                        "estimated_wait_s": {"type": "integer"},
                        "open": {"type": "boolean"},
                        "exhausted": {"type": "boolean"},
                    },
                    ["code", "name", "waiting", "estimated_wait_s", "open"],
                ),
                "Counter": _obj(
                    {
                        "number": {"type": "integer"},
                        "state": {"enum": ["open", "paused", "closed"]},
                        "clerk": {
                            "type": ["string", "null"],
                            "description": "the clerk's username for clerks and managers; "
                            "for devices the clerk's full name (never a login name)",
                        },
                        "clerk_name": {
                            "type": ["string", "null"],
                            "description": "the clerk's full name",
                        },
                        "ticket": {"oneOf": [TICKET, {"type": "null"}]},
                    },
                    ["number", "state"],
                ),
                "State": _obj(
                    {
                        "seq": {"type": "integer"},
                        "hall": {"type": "string"},
                        "services": {"type": "array"},
                        "counters": {"type": "array"},
                    },
                    ["seq", "hall", "services", "counters"],
                ),
            },
        },
    }
