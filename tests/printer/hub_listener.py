"""A Socket.IO client for tests: joins a hall's hub and lets a test await events."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import socketio

WAIT_S = 30  # upper bound while awaiting an event; never reached when things work


class HubListener:
    """Connects to ``/hall`` with a token and records every event it receives."""

    def __init__(self, url: str, token: str, hall: str = "demo") -> None:
        self.events: list[tuple[str, Any]] = []
        self._cond = threading.Condition()
        self.sio = socketio.Client(reconnection=True, reconnection_delay=0.2)

        @self.sio.on("*", namespace="/hall")
        def record(name: str, body: Any = None) -> None:
            with self._cond:
                self.events.append((name, body))
                self._cond.notify_all()

        self.sio.connect(
            url, auth={"token": token, "hall": hall}, namespaces=["/hall"], wait_timeout=10
        )

    def named(self, name: str) -> list[Any]:
        with self._cond:
            return [body for n, body in self.events if n == name]

    def wait_for(
        self, name: str, where: Callable[[Any], bool] = lambda body: True, timeout: float = WAIT_S
    ) -> Any:
        """The first ``name`` event whose body satisfies ``where`` (waiting for it)."""

        def found() -> Any:
            return next((b for n, b in self.events if n == name and where(b)), None)

        with self._cond:
            if not self._cond.wait_for(lambda: found() is not None, timeout=timeout):
                seen = [n for n, _ in self.events]
                raise AssertionError(f"no {name} event matching within {timeout} s; saw {seen}")
            return found()

    def close(self) -> None:
        self.sio.disconnect()


@pytest.fixture
def listeners() -> Iterator[Callable[..., HubListener]]:
    """Make hub listeners (url, token); every one made is closed after the test."""
    made: list[HubListener] = []

    def make(url: str, token: str) -> HubListener:
        listener = HubListener(url, token)
        made.append(listener)
        return listener

    yield make
    for listener in made:
        listener.close()
