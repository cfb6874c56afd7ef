"""Service areas (table `service`): code, name, numbering, target wait, hours, procedures."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import DailyNumber, Hall, Procedure, Service, ServiceKind, User
from layso.services.common import business_date
from layso.services.config.validation import (
    apply_changes,
    audit_and_announce,
    bad,
    bool_field,
    check_hours,
    int_field,
    reject_unknown,
    text_field,
)

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,19}$")
PREFIX = re.compile(r"^[A-Z]{0,5}$")
MAX_PROCEDURES = 300


SERVICE_FIELDS = {
    "code",
    "name",
    "name_en",
    "kind",
    "prefix",
    "first_number",
    "last_number",
    "step",
    "daily_cap",
    "target_wait_min",
    "hours",
    "position",
    "active",
    "procedures",
}


def service_dict(session: Session, hall: Hall, s: Service, now: datetime) -> dict[str, Any]:
    issued = session.scalar(
        sa.select(DailyNumber.issued).where(
            DailyNumber.service_id == s.id,
            DailyNumber.business_date == business_date(hall, now),
        )
    )
    return {
        "code": s.code,
        "name": s.name,
        "name_en": s.name_en,
        "kind": s.kind.value,
        "prefix": s.prefix,
        "first_number": s.first_number,
        "last_number": s.last_number,
        "step": s.step,
        "daily_cap": s.daily_cap,
        "target_wait_min": s.target_wait_min,
        "hours": s.hours,
        "position": s.position,
        "active": s.active,
        "procedures": [p.name for p in s.procedures],
        "issued_today": issued or 0,
    }


def _service_values(data: dict[str, Any], current: Service | None) -> dict[str, Any]:
    """Validate an area's fields (all required when adding, any subset when editing)."""
    reject_unknown(data, SERVICE_FIELDS)
    adding = current is None
    new: dict[str, Any] = {}
    if adding or "code" in data:
        code = data.get("code")
        code = code.strip().upper() if isinstance(code, str) else code
        if not isinstance(code, str) or not CODE.match(code):
            raise bad(
                "Mã lĩnh vực gồm 1–20 chữ cái in hoa không dấu, chữ số, '-' hoặc '_'.",
                "An area code is 1-20 letters A-Z, digits, '-' or '_'.",
            )
        new["code"] = code
    if adding or "name" in data:
        new["name"] = text_field({"name": data.get("name")}, "name", "Tên lĩnh vực", lo=1, hi=200)
    if "name_en" in data:
        new["name_en"] = text_field(data, "name_en", "Tên tiếng Anh", hi=200)
    if "kind" in data:
        kinds = [k.value for k in ServiceKind]
        if data["kind"] not in kinds:
            raise bad(
                "Loại lĩnh vực phải là 'intake' (tiếp nhận hồ sơ) hoặc 'results' (trả kết quả).",
                "An area's kind is 'intake' (taking in dossiers) or 'results' (returning results).",
            )
        new["kind"] = ServiceKind(data["kind"])
    if "prefix" in data:
        prefix = data["prefix"] if data["prefix"] is not None else ""
        prefix = prefix.strip().upper() if isinstance(prefix, str) else prefix
        if not isinstance(prefix, str) or not PREFIX.match(prefix):
            raise bad(
                "Tiền tố số gồm tối đa 5 chữ cái in hoa không dấu (ví dụ: A).",
                "A number prefix is up to 5 letters A-Z (e.g. A).",
            )
        new["prefix"] = prefix
    first = current.first_number if current else 1
    last = current.last_number if current else 999
    if adding or "first_number" in data:
        first = new["first_number"] = int_field(data, "first_number", "Số đầu", 0, 999_999) or 0
    if adding or "last_number" in data:
        last = new["last_number"] = int_field(data, "last_number", "Số cuối", 0, 999_999) or 0
    if last <= first:
        raise bad("Số cuối phải lớn hơn số đầu.", "The last number must be greater than the first.")
    if "step" in data:
        new["step"] = int_field(data, "step", "Bước nhảy", 1, 1000)
    if "daily_cap" in data:
        new["daily_cap"] = int_field(
            data, "daily_cap", "Giới hạn số/ngày", 1, 100_000, nullable=True
        )
    if adding or "target_wait_min" in data:
        new["target_wait_min"] = int_field(data, "target_wait_min", "Thời gian chờ tối đa", 1, 600)
    if "hours" in data:
        new["hours"] = check_hours(data["hours"])
    if "position" in data:
        new["position"] = int_field(data, "position", "Thứ tự", 0, 10_000)
    if "active" in data:
        new["active"] = bool_field(data, "active")
    if "procedures" in data:
        procs = data["procedures"]
        if (
            not isinstance(procs, list)
            or len(procs) > MAX_PROCEDURES
            or not all(isinstance(p, str) and len(p.strip()) <= 300 for p in procs)
        ):
            raise bad(
                f"Danh sách thủ tục gồm tối đa {MAX_PROCEDURES} tên, mỗi tên tối đa 300 ký tự.",
                f"Procedures are a list of at most {MAX_PROCEDURES} names of up to 300 characters.",
            )
        seen: list[str] = []
        for p in procs:
            if p.strip() and p.strip() not in seen:
                seen.append(p.strip())
        new["procedures"] = seen
    return new


