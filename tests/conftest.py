"""Shared fixtures: a fresh database per test, a controlled clock, the demo hall, real servers."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from layso.app import create_app
from layso.config import Settings
from layso.db import Database, upgrade
from layso.models import Event
from layso.services.demo import seed_demo

ROOT = Path(__file__).resolve().parent.parent
STRICT = os.environ.get("LAYSO_TEST_STRICT") == "1"
PG_BASE = os.environ.get("LAYSO_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("LAYSO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def need(ok: bool, reason: str) -> None:
    """Skip with a visible reason; under LAYSO_TEST_STRICT=1 (CI) fail instead."""
    if not ok:
        if STRICT:
            pytest.fail(f"LAYSO_TEST_STRICT=1 forbids skipping: {reason}")
        pytest.skip(reason)


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def postgres_available() -> bool:
    return _port_open("127.0.0.1", 5432) if "127.0.0.1:5432" in PG_BASE else True


def redis_available() -> bool:
    return _port_open("127.0.0.1", 6379) if "127.0.0.1:6379" in REDIS_URL else True


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Clock:
    """A controllable clock; starts at 08:00 in Hanoi on a Saturday in November 2026."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 21, 1, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def set_local(self, text: str) -> datetime:
        """Set the time from a Hanoi-local ISO string, e.g. '2026-11-21T23:59:59'."""
        from zoneinfo import ZoneInfo

        self.now = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
        self.now = self.now.astimezone(UTC)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    return PG_BASE


