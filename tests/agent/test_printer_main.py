"""``layso-agent`` (``python -m layso_agent``): sample tickets, test print and status."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from layso_agent.cli import main


def test_sample_writes_80_and_58_mm_tickets(tmp_path: Path, capsys) -> None:
    assert main(["sample", str(tmp_path / "out")]) == 0

    widths = {}
    for name in ("ticket-80mm.png", "ticket-58mm.png"):
        with Image.open(tmp_path / "out" / name) as image:
            widths[name] = image.width
    assert widths == {"ticket-80mm.png": 576, "ticket-58mm.png": 384}
    assert "ticket-58mm.png" in capsys.readouterr().out


def test_test_print_to_preview(tmp_path: Path, capsys) -> None:
    assert main(["test", f"preview:{tmp_path}"]) == 0

    assert len(list(tmp_path.glob("*-1023.png"))) == 1
    assert "Sample ticket printed" in capsys.readouterr().out


def test_test_print_to_a_missing_printer(closed_port: int, capsys) -> None:
    assert main(["test", f"tcp://127.0.0.1:{closed_port}"]) == 1

    assert "connection refused" in capsys.readouterr().err


@pytest.mark.parametrize(("state", "code"), [("ok", 0), ("paper_low", 1)])
def test_status(fake_printer, capsys, state: str, code: int) -> None:
    server = fake_printer(state)

    assert main(["status", server.uri]) == code

    assert capsys.readouterr().out.strip() == state


def test_bad_uri_is_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["status", "lpt://1"])

    assert excinfo.value.code == 2
    assert "unknown printer URI scheme 'lpt'" in capsys.readouterr().err
