"""The import arrows of ARCHITECTURE.md: roles → core only, the core → no role, the print-agent
library → neither (it is installed alone on kiosk PCs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROLES = ("kiosk", "display", "counter", "printer", "manager")
CORE = "layso"
AGENT = "layso_agent"


def _imports(package_dir: Path) -> dict[str, set[str]]:
    """Module path → the top-level packages it imports (anywhere in it, lazily or not)."""
    out: dict[str, set[str]] = {}
    for path in sorted(package_dir.rglob("*.py")):
        tops: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                tops.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                tops.add(node.module.split(".")[0])
        out[str(path.relative_to(ROOT))] = tops
    return out


@pytest.mark.parametrize("role", ROLES)
def test_a_role_imports_the_core_and_no_other_role(role: str) -> None:
    found = {
        module: sorted(tops & (set(ROLES) - {role}))
        for module, tops in _imports(ROOT / role).items()
        if tops & (set(ROLES) - {role})
    }
    assert found == {}


def test_the_core_imports_no_role() -> None:
    found = {m: sorted(t & set(ROLES)) for m, t in _imports(ROOT / CORE).items() if t & set(ROLES)}
    assert found == {}


def test_the_agent_library_imports_neither_the_core_nor_a_role() -> None:
    banned = {CORE, *ROLES, "flask", "flask_socketio", "sqlalchemy", "eventlet", "gevent"}
    found = {
        m: sorted(t & banned) for m, t in _imports(ROOT / "agent" / AGENT).items() if t & banned
    }
    assert found == {}


def test_the_check_sees_the_code() -> None:
    """The walk finds every package and real imports in it (a broken path would pass above)."""
    roles = {role: _imports(ROOT / role) for role in ROLES}
    assert all(modules for modules in roles.values())
    assert all(any(CORE in tops for tops in m.values()) for m in roles.values())
    assert any("escpos" in tops for tops in _imports(ROOT / "agent" / AGENT).values())
