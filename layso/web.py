"""Request edges shared by every blueprint: who is asking, in which language, with what body."""

from __future__ import annotations

import hmac
import json
import re
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, request, session
from flask.json.provider import DefaultJSONProvider
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy.orm import Session
from werkzeug.routing import IntegerConverter
from werkzeug.routing import Rule as _Rule

from layso import errors
from layso.db import Database
from layso.models import Hall
from layso.services.accounts import (
    Principal,
    cached_principal_for_token,
    principal_for_user,
    session_user,
)
from layso.services.common import get_hall

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

# Bounds on what a request may carry (see README "Security and limits").
MAX_JSON_DEPTH = 32  # a request body nests objects/arrays at most this deep
MAX_PATH_INT = 2**31 - 1  # an integer in a URL path (ids, counter numbers)
MAX_QUERY_DIGITS = 18  # an integer in a query string: ASCII digits only, below 10**18
_SURROGATE = re.compile("[\ud800-\udfff]")
_ASCII_INT = re.compile("[0-9]+")


def has_surrogate(text: str) -> bool:
    """True when `text` holds a lone UTF-16 surrogate (JSON "\\ud800"): not encodable as UTF-8."""
    return _SURROGATE.search(text) is not None


def _refuse_surrogates() -> errors.LaysoError:
    return errors.BadRequest(
        "surrogate",
        vi="Nội dung chứa ký tự không hợp lệ (nửa cặp UTF-16).",
        en="The body holds an invalid character (a lone UTF-16 surrogate).",
    )


