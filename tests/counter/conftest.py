"""Helpers for the counter tests: tickets, counter states and a signed-in browser session."""

from __future__ import annotations

import re
from typing import Any

import pytest


class Desk:
    """Drive the demo hall through the API: issue tickets, act at counters, read the log."""

    def __init__(self, api: Any, tokens: Any) -> None:
        self.api = api
        self.tokens = tokens

    def issue(self, service: str = "TP", priority: str | None = None) -> dict[str, Any]:
        status, body = self.api.post(
            "tickets", self.tokens("kiosk"), {"service": service, "priority": priority}
        )
        assert status == 201, body
        return body["ticket"]  # type: ignore[no-any-return]

    def act(
        self, counter: int, action: str, body: Any = None, who: str | None = None
    ) -> tuple[int, Any]:
        return self.api.post(  # type: ignore[no-any-return]
            f"counters/{counter}/{action}", self.tokens(who or f"clerk{counter}"), body or {}
        )

    def ok(self, counter: int, action: str, body: Any = None) -> Any:
        status, out = self.act(counter, action, body)
        assert status == 200, out
        return out

    def counter(self, number: int) -> dict[str, Any]:
        status, body = self.api.get(f"counters/{number}", self.tokens("manager"))
        assert status == 200, body
        return body["counter"]  # type: ignore[no-any-return]

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        status, body = self.api.get(f"tickets/{ticket_id}", self.tokens("manager"))
        assert status == 200, body
        return body["ticket"]  # type: ignore[no-any-return]

    def seq(self) -> int:
        status, body = self.api.get("events?after=0", self.tokens("manager"))
        assert status == 200, body
        return int(body["seq"])

    def events(self, who: str = "manager", after: int = 0) -> list[dict[str, Any]]:
        status, body = self.api.get(f"events?after={after}", self.tokens(who))
        assert status == 200, body
        return body["events"]  # type: ignore[no-any-return]

    def serve(self, counter: int = 1, service: str = "TP") -> dict[str, Any]:
        """Issue a ticket, call it at the counter, serve and finish it."""
        self.issue(service)
        ticket = self.ok(counter, "next")["ticket"]
        self.ok(counter, "start")
        self.ok(counter, "finish")
        return ticket  # type: ignore[no-any-return]

    def rate(self, ticket_id: int, score: Any, who: str = "pad1", **extra: Any) -> tuple[int, Any]:
        return self.api.post(  # type: ignore[no-any-return]
            f"tickets/{ticket_id}/rating", self.tokens(who), {"score": score, **extra}
        )


@pytest.fixture
def desk(api: Any, tokens: Any) -> Desk:
    return Desk(api, tokens)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert m, "the page has no csrf meta"
    return m.group(1)


@pytest.fixture
def signed_in(client: Any, demo: Any) -> Any:
    """sign_in('clerk1') → the CSRF token of the signed-in session on the test client."""

    def sign_in(username: str) -> str:
        page = client.get("/login")
        token = csrf_of(page.get_data(as_text=True))
        r = client.post(
            "/login",
            data={
                "username": username,
                "password": f"demo-{username}",
                "csrf_token": token,
                "next": "/counter",
            },
        )
        assert r.status_code == 302, r.get_data(as_text=True)[:500]
        return csrf_of(client.get("/counter").get_data(as_text=True))

    return sign_in


class LiveApi:
    """The same driving as Desk, against the real server over HTTP."""

    def __init__(self, url: str, demo: dict[str, Any]) -> None:
        import requests

        self.url = url
        self.demo = demo
        self.http = requests.Session()

    def token(self, who: str) -> str:
        if who.startswith("clerk"):
            return str(self.demo["counters"][int(who[5:]) - 1]["token"])
        if who.startswith("pad"):
            return str(self.demo["counters"][int(who[3:]) - 1]["rating_pad"])
        if who == "manager":
            return str(self.demo["manager"]["token"])
        return str(self.demo["devices"][who])

    def call(self, method: str, path: str, who: str, body: Any = None) -> tuple[int, Any]:
        r = self.http.request(
            method,
            f"{self.url}/api/v1/halls/demo/{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token(who)}"},
            timeout=10,
        )
        return r.status_code, r.json()

    def issue(self, service: str = "TP", priority: str | None = None) -> dict[str, Any]:
        status, body = self.call(
            "POST", "tickets", "kiosk", {"service": service, "priority": priority}
        )
        assert status == 201, body
        return body["ticket"]  # type: ignore[no-any-return]

    def act(self, counter: int, action: str, body: Any = None) -> Any:
        status, out = self.call(
            "POST", f"counters/{counter}/{action}", f"clerk{counter}", body or {}
        )
        assert status == 200, out
        return out

    def counter(self, number: int) -> dict[str, Any]:
        return self.call("GET", f"counters/{number}", "manager")[1]["counter"]  # type: ignore[no-any-return]

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return self.call("GET", f"tickets/{ticket_id}", "manager")[1]["ticket"]  # type: ignore[no-any-return]

    def events(self, name: str | None = None, who: str = "manager") -> list[dict[str, Any]]:
        body = self.call("GET", "events?after=0", who)[1]
        return [e for e in body["events"] if name is None or e["name"] == name]

    def has_reprint(self) -> bool:
        doc = self.http.get(f"{self.url}/api/openapi.json", timeout=10).json()
        return "post" in doc["paths"].get("/halls/{hall}/tickets/{id}/reprint", {})


@pytest.fixture
def live_api(live: Any) -> LiveApi:
    server, demo = live
    return LiveApi(server.url, demo)
