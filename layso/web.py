"""Request edges shared by every blueprint: who is asking, in which language, with what body."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app, g, request, session
from sqlalchemy.orm import Session

from layso import errors
from layso.db import Database
from layso.models import Hall
from layso.services.accounts import (
    Principal,
    principal_for_token,
    principal_for_user,
    session_user,
)
from layso.services.common import get_hall

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def db() -> Database:
    return current_app.extensions["layso.db"]  # type: ignore[no-any-return]


def now() -> datetime:
    clock: Callable[[], datetime] = current_app.extensions["layso.clock"]
    return clock()


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    """Resolve the bearer token, else the signed-in user of the session cookie."""
    token = bearer_token()
    if token is not None:
        principal = principal_for_token(s, token, now())
        if principal is None:
            raise errors.Unauthorized()
        return principal
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = session_user(s, user_id, session.get("pw"))
    if user is None:
        session.clear()
        return None
    if request.method not in SAFE_METHODS:
        check_csrf()
    return principal_for_user(user, via_session=True)


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


def init_app(app: Flask) -> None:
    app.jinja_env.globals["csrf_token"] = csrf_token
