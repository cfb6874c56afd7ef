"""The official satisfaction evaluation: every rating on the state's three levels.

Each rating of the range is mapped onto Rất hài lòng / Hài lòng / Không hài lòng by
:func:`layso.services.ratings.official_level` (the top score of its scale, the one below it,
every lower score), whatever scale the hall used when it was given. The figures come from the
same per-ticket rows as every other report (the hall's event log): a rating belongs to the
range when its ticket was issued on one of the range's days, and to the counter and clerk of
the ticket's last handling (where the visit ended), the area that issued its number, and the
month and quarter of its issue (hall-local).

``rate`` = (very satisfied + satisfied) ÷ ratings, compared with the hall's target
(``Hall.satisfaction_target``, 95 % by default): ``meets_target`` is rate ≥ target.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from layso.models import Hall
from layso.services.common import tz
from layso.services.ratings import OFFICIAL_LEVELS, SATISFIED_LEVELS
from layso.services.report_rows import TicketRow, load_rows, service_names, users_by_id

OFFICIAL_GROUPINGS = ("area", "counter", "clerk", "month", "quarter")
LEVEL_WORDS = {
    "very_satisfied": ("Rất hài lòng", "Very satisfied"),
    "satisfied": ("Hài lòng", "Satisfied"),
    "dissatisfied": ("Không hài lòng", "Dissatisfied"),
}
GROUP_WORDS = {
    "area": ("Lĩnh vực", "Area"),
    "counter": ("Quầy", "Counter"),
    "clerk": ("Cán bộ", "Clerk"),
    "month": ("Tháng", "Month"),
    "quarter": ("Quý", "Quarter"),
}


def level_counts(rows: list[TicketRow], target: float) -> dict[str, Any]:
    """Counts per official level, the satisfaction rate and whether it meets the target."""
    counts = dict.fromkeys(OFFICIAL_LEVELS, 0)
    for r in rows:
        level = r.official_level()
        if level is not None:
            counts[level] += 1
    rated = sum(counts.values())
    satisfied = sum(counts[k] for k in SATISFIED_LEVELS)
    rate = round(satisfied / rated, 4) if rated else None
    return {
        **counts,
        "rated": rated,
        "satisfied_total": satisfied,
        "rate": rate,
        "target": target,
        "meets_target": None if rate is None else rate >= target,
    }


def _key_and_label(
    by: str, r: TicketRow, hall: Hall, users: dict[int, Any], areas: dict[str, Any]
) -> tuple[Any, str] | None:
    local = r.issued_at.astimezone(tz(hall)) if r.issued_at else None
    if by == "area":
        area = areas.get(r.area)
        return r.area, (area.name if area else r.area)
    if by == "counter":
        return None if r.counter is None else (r.counter, f"Quầy {r.counter}")
    if by == "clerk":
        user = users.get(r.clerk_id) if r.clerk_id is not None else None
        return None if user is None else (user.username, user.full_name or user.username)
    if local is None:
        return None
    if by == "month":
        return f"{local.year}-{local.month:02d}", f"Tháng {local.month:02d}/{local.year}"
    quarter = (local.month - 1) // 3 + 1
    return f"{local.year}-Q{quarter}", f"Quý {quarter}/{local.year}"


def official_report(
    session: Session, hall: Hall, first: date, last: date, by: str, now: datetime
) -> dict[str, Any]:
    """The official evaluation of the range, per area, counter, clerk, month or quarter."""
    if by not in OFFICIAL_GROUPINGS:
        raise ValueError(f"by must be one of {OFFICIAL_GROUPINGS}")
    rows = [r for r in load_rows(session, hall, first, last, now) if r.rating is not None]
    users = users_by_id(session, hall)
    areas = service_names(session, hall)
    groups: dict[Any, list[TicketRow]] = defaultdict(list)
    labels: dict[Any, str] = {}
    for r in rows:
        found = _key_and_label(by, r, hall, users, areas)
        if found is None:
            continue
        groups[found[0]].append(r)
        labels[found[0]] = found[1]
    order = list(areas)
    keys = sorted(
        groups, key=lambda k: (order.index(k) if by == "area" and k in order else 0, str(k))
    )
    if by == "counter":
        keys = sorted(groups)
    target = hall.satisfaction_target
    return {
        "hall": hall.slug,
        "unit": hall.name,
        "unit_en": hall.name_en,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "by": by,
        "timezone": hall.timezone,
        "target": target,
        "levels": [
            {"key": k, "vi": LEVEL_WORDS[k][0], "en": LEVEL_WORDS[k][1]} for k in OFFICIAL_LEVELS
        ],
        "groups": [{"key": k, "label": labels[k], **level_counts(groups[k], target)} for k in keys],
        "total": level_counts(rows, target),
    }
