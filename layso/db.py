"""Engines, sessions and the unit of work; events leave only after their transaction commits."""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from layso import signals

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class PendingEvent:
    """An event recorded in a transaction, to be emitted once that transaction commits."""

    hall: str
    name: str
    audience: str
    payload: dict[str, Any]


# SQLite waits for a lock inside C, where a green server cannot switch to another client: every
# wait there freezes the whole process. So the waits inside SQLite stay short, and the long wait
# for the write lock (another process's transaction, a backup, sqlite3 in a shell) is a loop of
# short tries with a green sleep between them, up to a deadline, then a clean 503.
WRITE_BUSY_MS = 10  # one try at the write lock blocks the hub at most this long
READ_BUSY_MS = 200  # WAL readers never wait for writers; only rare recovery or checkpoints
LOCK_WAIT_S = 5.0  # a write waits this long for the lock in all, then answers 503
MIGRATE_BUSY_MS = 30_000  # migrations run before serving: waiting there freezes no client


def is_locked(e: BaseException) -> bool:
    """Whether a database error is SQLite's 'database is locked' (SQLITE_BUSY)."""
    orig = getattr(e, "orig", e)
    if not isinstance(orig, sqlite3.OperationalError):
        return False
    code = getattr(orig, "sqlite_errorcode", None)
    return code == sqlite3.SQLITE_BUSY or "database is locked" in str(orig)


def lock_timeout_error(waited: float) -> sa.exc.OperationalError:
    """The error of a write that did not get SQLite's write lock in time (answers 503)."""
    return sa.exc.OperationalError(
        "BEGIN IMMEDIATE",
        None,
        sqlite3.OperationalError(f"database is locked (waited {waited:.1f} s for the write lock)"),
    )


