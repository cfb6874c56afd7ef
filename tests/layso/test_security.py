"""Sign-in, CSRF, rate limits, headers, and failures that reveal nothing."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import ApiToken, AuditEntry, Device, User

pytestmark = pytest.mark.usefixtures("demo")


def csrf_of(client: Any, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def sign_in(client: Any, username: str = "clerk2", password: str = "demo-clerk2") -> Any:
    token = csrf_of(client)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )


def test_passwords_use_scrypt_and_tokens_are_stored_hashed(db: Any, demo: dict) -> None:
    with db.read() as s:
        hashes = list(s.scalars(sa.select(User.password_hash)))
        token_hashes = set(s.scalars(sa.select(ApiToken.token_hash))) | set(
            s.scalars(sa.select(Device.token_hash))
        )

    assert hashes and all(h.startswith("scrypt:") for h in hashes)
    assert demo["manager"]["token"] not in token_hashes
    assert demo["devices"]["kiosk"] not in token_hashes
    assert all(re.fullmatch(r"[0-9a-f]{64}", h) for h in token_hashes)


def test_sign_in_sets_a_hardened_session_cookie_and_is_audited(client: Any, db: Any) -> None:
    r = sign_in(client)

    cookie = r.headers["Set-Cookie"]
    assert r.status_code == 302
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    with db.read() as s:
        actions = list(s.scalars(sa.select(AuditEntry.action)))
    assert "sign_in" in actions


def test_wrong_password_is_refused_and_audited_without_the_password(client: Any, db: Any) -> None:
    r = sign_in(client, password="guess-guess")

    assert r.status_code == 401
    with db.read() as s:
        entries = list(s.scalars(sa.select(AuditEntry)))
    failed = [e for e in entries if e.action == "sign_in_failed"]
    assert failed and "guess-guess" not in str(failed[0].detail)


def test_sign_in_form_without_csrf_token_is_refused(client: Any) -> None:
    client.get("/login")

    r = client.post("/login", data={"username": "clerk2", "password": "demo-clerk2"})

    assert r.status_code == 403


def test_session_changes_need_the_csrf_header(client: Any, api: Any, tokens: Callable) -> None:
    api.post("tickets", tokens("kiosk"), {"service": "TP"})
    sign_in(client)
    page_token = csrf_of(client, "/")

    without = client.post("/api/v1/halls/demo/counters/2/next")
    forged = client.post("/api/v1/halls/demo/counters/2/next", headers={"X-CSRF-Token": "nope"})
    good = client.post("/api/v1/halls/demo/counters/2/next", headers={"X-CSRF-Token": page_token})

    assert (without.status_code, forged.status_code, good.status_code) == (403, 403, 200)
    assert good.get_json()["ticket"]["display_number"] == "1001"


def test_session_reads_need_no_csrf(client: Any) -> None:
    sign_in(client)

    assert client.get("/api/v1/halls/demo/state").status_code == 200


def test_issuing_is_rate_limited_per_kiosk(
    app: Any, api: Any, tokens: Callable, other_hall: dict
) -> None:
    app.config["LAYSO_RATE_ISSUE"] = 3
    results = [api.post("tickets", tokens("kiosk"), {"service": "TP"})[0] for _ in range(5)]
    other = api.post(
        "/api/v1/halls/other/tickets", other_hall["devices"]["kiosk"], {"service": "TP"}
    )

    assert results == [201, 201, 201, 429, 429]
    assert other[0] == 201  # the limit is per kiosk


def test_sign_in_attempts_are_rate_limited(app: Any, client: Any) -> None:
    app.config["LAYSO_RATE_LOGIN"] = 2
    codes = [sign_in(client, password="wrong-wrong").status_code for _ in range(3)]

    assert codes == [401, 401, 429]
    assert sign_in(client).status_code == 429  # even the right password waits


def test_security_headers_on_pages_and_api(client: Any) -> None:
    for path in ("/login", "/api/openapi.json", "/healthz"):
        h = client.get(path).headers
        assert h["X-Content-Type-Options"] == "nosniff"
        assert h["X-Frame-Options"] == "DENY"
        assert "default-src 'self'" in h["Content-Security-Policy"]
        assert "script-src 'self'" in h["Content-Security-Policy"]


def test_each_security_header_is_sent_once_and_a_pages_own_value_wins(
    client: Any, api: Any, tokens: Callable
) -> None:
    h = client.get("/api/openapi.json").headers
    assert [len(h.getlist(k)) for k in ("X-Frame-Options", "Content-Security-Policy")] == [1, 1]
    status, body = api.post("tickets", tokens("kiosk"), {"service": "TP"})
    assert status == 201
    page = client.get("/" + body["ticket"]["status_url"].split("/", 3)[3])  # the phone page
    assert page.status_code == 200
    assert page.headers.getlist("Referrer-Policy") == ["no-referrer"]  # the phone page's own


def test_the_ticket_link_follows_each_requests_host(client: Any, tokens: Callable) -> None:
    urls = []
    for host in ("hall-a.example:8080", "hall-b.example", "hall-a.example:8080"):
        r = client.post(
            "/api/v1/halls/demo/tickets",
            json={"service": "TP"},
            headers={"Authorization": f"Bearer {tokens('kiosk')}", "Host": host},
        )
        assert r.status_code == 201
        urls.append(r.get_json()["ticket"]["status_url"].split("/t/")[0])
    assert urls == [
        "http://hall-a.example:8080",
        "http://hall-b.example",
        "http://hall-a.example:8080",
    ]


def test_an_unexpected_failure_reveals_no_trace(
    app: Any, api: Any, tokens: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from layso.services import state

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("secret internals /etc/layso")

    monkeypatch.setattr(state, "hall_state", boom)

    status, body = api.get("state", tokens("display"))

    assert status == 500
    assert body == {"error": {"code": "internal", "message": "Lỗi hệ thống, vui lòng thử lại."}}


def test_open_redirect_after_sign_in_is_refused(client: Any) -> None:
    token = csrf_of(client)

    r = client.post(
        "/login",
        data={
            "username": "clerk2",
            "password": "demo-clerk2",
            "csrf_token": token,
            "next": "//evil.example/x",
        },
    )

    assert r.headers["Location"] == "/"


def test_a_disabled_user_loses_api_and_session_access(
    client: Any, db: Any, api: Any, tokens: Callable
) -> None:
    sign_in(client, "clerk3", "demo-clerk3")
    with db.write() as s:
        s.scalars(sa.select(User).where(User.username == "clerk3")).one().active = False

    assert api.get("state", tokens("clerk3"))[0] == 401
    assert client.get("/api/v1/halls/demo/state").status_code == 401


def test_a_database_outage_answers_503_with_retry_after(
    api: Any, tokens: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sqlalchemy.exc import OperationalError

    from layso.services import state

    def down(*a: Any, **k: Any) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr(state, "hall_state", down)

    r = api.client.get(
        "/api/v1/halls/demo/state", headers={"Authorization": f"Bearer {tokens('display')}"}
    )

    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert r.get_json()["error"]["code"] == "unavailable"


def test_counting_a_hit_starts_no_thread(monkeypatch: Any) -> None:
    """The in-process counts drop expired entries inline: starting a thread waits for it, and
    under eventlet that switches green threads inside the hall's write transaction."""
    import threading
    import time

    from limits import RateLimitItemPerMinute
    from limits.strategies import MovingWindowRateLimiter

    from layso import limits

    storage = limits.InlineExpiryMemory()
    storage.timer.join()  # the library's own first timer, started by its __init__, has ended
    started: list[object] = []
    monkeypatch.setattr(threading.Timer, "start", lambda self: started.append(self))
    window = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(2)

    assert [window.hit(item, "k") for _ in range(3)] == [True, True, False]
    assert started == []
    (key,) = storage.events  # the item's key for "k"
    for entry in storage.events[key]:  # the minute has passed for both entries
        entry.atime -= 61
        entry.expiry -= 61
    storage._next_expiry = time.monotonic() - 1

    assert window.hit(item, "k") is True  # the next hit drops the expired ones inline
    assert len(storage.events[key]) == 1
    assert started == []
