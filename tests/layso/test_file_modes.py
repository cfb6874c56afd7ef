"""The database, its WAL companions, the secret and backups are readable by their owner only."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from layso.config import Settings
from layso.db import Database, upgrade
from tests.conftest import layso_cli, server_env


@pytest.fixture(autouse=True)
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the common default: files come out 0644 unless we say otherwise
    yield
    os.umask(old)


def _others(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode) & 0o077


def test_sqlite_file_and_companions_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "layso.sqlite3"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db)
        for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            assert p.exists(), p
            assert _others(p) == 0, f"{p.name} is {oct(stat.S_IMODE(p.stat().st_mode))}"
    finally:
        db.dispose()


def test_an_existing_world_readable_database_is_made_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    db = Database(f"sqlite:///{path}")
    db.dispose()
    assert _others(path) == 0


def test_the_generated_secret_is_owner_only(tmp_path: Path) -> None:
    Settings(instance_path=tmp_path / "inst").resolved()
    secret = tmp_path / "inst" / "secret_key"
    assert secret.read_text().strip()
    assert _others(secret) == 0


def test_a_backup_is_owner_only(tmp_path: Path) -> None:
    env = server_env(tmp_path / "instance")
    layso_cli(env, "seed-demo")
    target = tmp_path / "backup" / "copy.sqlite3"
    layso_cli(env, "backup", str(target))
    assert target.stat().st_size > 0
    assert _others(target) == 0
