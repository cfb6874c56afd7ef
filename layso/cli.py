"""The commands behind `layso`: each one is an edge with its own unit of work."""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from layso import errors
from layso.config import Settings
from layso.db import Database, upgrade
from layso.hub import external_emitter
from layso.models import Device, DeviceKind, Hall, User
from layso.services import accounts, demo
from layso.services.common import get_hall
from layso.web import utcnow

logger = logging.getLogger(__name__)


def _database(settings: Settings) -> Database:
    # a command line may wait longer than a kiosk for a backup or another writer to finish
    db = Database(settings.database_url, lock_wait=30.0)
    upgrade(db)
    external_emitter(db, settings.redis_url)
    return db


def dispatch(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    command = args.command
    if command == "db":
        db = Database(settings.database_url)
        upgrade(db)
        print("database is at the newest schema")
        return 0
    if command in ("run", "demo"):
        return serve(settings, host=args.host, port=args.port, seed=command == "demo")
    if command == "seed-demo":
        data = seed_demo(settings)
        if args.json:
            print(json.dumps(data, ensure_ascii=False))
        else:
            print_demo(data, "http://127.0.0.1:5000")
        return 0
    if command == "user":
        return user_add(settings, args)
    if command == "device":
        return device_add(settings, args)
    if command == "token":
        db = _database(settings)
        with db.write() as s:
            user = s.scalars(sa.select(User).where(User.username == args.user)).one_or_none()
            if user is None or not user.active:
                raise errors.NotFound(
                    vi=f"Không có người dùng '{args.user}'.", en=f"There is no user '{args.user}'."
                )
            print(accounts.create_api_token(s, user, utcnow()))
        return 0
    if command == "backup":
        return backup(settings, Path(args.path))
    if command == "bookings":
        emptied = run_booking_purge(_database(settings), utcnow())
        print(f"bookings: personal data of {emptied} booking(s) deleted")
        return 0
    if command == "printer":
        from layso_agent.cli import printer_test

        uri = args.uri or settings.printer
        return printer_test(uri, preview_dir=settings.instance_path / "tickets")
    if command == "print-agent":
        from layso_agent.agent import run_agent

        return run_agent(server=args.server, token=args.token, printer_uri=args.printer)
    raise SystemExit(f"unknown command {command}")


def seed_demo(settings: Settings) -> dict[str, Any]:
    """Seed the demo hall once; its sign-ins and tokens are kept in the instance folder."""
    db = _database(settings)
    saved = settings.instance_path / "demo.json"
    with db.write() as s:
        exists = s.scalar(sa.select(Hall.id).where(Hall.slug == "demo")) is not None
        if not exists:
            # seeding opens the five counters: not news to whoever just typed `layso demo`
            counters_log = logging.getLogger("layso.services.counters")
            level = counters_log.level
            counters_log.setLevel(max(logging.WARNING, level))
            try:
                data = demo.seed_demo(s, now=utcnow(), timezone=settings.timezone)
            finally:
                counters_log.setLevel(level)
    if exists:
        if saved.exists():
            return json.loads(saved.read_text())  # type: ignore[no-any-return]
        raise errors.Conflict(vi="Đơn vị 'demo' đã có.", en="The demo hall already exists.")
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(data, ensure_ascii=False, indent=1))
    saved.chmod(0o600)
    return data


def demo_pages(data: dict[str, Any], base: str) -> tuple[str, str]:
    """The demo's pages: a short list to print, and every device link (for a file)."""
    d = data["devices"]
    names = {s["code"]: s["name"] for s in data.get("services", [])}
    manager = data["manager"]
    short = [
        "Layso: the demo hall is ready. Open these pages:",
        f"  Kiosk (lấy số)          {base}/kiosk?token={d['kiosk']}",
        f"  Wall display (gọi số)   {base}/display?token={d['display']}",
        f"  Booking (đặt lịch hẹn)  {base}/dat-lich   on a phone, from home",
        f"  Manager (quản lý)       {base}/manager   sign in: "
        f"{manager['username']} / {manager['password']}",
        f"  Counter (quầy)          {base}/counter   sign in as the counter's clerk:",
    ]
    full = [*short]
    for c in data["counters"]:
        areas = ", ".join(names.get(code, code) for code in c["services"])
        short.append(f"    Quầy {c['number']}: {c['clerk']} / {c['password']}   ({areas})")
        full.append(short[-1])
        full.append(f"      rating pad       {base}/rating?token={c['rating_pad']}")
        full.append(f"      counter display  {base}/counter-display?token={c['counter_display']}")
    return "\n".join(short), "\n".join(full)


