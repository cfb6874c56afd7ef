"""The hall's configuration: areas, counters, users, devices, notices and the hall itself.

Plain functions over a Session (no Flask), one module per entity; the checks they share are in
`validation`. Each change is validated completely before anything is touched (bad input changes
nothing), writes an AuditEntry, and appends a `config.changed` event {"what": ...} so that open
screens (kiosk, display, counters) reload what changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import serializers as ser
from layso.models import (
    Counter,
    DeviceKind,
    Hall,
    Notice,
    PriorityPolicy,
    PriorityReason,
    Role,
    Service,
)
from layso.services.config.areas import add_service, service_dict, update_service
from layso.services.config.counters import add_counter, update_counter
from layso.services.config.devices import (
    DEVICE_PAGES,
    device_dict,
    issue_device,
    list_devices,
    revoke_device,
)
from layso.services.config.hall import update_hall
from layso.services.config.notices import add_notice, delete_notice, notice_dict, update_notice
from layso.services.config.users import (
    add_user,
    list_users,
    reset_password,
    update_user,
    user_dict,
)
from layso.services.config.validation import bad, check_hours

__all__ = [
    "DEVICE_PAGES",
    "add_counter",
    "add_notice",
    "add_service",
    "add_user",
    "bad",
    "check_hours",
    "configuration",
    "delete_notice",
    "device_dict",
    "issue_device",
    "list_devices",
    "list_users",
    "notice_dict",
    "reset_password",
    "revoke_device",
    "service_dict",
    "update_counter",
    "update_hall",
    "update_notice",
    "update_service",
    "update_user",
    "user_dict",
]


def configuration(session: Session, hall: Hall, now: datetime) -> dict[str, Any]:
    """The hall's whole configuration, as the config page shows it."""
    services = session.scalars(
        sa.select(Service).where(Service.hall_id == hall.id).order_by(Service.position, Service.id)
    )
    counters = session.scalars(
        sa.select(Counter).where(Counter.hall_id == hall.id).order_by(Counter.number)
    )
    notices = session.scalars(
        sa.select(Notice).where(Notice.hall_id == hall.id).order_by(Notice.position, Notice.id)
    )
    reasons = session.scalars(
        sa.select(PriorityReason)
        .where(PriorityReason.hall_id == hall.id)
        .order_by(PriorityReason.position, PriorityReason.id)
    )
    return {
        "hall": ser.hall_settings(hall),
        "services": [service_dict(session, hall, s, now) for s in services],
        "counters": [ser.counter_settings(c) for c in counters],
        "users": list_users(session, hall),
        "devices": list_devices(session, hall),
        "notices": [notice_dict(n) for n in notices],
        "priority_reasons": [
            {"code": r.code, "name": r.name, "name_en": r.name_en, "active": r.active}
            for r in reasons
        ],
        "device_kinds": [k.value for k in DeviceKind],
        "roles": [r.value for r in Role],
        "priority_policies": [p.value for p in PriorityPolicy],
    }
