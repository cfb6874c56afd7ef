"""``layso-agent``: the print agent of a kiosk PC, and printer tools for the technician.

    layso-agent run --server URL --token T --printer URI   run the print agent (until stopped)
    layso-agent test URI        print the sample ticket; say the printer's state before and after
    layso-agent status URI      ask the printer at URI its state (exit 0 when ok)
    layso-agent sample OUTDIR   draw the sample ticket for 80 and 58 mm paper as PNG files

``python -m layso_agent`` is the same. The server's ``layso printer test [URI]`` and ``layso
print-agent`` call :func:`printer_test` and :func:`layso_agent.agent.run_agent`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from layso_agent.delivery import deliver
from layso_agent.driver import parse_printer_uri
from layso_agent.render import WIDTH_58MM, WIDTH_80MM, render_ticket_image
from layso_agent.status import query_status
from layso_agent.ticket import sample_ticket

SAMPLES = {"ticket-80mm.png": WIDTH_80MM, "ticket-58mm.png": WIDTH_58MM}

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


def printer_test(uri: str, *, preview_dir: str | os.PathLike[str] | None = None) -> int:
    """Print the sample ticket on ``uri``: 0 if printed, 1 if not, 2 for a bad URI.

    Prints the printer's state before and after, and on failure a plain reason. ``preview_dir``
    is where a bare ``preview:`` files the ticket.
    """
    try:
        config = parse_printer_uri(uri, preview_dir=preview_dir)
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


def write_samples(out_dir: Path) -> list[Path]:
    """Render the sample ticket for each paper width into ``out_dir``; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, width in SAMPLES.items():
        path = out_dir / name
        render_ticket_image(sample_ticket(), width).save(path)
        written.append(path)
    return written


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="layso-agent", description="Layso print agent and printer tools for a kiosk PC"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="run the print agent of a kiosk (until stopped)")
    run.add_argument("--server", required=True, help="the Layso server, e.g. http://10.0.0.2:5000")
    run.add_argument("--token", required=True, help="the print-agent device's token")
    run.add_argument("--printer", required=True, help="the printer URI, e.g. file:///dev/usb/lp0")
    test = commands.add_parser("test", help="print the sample ticket")
    test.add_argument("uri")
    status = commands.add_parser("status", help="ask a printer its state")
    status.add_argument("uri")
    sample = commands.add_parser("sample", help="draw the sample ticket as PNG files")
    sample.add_argument("out_dir", type=Path)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sample":
        for path in write_samples(args.out_dir):
            print(path)
        return 0
    if args.command == "test":
        return printer_test(args.uri, preview_dir=Path.cwd() / "tickets")
    if args.command == "run":
        from layso_agent.agent import run_agent

        logging.basicConfig(
            level=os.environ.get("LAYSO_LOG_LEVEL", "INFO").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
        return run_agent(server=args.server, token=args.token, printer_uri=args.printer)
    try:
        config = parse_printer_uri(args.uri)
    except ValueError as exc:
        parser.error(str(exc))
    state = query_status(config)
    print(state)
    return 0 if state == "ok" else 1
