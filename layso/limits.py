"""A small in-process sliding-window rate limit (per worker) for issuing and signing in."""

from __future__ import annotations

import threading
import time
from collections import defaultdict, deque

from flask import current_app

from layso import errors

WINDOW_S = 60.0
_hits: dict[tuple[str, str], deque[float]] = defaultdict(deque)
_lock = threading.Lock()


def limit_for(kind: str) -> int:
    cfg = current_app.config
    return int(cfg.get(f"LAYSO_RATE_{kind.upper()}", 0) or 0)


def rate_limit(kind: str, key: str) -> None:
    """Refuse with 429 when `key` did `kind` more than its limit within the last minute."""
    limit = limit_for(kind)
    if limit <= 0:
        return
    now = time.monotonic()
    with _lock:
        hits = _hits[(kind, key)]
        while hits and now - hits[0] > WINDOW_S:
            hits.popleft()
        if len(hits) >= limit:
            raise errors.RateLimited()
        hits.append(now)


def reset() -> None:
    with _lock:
        _hits.clear()
