"""The `layso` command; the server's concurrency model is chosen here, before anything loads."""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import sys
import warnings
from typing import Any

logger = logging.getLogger("layso")

# Warnings a newcomer cannot act on (eventlet's maintenance-mode banner, setuptools' and
# pkg_resources' deprecations in dependencies): kept for the log at debug level, not printed.
_QUIET = ("eventlet", "pkg_resources", "setuptools")
_early: list[str] = []
_show_warning = warnings.showwarning


def _quiet_warning(message: Any, category: Any, filename: str, lineno: int, *rest: Any) -> None:
    text = str(message)
    if not any(k in f"{text} {filename} {category.__name__}".lower() for k in _QUIET):
        _show_warning(message, category, filename, lineno, *rest)
        return
    line = f"{category.__name__} ({filename}:{lineno}): {' '.join(text.split())}"
    if logging.getLogger().handlers:
        logging.getLogger("layso.warnings").debug("%s", line)
    else:
        _early.append(line)  # logging is not set up yet: logged right after it is


def _patch(mode: str) -> None:
    """Monkey-patch the standard library for a green server: only here, and first."""
    if mode == "eventlet":
        # eventlet warns on import that it is in maintenance mode (see _quiet_warning)
        import eventlet

        eventlet.monkey_patch()
    elif mode == "gevent":
        from gevent import monkey

        monkey.patch_all()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="layso", description="Layso queue-ticket server")
    sub = p.add_subparsers(dest="command", required=True)
    for name, help_ in (
        ("run", "serve pages, API and hub"),
        ("demo", "seed a demo hall if none, then run"),
    ):
        r = sub.add_parser(name, help=help_)
        r.add_argument("--host", default="127.0.0.1")
        r.add_argument("--port", type=int, default=5000)
    db = sub.add_parser("db", help="database")
    db.add_argument("action", choices=["upgrade"])
    s = sub.add_parser("seed-demo", help="seed the demo hall")
    s.add_argument("--json", action="store_true", help="print the demo hall as JSON")
    u = sub.add_parser("user", help="users")
    u.add_argument("action", choices=["add"])
    u.add_argument("name")
    u.add_argument("--role", required=True, choices=["clerk", "manager", "admin"])
    u.add_argument("--hall")
    u.add_argument("--full-name", default="")
    d = sub.add_parser("device", help="devices")
    d.add_argument("action", choices=["add"])
    d.add_argument("--hall", required=True)
    d.add_argument(
        "--kind",
        required=True,
        choices=["kiosk", "display", "counter-display", "rating-pad", "print-agent"],
    )
    d.add_argument("--name", required=True)
    d.add_argument("--counter", type=int)
    d.add_argument("--kiosk", help="for a print agent: the name of the kiosk it prints for")
    t = sub.add_parser("token", help="API tokens")
    t.add_argument("action", choices=["create"])
    t.add_argument("--user", required=True)
    b = sub.add_parser("backup", help="a consistent copy of the database")
    b.add_argument("path")
    bk = sub.add_parser("bookings", help="appointments and remote numbers")
    bk.add_argument(
        "action",
        choices=["purge"],
        help="purge: past days' bookings never checked in become no-shows; personal data "
        "(phone, ID hash) older than each area's retention days is deleted",
    )
    pr = sub.add_parser("printer", help="printers")
    pr.add_argument("action", choices=["test"])
    pr.add_argument("uri", nargs="?")
    a = sub.add_parser("print-agent", help="print a kiosk's tickets on this PC's printer")
    a.add_argument("--server", required=True)
    a.add_argument("--token", required=True)
    a.add_argument("--printer", required=True)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    serving = args.command in ("run", "demo")
    # The collector waits while the program loads: what loading makes (modules, classes,
    # SQLAlchemy's mappers, Flask's and the hub's objects, some 160,000) lives as long as the
    # process, and at Python's thresholds the collector walked it all again and again (about
    # 0.13 s of a server's 1 s start; the suite starts some hundreds of servers and commands).
    # A command collects as usual from its own work on; the server collects and sets its
    # collector up once its app is built (layso/serving.py).
    gc.disable()
    try:
        return _main(args, serving)
    finally:
        gc.enable()


def _main(args: argparse.Namespace, serving: bool) -> int:
    warnings.showwarning = _quiet_warning
    if serving:
        _patch(os.environ.get("LAYSO_ASYNC_MODE", "eventlet"))
    logging.basicConfig(
        level=os.environ.get("LAYSO_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    for line in _early:
        logging.getLogger("layso.warnings").debug("%s", line)
    _early.clear()
    from layso import cli
    from layso.config import ConfigError
    from layso.errors import LaysoError

    if not serving:
        gc.enable()

    try:
        return int(cli.dispatch(args) or 0)
    except ConfigError as e:
        print(f"layso: configuration error: {e}", file=sys.stderr)
        return 2
    except LaysoError as e:
        print(f"layso: {e.message('vi')} / {e.message('en')}", file=sys.stderr)
        return 1


def dump(obj: Any) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None))


if __name__ == "__main__":
    sys.exit(main())
