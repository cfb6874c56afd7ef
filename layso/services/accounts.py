"""Users, devices and their tokens. Passwords go through scrypt; tokens are stored hashed."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from layso import errors
from layso.models import ApiToken, AuditEntry, Counter, Device, DeviceKind, Hall, Role, User

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,59}$")
MIN_PASSWORD = 8
# a fixed hash to compare against when the user does not exist: same work, no timing oracle
_DUMMY_HASH = generate_password_hash("not a password", method="scrypt")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


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

    @property
    def is_user(self) -> bool:
        return self.kind == "user"

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
        return principal_for_user(api.user)
    return None


def principal_for_user(user: User, *, via_session: bool = False) -> Principal:
    return Principal(
        "user", user.id, user.hall_id, user.role.value, user.username, via_session=via_session
    )


def session_stamp(user: User) -> str:
    """What a signed-in session keeps of the password hash: a new password ends old sessions."""
    return user.password_hash[-12:]


def session_user(session: Session, user_id: object, stamp: object) -> User | None:
    """The active user a session cookie names, if its stamp still matches."""
    if not isinstance(user_id, int):
        return None
    user = session.get(User, user_id)
    if user is None or not user.active or stamp != session_stamp(user):
        return None
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    user = session.scalars(sa.select(User).where(User.username == username)).one_or_none()
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def validate_password(password: str) -> None:
    if len(password) < MIN_PASSWORD or len(password) > 200:
        raise errors.BadRequest(
            vi="Mật khẩu phải có từ 8 đến 200 ký tự.",
            en="The password must have 8 to 200 characters.",
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
    validate_password(password)
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
