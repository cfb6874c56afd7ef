"""What a JSON endpoint tells the OpenAPI document, declared on the view itself.

    @bp.post("/halls/<slug>/tickets/<int:ticket_id>/cancel")
    @doc("Cancel a waiting or held ticket", who="clerk, manager",
         ok=(200, "the ticket", TICKET_RESULT), errors=(401, 403, 404, 409))
    def cancel(slug: str, ticket_id: int): ...

:func:`doc` only stores an :class:`Operation` on the view function; :mod:`layso.openapi` walks
the app's URL map and turns each rule under ``/api/v1`` and its operation into the document
(path parameters come from the rule: see :data:`PATH_PARAMS`). The helpers here (:func:`obj`,
:func:`ref`, :func:`query`, :data:`IDEMPOTENCY_KEY`) are for writing the schemas.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

Schema = dict[str, Any]
F = TypeVar("F", bound=Callable[..., Any])

#: the attribute of a view function that holds its :class:`Operation`
ATTR = "layso_apidoc"

#: Flask's name of a path argument → the document's name and schema (None: the converter's).
#: Every role names its path arguments the same way, so that the document does too.
PATH_PARAMS: dict[str, tuple[str, Schema | None]] = {
    "slug": ("hall", {"type": "string", "maxLength": 40}),
    "number": ("counter", {"type": "integer", "minimum": 0, "maximum": 1_000_000}),
    "ticket_id": ("id", None),
    "device_id": ("id", None),
    "notice_id": ("id", None),
    "code": ("code", {"type": "string", "maxLength": 20}),  # an area's code
    "username": ("username", {"type": "string", "maxLength": 60}),
}

#: the schema of a path argument by its converter (a SQL integer: at most 2^31 − 1)
CONVERTERS: dict[str, Schema] = {
    "int": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
    "default": {"type": "string"},
    "string": {"type": "string"},
}

ERRORS = {
    400: "bad input",
    401: "no or unknown token",
    403: "not allowed for this principal",
    404: "unknown hall, area, counter or ticket",
    409: "the state forbids it",
    422: "the Idempotency-Key was used for another request",
    429: "rate limited",
}

IDEMPOTENCY_KEY: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "one key per tap or press (a UUID), kept across its retries: the same key "
    "again replays the first answer (200, header Idempotent-Replayed: true) and changes nothing; "
    "the same key for another action, body or device is refused (422); keys are kept 2 days",
    "schema": {"type": "string", "minLength": 8, "maxLength": 100, "pattern": "^[!-~]+$"},
}


def obj(props: Mapping[str, Any], required: list[str] | None = None) -> Schema:
    """A JSON object with these properties."""
    schema: Schema = {"type": "object", "properties": dict(props)}
    if required:
        schema["required"] = required
    return schema


def ref(name: str) -> Schema:
    """One of the document's shared schemas (``Ticket``, ``Counter``, ``Error``…)."""
    return {"$ref": f"#/components/schemas/{name}"}


def query(
    name: str, schema: Schema, *, required: bool = False, description: str | None = None
) -> Schema:
    """A query-string parameter."""
    param: Schema = {"name": name, "in": "query", "required": required}
    if description:
        param["description"] = description
    param["schema"] = schema
    return param


@dataclass(frozen=True)
class Operation:
    """One endpoint as the document describes it."""

    summary: str
    who: str  # who may call it (the description's "Who: …")
    ok: tuple[int, str, Schema | None]  # status, description, JSON schema of the answer
    errors: tuple[int, ...] = ()  # statuses from :data:`ERRORS`, answered with an Error
    body: Schema | None = None  # the JSON request body (never required)
    params: tuple[Schema, ...] = ()  # query and header parameters, after the path's
    path: Mapping[str, Schema] = field(default_factory=dict)  # a path parameter's own schema
    tag: str = "hall"  # "public": no security scheme
    notes: str = ""  # more description, after "Who: …"
    media: Mapping[str, Schema] = field(default_factory=dict)  # other media types of `ok`
    also: Mapping[int, tuple[str, Schema | None]] = field(default_factory=dict)  # more answers


def doc(
    summary: str,
    *,
    who: str,
    ok: tuple[int, str, Schema | None],
    errors: tuple[int, ...] = (),
    body: Schema | None = None,
    params: tuple[Schema, ...] | list[Schema] = (),
    path: Mapping[str, Schema] | None = None,
    tag: str = "hall",
    notes: str = "",
    media: Mapping[str, Schema] | None = None,
    also: Mapping[int, tuple[str, Schema | None]] | None = None,
) -> Callable[[F], F]:
    """Describe a JSON endpoint for the OpenAPI document (see :class:`Operation`)."""
    unknown = set(errors) - set(ERRORS)
    if unknown:
        raise ValueError(f"no description for error statuses {sorted(unknown)}")
    op = Operation(
        summary=summary,
        who=who,
        ok=ok,
        errors=tuple(errors),
        body=body,
        params=tuple(params),
        path=dict(path or {}),
        tag=tag,
        notes=notes,
        media=dict(media or {}),
        also=dict(also or {}),
    )

    def mark(view: F) -> F:
        setattr(view, ATTR, op)
        return view

    return mark


def operation_of(view: Callable[..., Any]) -> Operation | None:
    """The operation :func:`doc` stored on a view, if any."""
    return getattr(view, ATTR, None)
