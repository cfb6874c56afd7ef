"""Devices (kiosks, displays, counter displays, rating pads, print agents) and their tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import Counter, Device, DeviceKind, Hall, Service, User
from layso.services import accounts
from layso.services.common import iso
from layso.services.config.validation import (
    MAX_ID,
    audit_and_announce,
    bad,
    int_field,
    reject_unknown,
)

DEVICE_PAGES = {
    "kiosk": "/kiosk",
    "display": "/display",
    "counter-display": "/counter-display",
    "rating-pad": "/rating",
}


def device_dict(hall: Hall, d: Device, numbers: dict[int, int]) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind.value,
        "name": d.name,
        "counter": numbers.get(d.counter_id) if d.counter_id else None,
        "kiosk": d.kiosk_id,
        "filter": d.filter,
        "printer_state": d.printer_state,
        "printer_detail": d.printer_detail,
        "printer_state_at": iso(hall, d.printer_state_at),
        "created_at": iso(hall, d.created_at),
        "revoked_at": iso(hall, d.revoked_at),
        "page": DEVICE_PAGES.get(d.kind.value),
    }


def list_devices(session: Session, hall: Hall) -> list[dict[str, Any]]:
    numbers = dict(
        session.execute(
            sa.select(Counter.id, Counter.number).where(Counter.hall_id == hall.id)
        ).all()
    )
    devices = session.scalars(
        sa.select(Device)
        .where(Device.hall_id == hall.id)
        .order_by(Device.revoked_at.is_not(None), Device.kind, Device.name)
    )
    return [device_dict(hall, d, numbers) for d in devices]


def _display_filter(session: Session, hall: Hall, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    msg = bad(
        "Bộ lọc màn hình gồm danh sách mã lĩnh vực và/hoặc số quầy.",
        "A display filter is {services: [codes], counters: [numbers]}.",
    )
    if not isinstance(value, dict) or set(value) - {"services", "counters"}:
        raise msg
    services = value.get("services") or []
    counters = value.get("counters") or []
    if not isinstance(services, list) or not isinstance(counters, list):
        raise msg
    codes = set(session.scalars(sa.select(Service.code).where(Service.hall_id == hall.id)))
    numbers = set(session.scalars(sa.select(Counter.number).where(Counter.hall_id == hall.id)))
    if not all(s in codes for s in services) or not all(
        isinstance(n, int) and n in numbers for n in counters
    ):
        raise msg
    return {"services": services, "counters": counters} if services or counters else None


def issue_device(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> tuple[Device, str]:
    """Register a device and return its token (shown once; stored only as a hash)."""
    reject_unknown(data, {"kind", "name", "counter", "kiosk", "filter"})
    counter = int_field(data, "counter", "Số quầy", 1, 9999, nullable=True)
    kiosk = None
    if data.get("kind") == DeviceKind.PRINT_AGENT.value:
        kiosk_id = int_field(data, "kiosk", "Kiosk", 1, 2**31, nullable=True)
        if kiosk_id is not None:
            kiosk = session.get(Device, kiosk_id)
            if (
                kiosk is None
                or kiosk.hall_id != hall.id
                or kiosk.kind != DeviceKind.KIOSK
                or kiosk.revoked_at is not None
            ):
                raise bad("Không có kiosk này.", "There is no such kiosk.")
    filt = _display_filter(session, hall, data.get("filter"))
    name = data.get("name")
    device, token = accounts.add_device(
        session,
        hall,
        kind=str(data.get("kind") or ""),
        name=name if isinstance(name, str) else "",
        now=now,
        counter_number=counter,
        kiosk=kiosk,
    )
    if filt is not None and device.kind == DeviceKind.DISPLAY:
        device.filter = filt
    audit_and_announce(
        session,
        hall,
        user,
        "config.device.token",
        {"device": device.id, "kind": device.kind.value, "name": device.name},
        "devices",
        now,
        audience="managers",
    )
    return device, token


def revoke_device(
    session: Session, hall: Hall, device_id: int, *, user: User | None, now: datetime
) -> Device:
    device = session.get(Device, device_id) if 0 < device_id <= MAX_ID else None
    if device is None or device.hall_id != hall.id:
        raise errors.NotFound(vi="Không có thiết bị này.", en="There is no such device.")
    if device.revoked_at is None:
        device.revoked_at = now
        audit_and_announce(
            session,
            hall,
            user,
            "config.device.revoke",
            {"device": device.id, "kind": device.kind.value, "name": device.name},
            "devices",
            now,
            audience="managers",
        )
    return device
