"""Helpers for the manager tests: drive a hall's day through the HTTP API with a set clock."""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from layso import errors
from layso.db import Database
from layso.models import Ticket, TicketStatus, User
from layso.services import counters as ops
from layso.services.common import get_hall
from layso.services.tickets import cancel_ticket, issue_ticket, rate_ticket

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
ROOT_CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


@pytest.fixture
def need(request: pytest.FixtureRequest) -> Callable[[bool, str], None]:
    """need(ok, reason) from tests/conftest.py: a visible skip, a failure under strict mode."""
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == str(ROOT_CONFTEST):
            return plugin.need  # type: ignore[no-any-return]
    raise AssertionError("tests/conftest.py is not loaded")


class Day:
    """A scripted day: day.at("08:05:00") sets the clock; actions go through the real API."""

    def __init__(self, api: Any, clock: Any, tokens: Callable[[str], str]) -> None:
        self.api, self.clock, self.tokens = api, clock, tokens
        self.date = "2026-11-21"

    def at(self, hhmmss: str) -> None:
        self.clock.set_local(f"{self.date}T{hhmmss}")

    def issue(self, service: str, priority: str | None = None) -> dict[str, Any]:
        status, body = self.api.post(
            "tickets", self.tokens("kiosk"), {"service": service, "priority": priority}
        )
        assert status == 201, body
        return body["ticket"]

    def counter(self, number: int, action: str, body: Any = None) -> dict[str, Any] | None:
        status, out = self.api.post(
            f"counters/{number}/{action}", self.tokens(f"clerk{number}"), body
        )
        assert status == 200, out
        return out.get("ticket")

    def rate(self, ticket_id: int, pad: int, score: int) -> None:
        status, out = self.api.post(
            f"tickets/{ticket_id}/rating", self.tokens(f"pad{pad}"), {"score": score}
        )
        assert status == 201, out

    def cancel(self, ticket_id: int) -> None:
        status, out = self.api.post(f"tickets/{ticket_id}/cancel", self.tokens("manager"))
        assert status == 200, out


@pytest.fixture
def day(api: Any, clock: Any, tokens: Callable[[str], str]) -> Day:
    return Day(api, clock, tokens)


@pytest.fixture
def history() -> Callable[..., None]:
    """history(database, until=date, days=7): write past days through the services."""
    return simulate_history


def local(text: str) -> str:
    """'2026-11-21T08:05:00' → the ISO string the API sends (with the hall's offset)."""
    return datetime.fromisoformat(text).replace(tzinfo=HANOI).isoformat()


