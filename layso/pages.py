"""Shared pages: the index, sign-in and sign-out, health, and the OpenAPI document."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from layso import errors
from layso.limits import rate_limit
from layso.openapi import openapi_document
from layso.services.accounts import audit, authenticate, session_stamp
from layso.web import check_csrf, csrf_token, db, lang, now

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
    return jsonify(openapi_document())


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return "/"


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    error = None
    target = _safe_next(request.values.get("next"))
    if request.method == "POST":
        check_csrf()
        try:
            rate_limit("login", request.remote_addr or "?")
        except errors.LaysoError as e:
            return render_template("login.html", error=e.message(lang()), next=target), 429
        username = (request.form.get("username") or "").strip().lower()[:60]
        password = (request.form.get("password") or "")[:200]
        with db().write() as s:
            user = authenticate(s, username, password)
            audit(
                s,
                hall=None,
                user_id=user.id if user else None,
                action="sign_in" if user else "sign_in_failed",
                detail={"username": username, "ip": request.remote_addr},
                now=now(),
            )
            if user is not None:
                hall_id, pw = user.hall_id, session_stamp(user)
                user_id = user.id
        if user is None:
            error = (
                "Sai tên đăng nhập hoặc mật khẩu."
                if lang() == "vi"
                else "Wrong username or password."
            )
            return render_template("login.html", error=error, next=target), 401
        session.clear()
        session.permanent = True
        session.update(user_id=user_id, pw=pw, hall_id=hall_id)
        csrf_token()
        current_app.logger.info("user %s signed in", username)
        return redirect(target)
    return render_template("login.html", error=error, next=target)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    check_csrf()
    session.clear()
    return redirect(url_for("pages.login"))
