"""Generated hostile input against every documented operation: a 4xx with the error body, no change.

The classes are generated from the OpenAPI document, not listed per route: JSON nested thousands
deep, a lone surrogate in every string field of a body, huge and non-ASCII-digit integers in every
integer path and query parameter, dates far outside any report range.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from layso.models import Hall, Ticket

MAX_EXAMPLES = int(os.environ.get("LAYSO_FUZZ_EXAMPLES", "25"))

pytestmark = pytest.mark.usefixtures("demo")

ASCII_DIGITS = "0123456789"
# every Unicode digit that is not an ASCII one: Nd ('٣', '३'), No ('²', '½', '①')
odd_digit = st.characters(categories=["Nd", "No"], exclude_characters=ASCII_DIGITS)
odd_int = st.one_of(
    st.text(odd_digit, min_size=1, max_size=4),
    st.tuples(st.integers(0, 99), st.text(odd_digit, min_size=1, max_size=2)).map(
        lambda t: f"{t[0]}{t[1]}"
    ),
)


def hostile_int(schema: dict[str, Any]) -> st.SearchStrategy[str]:
    """Above the documented maximum (else above 2**53, beyond any id or seq), or odd digits."""
    lo = schema["maximum"] + 1 if "maximum" in schema else 2**53 + 1
    huge = st.one_of(st.integers(lo, 2**80), st.sampled_from([2**63, 2**64]))
    return st.one_of(huge.map(str), odd_int)


surrogate = st.integers(0xD800, 0xDFFF).map(chr)
surrogate_text = st.tuples(st.text(max_size=4), surrogate, st.text(max_size=4)).map("".join)
extreme_date = st.one_of(
    st.sampled_from([date(1, 1, 1), date(9999, 12, 31)]),
    st.dates(max_value=date(1899, 12, 31)),
    st.dates(min_value=date(2201, 1, 1)),
).map(date.isoformat)


@st.composite
def deep_json(draw: Any) -> bytes:
    depth = draw(st.integers(1_000, 60_000))
    opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
    return (opener * depth + "1" + closer * depth).encode()


def _document(client: Any) -> dict[str, Any]:
    return client.get("/api/openapi.json").get_json()  # type: ignore[no-any-return]


def _who(path: str, method: str) -> str:
    """The principal that gets furthest into the operation (a wrong one is still a 4xx)."""
    if "/counters/" in path and "/config/" not in path:
        return "clerk1"
    if path.endswith("/rating"):
        return "pad1"
    if path.endswith("/tickets") and method == "post" or path.endswith("/suggestions"):
        return "kiosk"
    if "/audio/" in path or path.endswith("/display/settings"):
        return "display"
    return "manager"


def _operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(p, m, op) for p, ops in doc["paths"].items() for m, op in ops.items()]


def _body_schema(op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("schema")  # type: ignore[no-any-return]


def _normal(param: dict[str, Any]) -> str:
    name, kind = param["name"], param["schema"].get("type")
    return {"hall": "demo", "counter": "1", "id": "1", "number": "1"}.get(
        name, "1" if kind == "integer" else "TP"
    )


@st.composite
def hostile_request(draw: Any, path: str, op: dict[str, Any]) -> dict[str, Any]:
    """One request carrying exactly one hostile class the operation can receive."""
    params = op.get("parameters", [])
    ints = [p for p in params if p["schema"].get("type") == "integer"]
    dates = [p for p in params if p["schema"].get("format") == "date"]
    body = _body_schema(op)
    classes = ["int"] * bool(ints) + ["date"] * bool(dates) + ["deep", "surrogate"] * bool(body)
    if not classes:
        return {}
    values = {p["name"]: (p["in"], _normal(p)) for p in params if p["required"]}
    req: dict[str, Any] = {}
    cls = draw(st.sampled_from(classes))
    if cls == "int":
        target = draw(st.sampled_from(ints))
        values[target["name"]] = (target["in"], draw(hostile_int(target["schema"])))
    elif cls == "date":
        target = draw(st.sampled_from(dates))
        values[target["name"]] = (target["in"], draw(extreme_date))
        if target["name"] == "to":
            values["from"] = ("query", "2025-01-01")
    elif cls == "deep":
        req["data"] = draw(deep_json())
    else:
        props = list((body or {}).get("properties", {})) or ["name"]
        # every string-able field of the body at once carries a lone surrogate, each drawn apart
        fields = {k: draw(surrogate_text) for k in props}
        req["data"] = json.dumps(fields, ensure_ascii=True).encode()  # "\\ud800" escapes
    url = path
    query = {}
    for name, (where, value) in values.items():
        if where == "path":
            url = url.replace("{" + name + "}", value)
        else:
            query[name] = value
    req.update(url="/api/v1" + url, query_string=query, cls=cls)
    return req


def _counts(db: Any) -> tuple[int, int]:
    with db.read() as s:
        tickets = s.scalar(sa.select(sa.func.count()).select_from(Ticket)) or 0
        seq = s.scalar(sa.select(sa.func.sum(Hall.event_seq))) or 0
    return int(tickets), int(seq)


def test_every_operation_refuses_hostile_input_cleanly(
    app: Any, client: Any, db: Any, tokens: Callable[[str], str]
) -> None:
    doc = _document(client)
    failures: list[str] = []
    before = _counts(db)
    tried: set[str] = set()
    for path, method, op in _operations(doc):
        if not re.search(r"\{hall\}", path):
            continue
        extra = {
            "method": method.upper(),
            "headers": {"Authorization": f"Bearer {tokens(_who(path, method))}"},
        }

        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(req=hostile_request(path, op).map(lambda r, x=extra: r and {**r, **x}))
        def check(req: dict[str, Any]) -> None:
            if not req:
                return
            cls = req.pop("cls")
            tried.add(cls)
            kwargs = {k: v for k, v in req.items() if k not in ("method", "url", "headers")}
            if "data" in kwargs:
                kwargs["content_type"] = "application/json"
            verb = req["method"]
            r = client.open(req["url"], method=verb, headers=req["headers"], **kwargs)
            where = f"{verb} {req['url']} {cls} {str(kwargs)[:120]!r}"
            if not 400 <= r.status_code < 500:
                failures.append(f"{where}: {r.status_code} {r.get_data(as_text=True)[:200]}")
                return
            body = r.get_json(silent=True) or {}
            if not isinstance(body.get("error"), dict) or not body["error"].get("message"):
                failures.append(f"{where}: {r.status_code} without the error body")

        check()
    assert tried == {"int", "date", "deep", "surrogate"}
    assert not failures, f"{len(failures)} failures:\n" + "\n".join(failures[:25])
    assert _counts(db) == before, "hostile input changed stored data"


def test_hub_connect_refuses_hostile_auth(app: Any, tokens: Callable[[str], str]) -> None:
    """The hub's connect auth: a huge `after`, a surrogate hall or token is refused, not a crash."""
    from layso.hub import NAMESPACE, socketio

    token = tokens("display")
    for auth in (
        {"hall": "demo", "token": token, "after": 2**70},
        {"hall": "demo", "token": token, "after": 2**63},
        {"hall": "de\ud800mo", "token": token},
        {"hall": "demo", "token": "\udfff" + token},
    ):
        client = socketio.test_client(app, namespace=NAMESPACE, auth=auth)
        connected = client.is_connected(NAMESPACE)
        if connected:
            received = client.get_received(NAMESPACE)
            names = [r["name"] for r in received]
            assert names == ["snapshot"], (auth, names)
            client.disconnect(namespace=NAMESPACE)


@pytest.mark.parametrize(
    "body",
    [
        "[" * 60_000,
        '{"a":' * 60_000,
        '{"s": "' + "[" * 100 + '", "t": ' + "[" * 33 + "]" * 33 + "}",
    ],
)
def test_deep_bodies_are_refused_before_the_decoder_recurses(
    body: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The decoder never meets a hostile depth (a RecursionError there can upset CPython 3.11)."""
    from layso import errors, web

    def decoder_reached(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("json.loads was called on a body nested too deep")

    monkeypatch.setattr(web.json, "loads", decoder_reached)

    with pytest.raises(errors.BadRequest):
        web.safe_json_loads(body)


def test_brackets_inside_strings_do_not_count_as_depth() -> None:
    from layso import web

    body = '{"note": "' + "[{" * 50 + '\\"' + '", "n": [[1]]}'

    assert web.safe_json_loads(body)["n"] == [[1]]