def create_pg_database(template: str | None = None) -> str:
    """A fresh PostgreSQL database for one test (a copy of `template` if given); its URL."""
    import pg8000.native
    import sqlalchemy as sa

    url = sa.engine.make_url(PG_BASE)
    name = f"layso_t_{uuid.uuid4().hex[:12]}"
    conn = pg8000.native.Connection(
        url.username or "postgres",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "test",
        password=url.password,
    )
    conn.run(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
    conn.close()
    return str(url.set(database=name).render_as_string(hide_password=False))


def drop_pg_database(db_url: str) -> None:
    import pg8000.native
    import sqlalchemy as sa

    url = sa.engine.make_url(PG_BASE)
    name = sa.engine.make_url(db_url).database
    conn = pg8000.native.Connection(
        url.username or "postgres",
        host=url.host or "127.0.0.1",
        port=url.port or 5432,
        database=url.database or "test",
        password=url.password,
    )
    conn.run(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


class PgDrops:
    """Databases a finished test leaves, dropped in a thread of their own.

    DROP DATABASE waits for a checkpoint in PostgreSQL 15 (0.2-0.7 s of disk on a loaded
    machine), once per PostgreSQL test: the test's worker goes on meanwhile. The session's end
    waits for every drop (a PostgreSQL that went away leaves nothing to drop)."""

    def __init__(self) -> None:
        self.pool: ThreadPoolExecutor | None = None

    def later(self, db_url: str) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-drops")
        self.pool.submit(self._drop, db_url)

    @staticmethod
    def _drop(db_url: str) -> None:
        try:
            drop_pg_database(db_url)
        except Exception:  # noqa: BLE001 - PostgreSQL went away: nothing left to drop
            pass

    def wait(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True)
            self.pool = None


PG_DROPS = PgDrops()


class PgCopies:
    """Databases copied from one template a test ahead, in a thread of their own.

    CREATE DATABASE spends about a third of a second waiting on the disk (PostgreSQL 15 writes
    the copy through its WAL and flushes it), once per PostgreSQL test. The next test's copy is
    made while the current test runs; :meth:`take` gives a made one (or waits for it, or for
    its error: PostgreSQL down fails the same way as before). Copies left at the end are
    dropped."""

    AHEAD = 1

    def __init__(self, template: str | None) -> None:
        self.template = template
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-copies")
        self.made: deque[Future[str]] = deque()

    def take(self) -> str:
        while len(self.made) <= self.AHEAD:  # this test's copy, and the next ones'
            self.made.append(self.pool.submit(create_pg_database, self.template))
        return self.made.popleft().result()

    def close(self) -> None:
        while self.made:
            try:
                drop_pg_database(self.made.popleft().result())
            except Exception:  # noqa: BLE001 - PostgreSQL went away: nothing left to drop
                pass
        self.pool.shutdown()


_PG_COPIES: dict[str | None, PgCopies] = {}


def pg_copy(template: str | None = None) -> str:
    """A fresh PostgreSQL database (a copy of `template`, else of template1), made ahead."""
    copies = _PG_COPIES.get(template)
    if copies is None:
        copies = _PG_COPIES[template] = PgCopies(template)
    return copies.take()


@pytest.fixture
def pg_url() -> Iterator[str]:
    need(postgres_available(), f"PostgreSQL is not reachable at {PG_BASE}")
    url = pg_copy()
    yield url
    PG_DROPS.later(url)


# PostgreSQL databases cloned from the demo template of this process: their URL → the demo json
_PG_DEMO: dict[str, dict[str, Any]] = {}


@pytest.fixture(scope="session")
def pg_demo_template() -> Iterator[tuple[str, dict[str, Any]]]:
    """A PostgreSQL database migrated and seeded once per process (like `sqlite_template`):
    (its name, the demo json). Tests that use the demo hall get a copy (CREATE DATABASE …
    TEMPLATE, a file copy) instead of migrating and seeding (scrypt) each time."""
    import sqlalchemy as sa

    from layso.config import normalize_database_url

    need(postgres_available(), f"PostgreSQL is not reachable at {PG_BASE}")
    url = create_pg_database()
    database = Database(normalize_database_url(url))
    upgrade(database)
    with database.write() as s:
        data = seed_demo(s, now=Clock()())
    database.dispose()  # a template must have no connection when it is copied
    name = str(sa.engine.make_url(url).database)
    yield name, data
    copies = _PG_COPIES.pop(name, None)
    if copies is not None:
        copies.close()  # before the template: its copies are made from it
    drop_pg_database(url)


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Migrate and seed the demo hall once; each test gets a copy of the file."""
    path = tmp_path_factory.mktemp("template") / "layso.sqlite3"
    database = Database(f"sqlite:///{path}")
    upgrade(database)
    with database.write() as s:
        data = seed_demo(s, now=Clock()())
    database.dispose()
    return path, data


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "postgres":
        if "demo" not in request.fixturenames:
            return str(request.getfixturevalue("pg_url"))
        need(postgres_available(), f"PostgreSQL is not reachable at {PG_BASE}")
        template, data = request.getfixturevalue("pg_demo_template")
        url = pg_copy(template)
        _PG_DEMO[url] = data
        request.addfinalizer(lambda: (_PG_DEMO.pop(url, None), PG_DROPS.later(url)))
        return url
    template, _ = request.getfixturevalue("sqlite_template")
    target = tmp_path / "layso.sqlite3"
    shutil.copyfile(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return Settings(
        instance_path=tmp_path,
        database_url=database_url,
        async_mode="threading",
        secret_key="test-secret",
        printer="none",
        testing=True,
        issue_rate_per_minute=10_000,
        login_rate_per_minute=10_000,
    ).resolved()


@pytest.fixture
def app(settings: Settings, clock: Clock) -> Iterator[Any]:
    from layso import limits

    limits.reset()
    application = create_app(settings, clock=clock)
    upgrade(application.extensions["layso.db"])
    yield application
    application.extensions["layso.db"].dispose()


@pytest.fixture
def db(app: Any) -> Database:
    return app.extensions["layso.db"]  # type: ignore[no-any-return]


@pytest.fixture
def demo(
    db: Database, clock: Clock, backend: str, request: pytest.FixtureRequest
) -> dict[str, Any]:
    """The demo hall (already in the copy of the SQLite or PostgreSQL template)."""
    if backend == "sqlite":
        return dict(request.getfixturevalue("sqlite_template")[1])
    url = request.getfixturevalue("database_url")
    if url in _PG_DEMO:
        return json.loads(json.dumps(_PG_DEMO[url]))  # type: ignore[no-any-return]
    with db.write() as s:
        return seed_demo(s, now=clock())


@pytest.fixture
def other_hall(db: Database, clock: Clock, demo: dict[str, Any]) -> dict[str, Any]:
    with db.write() as s:
        return seed_demo(s, now=clock(), slug="other")


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


class Api:
    """A thin JSON client: api.post(path, token, json) → (status, body)."""

    def __init__(self, client: Any, hall: str = "demo") -> None:
        self.client = client
        self.hall = hall

    def _headers(self, token: str | None, lang: str | None) -> dict[str, str]:
        headers = {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if lang:
            headers["Accept-Language"] = lang
        return headers

    def url(self, path: str) -> str:
        return path if path.startswith("/") else f"/api/v1/halls/{self.hall}/{path}"

    def get(self, path: str, token: str | None, lang: str | None = None) -> tuple[int, Any]:
        r = self.client.get(self.url(path), headers=self._headers(token, lang))
        return r.status_code, r.get_json()

    def post(
        self,
        path: str,
        token: str | None,
        body: Any = None,
        lang: str | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, Any]:
        headers = self._headers(token, lang)
        if raw is not None:
            r = self.client.post(
                self.url(path), data=raw, headers=headers, content_type="application/json"
            )
        else:
            r = self.client.post(self.url(path), json=body, headers=headers)
        return r.status_code, r.get_json()


@pytest.fixture
def api(client: Any) -> Api:
    return Api(client)


@pytest.fixture
def tokens(demo: dict[str, Any]) -> Callable[[str], str]:
    """tokens('kiosk'), tokens('clerk1'), tokens('pad1'), tokens('manager'), tokens('display')."""

    def get(who: str) -> str:
        if who.startswith("clerk"):
            return str(demo["counters"][int(who[5:]) - 1]["token"])
        if who.startswith("pad"):
            return str(demo["counters"][int(who[3:]) - 1]["rating_pad"])
        if who.startswith("cdisplay"):
            return str(demo["counters"][int(who[8:]) - 1]["counter_display"])
        if who == "manager":
            return str(demo["manager"]["token"])
        return str(demo["devices"][who])

    return get


# --- the real server in a subprocess ---------------------------------------------------------


@dataclass
class Server:
    url: str
    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    log: Path
    port: int

    def stop(self, sig: int | None = None) -> None:
        if self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def layso_cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "layso", *args],
        env=env,
        input=stdin,
        text=True,
        capture_output=True,
        timeout=120,
        check=False,
    )
    if out.returncode != 0:
        raise AssertionError(f"layso {' '.join(args)} failed: {out.stderr}")
    return out.stdout


# the files `layso seed-demo` leaves in a fresh instance folder, run once per process and day
_DEMO_TEMPLATES: dict[tuple[str, str], tuple[Path, dict[str, Any]]] = {}
_DEMO_TEMPLATE_ROOT: list[Path] = []
# what the real command writes, apart from the secret_key that each instance makes for itself
_DEMO_FILES = ("layso.sqlite3", "demo.json")


def seed_demo_instance(env: dict[str, str]) -> dict[str, Any]:
    """What `layso seed-demo --json` prints, and leaves in the fresh instance folder of `env`.

    The command itself runs once per test process (and local day): its database and demo.json
    are copied into each new instance folder, so every test still has its own database, and
    all of them share the demo hall's tokens and sign-ins. Anything but a fresh SQLite instance
    with no Redis (another database, an instance already seeded) runs the real command.
    """
    from zoneinfo import ZoneInfo

    instance = Path(env["LAYSO_INSTANCE"])
    timezone = env.get("LAYSO_TIMEZONE") or "Asia/Ho_Chi_Minh"
    if (
        env.get("LAYSO_DATABASE_URL")
        or env.get("LAYSO_REDIS_URL")
        or (instance.exists() and any(instance.iterdir()))
    ):
        return json.loads(layso_cli(env, "seed-demo", "--json"))  # type: ignore[no-any-return]
    key = (timezone, datetime.now(ZoneInfo(timezone)).date().isoformat())
    if key not in _DEMO_TEMPLATES:
        if not _DEMO_TEMPLATE_ROOT:
            _DEMO_TEMPLATE_ROOT.append(Path(tempfile.mkdtemp(prefix="layso-demo-")))
        folder = _DEMO_TEMPLATE_ROOT[0] / f"{len(_DEMO_TEMPLATES)}"
        template_env = server_env(folder, LAYSO_TIMEZONE=timezone)
        data = json.loads(layso_cli(template_env, "seed-demo", "--json"))
        assert sorted(p.name for p in folder.iterdir()) == sorted([*_DEMO_FILES, "secret_key"])
        _DEMO_TEMPLATES[key] = (folder, data)
    folder, data = _DEMO_TEMPLATES[key]
    instance.mkdir(parents=True, exist_ok=True)
    for name in _DEMO_FILES:
        shutil.copy2(folder / name, instance / name)  # keeps the command's 0600
    return json.loads(json.dumps(data))  # type: ignore[no-any-return]


def pytest_sessionfinish(session: pytest.Session) -> None:
    PG_DROPS.wait()
    for copies in list(_PG_COPIES.values()):
        copies.close()
    _PG_COPIES.clear()
    for root in _DEMO_TEMPLATE_ROOT:
        shutil.rmtree(root, ignore_errors=True)


def server_env(instance: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYSO_")}
    env.update(
        LAYSO_INSTANCE=str(instance),
        LAYSO_PRINTER="none",
        LAYSO_LOG_LEVEL="WARNING",
        LAYSO_ISSUE_RATE="100000",
        LAYSO_LOGIN_RATE="100000",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def start_server(env: dict[str, str], log: Path, port: int | None = None) -> Server:
    port = port or free_port()
    logf = log.open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "layso", "run", "--port", str(port)],
        env=env,
        stdout=logf,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", proc, env, log, port)
    wait_healthy(server)
    return server


def events_after(db: Database, seq: int) -> list[tuple[str, dict[str, Any]]]:
    """The hall log's (name, payload) after ``seq``, in order, read from the database."""
    with db.read() as s:
        rows = s.execute(
            sa.select(Event.name, Event.payload).where(Event.seq > seq).order_by(Event.seq)
        ).all()
    return [(name, payload) for name, payload in rows]


def api_ok(url: str, token: str, method: str, path: str, body: Any = None) -> Any:
    """A call to the demo hall's API on a real server that must succeed (200 or 201): its JSON."""
    import requests

    r = requests.request(
        method,
        f"{url}/api/v1/halls/demo/{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def wait_healthy(server: Server, timeout: float = 60) -> None:
    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise AssertionError(f"server exited: {server.log.read_text()[-3000:]}")
        try:
            if requests.get(f"{server.url}/healthz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling the server's readiness: there is no event to await
    raise AssertionError(f"server did not become healthy: {server.log.read_text()[-3000:]}")


@pytest.fixture(params=["eventlet", "gevent"])
def async_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def live(tmp_path: Path, async_mode: str) -> Iterator[tuple[Server, dict[str, Any]]]:
    """The real server (eventlet, then gevent) on a free loopback port, with the demo hall."""
    env = server_env(tmp_path / "instance", LAYSO_ASYNC_MODE=async_mode)
    demo_data = seed_demo_instance(env)
    server = start_server(env, tmp_path / "server.log")
    yield server, demo_data
    server.stop()


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    path = chromium_path()
    need(path is not None, "Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page_factory(browser: Any) -> Iterator[Callable[..., Any]]:
    """page_factory(width=1280, height=720) → a fresh page in its own context."""
    contexts: list[Any] = []

    def make(width: int = 1280, height: int = 720, **kw: Any) -> Any:
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="vi-VN", **kw)
        contexts.append(ctx)
        return ctx.new_page()

    yield make
    for ctx in contexts:
        ctx.close()


@pytest.fixture
def server_env_factory() -> Callable[..., dict[str, str]]:
    """server_env_factory(instance_dir, **LAYSO_vars) → the environment of a real server."""
    return server_env


@pytest.fixture
def demo_seed() -> Callable[[dict[str, str]], dict[str, Any]]:
    """demo_seed(env) → the demo hall in the fresh instance of `env`, as `layso seed-demo --json`
    leaves it (copied from one run of the command per test process; see seed_demo_instance)."""
    return seed_demo_instance


@pytest.fixture
def cli() -> Callable[..., str]:
    """cli(env, *args, stdin=None) → stdout of `python -m layso ...` (fails on a non-zero exit)."""
    return layso_cli


@pytest.fixture
def servers() -> Iterator[Callable[..., Server]]:
    """servers(env, log, port=None) → a started real server, stopped after the test."""
    started: list[Server] = []

    def start(env: dict[str, str], log: Path, port: int | None = None) -> Server:
        server = start_server(env, log, port)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def needs() -> Callable[[bool, str], None]:
    """needs(ok, reason): the `need` helper as a fixture (conftest modules share one name)."""
    return need


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist, tests on the shared Redis run on one worker, one after another.

    Socket.IO's message queue is a Redis pub/sub channel, and pub/sub ignores the database number:
    two such tests on two workers would see each other's events (both halls are "demo").
    """
    for item in items:
        if item.get_closest_marker("redis") is not None:
            item.add_marker(pytest.mark.xdist_group("redis"))
