"""The official satisfaction evaluation as the workbook a one-stop unit files.

One sheet: the unit and the national motto, the title and the period, a table with the count
per official level and the satisfaction rate of each group against the target, the totals, and
the signature block (Người lập biểu / Thủ trưởng đơn vị). The figures come from
`layso.services.official.official_report`; this module only lays them out.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

from layso.services.official import GROUP_WORDS
from manager.export import _as_text

TITLE = "BÁO CÁO KẾT QUẢ ĐÁNH GIÁ MỨC ĐỘ HÀI LÒNG CỦA NGƯỜI DÂN, DOANH NGHIỆP"
TITLE_EN = "Official evaluation of citizens' and businesses' satisfaction"
NATION = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
MOTTO = "Độc lập - Tự do - Hạnh phúc"
HEADER_ROW = 9
LEVEL_HEADERS = [
    "Rất hài lòng / Very satisfied",
    "Hài lòng / Satisfied",
    "Không hài lòng / Dissatisfied",
]


def headers(by: str) -> list[str]:
    vi, en = GROUP_WORDS[by]
    return [
        "STT / No.",
        f"{vi} / {en}",
        "Tổng số lượt đánh giá / Ratings",
        *LEVEL_HEADERS,
        "Tỷ lệ hài lòng / Satisfaction rate",
        "Chỉ tiêu / Target",
        "Kết quả / Result",
    ]


def verdict(meets: bool | None) -> str:
    if meets is None:
        return "Chưa có đánh giá / No ratings"
    return "Đạt / Met" if meets else "Không đạt / Not met"


def _dmy(iso: str) -> str:
    d = date.fromisoformat(iso)
    return f"{d.day:02d}/{d.month:02d}/{d.year}"


def official_xlsx_bytes(report: dict[str, Any], *, made_on: date) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, Side

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "Danh gia hai long"
    center = Alignment(horizontal="center", vertical="center", wrap_text=True)
    bold = Font(bold=True)

    def line(row: int, first: str, last: str, value: Any, font: Font | None = None) -> None:
        ws[f"{first}{row}"] = value
        ws.merge_cells(f"{first}{row}:{last}{row}")
        ws[f"{first}{row}"].alignment = center
        if font is not None:
            ws[f"{first}{row}"].font = font

    line(1, "A", "D", str(report["unit"]).upper(), bold)
    line(1, "F", "I", NATION, bold)
    line(2, "A", "D", report.get("unit_en") or "", Font(italic=True))
    line(2, "F", "I", MOTTO, Font(bold=True, underline="single"))
    line(4, "A", "I", TITLE, Font(bold=True, size=13))
    line(5, "A", "I", TITLE_EN, Font(italic=True))
    line(
        6,
        "A",
        "I",
        f"Kỳ báo cáo / Period: từ ngày {_dmy(report['from'])} đến ngày {_dmy(report['to'])}",
    )
    vi, en = GROUP_WORDS[report["by"]]
    line(
        7,
        "A",
        "I",
        f"Theo / By: {vi} / {en} — Chỉ tiêu hài lòng / Target: {report['target']:.0%}",
    )

    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    ws.append([])  # row 8 stays empty
    ws.append(headers(report["by"]))
    body: list[list[Any]] = []
    for i, g in enumerate(report["groups"], start=1):
        body.append(_row(i, str(g["label"]), g))
    body.append(_row(None, "Tổng cộng / Total", report["total"]))
    for values in body:
        ws.append(values)
        _as_text(ws[ws.max_row])
    last_table_row = ws.max_row
    for row in ws.iter_rows(min_row=HEADER_ROW, max_row=last_table_row, max_col=9):
        for cell in row:
            cell.border = box
            if cell.row == HEADER_ROW or cell.row == last_table_row:
                cell.font = bold
            if cell.row == HEADER_ROW:
                cell.alignment = center
        row[6].number_format = "0.00%"
        row[7].number_format = "0%"

    sign = last_table_row + 2
    line(sign, "F", "I", f"Ngày {made_on.day:02d} tháng {made_on.month:02d} năm {made_on.year}")
    ws[f"F{sign}"].font = Font(italic=True)
    line(sign + 1, "A", "C", "Người lập biểu", bold)
    line(sign + 1, "F", "I", "Thủ trưởng đơn vị", bold)
    line(sign + 2, "A", "C", "(Ký, ghi rõ họ tên)", Font(italic=True))
    line(sign + 2, "F", "I", "(Ký tên, đóng dấu)", Font(italic=True))
    for letter, width in zip("ABCDEFGHI", (7, 34, 16, 16, 14, 16, 16, 12, 18), strict=True):
        ws.column_dimensions[letter].width = width
    ws.row_dimensions[HEADER_ROW].height = 45
    ws.print_options.horizontalCentered = True
    ws.page_setup.orientation = "landscape"
    ws.page_setup.fitToWidth = 1
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _row(no: int | None, label: str, g: dict[str, Any]) -> list[Any]:
    return [
        no,
        label,
        g["rated"],
        g["very_satisfied"],
        g["satisfied"],
        g["dissatisfied"],
        g["rate"],
        g["target"],
        verdict(g["meets_target"]),
    ]