def _numbering_locked(session: Session, hall: Hall, service: Service, now: datetime) -> bool:
    issued = session.scalar(
        sa.select(DailyNumber.issued).where(
            DailyNumber.service_id == service.id,
            DailyNumber.business_date == business_date(hall, now),
        )
    )
    return bool(issued)


def add_service(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> Service:
    new = _service_values(data, None)
    if session.scalar(
        sa.select(Service.id).where(Service.hall_id == hall.id, Service.code == new["code"])
    ):
        raise errors.Conflict(
            vi=f"Mã lĩnh vực '{new['code']}' đã có.", en=f"Area code '{new['code']}' is taken."
        )
    procedures = new.pop("procedures", [])
    if "position" not in new:
        new["position"] = (
            session.scalar(
                sa.select(sa.func.max(Service.position)).where(Service.hall_id == hall.id)
            )
            or 0
        ) + 1
    service = Service(hall_id=hall.id, **new)
    service.procedures = [Procedure(name=p) for p in procedures]
    session.add(service)
    session.flush()
    audit_and_announce(
        session,
        hall,
        user,
        "config.service.add",
        {"code": service.code, "name": service.name},
        "services",
        now,
    )
    return service


def update_service(
    session: Session,
    hall: Hall,
    code: str,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> Service:
    service = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id, Service.code == code)
    ).one_or_none()
    if service is None:
        raise errors.UnknownService(service=code)
    new = _service_values(data, service)
    if (
        "code" in new
        and new["code"] != service.code
        and session.scalar(
            sa.select(Service.id).where(Service.hall_id == hall.id, Service.code == new["code"])
        )
    ):
        raise errors.Conflict(
            vi=f"Mã lĩnh vực '{new['code']}' đã có.",
            en=f"Area code '{new['code']}' is taken.",
        )
    numbering = {"prefix", "first_number", "last_number", "step"}
    touched = {k for k in numbering & set(new) if new[k] != getattr(service, k)}
    if touched and _numbering_locked(session, hall, service, now):
        raise errors.Conflict(
            vi="Lĩnh vực này đã cấp số hôm nay: chỉ đổi cách đánh số từ ngày mai "
            "(hoặc khi chưa cấp số nào).",
            en="This area has issued numbers today; its numbering can change only before the "
            "first number of a day.",
        )
    procedures = new.pop("procedures", None)
    changed = apply_changes(service, new)
    if procedures is not None:
        old = [p.name for p in service.procedures]
        if old != procedures:
            service.procedures = [Procedure(name=p) for p in procedures]
            changed["procedures"] = [len(old), len(procedures)]
    if changed:
        session.flush()
        audit_and_announce(
            session,
            hall,
            user,
            "config.service.edit",
            {"code": service.code, "changes": changed},
            "services",
            now,
        )
    return service
