"""The systemd units and the nginx configuration are valid and hardened as promised."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "systemd").glob("*.service"))
SYSTEM_UNITS = [u for u in UNITS if u.name != "layso-kiosk-browser.service"]


def load(unit: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(unit)
    return cp


def localize(unit: Path, tmp: Path) -> Path:
    """Point the unit at this checkout's venv so `systemd-analyze verify` can check commands."""
    text = unit.read_text().replace(
        "/opt/layso/.venv/bin/layso", str(Path(sys.executable).parent / "layso")
    )
    text = text.replace("%h", str(tmp))
    chromium = shutil.which("chromium") or "/bin/true"
    text = text.replace("/usr/bin/chromium", chromium)
    name = unit.name.replace("@.service", "@5001.service")
    target = tmp / name
    target.write_text(text)
    return target


def test_the_four_units_exist() -> None:
    assert {u.name for u in UNITS} == {
        "layso-web.service",
        "layso-web@.service",
        "layso-print-agent.service",
        "layso-kiosk-browser.service",
    }


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_units_pass_systemd_analyze_verify(unit: Path, tmp_path: Path, needs: Any) -> None:
    needs(shutil.which("systemd-analyze") is not None, "systemd-analyze is not installed")
    local = localize(unit, tmp_path)

    out = subprocess.run(
        ["systemd-analyze", "verify", str(local)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert out.returncode == 0, out.stderr
    assert "ignoring" not in out.stderr, out.stderr


@pytest.mark.parametrize("unit", SYSTEM_UNITS, ids=lambda u: u.name)
def test_server_units_are_hardened_and_restart(unit: Path) -> None:
    service = load(unit)["Service"]

    assert service["Restart"] == "always"
    assert service["User"] == "layso"
    assert service["NoNewPrivileges"] == "true"
    assert service["ProtectSystem"] == "strict"
    assert service["PrivateTmp"] == "true"
    assert "ReadWritePaths" in service
    assert service["EnvironmentFile"].startswith("/etc/layso/")


def test_env_example_lists_every_variable_the_settings_read() -> None:
    source = (ROOT / "layso" / "config.py").read_text() + (
        ROOT / "layso" / "__main__.py"
    ).read_text()
    import re

    read = set(re.findall(r'"(LAYSO_[A-Z_]+)"', source))
    example = (ROOT / "systemd" / "layso.env.example").read_text()

    assert read and all(var in example for var in read), read - set(
        re.findall(r"LAYSO_[A-Z_]+", example)
    )


def test_nginx_configuration_is_valid(tmp_path: Path, needs: Any) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    needs(nginx is not None, "nginx is not installed (apt-get install nginx-light)")
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        "pid {}/nginx.pid;\nerror_log stderr;\nevents {{}}\nhttp {{\n"
        "access_log off;\nclient_body_temp_path {};\n{}\n}}\n".format(
            tmp_path,
            tmp_path,
            (ROOT / "deploy" / "nginx-layso.conf")
            .read_text()
            .replace("listen 80;", "listen 127.0.0.1:18080;"),
        )
    )

    out = subprocess.run(
        [str(nginx), "-t", "-c", str(conf), "-p", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert out.returncode == 0, out.stderr
