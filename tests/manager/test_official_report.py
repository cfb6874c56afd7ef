"""The official satisfaction evaluation, recomputed independently from the raw ratings.

The expected figures are computed here from the `rating` table (score, scale, counter, clerk,
area, time) with this file's own mapping onto the three official levels, not through
`layso.services.ratings` or the report rows; the XLSX is read back cell by cell.
"""

from __future__ import annotations

import io
from collections import Counter as Tally
from collections import defaultdict
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from layso.models import Counter, Rating, Service, User

pytestmark = pytest.mark.usefixtures("demo")
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
FIRST, LAST = date(2026, 9, 24), date(2026, 11, 21)


def level(score: int, scale: int) -> str:
    """The state's three levels, written out again: top score, the next one, the rest."""
    if score == scale:
        return "very_satisfied"
    if score == scale - 1:
        return "satisfied"
    return "dissatisfied"


@pytest.fixture
def rated_history(db: Any, history: Any, day: Any, api: Any, tokens: Any) -> None:
    """A week across a month and quarter boundary (scale 4), then today on a scale of 5."""
    history(db, until=date(2026, 10, 3), reopen_at=datetime(2026, 11, 21, 0, 30, tzinfo=UTC))
    resp = api.client.patch(
        "/api/v1/halls/demo/config/hall",
        json={"rating_scale": 5},
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    assert resp.status_code == 200, resp.get_json()
    for n, score in enumerate((5, 4, 3, 5)):
        day.at(f"09:0{n}:00")
        t = day.issue("CT")
        day.counter(5, "next")
        day.counter(5, "start")
        day.counter(5, "finish")
        day.rate(t["id"], pad=5, score=score)


def expected(db: Any, by: str) -> dict[Any, Tally[str]]:
    with db.read() as s:
        counters = dict(s.execute(sa.select(Counter.id, Counter.number)).all())
        users = dict(s.execute(sa.select(User.id, User.username)).all())
        areas = dict(s.execute(sa.select(Service.id, Service.code)).all())
        out: dict[Any, Tally[str]] = defaultdict(Tally)
        for r in s.scalars(sa.select(Rating)):
            local = r.at.astimezone(HANOI)
            key = {
                "area": areas[r.service_id],
                "counter": counters[r.counter_id],
                "clerk": users.get(r.clerk_id),
                "month": f"{local.year}-{local.month:02d}",
                "quarter": f"{local.year}-Q{(local.month + 2) // 3}",
            }[by]
            out[key][level(r.score, r.scale)] += 1
    return out


def rate_of(t: Tally[str]) -> float:
    total = sum(t.values())
    return round((t["very_satisfied"] + t["satisfied"]) / total, 4)


def test_official_figures_match_the_raw_ratings(
    rated_history: None, db: Any, api: Any, tokens: Any
) -> None:
    for by in ("area", "counter", "clerk", "month", "quarter"):
        check_grouping(db, api, tokens, by)


def check_grouping(db: Any, api: Any, tokens: Any, by: str) -> None:
    status, body = api.get(f"reports/official?by={by}&from={FIRST}&to={LAST}", tokens("manager"))
    assert status == 200, body
    want = expected(db, by)
    got = {g["key"]: g for g in body["groups"]}
    assert set(got) == set(want)
    for key, tally in want.items():
        g = got[key]
        for lv in ("very_satisfied", "satisfied", "dissatisfied"):
            assert g[lv] == tally[lv], (key, lv)
        assert g["rated"] == sum(tally.values())
        assert g["rate"] == rate_of(tally)
        assert g["meets_target"] == (rate_of(tally) >= 0.95)
    everything: Tally[str] = Tally()
    for t in want.values():
        everything.update(t)
    assert body["total"]["rated"] == sum(everything.values()) > 100
    assert body["total"]["rate"] == rate_of(everything)
    assert body["target"] == 0.95
    if by == "month":
        assert set(got) == {"2026-09", "2026-10", "2026-11"}
        assert got["2026-11"]["very_satisfied"] == 2  # 5 and 5 of 5
        assert got["2026-11"]["satisfied"] == 1  # 4 of 5
        assert got["2026-11"]["dissatisfied"] == 1  # 3 of 5: below the top two levels
    if by == "quarter":
        assert set(got) == {"2026-Q3", "2026-Q4"}


def test_official_xlsx_layout(rated_history: None, db: Any, api: Any, tokens: Any) -> None:
    resp = api.client.get(
        f"/api/v1/halls/demo/reports/official?by=counter&from={FIRST}&to={LAST}&format=xlsx",
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    assert resp.status_code == 200
    assert "attachment" in resp.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(resp.data)).active
    assert ws["A1"].value == "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG XÃ TÂN PHÚ"
    assert ws["F1"].value == "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    assert ws["F2"].value == "Độc lập - Tự do - Hạnh phúc"
    assert "A1:D1" in ws.merged_cells and "F1:I1" in ws.merged_cells
    assert ws["A4"].value == (
        "BÁO CÁO KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG CỦA NGƯỜI DÂN, DOANH NGHIỆP"
    )
    assert ws["A6"].value == "Kỳ báo cáo / Period: từ ngày 24/09/2026 đến ngày 21/11/2026"
    assert "Quầy / Counter" in ws["A7"].value and "95%" in ws["A7"].value
    header = [c.value for c in ws[9]]
    assert header == [
        "STT / No.",
        "Quầy / Counter",
        "Tổng số lượt đánh giá / Ratings",
        "Rất hài lòng / Very satisfied",
        "Hài lòng / Satisfied",
        "Không hài lòng / Dissatisfied",
        "Tỷ lệ hài lòng / Satisfaction rate",
        "Chỉ tiêu / Target",
        "Kết quả / Result",
    ]
    want = expected(db, "counter")
    numbers = sorted(want)
    for i, number in enumerate(numbers):
        row = [c.value for c in ws[10 + i]]
        t = want[number]
        assert row[0] == i + 1
        assert row[1] == f"Quầy {number}"
        assert row[2:6] == [
            sum(t.values()),
            t["very_satisfied"],
            t["satisfied"],
            t["dissatisfied"],
        ]
        assert row[6] == pytest.approx(rate_of(t))
        assert row[7] == 0.95
        assert row[8] == ("Đạt / Met" if rate_of(t) >= 0.95 else "Không đạt / Not met")
        assert ws.cell(10 + i, 7).number_format == "0.00%"
    total_row = 10 + len(numbers)
    everything: Tally[str] = Tally()
    for t in want.values():
        everything.update(t)
    assert [c.value for c in ws[total_row]][1:6] == [
        "Tổng cộng / Total",
        sum(everything.values()),
        everything["very_satisfied"],
        everything["satisfied"],
        everything["dissatisfied"],
    ]
    assert ws.cell(total_row, 1).value is None
    # the signature block under the table: date, the two signers, what each writes
    assert ws.cell(total_row + 2, 6).value == "Ngày 21 tháng 11 năm 2026"
    assert ws.cell(total_row + 3, 1).value == "Người lập biểu"
    assert ws.cell(total_row + 3, 6).value == "Thủ trưởng đơn vị"
    assert ws.cell(total_row + 4, 1).value == "(Ký, ghi rõ họ tên)"
    assert ws.cell(total_row + 4, 6).value == "(Ký tên, đóng dấu)"
    assert ws.max_row == total_row + 4


def test_official_report_refuses_bad_input(api: Any, tokens: Any) -> None:
    status, body = api.get("reports/official?by=week", tokens("manager"), lang="en")
    assert status == 400 and "'by' must be" in body["error"]["message"]
    status, body = api.get("reports/official?by=week", tokens("manager"))
    assert status == 400 and "'by' phải là" in body["error"]["message"]
    status, body = api.get("reports/official?format=csv", tokens("manager"))
    assert status == 400
    status, _ = api.get("reports/official", tokens("clerk1"))
    assert status == 403
