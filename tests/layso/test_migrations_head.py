"""The schema's newest migration, as the server checks it at start without alembic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory

from layso.db import HEAD, Database, alembic_config, stored_revision, upgrade


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'h.sqlite3'}")
    yield db
    db.dispose()


def test_head_is_alembics_head(fresh: Database) -> None:
    assert ScriptDirectory.from_config(alembic_config(fresh)).get_current_head() == HEAD


def test_a_new_or_older_database_is_still_upgraded(fresh: Database) -> None:
    assert stored_revision(fresh) is None  # no schema at all
    upgrade(fresh, "0005")
    assert stored_revision(fresh) == "0005"
    upgrade(fresh)  # one behind: alembic runs the last migration
    assert stored_revision(fresh) == HEAD
    columns = {c["name"] for c in sa.inspect(fresh.engine).get_columns("device")}
    assert "health" in columns  # 0006's column
    upgrade(fresh)  # at head: nothing to do, nothing changes
    assert stored_revision(fresh) == HEAD