def print_demo(data: dict[str, Any], base: str, links: Path | None = None) -> None:
    short, full = demo_pages(data, base)
    if links is not None:
        links.write_text(full + "\n", encoding="utf-8")
        short += f"\n  Rating pads and counter displays: see {links}"
    print(short, flush=True)


def ensure_port_free(host: str, port: int) -> None:
    """Refuse a port another server listens on: eventlet binds with SO_REUSEPORT, which would
    silently split the requests between two servers."""
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as e:
            raise errors.Conflict(
                vi=f"Cổng {host}:{port} đang được dùng ({e.strerror}).",
                en=f"Port {host}:{port} is already in use ({e.strerror}).",
            ) from None


def serve(settings: Settings, *, host: str, port: int, seed: bool) -> int:
    from layso.app import create_app

    ensure_port_free(host, port)
    db = Database(settings.database_url)
    upgrade(db)
    db.dispose()
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if seed:
        print_demo(seed_demo(settings), base, settings.instance_path / "demo-pages.txt")
    app = create_app(settings)
    from layso import checkpoint

    # SQLite's log copied back into the database beside the event loop, not inside a commit
    checkpoint.start_for(app.extensions["layso.db"])
    from layso.services import queue_news

    queue_news.start_for(app)  # queue.changed at most once per area per 100 ms
    start_housekeeping(app, settings.public_url or base)
    logger.info(
        "Layso serving on %s (%s, %s)",
        base,
        settings.async_mode,
        "SQLite" if settings.is_sqlite else "PostgreSQL",
    )
    from layso import serving

    serving.serve(app, settings, host=host, port=port)
    return 0


HOUSEKEEPING_EVERY_S = 6 * 3600


def start_housekeeping(app: Any, base_url: str) -> None:
    from layso.hub import socketio

    socketio.start_background_task(housekeeping, app, base_url)
    socketio.start_background_task(day_end_loop, app)
    app.extensions["layso.monitor"].start()  # device health and the hall's alerts


DAY_END_EVERY_S = 30.0


def day_end_loop(app: Any) -> None:
    """Close each hall's day at its closing time (tickets still waiting expire): at start,
    which catches up on the days the server was off, then every half minute."""
    from layso.hub import socketio

    database = app.extensions["layso.db"]
    while True:
        run_day_end(database, utcnow())
        socketio.sleep(DAY_END_EVERY_S)


def run_day_end(database: Database, now: Any) -> int:
    """One pass over every hall (each in its own transaction, holding its lock): how many
    tickets expired. A hall that fails is logged and the others still run."""
    from layso.services import day_end

    return _each_hall(
        database,
        lambda s, hall: len(day_end.close_due(s, hall, now)),
        "could not close the day of hall %s",
        due=lambda s, hall: day_end.any_due(s, hall, now),
    )


def run_booking_purge(database: Database, now: Any) -> int:
    """Every hall, each in its own transaction holding its lock: bookings of past days never
    checked in become no-shows, and the personal data of bookings past the retention days is
    deleted (services/bookings.purge). How many bookings were emptied."""
    from layso.services import bookings

    return _each_hall(
        database,
        lambda s, hall: bookings.purge(s, hall, now),
        "could not purge the bookings of hall %s",
    )


def _each_hall(database: Database, work: Any, failed: str, due: Any = None) -> int:
    """`work(session, hall)` for every hall, each in its own transaction holding the hall's
    lock; the sum of what it returns. With `due(session, hall)`, only the halls it says have
    work, read first without a lock (work still checks under the lock). A hall that fails is
    logged (`failed` % slug) and the others still run."""
    total = 0
    with database.read() as s:
        halls = list(s.scalars(sa.select(Hall).order_by(Hall.id)))
        slugs = [h.slug for h in halls if due is None or due(s, h)]
    for slug in slugs:
        try:
            with database.write() as s:
                total += work(s, get_hall(s, slug, lock=True))
        except Exception:
            logger.exception(failed, slug)
    return total


