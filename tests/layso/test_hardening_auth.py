"""Issue 10, authentication and abuse, against the real server: redirects after sign-in,
server-side sessions, the sign-in limit (per client and username, failures only, shared through
Redis), live hub connections that end with the access, ratings from the pad only, password rules.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import socketio
import sqlalchemy as sa

pytestmark = pytest.mark.server

ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"
REDIS_URL = os.environ.get("LAYSO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
LOGIN_RATE = 5  # the module server's LAYSO_LOGIN_RATE: failures per (client, username) a minute
DISCONNECT_S = 5  # a generous bound; the server's own check runs twice a second
TIMEOUT = 15


@pytest.fixture(scope="module")
def rootconf(request: pytest.FixtureRequest) -> Any:
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


class Site:
    def __init__(self, server: Any, demo: dict[str, Any], instance: Path) -> None:
        self.server = server
        self.url: str = server.url
        self.demo = demo
        self.instance = instance

    @property
    def manager(self) -> str:
        return str(self.demo["manager"]["token"])

    def api(self, method: str, path: str, token: str | None, body: Any = None) -> Any:
        url = path if path.startswith("http") else f"{self.url}/api/v1/halls/demo/{path}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.request(method, url, json=body, headers=headers, timeout=TIMEOUT)

    def db(self) -> sa.Engine:
        return sa.create_engine(f"sqlite:///{self.instance / 'layso.sqlite3'}")


@pytest.fixture(scope="module")
def site(rootconf: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """One real eventlet server behind a (pretended) trusted proxy hop, with the demo hall."""
    tmp = tmp_path_factory.mktemp("hardening")
    env = rootconf.server_env(
        tmp / "instance", LAYSO_LOGIN_RATE=str(LOGIN_RATE), LAYSO_TRUSTED_PROXIES="1"
    )
    demo = rootconf.seed_demo_instance(env)
    server = rootconf.start_server(env, tmp / "server.log")
    yield Site(server, demo, tmp / "instance")
    server.stop()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def sign_in(
    url: str,
    username: str,
    password: str,
    *,
    xff: str | None = None,
    next_query: str | None = None,
) -> tuple[requests.Session, requests.Response]:
    """A browser-like session that signs in through the form; returns it and the answer."""
    http = requests.Session()
    if xff:
        http.headers["X-Forwarded-For"] = xff
    csrf = csrf_of(http.get(f"{url}/login", timeout=TIMEOUT).text)
    target = f"{url}/login" + (f"?next={next_query}" if next_query is not None else "")
    r = http.post(
        target,
        data={"username": username, "password": password, "csrf_token": csrf},
        allow_redirects=False,
        timeout=TIMEOUT,
    )
    return http, r


def page_csrf(http: requests.Session, url: str) -> str:
    return csrf_of(http.get(f"{url}/", timeout=TIMEOUT).text)


# --- open redirect ---------------------------------------------------------------------------

HOSTILE_NEXT = [
    "%2F%09%2Fevil.example%2Fphish",  # the reported one: "/<TAB>/evil.example/phish"
    "//evil.example/phish",
    "%2F%2Fevil.example",
    "/%5Cevil.example",  # "/\evil.example"
    "%5C%5Cevil.example",  # "\\evil.example"
    "%2F%5Cevil.example",
    "/%0d%0a/evil.example",
    "%09//evil.example",
    "%20//evil.example",
    "https://evil.example/phish",
    "https:evil.example",
    "HTTPS%3A%2F%2Fevil.example",
    "javascript:alert(1)",
    "/%2F%2Fevil.example",  # stays a path (its slashes are encoded twice): fine either way
    "evil.example",
]


@pytest.mark.parametrize("raw", HOSTILE_NEXT)
def test_the_next_page_after_sign_in_never_leaves_the_site(site: Site, raw: str) -> None:
    _, r = sign_in(site.url, "clerk1", "demo-clerk1", xff="198.51.100.1", next_query=raw)

    location = r.headers["Location"]
    assert r.status_code == 302
    assert not re.search(r"[\x00-\x20\\\x7f]", location), location  # nothing a browser strips
    assert not location.startswith("//")
    assert urlsplit(urljoin(site.url + "/", location)).netloc == urlsplit(site.url).netloc


def test_a_same_site_next_page_is_followed(site: Site) -> None:
    _, r = sign_in(
        site.url, "clerk1", "demo-clerk1", xff="198.51.100.1", next_query="%2Fcounter%3Fx%3D1"
    )

    assert r.headers["Location"] == "/counter?x=1"


# --- server-side sessions --------------------------------------------------------------------


def test_signing_out_ends_the_session_for_a_saved_cookie(site: Site) -> None:
    http, r = sign_in(site.url, "manager", "demo-manager", xff="198.51.100.2")
    assert r.status_code == 302
    csrf = page_csrf(http, site.url)
    saved = dict(http.cookies)
    thief = requests.Session()
    thief.cookies.update(saved)
    patch = f"{site.url}/api/v1/halls/demo/config/hall"
    assert thief.get(f"{site.url}/api/v1/me", timeout=TIMEOUT).status_code == 200

    out = http.post(f"{site.url}/logout", data={"csrf_token": csrf}, allow_redirects=False)
    me = thief.get(f"{site.url}/api/v1/me", timeout=TIMEOUT)
    write = thief.patch(
        patch, json={"greeting": "Đã bị chiếm"}, headers={"X-CSRF-Token": csrf}, timeout=TIMEOUT
    )

    assert out.status_code == 302
    assert me.status_code == 401 and write.status_code == 401
    hall = site.api("GET", "config", site.manager).json()["hall"]
    assert hall["greeting"] != "Đã bị chiếm"


def _cookie_payload(value: str) -> str:
    """The readable part of a Flask session cookie (itsdangerous: [.]payload.time.signature)."""
    compressed = value.startswith(".")
    payload = value.lstrip(".").split(".")[0]
    data = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    return (zlib.decompress(data) if compressed else data).decode()


def test_the_cookie_carries_a_session_id_and_no_password_hash(site: Site) -> None:
    http, _ = sign_in(site.url, "clerk2", "demo-clerk2", xff="198.51.100.3")

    payload = _cookie_payload(http.cookies["layso_session"])
    with site.db().connect() as conn:
        pw_hash = conn.execute(
            sa.text("SELECT password_hash FROM user WHERE username = 'clerk2'")
        ).scalar_one()

    body = json.loads(payload)
    assert set(body) <= {"sid", "csrf", "_permanent"}, body
    assert pw_hash[-12:] not in payload and pw_hash.split("$")[-1][:8] not in payload
    assert http.get(f"{site.url}/api/v1/me", timeout=TIMEOUT).json()["name"] == "clerk2"


def _add_user(site: Site, username: str, role: str, password: str) -> None:
    r = site.api(
        "POST",
        "config/users",
        site.manager,
        {"username": username, "role": role, "password": password},
    )
    assert r.status_code == 201, r.text


def test_a_password_reset_ends_every_session_of_that_user(site: Site) -> None:
    _add_user(site, "canbo7", "clerk", "mat-khau-canbo-7")
    first, _ = sign_in(site.url, "canbo7", "mat-khau-canbo-7", xff="198.51.100.4")
    second, _ = sign_in(site.url, "canbo7", "mat-khau-canbo-7", xff="198.51.100.5")

    r = site.api(
        "POST", "config/users/canbo7/password", site.manager, {"password": "mat-khau-moi-7"}
    )

    assert r.status_code == 200
    assert first.get(f"{site.url}/api/v1/me", timeout=TIMEOUT).status_code == 401
    assert second.get(f"{site.url}/api/v1/me", timeout=TIMEOUT).status_code == 401
    _, again = sign_in(site.url, "canbo7", "mat-khau-moi-7", xff="198.51.100.4")
    assert again.status_code == 302


def test_changing_ones_own_password_ends_ones_other_sessions(site: Site) -> None:
    _add_user(site, "quanly7", "manager", "mat-khau-quanly-7")
    here, _ = sign_in(site.url, "quanly7", "mat-khau-quanly-7", xff="198.51.100.6")
    elsewhere, _ = sign_in(site.url, "quanly7", "mat-khau-quanly-7", xff="198.51.100.7")

    r = here.post(
        f"{site.url}/api/v1/halls/demo/config/users/quanly7/password",
        json={"password": "mat-khau-quanly-moi"},
        headers={"X-CSRF-Token": page_csrf(here, site.url)},
        timeout=TIMEOUT,
    )

    assert r.status_code == 200, r.text
    assert elsewhere.get(f"{site.url}/api/v1/me", timeout=TIMEOUT).status_code == 401
    assert here.get(f"{site.url}/api/v1/me", timeout=TIMEOUT).status_code == 200


# --- the sign-in limit -----------------------------------------------------------------------


def test_wrong_passwords_for_one_clerk_do_not_lock_out_another(site: Site) -> None:
    """Behind the (trusted) proxy every clerk arrives from the proxy's address."""
    office = "203.0.113.10"
    codes = [sign_in(site.url, "clerk1", f"sai-mat-khau-{i}", xff=office)[1] for i in range(12)]

    assert [r.status_code for r in codes] == [401] * LOGIN_RATE + [429] * (12 - LOGIN_RATE)
    refused = codes[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "Thử lại sau" in refused.text or "thử lại sau" in refused.text
    assert sign_in(site.url, "clerk1", "demo-clerk1", xff=office)[1].status_code == 429
    assert sign_in(site.url, "clerk2", "demo-clerk2", xff=office)[1].status_code == 302
    # another client address (per X-Forwarded-For from the trusted proxy) is its own count
    assert sign_in(site.url, "clerk1", "demo-clerk1", xff="203.0.113.11")[1].status_code == 302


def test_successful_sign_ins_do_not_count(site: Site) -> None:
    codes = [
        sign_in(site.url, "clerk3", "demo-clerk3", xff="203.0.113.12")[1].status_code
        for _ in range(LOGIN_RATE + 3)
    ]

    assert codes == [302] * (LOGIN_RATE + 3)


@pytest.mark.redis
def test_the_limit_is_shared_by_two_server_processes_through_redis(
    rootconf: Any, tmp_path: Path, pg_url: str, servers: Callable[..., Any]
) -> None:
    rootconf.need(rootconf.redis_available(), f"Redis is not reachable at {REDIS_URL}")
    # no trusted proxy here: a made-up X-Forwarded-For must not buy more attempts
    env_a = rootconf.server_env(
        tmp_path / "a", LAYSO_DATABASE_URL=pg_url, LAYSO_REDIS_URL=REDIS_URL, LAYSO_LOGIN_RATE="4"
    )
    env_b = dict(env_a, LAYSO_INSTANCE=str(tmp_path / "b"))
    rootconf.layso_cli(env_a, "seed-demo", "--json")
    a = servers(env_a, tmp_path / "a.log")
    b = servers(env_b, tmp_path / "b.log")

    codes = [
        sign_in((a, b)[i % 2].url, "clerk1", f"sai-{i}", xff=f"192.0.2.{i}")[1].status_code
        for i in range(8)
    ]

    assert codes == [401] * 4 + [429] * 4
    assert sign_in(b.url, "clerk2", "demo-clerk2")[1].status_code == 302
    assert sign_in(a.url, "clerk2", "demo-clerk2")[1].status_code == 302


# --- live hub connections end with the access ------------------------------------------------


class Watcher:
    """A python-socketio client of /hall that notes when the server drops it."""

    def __init__(self, url: str, auth: dict[str, Any], cookies: str | None = None) -> None:
        self.client = socketio.Client(reconnection=False)
        self.snapshot = threading.Event()
        self.gone = threading.Event()
        self.client.on("snapshot", lambda *_: self.snapshot.set(), namespace="/hall")
        self.client.on("disconnect", lambda *_: self.gone.set(), namespace="/hall")
        headers = {"Cookie": cookies} if cookies else {}
        self.client.connect(
            url,
            namespaces=["/hall"],
            transports=["websocket"],
            auth=auth,
            headers=headers,
            wait_timeout=10,
        )
        assert self.snapshot.wait(TIMEOUT), "the hub sends a snapshot on joining"

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def watchers() -> Iterator[Callable[..., Watcher]]:
    made: list[Watcher] = []

    def make(*args: Any, **kw: Any) -> Watcher:
        w = Watcher(*args, **kw)
        made.append(w)
        return w

    yield make
    for w in made:
        w.close()


def _cookie_header(http: requests.Session) -> str:
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


def test_a_revoked_device_loses_its_live_connection(site: Site, watchers: Callable) -> None:
    r = site.api("POST", "config/devices", site.manager, {"kind": "display", "name": "Màn hình 9"})
    assert r.status_code == 201, r.text
    device, token = r.json()["device"]["id"], r.json()["token"]
    screen = watchers(site.url, {"hall": "demo", "token": token})
    bystander = watchers(site.url, {"hall": "demo", "token": site.demo["devices"]["display"]})

    assert site.api("POST", f"config/devices/{device}/revoke", site.manager).status_code == 200

    assert screen.gone.wait(DISCONNECT_S), "the revoked display is still connected"
    assert not bystander.gone.is_set() and bystander.client.connected


def test_a_disabled_users_live_connection_ends(site: Site, watchers: Callable) -> None:
    _add_user(site, "canbo8", "clerk", "mat-khau-canbo-8")
    http, _ = sign_in(site.url, "canbo8", "mat-khau-canbo-8", xff="198.51.100.8")
    page = watchers(site.url, {"hall": "demo"}, cookies=_cookie_header(http))

    r = site.api("PATCH", "config/users/canbo8", site.manager, {"active": False})

    assert r.status_code == 200, r.text
    assert page.gone.wait(DISCONNECT_S), "the disabled clerk's page is still connected"


def test_a_revoked_api_tokens_live_connection_ends(site: Site, watchers: Callable) -> None:
    token = site.demo["counters"][2]["token"]  # clerk3's API token
    page = watchers(site.url, {"hall": "demo", "token": token})
    bystander = watchers(site.url, {"hall": "demo", "token": site.demo["counters"][1]["token"]})
    digest = hashlib.sha256(token.encode()).hexdigest()

    engine = site.db()
    with engine.begin() as conn:  # as an administrator's tool would revoke it
        conn.execute(
            sa.text("UPDATE api_token SET revoked_at = CURRENT_TIMESTAMP WHERE token_hash = :h"),
            {"h": digest},
        )
    engine.dispose()

    assert page.gone.wait(DISCONNECT_S), "the revoked token's connection is still live"
    assert not bystander.gone.is_set() and bystander.client.connected


def test_signing_out_ends_the_pages_live_connection(site: Site, watchers: Callable) -> None:
    http, _ = sign_in(site.url, "clerk4", "demo-clerk4", xff="198.51.100.9")
    page = watchers(site.url, {"hall": "demo"}, cookies=_cookie_header(http))

    http.post(f"{site.url}/logout", data={"csrf_token": page_csrf(http, site.url)})

    assert page.gone.wait(DISCONNECT_S), "the signed-out page is still connected"


# --- ratings come from the pad ---------------------------------------------------------------


def test_a_clerk_cannot_rate_their_own_visit_through_the_api(site: Site) -> None:
    clerk, pad = site.demo["counters"][4]["token"], site.demo["counters"][4]["rating_pad"]
    ticket = site.api("POST", "tickets", site.demo["devices"]["kiosk"], {"service": "CT"})
    assert ticket.status_code == 201, ticket.text
    for action in ("next", "start", "finish"):
        r = site.api("POST", f"counters/5/{action}", clerk, {})
        assert r.status_code == 200, r.text
    served = r.json().get("ticket") or ticket.json()["ticket"]
    path = f"tickets/{served['id']}/rating"

    by_clerk = site.api("POST", path, clerk, {"score": 4})
    by_pad = site.api("POST", path, pad, {"score": 4})

    assert by_clerk.status_code == 403 and by_clerk.json()["error"]["code"] == "forbidden"
    assert by_pad.status_code == 201


# --- password rules and who may reset whom ---------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "why"),
    [
        ("canbo10", "ngan-qua", "10"),
        ("canbo11", "1234567890", "phổ biến"),
        ("canbo12", "Password123", "phổ biến"),
        ("canbo13", "qwertyuiop", "phổ biến"),
        ("canbo14", "canbo14", "10"),
        ("nguyenvanbinh", "nguyenvanbinh", "tên đăng nhập"),
        ("canbo15", "aaaaaaaaaaaa", "phổ biến"),
    ],
)
def test_weak_passwords_are_refused_with_a_clear_message(
    site: Site, username: str, password: str, why: str
) -> None:
    r = site.api(
        "POST",
        "config/users",
        site.manager,
        {"username": username, "role": "clerk", "password": password},
    )

    assert r.status_code == 400, r.text
    assert why in r.json()["error"]["message"]


