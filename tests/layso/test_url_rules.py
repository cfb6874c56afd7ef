"""The app's URL rules build URLs with builders compiled on first use (layso.web.Rule): every
rule builds what werkzeug's stock rule builds, with and without extra query arguments."""

from __future__ import annotations

from typing import Any

import pytest
from flask import url_for
from werkzeug.routing import Map
from werkzeug.routing import Rule as StockRule

from layso.web import Rule


def _values(rule: Any) -> dict[str, Any]:
    """A value for each of the rule's arguments that its converter accepts."""
    samples = {"IntegerConverter": 7, "PathConverter": "a/b c", "BoundedInt": 7}
    return {
        name: samples.get(type(conv).__name__, "gia-định à")
        for name, conv in rule._converters.items()
    }


def test_every_rule_builds_what_the_stock_rule_builds(app: Any) -> None:
    rules = [r for r in app.url_map.iter_rules() if r.endpoint != "static"]
    assert len(rules) > 50 and all(isinstance(r, Rule) for r in rules)
    stock_map = Map(converters=app.url_map.converters)
    for rule in rules:
        stock = StockRule(rule.rule, **rule.get_empty_kwargs())
        stock_map.add(stock)
        values = _values(rule)
        assert rule.build(values) == stock.build(values), rule.rule
        extra = {**values, "page": "2", "q": "Nguyễn Văn A&b=c"}
        for append in (True, False):
            assert rule.build(extra, append_unknown=append) == stock.build(
                extra, append_unknown=append
            ), (rule.rule, append)


def test_the_builders_wait_for_their_first_use(app: Any) -> None:
    """The override is in effect: werkzeug bound each rule's builders to Rule's stand-ins."""
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "api.counter_next")
    for builder in (rule._build, rule._build_unknown):
        assert builder.__func__.__qualname__ == "Rule._compile_builder.<locals>.build"


def test_url_for_builds_with_the_rules_builders(app: Any) -> None:
    with app.test_request_context():
        first = url_for("kiosk.phone_qr", code="AB12", lang="en")
        again = url_for("kiosk.phone_qr", code="AB12", lang="en")  # the compiled builder
    assert first == again == "/t/AB12/qr.svg?lang=en"


def test_a_missing_argument_is_refused_as_before(app: Any) -> None:
    from werkzeug.routing import BuildError

    with app.test_request_context(), pytest.raises(BuildError):
        url_for("api.counter_next", slug="demo")  # the counter's number is missing
