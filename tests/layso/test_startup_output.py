"""What `layso demo` prints to a newcomer (issue 13): no deprecation banners, a short page list
with area names; the warnings stay in the log at debug level."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def demo_output(tmp_path: Path, **extra: str) -> str:
    """Run `layso demo` until it serves, then stop it; return what it printed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAYSO_")}
    env.update(LAYSO_INSTANCE=str(tmp_path / "instance"), LAYSO_PRINTER="none", **extra)
    env.pop("PYTHONWARNINGS", None)
    log = tmp_path / "out.txt"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "layso", "demo", "--port", str(free_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while "Layso serving on" not in log.read_text(encoding="utf-8", errors="replace"):
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)  # polling the output of another process: no event to await
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    return log.read_text(encoding="utf-8")


def test_demo_prints_no_banner_and_a_short_readable_page_list(tmp_path: Path) -> None:
    out = demo_output(tmp_path)

    assert "deprecat" not in out.lower() and "Warning" not in out, out
    assert "Tư pháp - Hộ tịch" in out  # areas by name, not code
    assert "Quầy 1: clerk1 / demo-clerk1" in out
    assert "opened counter" not in out  # seeding is not news
    pages = out[out.index("Open these pages") : out.index("Layso serving on")]
    listed = [line for line in pages.splitlines() if "http" in line or "Quầy" in line]
    assert len(listed) == 10 and max(len(line) for line in listed) <= 110, pages
    assert "/dat-lich" in pages  # the booking page, opened on a phone
    assert "/rating?token=" not in out  # the device links are in a file, not on screen
    links = (tmp_path / "instance" / "demo-pages.txt").read_text(encoding="utf-8")
    assert links.count("/rating?token=") == 5 and links.count("/counter-display?token=") == 5


def test_the_banner_is_kept_in_the_log_at_debug_level(tmp_path: Path) -> None:
    out = demo_output(tmp_path, LAYSO_LOG_LEVEL="DEBUG")

    [line] = [x for x in out.splitlines() if "EventletDeprecationWarning" in x]
    assert " DEBUG layso.warnings: " in line and "Eventlet is deprecated" in line
