"""The kiosk's tests run the real server (a subprocess) and Debian's Chromium."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests


@dataclass
class Hall:
    """A running server with the demo hall, and ways to poke at it from the test."""

    server: Any
    demo: dict[str, Any]
    instance: Path
    start_again: Callable[[], Any]

    @property
    def url(self) -> str:
        return str(self.server.url)

    def token(self, who: str) -> str:
        if who.startswith("clerk"):
            return str(self.demo["counters"][int(who[5:]) - 1]["token"])
        if who == "manager":
            return str(self.demo["manager"]["token"])
        return str(self.demo["devices"][who])

    def api(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        r = requests.request(
            method,
            f"{self.url}/api/v1/halls/demo/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token(who)}"},
            timeout=10,
        )
        return r.status_code, r.json() if r.content else None

    def sql(self, statement: str, *args: Any) -> list[Any]:
        """Run SQL on the server's SQLite file (set up what no endpoint sets)."""
        with sqlite3.connect(self.instance / "layso.sqlite3", timeout=30) as conn:
            return conn.execute(statement, args).fetchall()

    def set_morning(self, hour: int = 10) -> ZoneInfo:
        """Give the hall a time zone where it is now `hour`:xx, whatever the real hour: days,
        slots and check-in windows are the hall's local ones, so a test that books "an hour
        ahead today" holds at any hour (no clock hook in the server). The zone is an
        ``Etc/GMT±N`` one, whose sign is inverted: ``Etc/GMT-3`` is UTC+3."""
        offset = (hour - datetime.now(UTC).hour + 12) % 24 - 12  # -12 … +11 hours from UTC
        name = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
        self.sql("UPDATE hall SET timezone = ?", name)
        return ZoneInfo(name)

    def slots_all_day(self, area: str, slot_min: int = 5, capacity: int = 2) -> None:
        """Let `area` be booked every day, 00:00–23:55, in `slot_min`-minute slots."""
        self.sql(
            "DELETE FROM slot_template WHERE service_id = (SELECT id FROM service WHERE code=?)",
            area,
        )
        self.sql(
            'INSERT INTO slot_template (hall_id, service_id, weekdays, start, "end", slot_min,'
            " capacity, active) SELECT hall_id, id, '[0,1,2,3,4,5,6]', '00:00', '23:55', ?, ?, 1"
            " FROM service WHERE code=?",
            slot_min,
            capacity,
            area,
        )

    def kiosk_url(self, **params: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": self.token("kiosk"), **params}.items())
        return f"{self.url}/kiosk?{query}"


@pytest.fixture
def kiosk_hall(tmp_path: Path, server_env_factory, demo_seed, servers) -> Callable[..., Hall]:
    """kiosk_hall(printer="none", mode="eventlet", **LAYSO_vars) → the real server with the
    demo hall (the extra variables go to the server's environment)."""

    def start(printer: str = "none", mode: str = "eventlet", **extra: str) -> Hall:
        instance = tmp_path / "instance"
        env = server_env_factory(instance, LAYSO_ASYNC_MODE=mode, LAYSO_PRINTER=printer, **extra)
        demo = demo_seed(env)
        log = tmp_path / "server.log"
        hall = Hall(servers(env, log), demo, instance, lambda: None)

        def start_again() -> Any:
            """Start the stopped server again on its port (the same database)."""
            hall.server = servers(env, log, hall.server.port)
            return hall.server

        hall.start_again = start_again
        return hall

    return start
