"""A realistic demo hall: a commune's public-administration service centre."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from layso.models import (
    BookingRule,
    Counter,
    CounterService,
    Hall,
    Notice,
    PriorityReason,
    Procedure,
    Service,
    ServiceKind,
    SlotTemplate,
)
from layso.services import counters as counter_ops
from layso.services.accounts import add_device, add_user, create_api_token

SERVICES: list[dict[str, Any]] = [
    {
        "code": "TP",
        "name": "Tư pháp - Hộ tịch",
        "name_en": "Justice - Civil status",
        "prefix": "",
        "first": 1001,
        "last": 1999,
        "target": 15,
        "procedures": [
            "Đăng ký khai sinh",
            "Đăng ký kết hôn",
            "Đăng ký khai tử",
            "Cấp bản sao trích lục hộ tịch",
            "Xác nhận tình trạng hôn nhân",
            "Đăng ký nhận cha, mẹ, con",
            "Đăng ký thay đổi, cải chính hộ tịch",
        ],
    },
    {
        "code": "CT",
        "name": "Chứng thực",
        "name_en": "Certification",
        "prefix": "",
        "first": 2001,
        "last": 2999,
        "target": 10,
        "procedures": [
            "Chứng thực bản sao từ bản chính",
            "Chứng thực chữ ký",
            "Chứng thực hợp đồng, giao dịch",
            "Chứng thực di chúc",
        ],
    },
    {
        "code": "DD",
        "name": "Đất đai",
        "name_en": "Land",
        "prefix": "",
        "first": 3001,
        "last": 3999,
        "target": 20,
        "cap": 200,
        "procedures": [
            "Đăng ký biến động đất đai",
            "Cấp Giấy chứng nhận quyền sử dụng đất lần đầu",
            "Chuyển mục đích sử dụng đất",
            "Tách thửa, hợp thửa đất",
            "Hòa giải tranh chấp đất đai",
        ],
    },
    {
        "code": "LD",
        "name": "Lao động - Thương binh và Xã hội",
        "name_en": "Labour, Invalids and Social Affairs",
        "prefix": "",
        "first": 4001,
        "last": 4999,
        "target": 15,
        "procedures": [
            "Trợ cấp xã hội hằng tháng",
            "Xác nhận hộ nghèo, hộ cận nghèo",
            "Hưởng chế độ người có công với cách mạng",
            "Cấp thẻ bảo hiểm y tế cho trẻ em",
            "Hỗ trợ chi phí mai táng",
        ],
    },
    {
        "code": "KD",
        "name": "Đăng ký kinh doanh",
        "name_en": "Business registration",
        "prefix": "",
        "first": 5001,
        "last": 5999,
        "target": 15,
        "procedures": [
            "Đăng ký thành lập hộ kinh doanh",
            "Thay đổi nội dung đăng ký hộ kinh doanh",
            "Tạm ngừng kinh doanh",
            "Chấm dứt hoạt động hộ kinh doanh",
        ],
    },
    {
        "code": "XD",
        "name": "Xây dựng",
        "name_en": "Construction",
        "prefix": "X",
        "first": 1,
        "last": 999,
        "target": 20,
        "procedures": [
            "Cấp giấy phép xây dựng nhà ở riêng lẻ",
            "Cấp giấy phép sửa chữa, cải tạo nhà ở",
        ],
    },
    {
        "code": "KQ",
        "name": "Trả kết quả",
        "name_en": "Results",
        "kind": "results",
        "prefix": "",
        "first": 6001,
        "last": 6999,
        "target": 10,
        "procedures": ["Nhận kết quả giải quyết thủ tục hành chính"],
    },
]

BOOKABLE = ("TP", "CT")

COUNTERS: list[tuple[int, str, list[str]]] = [
    (1, "Quầy 1 - Tư pháp, Chứng thực", ["TP", "CT"]),
    (2, "Quầy 2 - Tư pháp - Hộ tịch", ["TP"]),
    (3, "Quầy 3 - Đất đai, Xây dựng", ["DD", "XD"]),
    (4, "Quầy 4 - Lao động - TB&XH, Kinh doanh", ["LD", "KD"]),
    (5, "Quầy 5 - Chứng thực, Trả kết quả", ["CT", "KQ"]),
]

PRIORITY_REASONS = [
    ("NCT", "Người cao tuổi (từ 75 tuổi)", "Elderly person (75+)"),
    ("NKT", "Người khuyết tật", "Person with a disability"),
    ("PNMT", "Phụ nữ mang thai", "Pregnant woman"),
    ("NCC", "Người có công với cách mạng", "Person with meritorious service to the revolution"),
    ("TE", "Người đi cùng trẻ em dưới 6 tuổi", "With a child under 6"),
]

NOTICES = [
    (
        "5 biết: Biết lắng nghe - Biết nói để dân hiểu - Biết làm để dân tin - Biết xin lỗi - "
        "Biết cảm ơn",
        "Listen, speak so people understand, act so they trust, say sorry, say thanks",
    ),
    (
        "3 không: Không gây phiền hà, sách nhiễu - Không đùn đẩy trách nhiệm - Không trễ hẹn",
        "No harassment, no dodging responsibility, no lateness",
    ),
    (
        "4 thể hiện: Tôn trọng - Văn minh - Tận tình hướng dẫn - Gần gũi nhân dân",
        "Respect, civility, guidance, closeness",
    ),
    (
        "Giờ làm việc: Sáng 7:30 - 11:30, Chiều 13:30 - 17:00, Thứ Hai đến Thứ Sáu",
        "Opening hours: 7:30-11:30 and 13:30-17:00, Monday to Friday",
    ),
    (
        "Lấy sự hài lòng của người dân làm thước đo. Vui lòng đánh giá sau mỗi lượt phục vụ.",
        "Your satisfaction is our yardstick: please rate each visit.",
    ),
]


def demo_password(username: str) -> str:
    return f"demo-{username}"


def seed_demo(
    session: Session, *, now: datetime, timezone: str = "Asia/Ho_Chi_Minh", slug: str = "demo"
) -> dict[str, Any]:
    """Create the demo hall with areas, counters (clerks signed in), a manager and devices."""
    hall = Hall(
        slug=slug,
        name="Trung tâm Phục vụ hành chính công xã Tân Phú",
        name_en="Tan Phu Commune Public Administration Service Centre",
        timezone=timezone,
        created_at=now,
        hours=None,
    )
    session.add(hall)
    session.flush()
    for pos, (code, name, name_en) in enumerate(PRIORITY_REASONS):
        session.add(
            PriorityReason(hall_id=hall.id, code=code, name=name, name_en=name_en, position=pos)
        )
    services: dict[str, Service] = {}
    for pos, spec in enumerate(SERVICES):
        service = Service(
            hall_id=hall.id,
            code=spec["code"],
            name=spec["name"],
            name_en=spec["name_en"],
            prefix=spec["prefix"],
            first_number=spec["first"],
            last_number=spec["last"],
            target_wait_min=spec["target"],
            daily_cap=spec.get("cap"),
            kind=ServiceKind(spec.get("kind", "intake")),
            position=pos,
            procedures=[Procedure(name=p) for p in spec["procedures"]],
        )
        session.add(service)
        services[spec["code"]] = service
    # appointments: Justice and Certification take bookings every day in 15-minute slots (two
    # places each); remote numbers for today in every area (services/bookings.py)
    session.add(BookingRule(hall_id=hall.id, remote_numbers=True))
    for code in BOOKABLE:
        for start, end in (("07:30", "11:30"), ("13:30", "17:00")):
            session.add(
                SlotTemplate(
                    hall_id=hall.id,
                    service=services[code],
                    weekdays=list(range(7)),
                    start=start,
                    end=end,
                    slot_min=15,
                    capacity=2,
                )
            )
    for pos, (text, text_en) in enumerate(NOTICES):
        session.add(Notice(hall_id=hall.id, text=text, text_en=text_en, position=pos))
    session.flush()

    out: dict[str, Any] = {
        "hall": hall.slug,
        "services": [{"code": s["code"], "name": s["name"]} for s in SERVICES],
        "counters": [],
    }
    prefix = "" if slug == "demo" else f"{slug}-"  # usernames are unique across halls
    for number, name, codes in COUNTERS:
        counter = Counter(hall_id=hall.id, number=number, name=name, state_since=now)
        counter.links = [
            CounterService(service_id=services[c].id, service=services[c], position=i)
            for i, c in enumerate(codes)
        ]
        session.add(counter)
        session.flush()
        username = f"{prefix}clerk{number}"
        clerk = add_user(
            session,
            username=username,
            password=demo_password(username),
            role="clerk",
            hall=hall,
            full_name=f"Cán bộ quầy {number}",
            now=now,
        )
        counter_ops.open_counter(session, hall, number, user=clerk, now=now)
        _, pad = add_device(
            session,
            hall,
            kind="rating-pad",
            name=f"Bảng đánh giá quầy {number}",
            counter_number=number,
            now=now,
        )
        _, cdisp = add_device(
            session,
            hall,
            kind="counter-display",
            name=f"Màn hình quầy {number}",
            counter_number=number,
            now=now,
        )
        out["counters"].append(
            {
                "number": number,
                "services": codes,
                "clerk": username,
                "password": demo_password(username),
                "token": create_api_token(session, clerk, now),
                "rating_pad": pad,
                "counter_display": cdisp,
            }
        )
    manager_name = f"{prefix}manager"
    manager = add_user(
        session,
        username=manager_name,
        password=demo_password(manager_name),
        role="manager",
        hall=hall,
        full_name="Lãnh đạo Trung tâm",
        now=now,
    )
    out["manager"] = {
        "username": manager_name,
        "password": demo_password(manager_name),
        "token": create_api_token(session, manager, now),
    }
    kiosk, kiosk_token = add_device(session, hall, kind="kiosk", name="Kiosk sảnh chính", now=now)
    _, display_token = add_device(session, hall, kind="display", name="Màn hình sảnh", now=now)
    _, agent_token = add_device(
        session, hall, kind="print-agent", name="Máy in kiosk sảnh", kiosk=kiosk, now=now
    )
    out["devices"] = {"kiosk": kiosk_token, "display": display_token, "print-agent": agent_token}
    return out


def has_halls(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Hall)) != 0
