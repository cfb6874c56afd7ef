"""The server's printing tests use the print agent library's fakes and ESC/POS decoder."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "agent"))

from hub_listener import listeners  # noqa: E402, F401  (fixture)
from printer_fakes import closed_port, fake_device, fake_printer  # noqa: E402, F401  (fixtures)