def private_file(path: Path) -> None:
    """Create ``path`` (if missing) readable by its owner only, and take group/other access
    from it and its SQLite companions (-wal, -shm: SQLite gives those the database's mode)."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    except OSError:
        return  # not ours to create (read-only folder): SQLite will say what is wrong
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = p.stat().st_mode & 0o777
            if mode & 0o077:
                os.chmod(p, mode & 0o700)
        except OSError:
            pass


def _make_engine(url: str, *, immediate: bool = False) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        private_file(Path(path))
    busy_ms = WRITE_BUSY_MS if immediate else READ_BUSY_MS
    engine = sa.create_engine(
        url, connect_args={"timeout": busy_ms / 1000, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy, not pysqlite, decide when a transaction begins (SQLAlchemy's recipe)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={busy_ms}")
        cur.close()

    begin = "BEGIN IMMEDIATE" if immediate else "BEGIN"

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # a writer takes the write lock at BEGIN, so a read-then-write never dead-ends. On the
        # driver's connection: SQLAlchemy's execution of it cost as much as a whole statement
        # of the call (layso/rawsql.py); its error is SQLAlchemy's, as from exec_driver_sql
        dbapi_conn = conn.connection.dbapi_connection
        assert dbapi_conn is not None
        try:
            dbapi_conn.execute(begin)
        except sqlite3.Error as e:
            raise sa.exc.DBAPIError.instance(begin, (), e, sqlite3.Error) from e

    return engine


class Database:
    """One database: a reader and a writer session factory; committed events are announced
    through :mod:`layso.signals` with this database as the sender."""

    def __init__(self, url: str, *, lock_wait: float = LOCK_WAIT_S) -> None:
        self.url = url
        self.lock_wait = lock_wait
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url)
        self._write_engine = _make_engine(url, immediate=True) if self.is_sqlite else self.engine
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        # sqlite3 is C: a green thread must never wait inside SQLite's busy handler for another
        # green thread of this process, so writers of one process queue on this lock instead
        self._write_lock = threading.Lock() if self.is_sqlite else None
        # services.queue_news.QueueNews, when the server coalesces queue.changed (layso run)
        self.queue_news: Any = None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: one consistent snapshot, never committed."""
        session = self._reader()
        try:
            yield session
        finally:
            session.close()  # detaches without expiring; the pool rolls the connection back

    def _acquire(self, deadline: float) -> None:
        """This process's write lock, waited for greenly, up to the deadline."""
        assert self._write_lock is not None
        start = deadline - self.lock_wait
        if not self._write_lock.acquire(timeout=max(deadline - time.monotonic(), 0.001)):
            raise lock_timeout_error(time.monotonic() - start)

    def _begin(self, session: Session, deadline: float) -> None:
        """BEGIN IMMEDIATE with short tries and green sleeps between them, up to the deadline."""
        pause = 0.005
        start = deadline - self.lock_wait
        while True:
            try:
                session.connection()  # the begin event says BEGIN IMMEDIATE
                return
            except sa.exc.OperationalError as e:
                if not is_locked(e):
                    raise
                session.rollback()
                left = deadline - time.monotonic()
                if left <= 0:
                    logger.warning(
                        "gave up waiting %.1f s for SQLite's write lock (held by another process)",
                        time.monotonic() - start,
                    )
                    raise lock_timeout_error(time.monotonic() - start) from e
                time.sleep(min(pause, left))  # green under eventlet and gevent
                pause = min(pause * 2, 0.05)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit on success, roll back on error, then emit its events.

        On SQLite it waits at most `lock_wait` seconds in all for the write lock (this process's
        writers first, then other processes), never inside SQLite; then it raises an
        OperationalError, which the application answers with 503 and Retry-After.
        """
        deadline = time.monotonic() + self.lock_wait
        if self._write_lock is not None:
            self._acquire(deadline)
        try:
            session = self._writer()
            if self.queue_news is not None:
                session.info[QUEUE_NEWS] = self.queue_news
            try:
                if self.is_sqlite:
                    self._begin(session, deadline)
                yield session
                session.commit()
                events: list[PendingEvent] = session.info.pop("layso.events", [])
                after: list[Callable[[], None]] = session.info.pop("layso.after_commit", [])
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        finally:
            if self._write_lock is not None:
                self._write_lock.release()
        for callback in after:  # the transaction's own follow-up, before anyone hears of it
            try:
                callback()
            except Exception:
                logger.exception("an after-commit step failed")
        if events:
            signals.send_committed(self, events)

    @property
    def engines(self) -> tuple[sa.Engine, ...]:
        """The engines of this database: one, or on SQLite the readers' and the writers'."""
        if self._write_engine is self.engine:
            return (self.engine,)
        return (self.engine, self._write_engine)

    def dispose(self) -> None:
        for engine in self.engines:
            engine.dispose()


QUEUE_NEWS = "layso.queue_news"  # a write session's info: its database's queue_news, if any


def queue_event(session: Session, event_: PendingEvent) -> None:
    """Remember an event to emit after the session's transaction commits."""
    session.info.setdefault("layso.events", []).append(event_)


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run ``callback`` once the session's transaction has committed (never after a rollback),
    before its events are announced (:mod:`layso.signals`)."""
    session.info.setdefault("layso.after_commit", []).append(callback)


def alembic_config(db: Database) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


#: The newest migration in layso/migrations/versions (a test holds it to alembic's own head).
HEAD = "0007"


def stored_revision(db: Database) -> str | None:
    """The schema's migration as the database records it, in plain SQL (None: no schema)."""
    try:
        with db.engine.connect() as conn:
            return conn.scalar(sa.text("SELECT version_num FROM alembic_version"))  # type: ignore[no-any-return]
    except sa.exc.DBAPIError:  # no such table: a new database
        return None


def upgrade(db: Database, revision: str = "head") -> None:
    """Create or upgrade the schema to the newest migration.

    A database already at :data:`HEAD` is left alone without loading alembic and its scripts
    (about a tenth of a second at every start of the server and of each command)."""
    if revision == "head" and stored_revision(db) == HEAD:
        return
    from alembic import command

    cfg = alembic_config(db)
    with db._write_lock or nullcontext(), db.engine.begin() as conn:
        if db.is_sqlite:
            conn.exec_driver_sql(f"PRAGMA busy_timeout={MIGRATE_BUSY_MS}")
        try:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
        finally:
            if db.is_sqlite:
                conn.exec_driver_sql(f"PRAGMA busy_timeout={READ_BUSY_MS}")


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
