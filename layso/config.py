"""Settings from the LAYSO_* environment variables, validated once at start."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ASYNC_MODES = ("eventlet", "gevent", "threading")
PRINTER_SCHEMES = ("preview", "tcp", "usb", "serial", "file", "none")
DEFAULT_INSTANCE = Path.cwd() / "instance"


class ConfigError(ValueError):
    """A LAYSO_* variable has a value Layso cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know about its environment."""

    instance_path: Path = field(default_factory=lambda: DEFAULT_INSTANCE)
    database_url: str = ""
    redis_url: str | None = None
    secret_key: str = ""
    printer: str = ""
    timezone: str = "Asia/Ho_Chi_Minh"
    async_mode: str = "eventlet"
    public_url: str = ""
    issue_rate_per_minute: int = 30
    login_rate_per_minute: int = 10
    # bookings made per client address per minute (layso/booking_api.py)
    book_rate_per_minute: int = 10
    # ID numbers (CCCD) are kept only as an HMAC under this key; empty: the secret key
    id_hash_key: str = ""
    # spoken-call WAVs one device may fetch per minute, and the disk their cache may fill
    audio_rate_per_minute: int = 60
    voice_cache_mb: int = 50
    # proxy hops in front of the server whose X-Forwarded-For/-Proto are believed (nginx: 1)
    trusted_proxies: int = 0
    # bounds on idle sockets: open connections, seconds to send request headers, to join /hall
    max_connections: int = 10_000
    header_timeout_s: float = 10.0
    join_timeout_s: float = 5.0
    # how often the running server looks at device health and the hall's alerts (0: never)
    alert_interval_s: float = 5.0
    # the notifier's sender (layso/services/notify/outbox.py): first retry delay (doubling),
    # tries before a notice is given up, seconds a provider has to answer
    notify_retry_s: float = 10.0
    notify_attempts: int = 6
    notify_timeout_s: float = 5.0
    testing: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Read LAYSO_* variables; malformed values raise ConfigError."""
        env = os.environ if env is None else env
        instance = Path(env.get("LAYSO_INSTANCE") or DEFAULT_INSTANCE).expanduser().resolve()
        values: dict[str, object] = {
            "instance_path": instance,
            "database_url": env.get("LAYSO_DATABASE_URL", ""),
            "redis_url": env.get("LAYSO_REDIS_URL") or None,
            "secret_key": env.get("LAYSO_SECRET_KEY", ""),
            "printer": env.get("LAYSO_PRINTER", ""),
            "timezone": env.get("LAYSO_TIMEZONE", "Asia/Ho_Chi_Minh"),
            "async_mode": env.get("LAYSO_ASYNC_MODE", "eventlet"),
            "public_url": env.get("LAYSO_PUBLIC_URL", ""),
            "id_hash_key": env.get("LAYSO_ID_HASH_KEY", ""),
        }
        for key, var in (
            ("issue_rate_per_minute", "LAYSO_ISSUE_RATE"),
            ("login_rate_per_minute", "LAYSO_LOGIN_RATE"),
            ("book_rate_per_minute", "LAYSO_BOOK_RATE"),
            ("notify_attempts", "LAYSO_NOTIFY_ATTEMPTS"),
            ("audio_rate_per_minute", "LAYSO_AUDIO_RATE"),
            ("voice_cache_mb", "LAYSO_VOICE_CACHE_MB"),
            ("trusted_proxies", "LAYSO_TRUSTED_PROXIES"),
        ):
            if env.get(var):
                try:
                    values[key] = int(env[var])
                except ValueError:
                    raise ConfigError(f"{var} must be a whole number, got {env[var]!r}") from None
        for key, var in (
            ("header_timeout_s", "LAYSO_HEADER_TIMEOUT"),
            ("join_timeout_s", "LAYSO_JOIN_TIMEOUT"),
            ("alert_interval_s", "LAYSO_ALERT_INTERVAL"),
            ("notify_retry_s", "LAYSO_NOTIFY_RETRY_S"),
            ("notify_timeout_s", "LAYSO_NOTIFY_TIMEOUT_S"),
        ):
            if env.get(var):
                try:
                    values[key] = float(env[var])
                except ValueError:
                    raise ConfigError(
                        f"{var} must be a number of seconds, got {env[var]!r}"
                    ) from None
        if env.get("LAYSO_MAX_CONNECTIONS"):
            try:
                values["max_connections"] = int(env["LAYSO_MAX_CONNECTIONS"])
            except ValueError:
                raise ConfigError(
                    "LAYSO_MAX_CONNECTIONS must be a whole number, "
                    f"got {env['LAYSO_MAX_CONNECTIONS']!r}"
                ) from None
        if 0 < len(env.get("LAYSO_ID_HASH_KEY", "")) < 16:
            raise ConfigError(
                "LAYSO_ID_HASH_KEY must be at least 16 characters (it keys ID hashes)"
            )
        values.update(overrides)
        return cls(**values).resolved()  # type: ignore[arg-type]

    def resolved(self) -> Settings:
        """Fill the embedded defaults and validate every value."""
        instance = Path(self.instance_path)
        db_url = normalize_database_url(
            self.database_url or f"sqlite:///{instance / 'layso.sqlite3'}"
        )
        printer = self.printer or f"preview:{instance / 'tickets'}"
        validate_printer_uri(printer)
        if self.async_mode not in ASYNC_MODES:
            raise ConfigError(
                f"LAYSO_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}, got {self.async_mode!r}"
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"LAYSO_TIMEZONE is not a known time zone: {self.timezone!r}"
            ) from None
        if self.redis_url and urlsplit(self.redis_url).scheme not in ("redis", "rediss", "unix"):
            raise ConfigError(f"LAYSO_REDIS_URL must start with redis://, got {self.redis_url!r}")
        if (
            min(
                self.issue_rate_per_minute,
                self.login_rate_per_minute,
                self.audio_rate_per_minute,
                self.book_rate_per_minute,
            )
            < 1
        ):
            raise ConfigError("rate limits must be at least 1 per minute")
        if not 64 <= self.max_connections <= 1_000_000:
            raise ConfigError(
                f"LAYSO_MAX_CONNECTIONS must be from 64 to 1000000, got {self.max_connections}"
            )
        for name, value in (
            ("LAYSO_HEADER_TIMEOUT", self.header_timeout_s),
            ("LAYSO_JOIN_TIMEOUT", self.join_timeout_s),
        ):
            if not 0.5 <= value <= 300:  # also refuses nan and inf
                raise ConfigError(f"{name} must be from 0.5 to 300 seconds, got {value}")
        if not (self.alert_interval_s == 0 or 0.2 <= self.alert_interval_s <= 600):
            raise ConfigError(
                f"LAYSO_ALERT_INTERVAL must be 0 (off) or 0.2 to 600 seconds, "
                f"got {self.alert_interval_s}"
            )
        for name, value, low, high in (
            ("LAYSO_NOTIFY_RETRY_S", self.notify_retry_s, 0.1, 3600),
            ("LAYSO_NOTIFY_TIMEOUT_S", self.notify_timeout_s, 0.5, 120),
            ("LAYSO_NOTIFY_ATTEMPTS", self.notify_attempts, 1, 10_000),
        ):
            if not low <= value <= high:
                raise ConfigError(f"{name} must be from {low:g} to {high:g}, got {value}")
        if not 1 <= self.voice_cache_mb <= 100_000:
            raise ConfigError(
                f"LAYSO_VOICE_CACHE_MB must be 1 to 100000 (megabytes), got {self.voice_cache_mb}"
            )
        if not 0 <= self.trusted_proxies <= 5:
            raise ConfigError(
                "LAYSO_TRUSTED_PROXIES is the number of proxies in front of Layso (0 to 5), "
                f"got {self.trusted_proxies}"
            )
        secret = self.secret_key or _instance_secret(instance)
        return replace(
            self,
            instance_path=instance,
            database_url=db_url,
            printer=printer,
            secret_key=secret,
            id_hash_key=self.id_hash_key or secret,
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def normalize_database_url(url: str) -> str:
    """Map plain postgresql:// to pg8000, the driver that cooperates with every async mode."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"LAYSO_DATABASE_URL is not a URL: {url!r}")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+pg8000://{rest}"
    if scheme.startswith("postgresql+") or scheme in ("sqlite", "sqlite+pysqlite"):
        return url
    raise ConfigError(
        f"LAYSO_DATABASE_URL must be sqlite:/// or postgresql://, got scheme {scheme!r}"
    )


def validate_printer_uri(uri: str) -> None:
    scheme = uri.split(":", 1)[0]
    if scheme not in PRINTER_SCHEMES:
        raise ConfigError(
            f"LAYSO_PRINTER must start with one of {', '.join(s + ':' for s in PRINTER_SCHEMES)};"
            f" got {uri!r}"
        )


def _instance_secret(instance: Path) -> str:
    """Generate the secret once and keep it in the instance folder."""
    instance.mkdir(parents=True, exist_ok=True)
    path = instance / "secret_key"
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    fd, name = tempfile.mkstemp(dir=instance, prefix=".secret_key-")  # 0600 from the start
    tmp = Path(name)
    with os.fdopen(fd, "w") as out:
        out.write(key)
    try:
        os.link(tmp, path)  # first writer wins when two processes start together
    except FileExistsError:
        pass
    tmp.unlink(missing_ok=True)
    return path.read_text().strip()
