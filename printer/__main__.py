"""Printer tools for technicians, without the server.

python -m printer sample OUTDIR     draw the sample ticket for 80 and 58 mm paper as PNG
python -m printer test URI          print the sample ticket on the printer at URI
python -m printer status URI        ask the printer at URI its state
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from printer.driver import PrinterUnavailable, parse_printer_uri, print_ticket, query_status
from printer.render import WIDTH_58MM, WIDTH_80MM, render_ticket_image
from printer.ticket import sample_ticket

SAMPLES = {"ticket-80mm.png": WIDTH_80MM, "ticket-58mm.png": WIDTH_58MM}


def write_samples(out_dir: Path) -> list[Path]:
    """Render the sample ticket for each paper width into ``out_dir``; return the files."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, width in SAMPLES.items():
        path = out_dir / name
        render_ticket_image(sample_ticket(), width).save(path)
        written.append(path)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m printer", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    sample = commands.add_parser("sample", help="draw the sample ticket as PNG files")
    sample.add_argument("out_dir", type=Path)
    test = commands.add_parser("test", help="print the sample ticket")
    test.add_argument("uri")
    status = commands.add_parser("status", help="ask a printer its state")
    status.add_argument("uri")
    args = parser.parse_args(argv)

    if args.command == "sample":
        for path in write_samples(args.out_dir):
            print(path)
        return 0
    try:
        config = parse_printer_uri(args.uri)
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "status":
        state = query_status(config)
        print(state)
        return 0 if state == "ok" else 1
    try:
        print_ticket(config, sample_ticket())
    except PrinterUnavailable as exc:
        print(f"not printed: {exc}", file=sys.stderr)
        return 1
    print("printed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
