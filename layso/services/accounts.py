"""Users, devices and their tokens. Passwords go through scrypt; tokens are stored hashed."""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass, replace
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from layso import errors
from layso.models import (
    ApiToken,
    AuditEntry,
    Counter,
    Device,
    DeviceKind,
    Hall,
    Role,
    User,
    UserSession,
)

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
MIN_PASSWORD = 10  # a passphrase of four short words is as long
MAX_PASSWORD = 200
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parent.parent / "common_passwords.txt"
# a fixed hash to compare against when the user does not exist: same work, no timing oracle


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A device or API token: 256 random bits, URL-safe. Never one that starts with "-": on a
    command line (`layso print-agent --token …`) it would read as an option."""
    while True:
        token = secrets.token_urlsafe(32)
        if not token.startswith("-"):
            return token


@functools.cache
def _dummy_hash() -> str:
    """A hash to check unknown names against (made on first use: scrypt costs ~0.2 s, which
    every process importing this module would otherwise pay at start)."""
    return generate_password_hash("not a password", method="scrypt")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


@dataclass(frozen=True)
class Principal:
    """Who is asking: a user or a device, always within one hall (admins may be hall-less)."""

    kind: str  # "user" | "device"
    id: int
    hall_id: int | None
    role: str  # clerk | manager | admin, or the device kind
    name: str
    counter_id: int | None = None  # a device bound to a counter
    via_session: bool = False
    session_id: int | None = None  # the UserSession row of a signed-in browser
    token_id: int | None = None  # the ApiToken row of a user's bearer token

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

    @property
    def device_kind(self) -> str | None:
        """The kind of device asking (what it is sent of the hall's events), None for a person."""
        return self.role if self.kind == "device" else None

    def in_hall(self, hall: Hall) -> bool:
        return self.hall_id == hall.id or (self.hall_id is None and self.role == Role.ADMIN)


def principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    """Find the live user or device that owns a bearer token."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    device = session.scalars(
        sa.select(Device).where(Device.token_hash == digest, Device.revoked_at.is_(None))
    ).one_or_none()
    if device is not None:
        return Principal(
            "device",
            device.id,
            device.hall_id,
            device.kind.value,
            device.name,
            counter_id=device.counter_id,
        )
    api = session.scalars(
        sa.select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
    ).one_or_none()
    if api is not None and api.user.active:
        return replace(principal_for_user(api.user), token_id=api.id)
    return None


# --- a short cache of who a bearer token is -------------------------------------------------
#
# Every API request names its caller; looking the token up is two queries. Kiosks and counters
# send the same token many times a second, so the answer is kept for AUTH_CACHE_S. A revoked
# device or token, or a disabled user, therefore stops working within that time even when
# another process made the change; in this process the cache is emptied as soon as such a
# change commits (see _watch_access below), so here it stops at once.

AUTH_CACHE_S = 0.5
AUTH_CACHE_MAX = 4096
_token_cache: dict[str, tuple[float, Principal | None]] = {}
_ACCESS_MODELS = (Device, ApiToken, User, UserSession)


def remembered_principal(token: str) -> Principal | None:
    """The live answer :func:`cached_principal_for_token` still remembers for this token, if
    any, without a database session."""
    if not token or len(token) > 200:
        return None
    hit = _token_cache.get(hash_token(token))
    return hit[1] if hit is not None and hit[0] > time.monotonic() else None


def cached_principal_for_token(session: Session, token: str, now: datetime) -> Principal | None:
    """:func:`principal_for_token`, remembered for :data:`AUTH_CACHE_S` (only live answers)."""
    if not token or len(token) > 200:
        return None
    digest = hash_token(token)
    hit = _token_cache.get(digest)
    clock = time.monotonic()
    if hit is not None and hit[0] > clock:
        return hit[1]
    principal = principal_for_token(session, token, now)
    if principal is not None:  # a refusal is not kept: a new token works at once
        if len(_token_cache) >= AUTH_CACHE_MAX:
            _token_cache.clear()
        _token_cache[digest] = (clock + AUTH_CACHE_S, principal)
    return principal


def forget_access() -> None:
    """Drop every cached token answer (after a change to devices, tokens, users, sessions)."""
    _token_cache.clear()


# a device's printer state changes with every printed ticket and grants nothing
_NOT_ACCESS = frozenset({"printer_state", "printer_detail", "printer_state_at"})


def _changes_access(obj: object) -> bool:
    if not isinstance(obj, _ACCESS_MODELS):
        return False
    attrs = sa.inspect(obj).attrs
    return any(a.key not in _NOT_ACCESS and a.history.has_changes() for a in attrs)


@event.listens_for(Session, "before_flush")
def _watch_flush(session: Session, _ctx: Any, _instances: Any) -> None:
    if any(isinstance(o, _ACCESS_MODELS) for o in (*session.new, *session.deleted)) or any(
        _changes_access(o) for o in session.dirty
    ):
        session.info["layso.access_changed"] = True


@event.listens_for(Session, "do_orm_execute")
def _watch_bulk(state: Any) -> None:
    if (state.is_update or state.is_delete) and any(
        m.class_ in _ACCESS_MODELS for m in state.all_mappers
    ):
        state.session.info["layso.access_changed"] = True


@event.listens_for(Session, "after_commit")
def _watch_access(session: Session) -> None:
    if session.info.pop("layso.access_changed", False):
        forget_access()


@event.listens_for(Session, "after_soft_rollback")
def _forget_flag(session: Session, _previous: Any) -> None:
    session.info.pop("layso.access_changed", None)


def principal_for_user(user: User, *, session_id: int | None = None) -> Principal:
    return Principal(
        "user",
        user.id,
        user.hall_id,
        user.role.value,
        user.username,
        via_session=session_id is not None,
        session_id=session_id,
    )


# --- signed-in sessions, kept on the server --------------------------------------------------


def start_session(session: Session, user: User, now: datetime) -> str:
    """A new signed-in session; returns the random id the cookie carries (stored as a hash)."""
    sid = new_token()
    session.add(UserSession(user_id=user.id, token_hash=hash_token(sid), created_at=now))
    session.flush()
    return sid


def session_user(session: Session, sid: object) -> tuple[User, UserSession] | None:
    """The active user and the live session row a cookie's session id names, if any.

    The cookie itself expires after PERMANENT_SESSION_LIFETIME (its signature is timed)."""
    if not isinstance(sid, str) or not sid or len(sid) > 200:
        return None
    row = session.scalars(
        sa.select(UserSession).where(UserSession.token_hash == hash_token(sid))
    ).one_or_none()
    if row is None or row.ended_at is not None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    return user, row


def end_session(session: Session, sid: object, now: datetime) -> None:
    """Sign out: the session id stops working at once, on every server process."""
    if isinstance(sid, str) and sid:
        session.execute(
            sa.update(UserSession)
            .where(UserSession.token_hash == hash_token(sid), UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )


def end_sessions(session: Session, user: User, now: datetime, *, keep: int | None = None) -> int:
    """End every live session of `user` (a new password, a disabled account), but `keep`."""
    query = sa.update(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(UserSession.id != keep)
    return int(session.execute(query.values(ended_at=now)).rowcount or 0)  # type: ignore[attr-defined]


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalars(sa.select(User).where(User.username == username)).one_or_none()
    if user is None or not user.active:
        check_password_hash(_dummy_hash(), password)  # as slow as a real check
        return None
    return user if check_password_hash(user.password_hash, password) else None


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of passwords people pick first (lower case, one a line)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(x.strip().casefold() for x in lines if x.strip() and not x.startswith("#"))


def _is_common(password: str) -> bool:
    folded = password.casefold()
    bare = re.sub(r"[\W\d_]+$", "", folded)  # "Password2024!" is "password" with a suffix
    core = re.sub(r"[\W_]+", "", folded)
    listed = common_passwords()
    return (
        folded in listed
        or (len(bare) >= 4 and bare in listed)
        or core in listed
        or len(set(core)) <= 3  # "aaaaaaaaaa", "abababababab", "1212121212"
    )


def validate_password(password: str, username: str | None = None) -> None:
    """At least 10 characters (a four-word passphrase is), not the username, not a common one."""
    if len(password) < MIN_PASSWORD or len(password) > MAX_PASSWORD:
        raise errors.BadRequest(
            vi=f"Mật khẩu phải có từ {MIN_PASSWORD} đến {MAX_PASSWORD} ký tự "
            "(một câu từ bốn chữ trở lên cũng được).",
            en=f"The password must have {MIN_PASSWORD} to {MAX_PASSWORD} characters "
            "(a passphrase of four or more words will do).",
        )
    if username:
        folded = password.casefold()
        name = username.casefold()
        if name in folded and len(re.sub(r"[\W\d_]+", "", folded.replace(name, ""))) < 4:
            raise errors.BadRequest(
                vi="Mật khẩu không được là tên đăng nhập (hay tên đăng nhập thêm vài số).",
                en="The password must not be the username (or the username and a few digits).",
            )
    if _is_common(password):
        raise errors.BadRequest(
            vi="Mật khẩu này quá phổ biến hoặc quá đơn giản, dễ bị đoán; hãy chọn mật khẩu khác.",
            en="This password is too common or too simple to resist guessing; choose another.",
        )


def add_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: str,
    hall: Hall | None,
    full_name: str = "",
    now: datetime,
) -> User:
    if not USERNAME.match(username or ""):
        raise errors.BadRequest(
            vi="Tên đăng nhập chỉ gồm chữ thường không dấu, số, '.', '_' hoặc '-' (2–60 ký tự).",
            en="A username is 2-60 lowercase letters, digits, '.', '_' or '-'.",
        )
    try:
        role_ = Role(role)
    except ValueError:
        raise errors.BadRequest(
            vi="Vai trò phải là clerk, manager hoặc admin.",
            en="The role must be clerk, manager or admin.",
        ) from None
    if hall is None and role_ != Role.ADMIN:
        raise errors.BadRequest(
            vi="Cán bộ và quản lý phải thuộc một đơn vị.",
            en="Clerks and managers belong to a hall.",
        )
    validate_password(password, username)
    if session.scalar(sa.select(User.id).where(User.username == username)) is not None:
        raise errors.Conflict(
            vi=f"Tên đăng nhập '{username}' đã có.", en=f"The username '{username}' is taken."
        )
    user = User(
        username=username,
        full_name=full_name,
        role=role_,
        hall_id=hall.id if hall else None,
        password_hash=hash_password(password),
        created_at=now,
    )
    session.add(user)
    session.flush()
    return user


def create_api_token(session: Session, user: User, now: datetime) -> str:
    token = new_token()
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), created_at=now))
    session.flush()
    return token


def add_device(
    session: Session,
    hall: Hall,
    *,
    kind: str,
    name: str,
    now: datetime,
    counter_number: int | None = None,
    kiosk: Device | None = None,
) -> tuple[Device, str]:
    """Register a device; the token is returned once and stored only as a hash."""
    try:
        kind_ = DeviceKind(kind)
    except ValueError:
        raise errors.BadRequest(
            vi="Loại thiết bị không hợp lệ.",
            en=f"The device kind must be one of {', '.join(k.value for k in DeviceKind)}.",
        ) from None
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise errors.BadRequest(
            vi="Tên thiết bị từ 1 đến 100 ký tự.", en="A device name has 1 to 100 characters."
        )
    counter_id = None
    if kind_ in (DeviceKind.RATING_PAD, DeviceKind.COUNTER_DISPLAY) and counter_number is None:
        raise errors.BadRequest(
            vi="Thiết bị này cần số quầy (--counter).",
            en="This kind of device needs a counter number.",
        )
    if counter_number is not None:
        counter = session.scalars(
            sa.select(Counter).where(Counter.hall_id == hall.id, Counter.number == counter_number)
        ).one_or_none()
        if counter is None:
            raise errors.UnknownCounter(counter=counter_number)
        counter_id = counter.id
    token = new_token()
    device = Device(
        hall_id=hall.id,
        kind=kind_,
        name=name,
        counter_id=counter_id,
        kiosk_id=kiosk.id if kiosk else None,
        token_hash=hash_token(token),
        created_at=now,
    )
    session.add(device)
    session.flush()
    return device, token


def audit(
    session: Session,
    *,
    hall: Hall | None,
    user_id: int | None,
    action: str,
    detail: dict,
    now: datetime,
) -> None:
    session.add(
        AuditEntry(
            hall_id=hall.id if hall else None, user_id=user_id, action=action, detail=detail, at=now
        )
    )
