"""Drawing and encoding tickets in a worker process, so the server's event loop never does it.

Rendering one ticket (Pillow text, the QR code, ESC/POS raster bytes) is a few ms of CPU, and
more on a first ticket or a new hall text. On a green server (eventlet, gevent) that time would
freeze every client of the process: the hub's pushes, other kiosks' requests.
:class:`DrawingPool` runs such work in a small :class:`~concurrent.futures.ProcessPoolExecutor`
of *spawned* processes (a fresh interpreter, not a fork of the monkey-patched server) and waits
for the answer cooperatively: under eventlet and gevent, ``Future.result()`` waits on patched
locks, so other green threads run meanwhile.

Nothing starts before it is needed: the process is spawned by the first :meth:`DrawingPool.run`
(the first ticket the server draws), not when the server starts, since most servers (tests, a
hall whose kiosks print through their agents, ``LAYSO_PRINTER=none``) never draw at all and the
spawn costs about a second of CPU. A broken pool (its process killed) is replaced at the next
call; if the pool cannot start at all, the work runs in-process, as before. A drawing process
ends by itself when the process that started it is gone (killed, crashed, stopped without a
clean shutdown): it would otherwise wait forever on its work queue, since it holds that queue's
write end itself.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")

WORKERS = 1  # one printer prints one ticket at a time; one process keeps up with it

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pid: int | None = None  # the process that made _pool (a fork must not reuse it)


ORPHAN_CHECK_S = 1.0


def _orphan_guard(parent: int) -> None:
    """In a drawing process: exit once the process that started it is no longer its parent."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_CHECK_S)  # no event tells a child that its parent died
        os._exit(0)

    threading.Thread(target=watch, name="orphan-guard", daemon=True).start()


def _executor() -> ProcessPoolExecutor:
    global _pool, _pid
    with _lock:
        if _pool is None or _pid != os.getpid():
            _pool = ProcessPoolExecutor(
                max_workers=WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_orphan_guard,
                initargs=(os.getpid(),),
            )
            _pid = os.getpid()
        return _pool


def _discard(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is pool:
            _pool = None
    pool.shutdown(wait=False, cancel_futures=True)


def started() -> bool:
    """Whether this process has a drawing pool yet (none until the first ticket is drawn)."""
    with _lock:
        return _pool is not None and _pid == os.getpid()


def worker_pid() -> int:
    """The id of a process the pool runs work in (for tests: it is not this process)."""
    return DrawingPool().run(os.getpid)


def shutdown() -> None:
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


class DrawingPool:
    """Run CPU-heavy printing work outside this process's event loop (see the module doc)."""

    def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker process (``fn`` and its arguments must pickle)."""
        for _ in range(2):
            pool = _executor()
            try:
                return pool.submit(fn, *args).result()
            except BrokenProcessPool:
                logger.warning("the drawing process died; starting a new one")
                _discard(pool)
            except (OSError, RuntimeError) as exc:  # cannot start a process here at all
                logger.warning("no drawing process (%s): drawing in the server process", exc)
                break
        return fn(*args)
