"""`layso printer test [URI]`: the technician's first print."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import zxingcpp
from escpos_decode import decode

from layso_agent.ticket import sample_ticket

ROOT = Path(__file__).resolve().parents[2]


def layso(tmp_path: Path, *args: str, printer: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYSO_")}
    env["LAYSO_INSTANCE"] = str(tmp_path / "instance")
    if printer is not None:
        env["LAYSO_PRINTER"] = printer
    return subprocess.run(
        [sys.executable, "-m", "layso", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_printer_test_prints_the_sample_ticket(tmp_path: Path, fake_printer) -> None:
    printer = fake_printer()

    out = layso(tmp_path, "printer", "test", f"{printer.uri}?width=384")

    [data] = printer.wait_for_tickets(1)
    image = decode(data).stacked_image()
    assert out.returncode == 0, out.stderr
    assert "Sample ticket printed" in out.stdout and "sẵn sàng / ready" in out.stdout
    assert image.width == 384
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [
        sample_ticket().status_url
    ]


def test_printer_test_uses_layso_printer_by_default(tmp_path: Path) -> None:
    out = layso(tmp_path, "printer", "test", printer=f"preview:{tmp_path / 'previews'}")

    assert out.returncode == 0, out.stderr
    assert len(list((tmp_path / "previews").glob("*.png"))) == 1
    assert str(tmp_path / "previews") in out.stdout


def test_printer_test_says_plainly_why_nothing_printed(tmp_path: Path, closed_port) -> None:
    out = layso(tmp_path, "printer", "test", f"tcp://127.0.0.1:{closed_port}")

    assert out.returncode == 1
    assert "Not printed: connection refused" in out.stderr
    assert "unreachable or not answering" in out.stderr


def test_printer_test_with_a_printer_out_of_paper(tmp_path: Path, fake_printer) -> None:
    printer = fake_printer("paper_out")

    out = layso(tmp_path, "printer", "test", printer.uri)

    assert out.returncode == 1
    assert "out of paper" in out.stderr
    assert printer.tickets() == []


def test_printer_test_rejects_a_bad_uri(tmp_path: Path) -> None:
    out = layso(tmp_path, "printer", "test", "lpt1")

    assert out.returncode == 2
    assert "Bad printer URI" in out.stderr
