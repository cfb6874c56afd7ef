"""``layso printer test [URI]``: print the sample ticket, for the technician at the printer."""

from __future__ import annotations

import sys
from typing import Any

from printer.delivery import deliver
from printer.driver import parse_printer_uri, query_status
from printer.ticket import sample_ticket

#: What each printer state means, for the person standing at the printer.
STATE_TEXT = {
    "ok": ("sẵn sàng", "ready"),
    "paper_low": ("sắp hết giấy", "paper low"),
    "paper_out": ("hết giấy", "out of paper"),
    "offline": ("không kết nối được hoặc không trả lời", "unreachable or not answering"),
    "error": ("lỗi", "error"),
    "unknown": (
        "không trả lời yêu cầu trạng thái (vẫn có thể in)",
        "does not answer status requests (may still print)",
    ),
}


def describe_state(state: str) -> str:
    vi, en = STATE_TEXT.get(state, (state, state))
    return f"{vi} / {en}"


def printer_test(settings: Any, uri: str | None) -> int:
    """Print ``printer.sample_ticket()`` on ``uri`` (default ``LAYSO_PRINTER``); 0 if printed.

    Prints the printer's state before and after, and on failure a plain reason (exit 1).
    """
    uri = uri or settings.printer
    try:
        config = parse_printer_uri(uri, preview_dir=settings.instance_path / "tickets")
    except ValueError as exc:
        print(f"Địa chỉ máy in sai / Bad printer URI: {exc}", file=sys.stderr)
        return 2
    print(f"Máy in / Printer: {config.uri}")
    if config.kind == "none":
        print(
            "LAYSO_PRINTER=none: không có máy in, không in gì / no printer, nothing to print",
            file=sys.stderr,
        )
        return 1
    print(f"Trạng thái / State: {describe_state(query_status(config))}")
    outcome = deliver(config, sample_ticket())
    if not outcome.ok:
        print(
            f"Không in được / Not printed: {outcome.error} "
            f"(trạng thái / state: {describe_state(outcome.state)})",
            file=sys.stderr,
        )
        return 1
    state = describe_state(outcome.state)
    print(f"Đã in vé mẫu / Sample ticket printed (trạng thái / state: {state})")
    if config.kind == "preview":
        print(f"Xem ảnh vé trong / See the ticket image in: {config.path}")
    return 0
