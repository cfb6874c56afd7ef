"""Why a counter pauses: the hall's list of reasons, and time paused by reason and clerk.

A hall keeps its own list (``Hall.pause_reasons``; null means :data:`DEFAULT_REASONS`). A clerk
pauses with one of its codes; a free-text reason (the API before the list) is still taken, kept
as it is with no code. Every pause and resume is a ``counter.changed`` event, so the time paused
is read back from the log.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.events import Ev
from layso.models import Event, Hall
from layso.services.report_rows import day_bounds

DEFAULT_REASONS: list[dict[str, str]] = [
    {"code": "meeting", "vi": "Đi họp", "en": "Meeting"},
    {"code": "break", "vi": "Nghỉ giải lao", "en": "Break"},
    {"code": "lunch", "vi": "Nghỉ trưa", "en": "Lunch"},
    {"code": "system_fault", "vi": "Lỗi hệ thống", "en": "System fault"},
    {"code": "helping", "vi": "Hỗ trợ công dân", "en": "Helping a citizen"},
]
CODE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_REASONS = 20
FREE_TEXT = "other"  # the group of a free-text reason in the report


def reasons(hall: Hall) -> list[dict[str, str]]:
    """The hall's pause reasons, in order."""
    return [dict(r) for r in (hall.pause_reasons or DEFAULT_REASONS)]


def resolve(hall: Hall, reason: str) -> tuple[str | None, str]:
    """(code, Vietnamese text) of what a clerk gave: a code of the list, a reason's Vietnamese
    name (the counter page before the list sent those), or free text (no code)."""
    reason = reason.strip()
    folded = reason.casefold()
    for r in reasons(hall):
        if reason == r["code"] or folded == r["vi"].casefold():
            return r["code"], r["vi"]
    return None, reason


def english(hall: Hall, code: str | None) -> str | None:
    for r in reasons(hall):
        if r["code"] == code:
            return r["en"] or None
    return None


def check_reasons(value: Any) -> list[dict[str, str]] | None:
    """A manager's list: 1–20 items {code, vi, en}, codes unique (null: the defaults)."""
    from layso.services.config.validation import bad  # config imports counters, which imports us

    if value is None:
        return None
    msg = bad(
        f"Danh sách lý do tạm dừng cần 1–{MAX_REASONS} mục, mỗi mục có mã (chữ thường, số, "
        "gạch dưới; không trùng), tên tiếng Việt (1–60 ký tự) và tên tiếng Anh (tối đa 60).",
        f"Pause reasons are 1-{MAX_REASONS} items {{code, vi, en}}: a unique code of lowercase "
        "letters, digits and underscores, Vietnamese name of 1-60 characters, English up to 60.",
    )
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_REASONS:
        raise msg
    out: list[dict[str, str]] = []
    for item in value:
        if (
            not isinstance(item, dict)
            or set(item) - {"code", "vi", "en"}
            or not isinstance(item.get("code"), str)
            or not CODE.match(item["code"])
            or not isinstance(item.get("vi"), str)
            or not 1 <= len(item["vi"].strip()) <= 60
            or not isinstance(item.get("en", ""), str)
            or len(item.get("en", "")) > 60
        ):
            raise msg
        out.append(
            {"code": item["code"], "vi": item["vi"].strip(), "en": item.get("en", "").strip()}
        )
    if len({r["code"] for r in out}) != len(out):
        raise msg
    return out


def pause_report(
    session: Session, hall: Hall, first: date, last: date, now: datetime
) -> dict[str, Any]:
    """Time paused (seconds) and pauses, by reason and by clerk, from the counter.changed events
    of the days first..last (a pause still going counts up to now)."""
    start, end = day_bounds(hall, first, last)
    rows = session.execute(
        sa.select(Event.payload, Event.at)
        .where(
            Event.hall_id == hall.id,
            Event.name == Ev.COUNTER_CHANGED,
            Event.at >= start - timedelta(days=1),  # a pause begun the evening before
            Event.at < end,
        )
        .order_by(Event.seq)
    ).all()
    names = {r["code"]: r for r in reasons(hall)}
    open_: dict[int, tuple[datetime, str, str, str | None]] = {}
    pauses: list[tuple[datetime, datetime, str, str, str | None]] = []
    for payload, at in rows:
        number = payload.get("counter")
        began = open_.pop(number, None)
        if began is not None:
            pauses.append((began[0], at, began[1], began[2], began[3]))
        if payload.get("state") == "paused":
            code = payload.get("pause_code")
            key = code or FREE_TEXT
            text = names[code]["vi"] if code in names else (payload.get("pause_reason") or "")
            open_[number] = (at, key, text, payload.get("clerk"))
    for at, key, text, clerk in open_.values():
        pauses.append((at, min(now, end), key, text, clerk))
    by_reason: dict[str, dict[str, Any]] = {}
    by_clerk: dict[str, dict[str, Any]] = defaultdict(lambda: {"pauses": 0, "paused_s": 0})
    total = 0
    for a, b, key, text, clerk in pauses:
        seconds = max(0.0, (min(b, end) - max(a, start)).total_seconds())
        if b <= start or a >= end:
            continue
        r = by_reason.setdefault(
            key,
            {
                "reason": key,
                "name": names[key]["vi"] if key in names else "Lý do khác",
                "name_en": names[key]["en"] if key in names else "Other reason",
                "pauses": 0,
                "paused_s": 0,
                "texts": [],
            },
        )
        r["pauses"] += 1
        r["paused_s"] += round(seconds)
        if key == FREE_TEXT and text and text not in r["texts"]:
            r["texts"].append(text)
        c = by_clerk[clerk or ""]
        c["pauses"] += 1
        c["paused_s"] += round(seconds)
        c.setdefault("by_reason", defaultdict(int))[key] += round(seconds)
        total += round(seconds)
    return {
        "from": first.isoformat(),
        "to": last.isoformat(),
        "paused_s": total,
        "pauses": sum(r["pauses"] for r in by_reason.values()),
        "by_reason": sorted(by_reason.values(), key=lambda r: -r["paused_s"]),
        "by_clerk": [
            {
                "clerk": k or None,
                "pauses": v["pauses"],
                "paused_s": v["paused_s"],
                "by_reason": dict(v["by_reason"]),
            }
            for k, v in sorted(by_clerk.items(), key=lambda kv: -kv[1]["paused_s"])
        ],
    }
