"""The signed session cookie: its serializer is built once per set of keys (layso.web), and a
change of key is still obeyed at once: a cookie signed with a key no longer in use is refused,
one signed with a key kept as a fallback is still read."""

from __future__ import annotations

from typing import Any

from layso.web import SessionInterface


def _cookie(app: Any, data: dict[str, Any]) -> str:
    serializer = app.session_interface.get_signing_serializer(app)
    return str(serializer.dumps(data))


def _read(app: Any, cookie: str) -> dict[str, Any]:
    name = app.config["SESSION_COOKIE_NAME"]
    with app.test_request_context("/", headers={"Cookie": f"{name}={cookie}"}):
        return dict(app.session_interface.open_session(app, _request()))


def _request() -> Any:
    from flask import request

    return request._get_current_object()


def test_the_app_uses_the_session_interface_that_keeps_its_serializer(app: Any) -> None:
    assert isinstance(app.session_interface, SessionInterface)
    first = app.session_interface.get_signing_serializer(app)
    assert app.session_interface.get_signing_serializer(app) is first


def test_a_cookie_round_trips_under_the_same_key(app: Any) -> None:
    cookie = _cookie(app, {"sid": 7})
    assert _read(app, cookie) == {"sid": 7}


def test_a_new_key_refuses_the_old_cookie_and_a_fallback_reads_it(app: Any) -> None:
    old_key = app.secret_key
    cookie = _cookie(app, {"sid": 7})
    app.secret_key = old_key + "-rotated"
    app.config["SECRET_KEY"] = app.secret_key
    assert _read(app, cookie) == {}  # the serializer of the old key is not used any more
    app.config["SECRET_KEY_FALLBACKS"] = [old_key]
    assert _read(app, cookie) == {"sid": 7}
    app.config["SECRET_KEY_FALLBACKS"] = []
    assert _read(app, cookie) == {}
