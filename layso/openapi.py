"""The OpenAPI 3.1 document of the HTTP API, built from the app's routes.

Every rule under ``/api/v1`` becomes a path (Flask's ``<int:ticket_id>`` → ``{id}``, named and
typed by :data:`layso.apidoc.PATH_PARAMS` and the converter), and its view's
:func:`layso.apidoc.doc` metadata becomes the operation. A test keeps every route documented.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from layso import __version__
from layso.apidoc import CONVERTERS, ERRORS, PATH_PARAMS, Operation, Schema, obj, operation_of, ref

PREFIX = "/api/v1"
ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
TICKET = ref("Ticket")


def _resp(desc: str, schema: Schema | None = None) -> Schema:
    body: Schema = {"description": desc}
    if schema is not None:
        body["content"] = {"application/json": {"schema": schema}}
    return body


def _path(rule: str, op: Operation) -> tuple[str, list[Schema]]:
    """A Flask rule as an OpenAPI path, and its path parameters."""
    params: list[Schema] = []

    def name(m: re.Match[str]) -> str:
        converter = m["converter"] or "default"
        public, schema = PATH_PARAMS.get(m["name"], (m["name"], None))
        schema = op.path.get(public) or schema or CONVERTERS.get(converter, {"type": "string"})
        params.append({"name": public, "in": "path", "required": True, "schema": dict(schema)})
        return "{" + public + "}"

    return ARGUMENT.sub(name, rule[len(PREFIX) :]), params


def _operation(op: Operation, path_params: list[Schema]) -> Schema:
    status, desc, schema = op.ok
    ok = _resp(desc, schema)
    if op.media:
        ok.setdefault("content", {}).update({t: {"schema": s} for t, s in op.media.items()})
    responses: Schema = {str(status): ok}
    for code, (text, extra) in op.also.items():
        responses[str(code)] = _resp(text, extra)
    for code in op.errors:
        responses[str(code)] = _resp(ERRORS[code], ref("Error"))
    out: Schema = {
        "summary": op.summary,
        "description": f"Who: {op.who}." + (f" {op.notes}" if op.notes else ""),
        "tags": [op.tag],
        "parameters": [*path_params, *op.params],
        "responses": responses,
    }
    if op.body is not None:
        out["requestBody"] = {
            "required": False,
            "content": {"application/json": {"schema": op.body}},
        }
    if op.tag != "public":
        out["security"] = [{"bearer": []}, {"session": []}]
    return out


def paths(app: Flask) -> dict[str, Any]:
    """Every documented route under /api/v1, by path and method."""
    out: dict[str, Any] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX + "/"):
            continue
        op = operation_of(app.view_functions[rule.endpoint])
        if op is None:
            continue  # the test of the document names it
        path, params = _path(rule.rule, op)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            out.setdefault(path, {})[method.lower()] = _operation(op, params)
    return out


def openapi_document(app: Flask) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Layso API",
            "version": __version__,
            "description": "Queue tickets for public-service halls. Errors are "
            '{"error": {"code", "message"}} in the language of Accept-Language.',
        },
        "servers": [{"url": PREFIX}],
        "paths": paths(app),
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "layso_session"},
            },
            "schemas": SCHEMAS,
        },
    }


SCHEMAS: dict[str, Schema] = {
    "Error": obj(
        {
            "error": obj(
                {"code": {"type": "string"}, "message": {"type": "string"}}, ["code", "message"]
            )
        },
        ["error"],
    ),
    "Ticket": obj(
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
                    "expired",
                ]
            },
            "issued_at": {"type": "string", "format": "date-time"},
            "ahead": {"type": "integer"},
            "estimated_wait_s": {"type": "integer"},
            "status_url": {"type": "string"},
            "counter": {"type": ["integer", "null"]},
            "call_count": {"type": "integer"},
            "booked_for": {
                "type": ["string", "null"],
                "format": "date-time",
                "description": "a checked-in booking's slot time; null for a walk-in",
            },
        },
        ["id", "number", "display_number", "service", "status", "issued_at"],
    ),
    "Booking": obj(
        {
            "code": {"type": "string", "description": "6 characters, no 0/O/1/I"},
            "service": {"type": "string"},
            "date": {"type": "string", "format": "date"},
            "slot": {"type": ["string", "null"], "description": "HH:MM; null: remote number"},
            "slot_start": {"type": ["string", "null"], "format": "date-time"},
            "remote_number": {"type": "boolean"},
            "state": {"enum": ["booked", "checked_in", "called", "served", "no_show", "cancelled"]},
            "late": {"type": "boolean"},
            "phone": {"type": ["string", "null"], "description": "masked: 091****678"},
            "id_number": {"type": ["string", "null"], "description": "masked: *********789"},
            "ticket": {"type": ["string", "null"], "description": "the ticket's number"},
        },
        ["code", "service", "date", "state"],
    ),
    "Service": obj(
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
    "Counter": obj(
        {
            "number": {"type": "integer"},
            "state": {"enum": ["open", "paused", "closed"]},
            "clerk": {
                "type": ["string", "null"],
                "description": "the clerk's username for clerks and managers; "
                "for devices the clerk's full name (never a login name)",
            },
            "clerk_name": {"type": ["string", "null"], "description": "the clerk's full name"},
            "ticket": {"oneOf": [TICKET, {"type": "null"}]},
        },
        ["number", "state"],
    ),
    "State": obj(
        {
            "seq": {"type": "integer"},
            "hall": {"type": "string"},
            "services": {"type": "array"},
            "counters": {"type": "array"},
        },
        ["seq", "hall", "services", "counters"],
    ),
}
