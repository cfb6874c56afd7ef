"""The OpenAPI document and the routes must agree, path by path and method by method."""

from __future__ import annotations

import re
from typing import Any

from openapi_spec_validator import validate


def _route_ops(app: Any) -> set[tuple[str, str]]:
    ops = set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?[^>]+>", "{}", rule.rule[len("/api/v1") :])
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            ops.add((method.lower(), path))
    return ops


def _doc_ops(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in doc["paths"].items()
        for method in item
    }


def test_every_route_is_documented_and_every_documented_route_exists(app: Any, client: Any) -> None:
    doc = client.get("/api/openapi.json").get_json()

    assert _route_ops(app) == _doc_ops(doc)


def test_document_is_valid_openapi(client: Any) -> None:
    validate(client.get("/api/openapi.json").get_json())


def test_paths_come_from_the_rules_and_their_doc() -> None:
    """Converters and argument names become typed path parameters; undocumented and non-API
    rules stay out."""
    from flask import Flask

    from layso.apidoc import doc, obj
    from layso.openapi import paths

    app = Flask(__name__)

    @app.get("/api/v1/halls/<slug>/things/<int:ticket_id>/<name>")
    @doc("A thing", who="anyone", ok=(200, "it", obj({})), errors=(404,), tag="public")
    def thing(slug: str, ticket_id: int, name: str) -> str:
        return ""

    app.add_url_rule("/api/v1/undocumented", "undocumented", lambda: "")
    app.add_url_rule("/page", "page", doc("x", who="y", ok=(200, "z", None))(lambda: ""))

    doc_paths = paths(app)
    assert list(doc_paths) == ["/halls/{hall}/things/{id}/{name}"]
    op = doc_paths["/halls/{hall}/things/{id}/{name}"]["get"]
    assert [(p["name"], p["schema"]) for p in op["parameters"]] == [
        ("hall", {"type": "string", "maxLength": 40}),
        ("id", {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}),
        ("name", {"type": "string"}),
    ]
    assert set(op["responses"]) == {"200", "404"} and "security" not in op
    assert op["description"] == "Who: anyone."