def simulate_history(
    database: Database,
    *,
    until: date,
    reopen_at: datetime,
    slug: str = "demo",
    days: int = 7,
    seed: int = 7,
) -> None:
    """Write realistic past days straight through the services (for screenshots and charts).

    Every counter opens at 07:30, serves by the hall's policy until 16:30 and closes; citizens
    arrive more in the morning, a few do not come, most rate their visit. The counters are
    opened again at `reopen_at` (now), as the demo left them.
    """
    rng = random.Random(seed)
    areas = ["TP", "TP", "TP", "CT", "CT", "DD", "LD", "KD", "XD"]
    first = until - timedelta(days=days)
    with database.write() as s:
        hall = get_hall(s, slug, lock=True)
        clerks = {c.number: c.clerk_id for c in hall.counters if c.clerk_id is not None}
        night = datetime(first.year, first.month, first.day, 6, tzinfo=HANOI).astimezone(UTC)
        for number, user_id in clerks.items():
            user = s.get(User, user_id)
            assert user is not None
            ops.close_counter(s, hall, number, user=user, now=night)
    for back in range(days, 0, -1):
        the_day = until - timedelta(days=back)
        if the_day.weekday() == 6:
            continue  # Sunday: the hall is closed
        t = datetime(the_day.year, the_day.month, the_day.day, 7, 30, tzinfo=HANOI).astimezone(UTC)
        end = t + timedelta(hours=9)
        arrivals: list[datetime] = []
        a = t
        while a < end - timedelta(minutes=40):
            hour = a.astimezone(HANOI).hour
            gap = 105 if hour < 11 else (600 if hour < 13 else 210)
            a += timedelta(seconds=rng.expovariate(1 / gap))
            arrivals.append(a)
        busy_until = {n: t for n in clerks}
        now = t
        with database.write() as s:
            hall = get_hall(s, slug, lock=True)
            for number, user_id in clerks.items():
                ops.open_counter(s, hall, number, user=s.get(User, user_id), now=t)  # type: ignore[arg-type]
            areas_of = {c.number: set(c.service_ids) for c in hall.counters}
        # waiting tickets by area: a free counter with none in its areas would call nothing, so
        # a step where no one arrives and no counter can call is skipped (the same data, faster)
        waiting: dict[int, int] = {}
        last_call = end - timedelta(minutes=10)

        while now < end:
            now += timedelta(seconds=30)
            if not (arrivals and arrivals[0] <= now) and not any(
                _may_call(busy_until[n], now, last_call, waiting, areas_of[n]) for n in clerks
            ):
                continue
            with database.write() as s:
                hall = get_hall(s, slug, lock=True)
                while arrivals and arrivals[0] <= now:
                    at = arrivals.pop(0)
                    try:
                        issued = issue_ticket(
                            s,
                            hall,
                            service_code=rng.choice(areas),
                            priority="NCT" if rng.random() < 0.08 else None,
                            now=at,
                        )
                        area = issued.ticket.service_id
                        waiting[area] = waiting.get(area, 0) + 1
                    except errors.NumbersExhausted:
                        pass  # a capped area has no numbers left: the citizen leaves
                for number, user_id in clerks.items():
                    if not _may_call(busy_until[number], now, last_call, waiting, areas_of[number]):
                        continue
                    user = s.get(User, user_id)
                    assert user is not None
                    ticket = ops.call_next(s, hall, number, user=user, now=now)
                    if ticket is None:
                        continue
                    waiting[ticket.service_id] -= 1
                    walk = rng.randint(15, 90)
                    if rng.random() < 0.12:
                        ops.recall(s, hall, number, user=user, now=now + timedelta(seconds=walk))
                        walk += rng.randint(40, 80)
                    if rng.random() < 0.06:
                        gone = now + timedelta(seconds=walk + 60)
                        ops.no_show(s, hall, number, user=user, now=gone)
                        busy_until[number] = gone
                        continue
                    start = now + timedelta(seconds=walk)
                    ops.start(s, hall, number, user=user, now=start)
                    service = rng.randint(120, 600) * (1.3 if number == 3 else 1.0)
                    done = start + timedelta(seconds=service)
                    ops.finish(s, hall, number, user=user, now=done)
                    busy_until[number] = done
                    if rng.random() < 0.85:
                        weights = [45, 30, 18, 7] if number == 4 else [72, 22, 5, 1]
                        rate_ticket(
                            s,
                            hall,
                            ticket,
                            score=rng.choices([4, 3, 2, 1], weights=weights)[0],
                            reasons=[],
                            counter=next(c for c in hall.counters if c.number == number),
                            now=done + timedelta(seconds=8),
                        )
        with database.write() as s:
            hall = get_hall(s, slug, lock=True)
            for ticket in s.scalars(
                sa.select(Ticket).where(
                    Ticket.hall_id == hall.id, Ticket.status == TicketStatus.WAITING
                )
            ):
                cancel_ticket(s, hall, ticket, now=end, user=None)
            for number, user_id in clerks.items():
                user = s.get(User, user_id)
                assert user is not None
                closing = max(end, busy_until[number]) + timedelta(minutes=5)
                ops.close_counter(s, hall, number, user=user, now=closing)
    with database.write() as s:
        hall = get_hall(s, slug, lock=True)
        for number, user_id in clerks.items():
            ops.open_counter(s, hall, number, user=s.get(User, user_id), now=reopen_at)  # type: ignore[arg-type]


def _may_call(
    busy_until: datetime,
    now: datetime,
    last_call: datetime,
    waiting: dict[int, int],
    areas: set[int],
) -> bool:
    """Whether a counter of the simulated day would call someone now (a ticket in its areas)."""
    if busy_until > now or now > last_call:
        return False
    return any(waiting.get(area, 0) > 0 for area in areas)


def csrf_of(client: Any, path: str = "/login") -> str:
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', html)
    assert match, "the page carries a CSRF token"
    return match.group(1)


@pytest.fixture
def sign_in(client: Any) -> Callable[..., str]:
    """sign_in("manager") signs the test client in; returns the session's CSRF token."""

    def run(username: str, password: str | None = None) -> str:
        token = csrf_of(client)
        r = client.post(
            "/login",
            data={
                "username": username,
                "password": password or f"demo-{username}",
                "csrf_token": token,
                "next": "/",
            },
        )
        assert r.status_code == 302, r.get_data(as_text=True)
        return csrf_of(client, "/")

    return run
