"""Rate limits for issuing, suggestions, sign-in and the spoken-call audio, on the `limits` library.

A moving window of one minute per (kind, key). The counters live in this process (MemoryStorage)
or, when LAYSO_REDIS_URL is set, in Redis, so that several server processes share one count
instead of each allowing the whole limit. The Redis keys carry a prefix derived from the
database URL: processes of one installation share their counts, other installations (and test
runs) on the same Redis do not. If Redis cannot be reached the limit falls back to this process's
own count (logged once) rather than refusing or failing the request.

Two ways to use it:
- `rate_limit(kind, key)`: every call counts; over the limit raises errors.RateLimited (429 with
  Retry-After). Issuing, suggestions, the audio endpoint.
- `check(kind, key)` before, `hit(kind, key)` after a failure only, `clear(kind, key)` after a
  success: sign-in counts wrong passwords, never successful ones.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time

from flask import current_app
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.storage import MemoryStorage, RedisStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from layso import errors

logger = logging.getLogger(__name__)

WINDOW_S = 60


class InlineExpiryMemory(MemoryStorage):
    """The library's MemoryStorage without its expiry thread.

    It starts a timer thread whenever its last one has ended (every hit after a 10 ms lull), and
    starting a thread waits until it runs: under eventlet or gevent that switches to every other
    green thread, in the middle of the hall's write transaction (issuing counts its hit there),
    while the transaction holds the write lock: 16 kiosks saw waits of 0.3–0.9 s from it. Here
    expired entries are dropped inline instead, at most once a second; that is only memory,
    since every check compares the entries' times itself.
    """

    _next_expiry = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (the name it overrides)
        now = time.monotonic()
        if now >= self._next_expiry:
            self._next_expiry = now + 1.0
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


_memory = InlineExpiryMemory()
_redis: dict[tuple[str, str], RedisStorage] = {}
_redis_down: set[str] = set()  # Redis URLs we are falling back from (logged once per outage)
_lock = threading.Lock()


def limit_for(kind: str) -> int:
    """The limit per minute for `kind`: app.config["LAYSO_RATE_<KIND>"]; 0 or unset is none."""
    return int(current_app.config.get(f"LAYSO_RATE_{kind.upper()}", 0) or 0)


def _storage_uri(url: str) -> str:
    # python-socketio takes unix://; the limits library names it redis+unix://
    return "redis+unix://" + url[len("unix://") :] if url.startswith("unix://") else url


def _storage() -> Storage:
    url = current_app.config.get("LAYSO_REDIS_URL")
    if not url:
        return _memory
    db_url = str(current_app.config.get("LAYSO_DATABASE_URL", ""))
    prefix = "layso-limits:" + hashlib.sha256(db_url.encode()).hexdigest()[:12]
    with _lock:
        storage = _redis.get((url, prefix))
        if storage is None:
            storage = _redis[(url, prefix)] = RedisStorage(
                _storage_uri(url),
                key_prefix=prefix,
                wrap_exceptions=True,
                socket_connect_timeout=2,
                socket_timeout=2,
            )
    return storage


def _run(op: str, item: RateLimitItem, *ids: str) -> object:
    """Run one limiter operation on the shared storage, falling back to memory if it is down."""
    storage = _storage()
    try:
        result = getattr(MovingWindowRateLimiter(storage), op)(item, *ids)
    except Exception as exc:  # any storage failure: count in this process instead
        if storage is _memory:
            raise
        url = str(current_app.config.get("LAYSO_REDIS_URL"))
        if url not in _redis_down:
            _redis_down.add(url)
            logger.error("rate limits: Redis unreachable (%s); counting per process", exc)
        return getattr(MovingWindowRateLimiter(_memory), op)(item, *ids)
    if storage is not _memory and _redis_down:
        _redis_down.clear()
        logger.warning("rate limits: Redis reachable again; counts are shared again")
    return result


def _refuse(kind: str, item: RateLimitItem, *ids: str) -> errors.LaysoError:
    stats = _run("get_window_stats", item, kind, *ids)
    reset_at = float(getattr(stats, "reset_time", 0) or 0)
    retry = min(WINDOW_S, max(1, math.ceil(reset_at - time.time())))
    err = errors.RateLimited(
        vi="Thao tác quá nhiều lần. Thử lại sau {seconds} giây.",
        en="Too many attempts. Try again in {seconds} seconds.",
        seconds=retry,
    )
    err.retry_after = retry  # type: ignore[attr-defined]  # the 429's Retry-After header
    return err


def _item(kind: str, per_minute: int | None = None) -> RateLimitItem | None:
    limit = limit_for(kind) if per_minute is None else per_minute
    return RateLimitItemPerMinute(limit) if limit > 0 else None


def rate_limit(kind: str, key: str) -> None:
    """Count one `kind` by `key`; refuse with 429 (Retry-After) beyond its limit per minute."""
    item = _item(kind)
    if item is not None and not _run("hit", item, kind, key):
        raise _refuse(kind, item, key)


def check(kind: str, key: str, *, per_minute: int | None = None) -> None:
    """Refuse with 429 if `key` has used up `kind` this minute; counts nothing."""
    item = _item(kind, per_minute)
    if item is not None and not _run("test", item, kind, key):
        raise _refuse(kind, item, key)


def hit(kind: str, key: str, *, per_minute: int | None = None) -> None:
    """Count one `kind` (e.g. a failed sign-in) by `key`."""
    item = _item(kind, per_minute)
    if item is not None:
        _run("hit", item, kind, key)


def clear(kind: str, key: str, *, per_minute: int | None = None) -> None:
    """Forget what `key` did of `kind` (e.g. after a successful sign-in)."""
    item = _item(kind, per_minute)
    if item is not None:
        _run("clear", item, kind, key)


def reset() -> None:
    """Forget every count of this process (tests); Redis counts expire on their own."""
    _memory.reset()
    _redis_down.clear()
