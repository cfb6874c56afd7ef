"""Engines, sessions and the unit of work; events leave only after their transaction commits."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class PendingEvent:
    """An event recorded in a transaction, to be emitted once that transaction commits."""

    hall: str
    name: str
    audience: str
    payload: dict[str, Any]


def _make_engine(url: str, *, immediate: bool = False) -> sa.Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)
    path = sa.engine.make_url(url).database
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # let SQLAlchemy, not pysqlite, decide when a transaction begins (SQLAlchemy's recipe)
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # a writer takes the write lock at BEGIN, so a read-then-write never dead-ends
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """One database: a reader and a writer session factory, and the after-commit hook."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = _make_engine(url)
        self._write_engine = _make_engine(url, immediate=True) if self.is_sqlite else self.engine
        self._reader = sessionmaker(self.engine, expire_on_commit=False)
        self._writer = sessionmaker(self._write_engine, expire_on_commit=False)
        # sqlite3 is C: a green thread must never wait inside SQLite's busy handler for another
        # green thread of this process, so writers of one process queue on this lock instead
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self.on_commit: Callable[[list[PendingEvent]], None] = lambda events: None

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only transaction: one consistent snapshot, never committed."""
        session = self._reader()
        try:
            yield session
        finally:
            session.close()  # detaches without expiring; the pool rolls the connection back

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: commit on success, roll back on error, then emit its events."""
        with self._write_lock or nullcontext():
            session = self._writer()
            try:
                yield session
                session.commit()
                events: list[PendingEvent] = session.info.pop("layso.events", [])
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
        if events:
            try:
                self.on_commit(events)
            except Exception:  # the change is committed; clients heal by replaying the log
                logger.exception("could not emit %d committed events", len(events))

    def dispose(self) -> None:
        self.engine.dispose()
        if self._write_engine is not self.engine:
            self._write_engine.dispose()


def queue_event(session: Session, event_: PendingEvent) -> None:
    """Remember an event to emit after the session's transaction commits."""
    session.info.setdefault("layso.events", []).append(event_)


def alembic_config(db: Database) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", db.url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, revision: str = "head") -> None:
    """Create or upgrade the schema to the newest migration."""
    from alembic import command

    cfg = alembic_config(db)
    with db._write_lock or nullcontext(), db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