def housekeeping(app: Any, base_url: str) -> None:
    """Background work of a running server: at start, the notices' sender (it sends what the
    outbox holds) and finishing the print jobs a crash left pending; at start and every few
    hours, forgetting idempotency keys older than two days, the personal data of old
    bookings, and delivered or given-up notices older than a month."""
    from layso.hub import socketio
    from layso.services import idempotency
    from layso.services.notify import outbox

    database = app.extensions["layso.db"]
    # the notices' sender: sends what the outbox holds, including what a stop left pending
    app.extensions["layso.notify"].start()
    try:
        app.extensions["layso.printer"].recover(base_url)
    except Exception:
        logger.exception("could not resume the print jobs left pending")
    while True:
        try:
            with database.write() as s:
                idempotency.purge(s, now=utcnow())
        except Exception:
            logger.exception("could not purge old idempotency keys")
        run_booking_purge(database, utcnow())
        try:
            with database.write() as s:
                outbox.purge(s, now=utcnow())
        except Exception:
            logger.exception("could not purge old notices")
        socketio.sleep(HOUSEKEEPING_EVERY_S)


def user_add(settings: Settings, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n")
    db = _database(settings)
    with db.write() as s:
        hall = _hall_for_user(s, args.hall, args.role)
        user = accounts.add_user(
            s,
            username=args.name,
            password=password,
            role=args.role,
            hall=hall,
            full_name=args.full_name,
            now=utcnow(),
        )
        print(
            f"user {user.username} ({user.role.value}) added"
            + (f" to hall {hall.slug}" if hall else "")
        )
    return 0


def _hall_for_user(s: Any, slug: str | None, role: str) -> Hall | None:
    if slug:
        return get_hall(s, slug)
    if role == "admin":
        return None
    halls = list(s.scalars(sa.select(Hall)))
    if len(halls) != 1:
        raise errors.BadRequest(vi="Hãy chọn đơn vị với --hall.", en="Choose the hall with --hall.")
    return halls[0]


def device_add(settings: Settings, args: argparse.Namespace) -> int:
    db = _database(settings)
    with db.write() as s:
        hall = get_hall(s, args.hall)
        kiosk = None
        if args.kiosk:
            kiosk = s.scalars(
                sa.select(Device).where(
                    Device.hall_id == hall.id,
                    Device.kind == DeviceKind.KIOSK,
                    Device.name == args.kiosk,
                )
            ).first()
            if kiosk is None:
                raise errors.NotFound(
                    vi=f"Không có kiosk '{args.kiosk}'.", en=f"There is no kiosk '{args.kiosk}'."
                )
        _, token = accounts.add_device(
            s,
            hall,
            kind=args.kind,
            name=args.name,
            counter_number=args.counter,
            kiosk=kiosk,
            now=utcnow(),
        )
    print(token)
    return 0


def backup(settings: Settings, path: Path) -> int:
    """A consistent copy while the server runs: SQLite's online backup, or pg_dump."""
    if path.exists():
        raise errors.Conflict(vi=f"Tệp {path} đã tồn tại.", en=f"{path} already exists.")
    path.parent.mkdir(parents=True, exist_ok=True)
    # the copy holds every token hash and citizen phone: owner-only from its first byte
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    if settings.is_sqlite:
        source = sa.engine.make_url(settings.database_url).database
        if not source or not Path(source).exists():
            raise errors.NotFound(vi="Chưa có cơ sở dữ liệu.", en="There is no database yet.")
        src = sqlite3.connect(source, timeout=30)
        dst = sqlite3.connect(str(path))
        try:
            with dst:
                src.backup(dst, pages=256)
        finally:
            src.close()
            dst.close()
        print(f"backup written to {path}")
        return 0
    if shutil.which("pg_dump") is None:
        raise errors.NotFound(
            vi="Cần cài pg_dump để sao lưu PostgreSQL.",
            en="pg_dump is needed to back up PostgreSQL.",
        )
    url = sa.engine.make_url(settings.database_url).set(drivername="postgresql")
    subprocess.run(
        [
            "pg_dump",
            "--format=custom",
            f"--file={path}",
            f"--dbname={url.render_as_string(hide_password=False)}",
        ],
        check=True,
    )
    print(f"backup written to {path} (pg_dump custom format; restore with pg_restore)")
    return 0
