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
