"""The print agent library stands alone: no server module is ever imported, and ``pip install
./agent`` in a fresh virtual environment gives a working ``layso-agent`` on a kiosk PC."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
AGENT = ROOT / "agent"
#: What a kiosk PC must not need: the server's web stack, database, green threads, reports.
FORBIDDEN = (
    "flask",
    "flask_socketio",
    "werkzeug",
    "sqlalchemy",
    "alembic",
    "eventlet",
    "gevent",
    "pg8000",
    "redis",
    "openpyxl",
    "limits",
    "layso",
    "kiosk",
    "display",
    "counter",
    "printer",
    "manager",
)
ESC_INIT = b"\x1b@"  # ESC @: reset the printer
GS_RASTER = b"\x1dv0"  # GS v 0: a raster image (the ticket)
GS_CUT = b"\x1dV"  # GS V: cut


def test_no_layso_agent_module_imports_the_server() -> None:
    """Every module of the library imports on a Python where the server's packages are absent.

    They are installed here (the server's venv), and python-socketio probes for redis (its
    message queue) whenever it is importable: so the subprocess hides every forbidden package,
    the way a kiosk PC lacks them, and any import of one by the library fails the test."""
    script = f"""
import importlib, importlib.abc, json, pkgutil, sys
forbidden = {FORBIDDEN!r}
tried = []

class Absent(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in forbidden:
            tried.append(name)
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None

sys.meta_path.insert(0, Absent())
import layso_agent
names = sorted(m.name for m in pkgutil.walk_packages(layso_agent.__path__, "layso_agent."))
for name in names:
    importlib.import_module(name)
loaded = sorted(m for m in sys.modules if m.split(".")[0] in forbidden)
print(json.dumps({{"modules": names, "forbidden": loaded, "tried": tried}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT / "tests",  # not the repository's top: no package of the server on the path
    )
    assert out.returncode == 0, out.stderr  # a module needed a hidden package
    found = json.loads(out.stdout)
    assert {"layso_agent.agent", "layso_agent.cli", "layso_agent.pool"} <= set(found["modules"])
    assert found["forbidden"] == []
    # only python-socketio's optional message queues may look for one, and do without it
    assert {name.split(".")[0] for name in found["tried"]} <= {"redis"}


@pytest.mark.slow
def test_pip_install_agent_alone_prints_a_ticket(tmp_path: Path, fake_printer) -> None:
    """A kiosk PC's installation: the library and its few dependencies from the registry."""
    source = tmp_path / "agent"  # a copy: building must not leave files in the repository
    shutil.copytree(AGENT, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, clear=True).create(env_dir)
    python, tool = env_dir / "bin" / "python", env_dir / "bin" / "layso-agent"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", source],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    probe = f"import importlib.util as u; print([m for m in {FORBIDDEN!r} if u.find_spec(m)])"
    installed = subprocess.run(
        [python, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=60, check=True,
    )  # fmt: skip
    assert installed.stdout.strip() == "[]", "the agent pulled in server packages"

    helped = subprocess.run(
        [tool, "--help"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0, helped.stderr
    assert "run" in helped.stdout and "test" in helped.stdout

    printer = fake_printer()
    printed = subprocess.run(
        [tool, "test", printer.uri], env=env, cwd=tmp_path, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert printed.returncode == 0, printed.stdout + printed.stderr
    assert "Sample ticket printed" in printed.stdout
    [data] = printer.wait_for_tickets(1)
    assert data.startswith(ESC_INIT)
    assert GS_RASTER in data and GS_CUT in data
