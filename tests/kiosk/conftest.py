"""The kiosk's tests run the real server (a subprocess) and Debian's Chromium."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    def kiosk_url(self, **params: Any) -> str:
        query = "&".join(f"{k}={v}" for k, v in {"token": self.token("kiosk"), **params}.items())
        return f"{self.url}/kiosk?{query}"


@pytest.fixture
def kiosk_hall(tmp_path: Path, server_env_factory, demo_seed, servers) -> Callable[..., Hall]:
    """kiosk_hall(printer="none", mode="eventlet") → the real server with the demo hall."""

    def start(printer: str = "none", mode: str = "eventlet") -> Hall:
        instance = tmp_path / "instance"
        env = server_env_factory(instance, LAYSO_ASYNC_MODE=mode, LAYSO_PRINTER=printer)
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