def test_a_passphrase_and_the_demo_passwords_are_accepted(site: Site) -> None:
    for username, password in (("canbo16", "con mèo đen trèo cây"), ("canbo17", "demo-clerk9")):
        _add_user(site, username, "clerk", password)


def test_the_cli_refuses_a_weak_password(site: Site, rootconf: Any) -> None:
    with pytest.raises(AssertionError) as refused:
        rootconf.layso_cli(
            site.server.env,
            "user",
            "add",
            "canbo20",
            "--role",
            "clerk",
            "--hall",
            "demo",
            stdin="1234567890\n",
        )
    rootconf.layso_cli(
        site.server.env,
        "user",
        "add",
        "canbo21",
        "--role",
        "clerk",
        "--hall",
        "demo",
        stdin="mot-mat-khau-tot\n",
    )

    assert "phổ biến" in str(refused.value) or "common" in str(refused.value)


def test_a_manager_cannot_reset_another_managers_or_an_admins_password(
    site: Site, rootconf: Any
) -> None:
    _add_user(site, "quanly8", "manager", "mat-khau-quanly-8")
    _add_user(site, "canbo9", "clerk", "mat-khau-canbo-9")
    rootconf.layso_cli(
        site.server.env, "user", "add", "admin8", "--role", "admin", stdin="mat-khau-admin-8\n"
    )
    admin_token = rootconf.layso_cli(site.server.env, "token", "create", "--user", "admin8").strip()

    other_manager = site.api(
        "POST", "config/users/quanly8/password", site.manager, {"password": "mat-khau-chiem-8"}
    )
    admin = site.api("GET", f"{site.url}/api/v1/me", admin_token)
    clerk = site.api(
        "POST", "config/users/canbo9/password", site.manager, {"password": "mat-khau-moi-6"}
    )
    by_admin = site.api(
        "POST", "config/users/quanly8/password", admin_token, {"password": "mat-khau-moi-8"}
    )

    assert other_manager.status_code == 403
    assert admin.status_code == 200 and admin.json()["role"] == "admin"
    assert clerk.status_code == 200
    assert by_admin.status_code == 200
    assert sign_in(site.url, "quanly8", "mat-khau-moi-8", xff="198.51.100.10")[1].status_code == 302


def test_a_new_token_never_reads_as_a_command_line_option(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`layso print-agent --token -Xy…` would be refused by the argument parser: a token that
    starts with "-" is drawn again."""
    from layso.services import accounts

    drawn = iter(["-starts-with-a-dash", "--two", "fine-token"])
    monkeypatch.setattr(accounts.secrets, "token_urlsafe", lambda _n: next(drawn))
    assert accounts.new_token() == "fine-token"
    monkeypatch.undo()
    assert all(not accounts.new_token().startswith("-") for _ in range(2000))
