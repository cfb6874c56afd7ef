"""The notifier's tests: provider stubs on loopback, hub listeners from the printer tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "printer"))

from hub_listener import listeners  # noqa: E402, F401  (fixture)
from notify_stubs import stubs  # noqa: E402, F401  (fixture)
