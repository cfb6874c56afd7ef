"""Counters: number, name and the areas each one serves, in order."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso import errors
from layso.models import Counter, CounterService, Hall, Service, User
from layso.services.common import counter_changed, get_counter
from layso.services.config.validation import (
    audit_and_announce,
    bad,
    int_field,
    reject_unknown,
    text_field,
)


def _counter_services(session: Session, hall: Hall, value: Any) -> list[Service]:
    if (
        not isinstance(value, list)
        or not value
        or len(value) > 50
        or not all(isinstance(v, str) for v in value)
        or len(set(value)) != len(value)
    ):
        raise bad(
            "Chọn ít nhất một lĩnh vực cho quầy (không trùng lặp), theo thứ tự ưu tiên.",
            "Give the counter's areas as a non-empty list of distinct codes, in order.",
        )
    by_code = {
        s.code: s for s in session.scalars(sa.select(Service).where(Service.hall_id == hall.id))
    }
    missing = [v for v in value if v not in by_code]
    if missing:
        raise bad(
            f"Không có lĩnh vực: {', '.join(missing)}.",
            f"Unknown area code(s): {', '.join(missing)}.",
        )
    return [by_code[v] for v in value]


def add_counter(
    session: Session, hall: Hall, data: dict[str, Any], *, user: User | None, now: datetime
) -> Counter:
    reject_unknown(data, {"number", "name", "services"})
    number = int_field(data, "number", "Số quầy", 1, 9999) or 0
    name = text_field(data, "name", "Tên quầy", hi=100) or ""
    services = _counter_services(session, hall, data.get("services"))
    if session.scalar(
        sa.select(Counter.id).where(Counter.hall_id == hall.id, Counter.number == number)
    ):
        raise errors.Conflict(vi=f"Quầy số {number} đã có.", en=f"Counter {number} exists.")
    counter = Counter(hall_id=hall.id, number=number, name=name, state_since=now)
    counter.links = [
        CounterService(service_id=s.id, service=s, position=i) for i, s in enumerate(services)
    ]
    session.add(counter)
    session.flush()
    counter_changed(session, hall, counter, now)
    audit_and_announce(
        session,
        hall,
        user,
        "config.counter.add",
        {"number": number, "name": name, "services": [s.code for s in services]},
        "counters",
        now,
    )
    return counter


def update_counter(
    session: Session,
    hall: Hall,
    number: int,
    data: dict[str, Any],
    *,
    user: User | None,
    now: datetime,
) -> Counter:
    reject_unknown(data, {"name", "services"})
    if not 0 <= number <= 1_000_000:
        raise errors.UnknownCounter(counter=number)
    counter = get_counter(session, hall, number)
    changed: dict[str, Any] = {}
    name = text_field(data, "name", "Tên quầy", hi=100)
    services = _counter_services(session, hall, data["services"]) if "services" in data else None
    if name is not None and name != counter.name:
        changed["name"] = [counter.name, name]
        counter.name = name
    if services is not None:
        old = [link.service.code for link in counter.links]
        codes = [s.code for s in services]
        if old != codes:
            changed["services"] = [old, codes]
            for link in list(counter.links):
                counter.links.remove(link)
            session.flush()
            counter.links.extend(
                CounterService(service_id=s.id, service=s, position=i)
                for i, s in enumerate(services)
            )
    if changed:
        session.flush()
        counter_changed(session, hall, counter, now)
        audit_and_announce(
            session,
            hall,
            user,
            "config.counter.edit",
            {"number": number, "changes": changed},
            "counters",
            now,
        )
    return counter
