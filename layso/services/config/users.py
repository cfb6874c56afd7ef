"""The hall's accounts: clerks, managers and admins; roles, disabling and passwords."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import Counter, Hall, Role, User
from layso.services import accounts
from layso.services.config.validation import (
    apply_changes,
    audit_and_announce,
    bad,
    bool_field,
    reject_unknown,
    text_field,
)
from layso.services.counters import close_counter


def user_dict(u: User, counters: dict[int, int]) -> dict[str, Any]:
    return {
        "username": u.username,
        "full_name": u.full_name,
        "role": u.role.value,
        "active": u.active,
        "counter": counters.get(u.id),
    }


def list_users(session: Session, hall: Hall) -> list[dict[str, Any]]:
    counters = dict(
        session.execute(
            sa.select(Counter.clerk_id, Counter.number).where(
                Counter.hall_id == hall.id, Counter.clerk_id.is_not(None)
            )
        ).all()
    )
    users = session.scalars(
        sa.select(User).where(User.hall_id == hall.id).order_by(User.role, User.username)
    )
    return [user_dict(u, counters) for u in users]


def _may_manage(actor: User | None, role: str) -> None:
    if role == Role.ADMIN.value and (actor is None or actor.role != Role.ADMIN):
        raise errors.Forbidden(
            vi="Chỉ quản trị hệ thống mới tạo hoặc sửa tài khoản quản trị.",
            en="Only an admin can create or change admin accounts.",
        )


def _hall_user(session: Session, hall: Hall, username: str) -> User:
    user = session.scalars(
        sa.select(User).where(User.hall_id == hall.id, User.username == username)
    ).one_or_none()
    if user is None:
        raise errors.NotFound(
            vi=f"Không có tài khoản '{username}'.", en=f"There is no user '{username}'."
        )
    return user


def add_user(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> User:
    reject_unknown(data, {"username", "full_name", "role", "password"})
    username = data.get("username")
    username = username.strip().lower() if isinstance(username, str) else ""
    full_name = text_field(data, "full_name", "Họ tên", hi=120) or ""
    role = data.get("role")
    if role not in [r.value for r in Role]:
        raise bad(
            "Vai trò phải là clerk (cán bộ), manager (quản lý) hoặc admin.",
            "The role must be clerk, manager or admin.",
        )
    _may_manage(user, role)
    password = data.get("password")
    if not isinstance(password, str):
        raise bad("Thiếu mật khẩu.", "A password is required.")
    created = accounts.add_user(
        session,
        username=username,
        password=password,
        role=role,
        hall=hall,
        full_name=full_name,
        now=now,
    )
    audit_and_announce(
        session,
        hall,
        user,
        "config.user.add",
        {"username": created.username, "role": role},
        "users",
        now,
        audience="managers",
    )
    return created


def update_user(
    session: Session,
    hall: Hall,
    username: str,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> User:
    """Change a user's name, role or active flag; disabling signs them out of their counter."""
    reject_unknown(data, {"full_name", "role", "active"})
    target = _hall_user(session, hall, username)
    _may_manage(user, target.role.value)
    new: dict[str, Any] = {}
    if "full_name" in data:
        new["full_name"] = text_field(data, "full_name", "Họ tên", hi=120)
    if "role" in data:
        if data["role"] not in [r.value for r in Role]:
            raise bad(
                "Vai trò phải là clerk, manager hoặc admin.",
                "The role must be clerk, manager or admin.",
            )
        _may_manage(user, data["role"])
        new["role"] = data["role"]
    if "active" in data:
        new["active"] = bool_field(data, "active")
    if (
        user is not None
        and target.id == user.id
        and (new.get("active") is False or new.get("role", target.role.value) != target.role.value)
    ):
        raise bad(
            "Không thể tự khóa hoặc tự đổi vai trò của chính mình.",
            "You cannot disable yourself or change your own role.",
        )
    if new.get("active") is False and target.active:
        counter = session.scalars(
            sa.select(Counter).where(Counter.clerk_id == target.id)
        ).one_or_none()
        if counter is not None:
            close_counter(session, hall, counter.number, user=target, now=now)
        accounts.end_sessions(session, target, now)  # its open pages lose the hub too
    if "role" in new:
        new["role"] = Role(new["role"])
    changed = apply_changes(target, new)
    if changed:
        audit_and_announce(
            session,
            hall,
            user,
            "config.user.edit",
            {"username": target.username, "changes": changed},
            "users",
            now,
            audience="managers",
        )
    return target


def reset_password(
    session: Session,
    hall: Hall,
    username: str,
    password: Any,
    *,
    user: User | None,
    now: datetime,
    keep_session: int | None = None,
) -> User:
    """Set a user's password; every session of theirs ends (but the one doing it, if theirs)."""
    target = _hall_user(session, hall, username)
    _may_manage(user, target.role.value)
    if (
        user is not None
        and user.role == Role.MANAGER
        and target.id != user.id
        and target.role in (Role.MANAGER, Role.ADMIN)
    ):
        raise errors.Forbidden(
            vi="Quản lý chỉ đặt lại mật khẩu cho cán bộ; mật khẩu của quản lý khác do quản trị "
            "hệ thống đặt lại.",
            en="A manager resets clerks' passwords only; an admin resets another manager's.",
        )
    if not isinstance(password, str):
        raise bad("Thiếu mật khẩu mới.", "A new password is required.")
    accounts.validate_password(password, target.username)
    target.password_hash = accounts.hash_password(password)
    accounts.end_sessions(session, target, now, keep=keep_session)
    audit_and_announce(
        session,
        hall,
        user,
        "config.user.password",
        {"username": target.username},
        "users",
        now,
        audience="managers",
    )
    return target
