"""Layso's print agent library: queue tickets on ESC/POS thermal printers.

Plain Python: no Flask, no SQLAlchemy, no green threads and no import of :mod:`layso`, so that a
kiosk PC installs it alone (``pip install ./agent``, see agent/pyproject.toml). The server
depends on it too and uses the same code for its own printer.

* :mod:`layso_agent.ticket`: what goes on a ticket (:class:`~layso_agent.ticket.TicketView`);
* :mod:`layso_agent.render`: drawing it (Pillow, the bundled DejaVu fonts in ``fonts/``) and
  writing it to any python-escpos printer;
* :mod:`layso_agent.driver`: printer URIs, the devices behind them, printing one ticket;
* :mod:`layso_agent.status`: asking a printer its state (DLE EOT);
* :mod:`layso_agent.delivery`: one ticket with a short timeout and a retry, and what became
  of it; the ticket as JSON for the ``print.job`` event;
* :mod:`layso_agent.agent`: the print agent of a kiosk PC (hub client, journal);
* :mod:`layso_agent.pool`: drawing in a worker process, for a server whose event loop must not
  do it;
* :mod:`layso_agent.cli`: the ``layso-agent`` command.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import platform
import shutil
import stat
import tempfile
import time
from importlib.util import find_spec
from pathlib import Path

PICKLE_DIR_VAR = "ESCPOS_CAPABILITIES_PICKLE_DIR"


def _escpos_capabilities() -> None:
    """Import python-escpos's printer capabilities once per machine, not once per process.

    At every import, python-escpos reads ``capabilities.json`` with a YAML parser (~0.2 s of
    CPU) and pickles the result into a new temporary directory (``mkdtemp()``), where no later
    process looks: one directory left behind per start of the server, the agent or a command.
    Here the pickle is written once, atomically, into one private directory per user (read with
    ``json``: the file is JSON, and the data is the same), and python-escpos is pointed at it.
    Its own ``mkdtemp()`` still runs, inside a scratch directory removed right after.
    Anything unexpected (another user's directory, no ``getuid``, a read-only disk) leaves
    python-escpos to do as it always did.

    The pickle lives in a folder of its own per ``capabilities.json`` (its path, size and
    modification time): python-escpos rewrites a pickle older than the JSON it reads, in place
    and not atomically, so a second installation (another virtualenv, an upgrade) sharing one
    pickle had it rewritten while another process was reading it: a server that failed to start
    with "EOFError: Ran out of input" (seen in the test suite, beside the agent's own fresh
    virtualenv). Each JSON now has its pickle, never older than it, and a child process that
    inherits the variable pointing into this private folder still gets its own JSON's pickle.
    """
    inherited = os.environ.get(PICKLE_DIR_VAR)
    try:
        folder: Path | None = Path(tempfile.gettempdir()) / f"layso-escpos-{os.getuid()}"
    except (AttributeError, OSError):  # no getuid here
        folder = None
    ours = folder is not None and (
        inherited is None or Path(inherited) == folder or Path(inherited).parent == folder
    )
    if ours and folder is not None and "ESCPOS_CAPABILITIES_FILE" not in os.environ:
        try:
            os.environ[PICKLE_DIR_VAR] = str(_pickled_capabilities(folder))
        except (OSError, ValueError, AssertionError):
            # not safe to share: python-escpos on its own, in a temporary folder of its own
            os.environ.pop(PICKLE_DIR_VAR, None)
    saved = tempfile.tempdir
    try:
        with tempfile.TemporaryDirectory(prefix="layso-escpos-") as scratch:
            tempfile.tempdir = scratch
            import escpos.capabilities  # noqa: F401
    finally:
        tempfile.tempdir = saved


def _pickled_capabilities(folder: Path) -> Path:
    """The folder holding the pickle of this python-escpos's ``capabilities.json``, written
    there atomically if it is not yet (OSError, AssertionError: not safe to use here)."""
    folder.mkdir(mode=0o700, exist_ok=True)
    st = folder.lstat()
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == os.getuid() and not st.st_mode & 0o077
    spec = find_spec("escpos")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).parent / "capabilities.json"
    src = source.stat()
    key = hashlib.sha256(f"{source}|{src.st_size}|{src.st_mtime_ns}".encode()).hexdigest()[:16]
    own = folder / key
    own.mkdir(mode=0o700, exist_ok=True)
    target = own / f"{platform.python_version()}.capabilities.pickle"
    if not target.exists():
        data = json.loads(source.read_text(encoding="utf-8"))
        fd, part = tempfile.mkstemp(dir=own, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(data, f, protocol=2)
        # never older than the JSON (a JSON dated in the future would have python-escpos
        # rewrite it at every start)
        at = max(time.time_ns(), src.st_mtime_ns + 1_000_000_000)
        os.utime(part, ns=(at, at))
        os.replace(part, target)
        (own / SOURCE_NOTE).write_text(f"{src.st_size} {src.st_mtime_ns} {source}", "utf-8")
        _prune(folder, keep=own)
    return own


SOURCE_NOTE = "source.txt"  # beside a pickle: "size mtime_ns path" of the JSON it was made from


def _prune(folder: Path, keep: Path) -> None:
    """Remove the pickles of installations that are gone or changed (a virtualenv deleted, a
    python-escpos upgraded): one folder each, left behind otherwise. A folder whose note is
    missing or unreadable is left alone (another process may be writing it now)."""
    for other in folder.iterdir():
        if other == keep or not other.is_dir() or other.is_symlink():
            continue
        try:
            size, mtime, path = (other / SOURCE_NOTE).read_text("utf-8").split(" ", 2)
            made_from = (int(size), int(mtime))
        except (OSError, ValueError):
            continue  # no note (yet): not ours to judge
        try:
            st = Path(path).stat()
            if (st.st_size, st.st_mtime_ns) == made_from:
                continue  # that installation is still there as it was
        except FileNotFoundError:
            pass  # that installation is gone
        except OSError:
            continue
        shutil.rmtree(other, ignore_errors=True)


_escpos_capabilities()
