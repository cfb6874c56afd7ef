"""Helpers for the display and hub tests: a recording hub client, a JSON client of a live server."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import socketio

WAIT_S = 15  # upper bound while awaiting an event; never reached when things work
ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture(scope="session")
def rootconf(request: pytest.FixtureRequest) -> Any:
    """The root tests/conftest.py module, as pytest loaded it.

    `from conftest import ...` is not reliable: pytest drops the name "conftest" from
    sys.modules each time it imports another directory's conftest.py.
    """
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


@pytest.fixture
def need(rootconf: Any) -> Callable[[bool, str], None]:
    """need(ok, reason): skip with a visible reason (a failure under LAYSO_TEST_STRICT=1)."""
    return rootconf.need  # type: ignore[no-any-return]


class HubClient:
    """A python-socketio client of /hall that records every event it receives, in order."""

    def __init__(
        self,
        url: str,
        token: str | None,
        hall: str | None = "demo",
        after: int | None = None,
        *,
        auth: Any = ...,
    ) -> None:
        self.url = url
        self.token = token
        self.hall = hall
        self.after = after
        self.custom_auth = auth
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._record, namespace="/hall")

    def _record(self, name: str, body: Any = None) -> None:
        with self.changed:
            self.events.append((name, body))
            self.changed.notify_all()

    def auth(self) -> Any:
        if self.custom_auth is not ...:
            return self.custom_auth
        out: dict[str, Any] = {"token": self.token, "after": self.after}
        if self.hall is not None:
            out["hall"] = self.hall
        return out

    def connect(self) -> HubClient:
        self.client.connect(
            self.url,
            namespaces=["/hall"],
            transports=["websocket"],
            auth=self.auth(),
            wait_timeout=10,
        )
        return self

    def disconnect(self) -> None:
        if self.client.connected:
            self.client.disconnect()

    @property
    def last_seq(self) -> int | None:
        seqs = [b["seq"] for _, b in self.events if isinstance(b, dict) and "seq" in b]
        return max(seqs) if seqs else None

    def mark(self) -> int:
        with self.changed:
            return len(self.events)

    def wait_for(
        self, name: str, where: Callable[[dict[str, Any]], bool] = lambda b: True, since: int = 0
    ) -> dict[str, Any]:
        """The first event `name` (after index `since`) whose body satisfies `where`."""

        def found() -> dict[str, Any] | None:
            for n, body in self.events[since:]:
                if n == name and where(body):
                    return body
            return None

        with self.changed:
            ok = self.changed.wait_for(lambda: found() is not None, WAIT_S)
            assert ok, f"no {name} within {WAIT_S}s; got {[n for n, _ in self.events[-10:]]}"
            body = found()
            assert body is not None
            return body

    def wait_count(self, count: int, since: int = 0) -> list[tuple[str, dict[str, Any]]]:
        with self.changed:
            ok = self.changed.wait_for(lambda: len(self.events) - since >= count, WAIT_S)
            assert ok, f"expected {count} events, got {self.events[since:]}"
            return list(self.events[since:])


@pytest.fixture
def hub_client() -> Iterator[Callable[..., HubClient]]:
    """hub_client(url, token, hall="demo", after=None) → a HubClient, closed after the test."""
    made: list[HubClient] = []

    def make(*args: Any, **kw: Any) -> HubClient:
        c = HubClient(*args, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        c.disconnect()


class LiveApi:
    """JSON calls to a live server: api.post("counters/1/next", token) → (status, body)."""

    def __init__(self, url: str, hall: str = "demo") -> None:
        self.base = url
        self.hall = hall
        self.http = requests.Session()

    def url(self, path: str) -> str:
        return (
            f"{self.base}{path}"
            if path.startswith("/")
            else (f"{self.base}/api/v1/halls/{self.hall}/{path}")
        )

    def get(self, path: str, token: str | None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.http.get(self.url(path), headers=headers, timeout=30)
        return r.status_code, r.json() if r.headers.get("content-type", "").startswith(
            "application/json"
        ) else r.content

    def post(self, path: str, token: str, body: Any = None) -> tuple[int, Any]:
        r = self.http.post(
            self.url(path), json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        return r.status_code, r.json()

    def issue(self, token: str, service: str = "TP") -> dict[str, Any]:
        status, body = self.post("tickets", token, {"service": service})
        assert status == 201, body
        return body["ticket"]  # type: ignore[no-any-return]


@pytest.fixture
def live_api() -> Callable[[str], LiveApi]:
    return LiveApi
