"""What a printed ticket says, independent of how it is drawn or which printer prints it."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

#: Viet Nam's offset all year (no daylight saving); enough for the sample without tzdata.
_ICT = timezone(timedelta(hours=7), "ICT")


@dataclass(frozen=True)
class TicketView:
    """The ticket as the citizen reads it; every string is ready to print."""

    hall_name: str
    service_name: str
    service_name_en: str
    display_number: str
    issued_at: datetime
    ahead: int
    estimated_wait_s: int | None
    status_url: str
    priority: str | None
    footer: str = "Xin cảm ơn quý khách / Thank you"
    reprint: bool = False
    #: a checked-in booking's slot time (the hall's local time); None for a walk-in
    booked_for: datetime | None = None
    # what the area is for when it is not the usual intake, e.g. "Nhận kết quả / Collect results"
    purpose: str | None = None


def sample_ticket(**overrides: Any) -> TicketView:
    """Return a realistic ticket for previews and printer tests; keywords override fields."""
    ticket = TicketView(
        hall_name="UBND xã Tân Phú - Trung tâm Phục vụ hành chính công",
        service_name="Tư pháp - Hộ tịch",
        service_name_en="Justice - Civil status",
        display_number="1023",
        issued_at=datetime(2026, 11, 21, 8, 15, tzinfo=_ICT),
        ahead=3,
        estimated_wait_s=12 * 60,
        status_url="http://192.168.1.10:5000/t/K7QW2M9P",
        priority=None,
    )
    return dataclasses.replace(ticket, **overrides)
