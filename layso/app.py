"""The application factory."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable
from datetime import datetime, timedelta

from flask import Flask, jsonify, render_template, request, send_from_directory
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from layso import errors, hub, web
from layso.config import Settings
from layso.db import Database

logger = logging.getLogger(__name__)

#: the role packages; each exposes ``bp`` (its blueprint, static files under /<role>/static)
#: and, if it needs one, ``init_app(app)``, called after ``bp`` is registered
ROLES = ("kiosk", "display", "counter", "printer", "manager")


def _favicon() -> ResponseReturnValue:
    """Every browser asks for /favicon.ico: the icon, cached for a day (not a 404 in the log)."""
    return send_from_directory(
        os.path.join(os.path.dirname(__file__), "static"),
        "favicon.ico",
        mimetype="image/vnd.microsoft.icon",
        max_age=86400,
    )


def create_app(
    settings: Settings | None = None, *, clock: Callable[[], datetime] | None = None
) -> Flask:
    """Build the Flask app; all configuration comes from `settings`."""
    settings = (settings or Settings.from_env()).resolved()
    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        JSON_AS_ASCII=False,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        SESSION_COOKIE_NAME="layso_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=256 * 1024,
        LAYSO_PUBLIC_URL=settings.public_url,
        LAYSO_RATE_ISSUE=settings.issue_rate_per_minute,
        LAYSO_RATE_LOGIN=settings.login_rate_per_minute,
        LAYSO_RATE_SUGGEST=10,
        LAYSO_RATE_AUDIO=settings.audio_rate_per_minute,
        # the phone page's actions: per ticket code, and per client address
        LAYSO_RATE_PHONE=20,
        LAYSO_RATE_PHONE_ADDR=120,
        # bookings (layso/booking_api.py): per client address, per phone, reads per address
        LAYSO_RATE_BOOK=settings.book_rate_per_minute,
        LAYSO_RATE_BOOK_PHONE=3,
        LAYSO_RATE_BOOK_READ=240,
        # ID numbers are kept as an HMAC under this key (services/bookings.hash_id)
        LAYSO_ID_HASH_KEY=settings.id_hash_key,
        LAYSO_VOICE_CACHE_BYTES=settings.voice_cache_mb * 1024 * 1024,
        LAYSO_REDIS_URL=settings.redis_url,  # rate-limit counters shared by every process
        LAYSO_DATABASE_URL=settings.database_url,
        LAYSO_SETTINGS=settings,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    from layso import __version__

    app.jinja_env.globals["layso_version"] = __version__  # pages send it in their heartbeat
    database = Database(settings.database_url)
    app.extensions["layso.db"] = database
    app.extensions["layso.clock"] = clock or web.utcnow
    web.init_app(app)

    from layso import api, booking_api, pages

    app.register_blueprint(api.bp)
    app.register_blueprint(api.public)
    app.register_blueprint(booking_api.bp)
    app.register_blueprint(pages.bp)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)
    for role in ROLES:
        module = importlib.import_module(role)
        app.register_blueprint(module.bp)
        init_role = getattr(module, "init_app", None)
        if init_role is not None:
            init_role(app)
    hub.init_app(
        app,
        database,
        async_mode=settings.async_mode,
        message_queue=settings.redis_url,
        join_timeout=settings.join_timeout_s,
    )
    from layso.services.notify.outbox import Sender

    # the notices' sender (layso.services.notify.outbox); `layso run` starts it
    app.extensions["layso.notify"] = Sender(
        database,
        app.extensions["layso.clock"],
        spawn=hub.socketio.start_background_task,
        retry_s=settings.notify_retry_s,
        attempts=settings.notify_attempts,
        timeout_s=settings.notify_timeout_s,
    )

    from layso import monitor

    monitor.init_app(app, database, interval=settings.alert_interval_s)
    _register_errors(app)
    if settings.trusted_proxies:
        # the client's address and scheme as the proxy saw them, believed only from that many
        # hops (a client's own X-Forwarded-For is never trusted); after the hub's middleware so
        # that the pages, the API and the hub all see the same
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=settings.trusted_proxies, x_proto=settings.trusted_proxies
        )

    @app.after_request
    def security_headers(resp):  # type: ignore[no-untyped-def]
        headers = resp.headers  # a page's own value wins (add, not setdefault: half the work)
        for key, value in SECURITY_HEADERS:
            if key not in headers:
                headers.add(key, value)
        return resp

    return app


SECURITY_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
    (
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self' ws: wss:; "
        "frame-ancestors 'none'",
    ),
)


def _sqlstate(e: DBAPIError) -> str:
    """The PostgreSQL SQLSTATE of a driver error (pg8000 puts it in args[0]["C"])."""
    args = getattr(e.orig, "args", ())
    if args and isinstance(args[0], dict):
        return str(args[0].get("C", ""))
    return str(getattr(e.orig, "pgcode", "") or "")


def _register_errors(app: Flask) -> None:
    def wants_json() -> bool:
        return (
            request.path.startswith("/api/")
            or request.path == "/healthz"
            or (request.accept_mimetypes.best == "application/json")
        )

    @app.errorhandler(errors.LaysoError)
    def layso_error(e: errors.LaysoError) -> ResponseReturnValue:
        lang = web.lang()
        if wants_json():
            resp = app.make_response((jsonify(e.body(lang)), e.status))
        else:
            page = render_template("error.html", message=e.message(lang), status=e.status)
            resp = app.make_response((page, e.status))
        retry_after = getattr(e, "retry_after", None)
        if retry_after:
            resp.headers["Retry-After"] = str(retry_after)
        return resp

    @app.errorhandler(HTTPException)
    def http_error(e: HTTPException) -> ResponseReturnValue:
        status = e.code or 500
        known = {404: errors.NotFound, 405: errors.BadRequest, 413: errors.BadRequest}
        err = known.get(status, errors.BadRequest)(e.name)
        err.status = status
        if status == 405:
            err.code = "method_not_allowed"
        if status == 413:
            err.code = "too_large"
        return layso_error(err)

    @app.errorhandler(IntegrityError)
    def integrity(e: IntegrityError) -> ResponseReturnValue:
        logger.warning("refused a change that conflicts with stored data: %s", e.orig)
        return layso_error(errors.Conflict())

    @app.errorhandler(DBAPIError)
    def database_down(e: DBAPIError) -> ResponseReturnValue:
        lost = (
            isinstance(e, (OperationalError, InterfaceError))
            or e.connection_invalidated
            or _sqlstate(e)[:2] in ("08", "53", "57")  # connection, resources, shutting down
        )
        if not lost:
            return unexpected(e)
        logger.error("database unavailable on %s %s: %s", request.method, request.path, e)
        err = errors.LaysoError(
            vi="Hệ thống tạm thời gián đoạn, vui lòng thử lại sau ít giây.",
            en="The service is briefly unavailable; try again in a moment.",
        )
        err.status, err.code = 503, "unavailable"
        resp = app.make_response(layso_error(err))
        resp.headers["Retry-After"] = "5"
        return resp

    @app.errorhandler(Exception)
    def unexpected(e: Exception) -> ResponseReturnValue:
        logger.exception("unexpected error on %s %s", request.method, request.path)
        err = errors.LaysoError(
            vi="Lỗi hệ thống, vui lòng thử lại.", en="Internal error; please try again."
        )
        err.status, err.code = 500, "internal"
        return layso_error(err)
