"""Core statements of the hot paths run on the DBAPI cursor of the session's connection.

SQLAlchemy's execution of an already compiled statement (``Connection.execute``: the
execution context, the events, the result's metadata and its row objects) costs tens of
microseconds per statement on top of the database's own work, which for the indexed
lookups and one-row writes of a ticket's issue or call is a few microseconds. A call runs
about ten of them: the profile of ``benchmarks/latency.py`` put a third of the request there.

:func:`execute` does the same with far less: the statement is compiled once per dialect (as
SQLAlchemy's compiled cache does), its parameters pass through the same bind processors
(the column types: ``UTCDateTime``, enums, JSON...) in the compiled order, the cursor runs
it, and the rows come back through the same result processors, as small named tuples. It
runs inside the session's transaction, on its connection, after the session's pending
changes are flushed, so it sees and is seen by everything else of the transaction. The
engine's ``before_cursor_execute`` listeners (the statement counters of the benchmarks and
the query-plan test) hear it as they would from SQLAlchemy.

A driver error is raised as SQLAlchemy raises it (``IntegrityError``, ``OperationalError``...),
and a connection the server dropped is invalidated, so that the pool does not hand it out
again.

What it does not take falls back to SQLAlchemy, whole: a statement with expanding (``IN``)
or post-compile parameters, a column default computed at execution, parameters neither
given by the caller nor valued in the statement (SQLAlchemy then says which), statements
beyond :data:`MAX_PLANS` (one built per call is never kept), and every dialect but SQLite's
and PostgreSQL's.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

_SUPPORTED = frozenset({"sqlite", "postgresql"})
_MISSING = object()


class _Plan:
    """A statement compiled for one dialect: its SQL, how to build its parameters from the
    caller's, and how to turn its rows into values."""

    __slots__ = ("sql", "binds", "named", "row", "results", "keys", "types")

    def __init__(self, stmt: Any, dialect: sa.Dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise _Unfit("post-compile parameters")
        for bind in compiled.binds.values():
            if bind.expanding or bind.callable is not None:
                raise _Unfit("expanding or callable parameters")
        # columns whose Python-side default (or onupdate) SQLAlchemy fills in at execution:
        # a constant is taken as the parameter's default; a function is not done here
        filled: dict[str, Any] = {}
        for column in (*compiled.insert_prefetch, *compiled.update_prefetch):
            default = column.default if column in compiled.insert_prefetch else column.onupdate
            if default is None or not default.is_scalar:
                raise _Unfit(f"a default computed at execution ({column.key})")
            filled[column.key] = default.arg
        processors = compiled._bind_processors
        self.sql: str = compiled.string
        self.named = not compiled.positional
        names = list(compiled.positiontup or ()) if compiled.positional else list(compiled.binds)
        binds: list[tuple[str, str, Any, Callable[[Any], Any] | None]] = []
        for name in names:
            bind = compiled.binds[name]
            default = filled.get(bind.key, _MISSING if bind.required else bind.value)
            binds.append((name, bind.key, default, processors.get(name)))
        self.binds = tuple(binds)
        columns = compiled._result_columns or []
        self.keys = tuple(c[0] for c in columns)
        self.types = tuple(c[3] for c in columns)
        # the result processors (column index, processor), from the driver's column types of
        # the first execution
        self.results: tuple[tuple[int, Callable[[Any], Any]], ...] | None = None
        self.row = namedtuple("Row", self.keys, rename=True) if columns else None  # type: ignore[misc]

    def parameters(self, params: dict[str, Any]) -> Any:
        values = []
        for _name, key, default, process in self.binds:
            value = params.get(key, default)
            if value is _MISSING:
                raise _Unfit(f"no value for {key!r}")
            values.append(process(value) if process is not None else value)
        if self.named:
            return {b[0]: v for b, v in zip(self.binds, values, strict=True)}
        return tuple(values)

    def rows(self, raw: list[Any], cursor: Any, dialect: sa.Dialect) -> list[Any]:
        todo, row = self.results, self.row
        assert row is not None
        if todo is None:
            codes = [d[1] for d in cursor.description]
            processors = (
                t._cached_result_processor(dialect, code)
                for t, code in zip(self.types, codes, strict=True)
            )
            # the columns to convert, with their processors (found once)
            todo = self.results = tuple((i, p) for i, p in enumerate(processors) if p is not None)
        if not todo:
            return [row._make(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for i, process in todo:
                values[i] = process(values[i])
            out.append(row._make(values))
        return out


class _Unfit(Exception):
    """A statement this module does not run (SQLAlchemy runs it instead)."""


class Result:
    """The rows of one statement, with the part of SQLAlchemy's result API the callers use."""

    __slots__ = ("_rows", "rowcount", "_keys")

    def __init__(self, rows: list[Any], rowcount: int, keys: tuple[str, ...]) -> None:
        self._rows, self.rowcount, self._keys = rows, rowcount, keys

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def all(self) -> list[Any]:
        return list(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def scalar_one(self) -> Any:
        return self.one()[0]

    def one_or_none(self) -> Any:
        if len(self._rows) > 1:
            raise sa.exc.MultipleResultsFound("more than one row where one or none was required")
        return self.first()

    def one(self) -> Any:
        if len(self._rows) != 1:
            found = sa.exc.NoResultFound if not self._rows else sa.exc.MultipleResultsFound
            raise found("exactly one row was required")
        return self._rows[0]

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def scalars(self) -> _Scalars:
        return _Scalars([r[0] for r in self._rows])

    def mappings(self) -> _Mappings:
        return _Mappings(self._rows)


class _Scalars:
    __slots__ = ("_values",)

    def __init__(self, values: list[Any]) -> None:
        self._values = values

    def all(self) -> list[Any]:
        return list(self._values)

    def first(self) -> Any:
        return self._values[0] if self._values else None


class _Mappings:
    __slots__ = ("_rows",)

    def __init__(self, rows: list[Any]) -> None:
        self._rows = rows

    def all(self) -> list[dict[str, Any]]:
        return [r._asdict() for r in self._rows]

    def first(self) -> dict[str, Any] | None:
        return self._rows[0]._asdict() if self._rows else None


_PLANS: dict[tuple[int, str], tuple[Any, _Plan | None]] = {}
MAX_PLANS = 512  # statements are built once, at import: more than this means one built per call


def _plan(stmt: Any, dialect: sa.Dialect) -> _Plan | None:
    key = (id(stmt), dialect.name)
    found = _PLANS.get(key)
    if found is not None:  # the statement is kept with its plan: its id is not reused
        return found[1]
    if len(_PLANS) >= MAX_PLANS:
        return None  # not kept, so SQLAlchemy runs it (its own cache is bounded)
    try:
        plan: _Plan | None = _Plan(stmt, dialect)
    except _Unfit:
        plan = None
    _PLANS[key] = (stmt, plan)  # the statement kept alive, so that its id stays its own
    return plan


def _connection(session: Session) -> sa.Connection:
    """The session's connection in its transaction (begun if need be), remembered for the
    transaction: ``Session.connection`` costs about as much as the statement it serves."""
    transaction = session.get_transaction()
    cached = session.info.get(_CONNECTION)
    if cached is not None and cached[0] is transaction and transaction is not None:
        return cached[1]  # type: ignore[no-any-return]
    conn = session.connection()
    session.info[_CONNECTION] = (session.get_transaction(), conn)
    return conn


_CONNECTION = "layso.rawsql.connection"


def execute(session: Session, stmt: Any, params: dict[str, Any], *, flush: bool = True) -> Any:
    """Run a Core statement (built once, at import) in the session's transaction, after its
    pending changes are flushed; the result answers ``all``, ``first``, ``one``,
    ``one_or_none``, ``scalar``, ``mappings().all()`` and ``rowcount``. Without ``flush`` the
    pending changes stay pending (the statement must not depend on them)."""
    if flush:
        session.flush()
    conn = _connection(session)
    prepared = _prepare(conn, stmt, [params])
    if prepared is None:
        return conn.execute(stmt, params)
    plan, [args] = prepared
    return _run(conn, plan, args, many=False)


def execute_many(session: Session, stmt: Any, rows: list[dict[str, Any]]) -> None:
    """Run a Core INSERT or UPDATE that returns nothing once per row of parameters, in one
    DBAPI ``executemany`` (on SQLite one C loop), without flushing: the rows must not depend
    on pending changes. (pg8000 makes a round trip per row of an executemany: on PostgreSQL
    the caller had better send several rows as one statement.)"""
    conn = _connection(session)
    prepared = _prepare(conn, stmt, rows)
    if prepared is None or prepared[0].row is not None:
        conn.execute(stmt, rows)
        return
    plan, args = prepared
    if len(args) == 1:
        _run(conn, plan, args[0], many=False)
    else:
        _run(conn, plan, args, many=True)


def _prepare(
    conn: sa.Connection, stmt: Any, rows: list[dict[str, Any]]
) -> tuple[_Plan, list[Any]] | None:
    """The statement's plan and each row's driver parameters; None when SQLAlchemy runs it."""
    plan = _plan(stmt, conn.dialect) if conn.dialect.name in _SUPPORTED else None
    if plan is None:
        return None
    try:
        return plan, [plan.parameters(r) for r in rows]
    except _Unfit:
        return None


def _run(conn: sa.Connection, plan: _Plan, args: Any, *, many: bool) -> Result:
    dialect = conn.dialect
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        listeners = conn.engine.dispatch.before_cursor_execute
        if listeners:
            for listen in listeners:
                listen(conn, cursor, plan.sql, args, None, many)
        try:
            if many:
                cursor.executemany(plan.sql, args)
            else:
                cursor.execute(plan.sql, args)
        except dialect.loaded_dbapi.Error as e:
            # as SQLAlchemy's own execution: its exception classes, and a connection the
            # server dropped is invalidated, so that the pool does not hand it out again
            gone = dialect.is_disconnect(e, dbapi, cursor)
            if gone:
                conn.invalidate(e)
            raise sa.exc.DBAPIError.instance(
                plan.sql,
                args,
                e,
                dialect.loaded_dbapi.Error,
                dialect=dialect,
                connection_invalidated=gone,
            ) from e
        if plan.row is not None and not many:
            rows = plan.rows(cursor.fetchall(), cursor, dialect)
        else:
            rows = []
        return Result(rows, cursor.rowcount, plan.keys)
    finally:
        cursor.close()
