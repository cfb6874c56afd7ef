"""CPU time to draw and encode one ticket, as the server does for its preview/network printer.

    .venv/bin/python benchmarks/draw.py [--tickets 300] [--width 576|384] [--mode image|text]

Draws ``--tickets`` realistic tickets (the demo hall, four services, numbers, times, people
ahead and QR addresses that change per ticket) in this process, one after another, and prints
the milliseconds of CPU (``time.process_time``, so other work on the machine does not count)
per ticket, p50 and p99, for each phase:

* ``qr``: building the QR code and drawing its modules (:meth:`_Canvas.qr`);
* ``text``: the rest of the drawing (fonts, measuring, wrapping, text, rules, the 1-bit strip);
* ``encode``: the image to ESC/POS bytes (GS v 0) in python-escpos's ``Dummy``;
* ``png``: the PNG the preview printer files beside the bytes (its own options);
* ``total``: all of the above, i.e. :meth:`PreviewPrinter.print_ticket` minus the disk.

The first ``--warmup`` tickets (the process's first fonts, caches) are drawn but not counted:
the server's drawing process lives for many tickets. Bounded in count; no server, no network.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from escpos.printer import Dummy

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import percentile  # noqa: E402

from layso_agent import driver, render  # noqa: E402
from layso_agent.ticket import TicketView  # noqa: E402

ICT = timezone(timedelta(hours=7), "ICT")
HALL = "UBND xã Tân Phú - Trung tâm Phục vụ hành chính công"
SERVICES = [
    ("TP", "Tư pháp - Hộ tịch", "Justice - Civil status"),
    ("CT", "Chứng thực", "Certification"),
    ("LD", "Lao động - Thương binh và Xã hội", "Labour, invalids and social affairs"),
    ("KD", "Đăng ký kinh doanh", "Business registration"),
]
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# an older layso_agent (to measure before a change) saved its PNGs with Pillow's defaults
PNG_OPTIONS = getattr(driver, "PNG_OPTIONS", {})
PHASES = ("qr", "text", "encode", "png", "total")


def ticket(i: int) -> TicketView:
    code, name, name_en = SERVICES[i % len(SERVICES)]
    number = i // len(SERVICES) + 1
    key = "".join(ALPHABET[(i * 7919 + k * 104729) % len(ALPHABET)] for k in range(8))
    return TicketView(
        hall_name=HALL,
        service_name=name,
        service_name_en=name_en,
        display_number=f"{code}{number:03d}",
        issued_at=datetime(2026, 11, 21, 8, 0, tzinfo=ICT) + timedelta(seconds=17 * i),
        ahead=i % 23,
        estimated_wait_s=None if i % 11 == 0 else (i % 23) * 150,
        status_url=f"http://192.168.1.10:5000/t/{key}",
        priority="Người cao tuổi" if i % 17 == 0 else None,
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=8)
    ap.add_argument("--width", type=int, default=render.WIDTH_80MM)
    ap.add_argument("--mode", default=render.IMAGE_MODE, choices=render.MODES)
    args = ap.parse_args()
    if not 1 <= args.tickets <= 5000:
        ap.error("--tickets 1..5000")

    # time the QR inside the drawing: wrap the canvas's qr method
    qr_ms = [0.0]
    plain_qr = render._Canvas.qr

    def timed_qr(self: render._Canvas, data: str, *, size: int) -> tuple[int, int]:
        t0 = time.process_time()
        try:
            return plain_qr(self, data, size=size)
        finally:
            qr_ms[0] += (time.process_time() - t0) * 1000

    render._Canvas.qr = timed_qr  # type: ignore[method-assign]
    samples: dict[str, list[float]] = {phase: [] for phase in PHASES}
    for i in range(args.warmup + args.tickets):
        view = ticket(i)
        qr_ms[0] = 0.0
        t0 = time.process_time()
        image = render.render_ticket_image(view, args.width)
        t1 = time.process_time()
        dummy = Dummy()
        if args.mode == render.IMAGE_MODE:
            render.write_image_ticket(dummy, image, width_px=args.width)
        else:
            render.write_ticket(dummy, view, mode=args.mode, width_px=args.width)
        assert dummy.output
        t2 = time.process_time()
        image.save(io.BytesIO(), format="PNG", **PNG_OPTIONS)
        t3 = time.process_time()
        if i < args.warmup:
            continue
        draw = (t1 - t0) * 1000
        samples["qr"].append(qr_ms[0])
        samples["text"].append(draw - qr_ms[0])
        samples["encode"].append((t2 - t1) * 1000)
        samples["png"].append((t3 - t2) * 1000)
        samples["total"].append((t3 - t0) * 1000)
    render._Canvas.qr = plain_qr  # type: ignore[method-assign]

    print(
        f"{args.tickets} tickets, {args.width} dots, {args.mode} mode "
        f"(ms of CPU per ticket, after {args.warmup} warm-up tickets)"
    )
    print(f"{'phase':<8}{'p50':>8}{'p99':>8}{'mean':>8}")
    for phase in PHASES:
        values = samples[phase]
        mean = sum(values) / len(values)
        print(f"{phase:<8}{percentile(values, 50):>8.1f}{percentile(values, 99):>8.1f}{mean:>8.1f}")
    total = sum(samples["total"]) / len(samples["total"])
    print(f"one drawing process: ~{1000 / total:.0f} tickets/s of CPU")


if __name__ == "__main__":
    main()
