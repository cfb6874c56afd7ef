"""Shared pages: the index, sign-in and sign-out, health, and the OpenAPI document."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from layso import errors, limits
from layso.openapi import openapi_document
from layso.services.accounts import audit, authenticate, end_session, start_session
from layso.web import check_csrf, csrf_token, db, now

bp = Blueprint("pages", __name__)


@bp.get("/")
def index() -> ResponseReturnValue:
    return render_template("index.html")


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    import sqlalchemy as sa

    with db().read() as s:
        s.execute(sa.text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/api/openapi.json")
def openapi() -> ResponseReturnValue:
    return jsonify(openapi_document(current_app))


# a same-site path: one "/" then printable ASCII, no backslash (browsers read "\\" as "/"),
# no control characters or spaces (browsers drop tabs and newlines: "/\t/evil" is "//evil")
SAFE_NEXT = re.compile(r"/(?![/\\])[\x21-\x5b\x5d-\x7e]{0,499}")
LOGIN_ADDRESS_FACTOR = 5  # one address may fail this many times the per-user limit (spraying)


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site, else the start page."""
    if not target or not SAFE_NEXT.fullmatch(target):
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return "/"
    return target


# why a page sent the browser here, told above the form (the page's path prefix → vi, en)
SIGN_IN_REASONS = (
    (
        "/counter",
        "Vui lòng đăng nhập để dùng trang quầy.",
        "Please sign in to use the counter page.",
    ),
    (
        "/manager",
        "Vui lòng đăng nhập để dùng trang quản lý.",
        "Please sign in to use the manager pages.",
    ),
)
WRONG_PASSWORD = ("Sai tên đăng nhập hoặc mật khẩu.", "Wrong username or password.")


def _reason(target: str) -> tuple[str, str] | None:
    path = urlsplit(target).path
    for prefix, vi, en in SIGN_IN_REASONS:
        if path == prefix or path.startswith(prefix + "/"):
            return vi, en
    return None


def _login_page(target: str, error: tuple[str, str] | None = None, username: str = "") -> str:
    """The sign-in form; an error in Vietnamese with English beside, the username kept."""
    reason = None if error else _reason(target)
    return render_template("login.html", error=error, reason=reason, next=target, username=username)


def _login_refused(e: errors.LaysoError, target: str, username: str) -> ResponseReturnValue:
    error = (e.message("vi"), e.message("en"))
    resp = make_response(_login_page(target, error, username), 429)
    resp.headers["Retry-After"] = str(getattr(e, "retry_after", limits.WINDOW_S))
    return resp


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    target = _safe_next(request.values.get("next"))
    if request.method == "POST":
        check_csrf()
        username = (request.form.get("username") or "").strip().lower()[:60]
        password = (request.form.get("password") or "")[:200]
        # the client's address as the trusted proxy saw it (LAYSO_TRUSTED_PROXIES), with the
        # username: one clerk's typos never lock out the others behind the same proxy
        address = request.remote_addr or "?"
        per_address = LOGIN_ADDRESS_FACTOR * limits.limit_for("login")
        try:
            limits.check("login", f"{address}|{username}")
            limits.check("login_address", address, per_minute=per_address)
        except errors.LaysoError as e:
            return _login_refused(e, target, username)
        with db().write() as s:
            user = authenticate(s, username, password)
            audit(
                s,
                hall=None,
                user_id=user.id if user else None,
                action="sign_in" if user else "sign_in_failed",
                detail={"username": username, "ip": address},
                now=now(),
            )
            if user is not None:
                sid = start_session(s, user, now())
        if user is None:
            limits.hit("login", f"{address}|{username}")  # only failures count
            limits.hit("login_address", address, per_minute=per_address)
            return _login_page(target, WRONG_PASSWORD, username), 401
        limits.clear("login", f"{address}|{username}")
        session.clear()
        session.permanent = True
        session["sid"] = sid  # only the session's random id: the row on the server says who
        csrf_token()
        current_app.logger.info("user %s signed in", username)
        return redirect(target)
    return _login_page(target)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Sign out; with a `next` field (sign in with another account) the sign-in page for it."""
    check_csrf()
    with db().write() as s:
        end_session(s, session.get("sid"), now())
    session.clear()
    target = request.form.get("next")
    if target and _safe_next(target) == target and target != "/":
        return redirect(url_for("pages.login", next=target))
    return redirect(url_for("pages.login"))
