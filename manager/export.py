"""The wait-time log as a file: CSV and XLSX writing, and formula-injection escaping.

The rows come from `layso.services.reports.row_dict`; this module only lays them out.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

# (key, Vietnamese header, English header, kind); kind: text | int | time | times | bool
EXPORT_COLUMNS: list[tuple[str, str, str, str]] = [
    ("id", "Mã vé", "Ticket id", "int"),
    ("date", "Ngày", "Date", "text"),
    ("display_number", "Số thứ tự", "Number", "text"),
    ("area", "Lĩnh vực", "Area", "text"),
    ("area_name", "Tên lĩnh vực", "Area name", "text"),
    ("served_area", "Lĩnh vực phục vụ", "Served in area", "text"),
    ("priority", "Ưu tiên", "Priority", "text"),
    ("state", "Trạng thái", "State", "text"),
    ("issued_at", "Lấy số lúc", "Issued at", "time"),
    ("first_called_at", "Gọi lần đầu", "First called", "time"),
    ("recalls", "Các lần gọi lại", "Recalls", "times"),
    ("last_called_at", "Gọi lần cuối", "Last called", "time"),
    ("started_at", "Bắt đầu phục vụ", "Started", "time"),
    ("finished_at", "Kết thúc", "Finished", "time"),
    ("no_show_at", "Vắng mặt lúc", "No-show at", "time"),
    ("cancelled_at", "Hủy lúc", "Cancelled at", "time"),
    ("expired_at", "Hết giờ lúc", "Expired at", "time"),
    ("wait_s", "Thời gian chờ (giây)", "Wait (s)", "int"),
    ("walk_s", "Di chuyển tới quầy (giây)", "Walk (s)", "int"),
    ("service_s", "Thời gian phục vụ (giây)", "Service (s)", "int"),
    ("target_wait_s", "Chờ tối đa (giây)", "Target wait (s)", "int"),
    ("late", "Quá hạn chờ", "Late", "bool"),
    ("counter", "Quầy", "Counter", "int"),
    ("clerk", "Cán bộ", "Clerk", "text"),
    ("clerk_name", "Họ tên cán bộ", "Clerk name", "text"),
    ("rating", "Đánh giá", "Rating", "int"),
    ("rating_scale", "Thang điểm", "Scale", "int"),
    ("area_kind", "Loại lĩnh vực", "Area kind", "text"),
    ("dossier_code", "Mã hồ sơ", "Dossier code", "text"),
]


# a day's bookings (layso.services.bookings.public: phone and ID already masked)
BOOKING_COLUMNS: list[tuple[str, str, str, str]] = [
    ("code", "Mã đặt lịch", "Booking code", "text"),
    ("date", "Ngày", "Date", "text"),
    ("service", "Lĩnh vực", "Area", "text"),
    ("service_name", "Tên lĩnh vực", "Area name", "text"),
    ("slot", "Giờ hẹn", "Slot", "text"),
    ("remote_number", "Số từ xa", "Remote number", "bool"),
    ("state", "Trạng thái", "State", "text"),
    ("late", "Đến muộn", "Late", "bool"),
    ("phone", "Điện thoại (ẩn)", "Phone (masked)", "text"),
    ("id_number", "CCCD (ẩn)", "ID number (masked)", "text"),
    ("ticket", "Số thứ tự", "Ticket", "text"),
    ("created_at", "Đặt lúc", "Booked at", "time"),
    ("checked_in_at", "Xác nhận lúc", "Checked in at", "time"),
    ("cancelled_at", "Hủy lúc", "Cancelled at", "time"),
]


def export_headers(columns: list[tuple[str, str, str, str]] | None = None) -> list[str]:
    return [f"{vi} / {en}" for _, vi, en, _ in columns or EXPORT_COLUMNS]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def is_formula_like(value: Any) -> bool:
    """Text a spreadsheet would run as a formula (OWASP CSV injection): = + - @ tab CR first."""
    return isinstance(value, str) and value.startswith(FORMULA_START)


def csv_text(value: str) -> str:
    """A text cell for CSV: formula-like text gets a leading apostrophe, so it stays text."""
    return "'" + value if is_formula_like(value) else value


def csv_bytes(
    rows: list[dict[str, Any]], columns: list[tuple[str, str, str, str]] | None = None
) -> bytes:
    """The log (or other rows: ``columns``) as CSV, UTF-8 with a byte-order mark so that
    Excel reads Vietnamese right."""
    columns = columns or EXPORT_COLUMNS
    import csv
    import io

    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(export_headers(columns))
    for row in rows:
        out = []
        for key, _vi, _en, kind in columns:
            value = row.get(key)
            if kind == "times":
                out.append("; ".join(value or []))
            elif kind == "bool":
                out.append("1" if value else "0")
            elif isinstance(value, str):
                out.append(csv_text(value))
            else:
                out.append("" if value is None else str(value))
        writer.writerow(out)
    return buf.getvalue().encode("utf-8-sig")


def _as_text(cells: Any) -> None:
    """Formula-like text stays text in XLSX: a string cell with Excel's quote prefix."""
    for cell in cells:
        if is_formula_like(cell.value) or cell.data_type == "f":
            cell.data_type = "s"
            cell.quotePrefix = True


def xlsx_bytes(
    rows: list[dict[str, Any]],
    *,
    title: str,
    timezone: str,
    columns: list[tuple[str, str, str, str]] | None = None,
    sheet: str = "Nhat ky cho",
) -> bytes:
    """The log (or other rows: ``columns``) as an Excel workbook: times as local date-times,
    durations as numbers."""
    columns = columns or EXPORT_COLUMNS
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = sheet
    ws.append(export_headers(columns))
    for cell in ws[1]:
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = PatternFill("solid", fgColor="0B4F9C")
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for row in rows:
        out: list[Any] = []
        for key, _vi, _en, kind in columns:
            value = row.get(key)
            if kind == "time":
                out.append(datetime.fromisoformat(value).replace(tzinfo=None) if value else None)
            elif kind == "times":
                out.append("; ".join(value or []) or None)
            elif kind == "bool":
                out.append(bool(value))
            else:
                out.append(value)
        ws.append(out)
        _as_text(ws[ws.max_row])
    for i, (_key, vi, _en, kind) in enumerate(columns, start=1):
        letter = get_column_letter(i)
        width = 20 if kind in ("time", "times") else max(10, min(28, len(vi) + 2))
        ws.column_dimensions[letter].width = width
        if kind == "time":
            for cell in ws[letter][1:]:
                cell.number_format = "yyyy-mm-dd hh:mm:ss"
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = ws.dimensions
    info = wb.create_sheet("Thong tin")
    info.append(["Báo cáo / Report", title])
    info.append(["Múi giờ / Time zone", timezone])
    info.append(["Định nghĩa / Definitions", "Xem tài liệu API / see the API description"])
    for info_row in info.iter_rows():
        _as_text(info_row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