def check_decoded(data: Any) -> Any:
    """Refuse decoded JSON nested deeper than MAX_JSON_DEPTH or holding a lone surrogate."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            if has_surrogate(value):
                raise _refuse_surrogates()
        elif isinstance(value, (dict, list)):
            if depth > MAX_JSON_DEPTH:
                raise _too_deep()
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and has_surrogate(key):
                    raise _refuse_surrogates()
                stack.append((item, depth + 1))
    return data


def _too_deep() -> errors.LaysoError:
    return errors.BadRequest(
        "depth",
        vi=f"Nội dung JSON lồng nhau quá sâu (tối đa {MAX_JSON_DEPTH} cấp).",
        en=f"The JSON body is nested too deep (at most {MAX_JSON_DEPTH} levels).",
    )


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def _nesting_too_deep(text: str | bytes) -> bool:
    """Whether raw JSON text opens more than MAX_JSON_DEPTH brackets at once (strings skipped).

    Checked before decoding, so that a hostile body never drives the decoder into a
    RecursionError (which on CPython 3.11 can leave the interpreter's recursion accounting off).
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return False
    depth = 0
    for m in _JSON_TOKEN.finditer(text):
        token = m.group()
        if token in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return True
        elif token in "]}":
            depth -= 1
    return False


def safe_json_loads(text: str | bytes, **kwargs: Any) -> Any:
    """json.loads that refuses (400) deep nesting and lone surrogates instead of crashing later."""
    if _nesting_too_deep(text):
        raise _too_deep()
    try:
        data = json.loads(text, **kwargs)
    except RecursionError:
        raise _too_deep() from None
    return check_decoded(data)


class SafeJSONProvider(DefaultJSONProvider):
    """Every request body Flask decodes goes through safe_json_loads."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return safe_json_loads(s, **kwargs)


class BoundedInt(IntegerConverter):
    """`<int:...>` in a route: ASCII digits only and at most MAX_PATH_INT, else a plain 404."""

    regex = r"[0-9]{1,10}"

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_PATH_INT)
        super().__init__(map, *args, **kwargs)


def parse_int(raw: str, name: str, lo: int = 0, hi: int = 10**9) -> int:
    """A whole number written in ASCII digits (no sign, no '²' or '٣') within [lo, hi]."""
    if len(raw) > MAX_QUERY_DIGITS or not _ASCII_INT.fullmatch(raw) or not lo <= int(raw) <= hi:
        raise errors.BadRequest(
            vi=f"'{name}' phải là số nguyên từ {lo} đến {hi}.",
            en=f"'{name}' must be a whole number from {lo} to {hi}.",
        )
    return int(raw)


def query_int(name: str, default: int | None, lo: int = 0, hi: int = 10**9) -> int | None:
    """An integer query parameter through parse_int; absent or empty gives `default`."""
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    return parse_int(raw, name, lo, hi)


def db() -> Database:
    return current_app.extensions["layso.db"]  # type: ignore[no-any-return]


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.extensions["layso.clock"]
    return clock()


def utcnow() -> datetime:
    return datetime.now(UTC)


def public_base_url() -> str:
    """Where citizens reach this server (the phone pages): LAYSO_PUBLIC_URL, else the host the
    request used."""
    return str(current_app.config["LAYSO_PUBLIC_URL"] or request_host_url())


_HOST_URLS: dict[tuple[Any, ...], str] = {}  # by what request.host_url is made of


def request_host_url() -> str:
    """``request.host_url``, worked out once per scheme, host and root path (werkzeug builds
    it anew, through IRI and IDNA decoding, on every access; an issue needs it for the answer
    and the print job). At most 64 kept: any Host header only ever maps to its own URL."""
    env = request.environ
    key = (
        env.get("wsgi.url_scheme"),
        env.get("HTTP_HOST"),
        env.get("SERVER_NAME"),
        env.get("SERVER_PORT"),
        env.get("SCRIPT_NAME"),
    )
    url = _HOST_URLS.get(key)
    if url is None:
        if len(_HOST_URLS) >= 64:
            _HOST_URLS.clear()
        url = _HOST_URLS[key] = request.host_url
    return url


def lang() -> str:
    """Vietnamese unless the client prefers English."""
    try:
        best = request.accept_languages.best_match(["vi", "en"], default="vi")
    except RuntimeError:
        return "vi"
    return best or "vi"


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(24)
    return str(token)


def check_csrf() -> None:
    """A session-authenticated change must carry the page's CSRF token (header or form field)."""
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    expected = session.get("csrf") or ""
    if not expected or not hmac.compare_digest(str(sent), str(expected)):
        raise errors.Forbidden(
            "csrf",
            vi="Phiên làm việc đã hết hạn, vui lòng tải lại trang.",
            en="The page's session has expired; reload the page.",
        )


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def load_principal(s: Session) -> Principal | None:
    """Resolve the bearer token, else the signed-in user of the session cookie.

    Once per request: a second call (the API's before-request check, then the route's
    transaction) gives the first answer without asking the database again."""
    if "layso_principal" in g:
        return g.layso_principal  # type: ignore[no-any-return]
    principal = _load_principal(s)
    g.layso_principal = principal
    return principal


def _load_principal(s: Session) -> Principal | None:
    token = bearer_token()
    if token is not None:
        principal = cached_principal_for_token(s, token, now())
        if principal is None:
            raise errors.Unauthorized()
        return principal
    sid = session.get("sid")
    if sid is None:
        if "user_id" in session:  # a cookie of the older kind (with a password-hash stamp)
            session.clear()
        return None
    found = session_user(s, sid)  # the server-side row: signed out, disabled or reset is over
    if found is None:
        session.clear()
        return None
    user, row = found
    if request.method not in SAFE_METHODS:
        check_csrf()
    return principal_for_user(user, session_id=row.id)


@dataclass
class Context:
    session: Session
    hall: Hall
    principal: Principal


def require(principal: Principal | None, hall: Hall, *roles: str) -> Principal:
    if principal is None:
        raise errors.Unauthorized()
    if not principal.in_hall(hall):
        raise errors.Forbidden(
            vi="Mã truy cập không thuộc đơn vị này.", en="This token belongs to another hall."
        )
    if roles and principal.role not in roles:
        raise errors.Forbidden()
    return principal


@contextmanager
def hall_context(slug: str, *roles: str, write: bool = False) -> Iterator[Context]:
    """Open a transaction on one hall for an allowed principal; writers hold the hall's lock."""
    database = db()
    with database.write() if write else database.read() as s:
        principal = load_principal(s)
        if principal is None:
            raise errors.Unauthorized()
        hall = get_hall(s, slug, lock=write)
        require(principal, hall, *roles)
        g.principal = principal
        yield Context(s, hall, principal)


def json_body() -> dict[str, Any]:
    if not request.data:
        return {}
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise errors.BadRequest(
            vi="Nội dung phải là một đối tượng JSON.", en="The body must be a JSON object."
        )
    return data


def field_str(
    data: dict[str, Any],
    key: str,
    *,
    required: bool = True,
    max_len: int = 200,
    default: str | None = None,
) -> str | None:
    value = data.get(key, default)
    if value is None:
        if required:
            raise errors.BadRequest(vi=f"Thiếu trường '{key}'.", en=f"'{key}' is required.")
        return None
    if not isinstance(value, str) or len(value) > max_len:
        raise errors.BadRequest(
            vi=f"Trường '{key}' phải là chuỗi tối đa {max_len} ký tự.",
            en=f"'{key}' must be a string of at most {max_len} characters.",
        )
    return value


def field_int(
    data: dict[str, Any], key: str, *, required: bool = True, lo: int = 0, hi: int = 10**9
) -> int | None:
    value = data.get(key)
    if value is None:
        if required:
            raise errors.BadRequest(vi=f"Thiếu trường '{key}'.", en=f"'{key}' is required.")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise errors.BadRequest(
            vi=f"Trường '{key}' phải là số nguyên từ {lo} đến {hi}.",
            en=f"'{key}' must be a whole number from {lo} to {hi}.",
        )
    return value


def _check_json_body() -> None:
    """Decode any JSON body up front, so deep nesting or a surrogate is refused on every route."""
    if request.is_json:
        request.get_json(silent=True)  # malformed JSON is left to the route (json_body)


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the signing serializer built once per set of keys
    (Flask builds it anew for every request, cookie or not: about a tenth of a request's work
    before its view, on every API call)."""

    _made: tuple[Any, Any] | None = None

    def get_signing_serializer(self, app: Flask) -> Any:
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        made = self._made
        if made is None or made[0] != keys:
            made = self._made = (keys, super().get_signing_serializer(app))
        return made[1]


class Rule(_Rule):
    """Werkzeug's URL rule, whose URL builders are compiled when first used.

    Binding a rule to the app compiles its two builders (for ``url_for``) as Python source
    at once: 90 % of building the app (about 45 ms of its 50, for some 110 rules), paid by
    every server start and every test's app, for the handful of rules a process ever builds
    a URL for. Here each builder compiles itself on its first call, the same builder
    werkzeug would have made (a test holds every rule's URLs to the stock rule's); matching
    requests is untouched. It overrides werkzeug's own ``_compile_builder`` (2.2 to 3.1); a
    test fails if a werkzeug release leaves the override unused."""

    def _compile_builder(self, *args: Any, **kwargs: Any) -> Callable[..., Any]:
        compile_now = super()._compile_builder
        built: list[Callable[..., Any]] = []

        def build(rule: Rule, *values: Any, **named: Any) -> Any:
            if not built:  # two green threads may both compile it: the same function
                built.append(compile_now(*args, **kwargs))
            return built[0](rule, *values, **named)

        return build


def init_app(app: Flask) -> None:
    """Call before registering blueprints: routes bind `<int:...>` to BoundedInt, and their
    URL builders are compiled on first use (:class:`Rule`)."""
    app.url_rule_class = Rule
    app.session_interface = SessionInterface()
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.url_map.converters["int"] = BoundedInt
    provider = SafeJSONProvider(app)
    provider.ensure_ascii = getattr(app.json, "ensure_ascii", True)
    app.json = provider
    app.before_request(_check_json_body)
