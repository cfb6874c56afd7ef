"""The counter and rating pages, and a clerk's own figures of today."""

from __future__ import annotations

from typing import Any

import pytest

from layso.services.ratings import is_satisfied


def test_counter_page_sends_a_stranger_to_sign_in(client: Any, demo: Any) -> None:
    r = client.get("/counter")

    assert r.status_code == 302
    assert r.headers["Location"] == "/login?next=/counter"


def test_counter_page_after_sign_in(client: Any, signed_in: Any) -> None:
    signed_in("clerk1")

    r = client.get("/counter")

    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Gọi số tiếp" in html and "Hoàn thành" in html and "Vắng mặt" in html
    assert "<script>" not in html  # CSP: scripts come from files only
    assert "/counter/static/counter/counter.js" in html
    assert 'data-reprint="1"' in html  # the page offers reprint: the server serves it


def test_a_device_token_does_not_open_the_counter_page(client: Any, tokens: Any) -> None:
    r = client.get("/counter", headers={"Authorization": f"Bearer {tokens('pad1')}"})

    assert r.status_code == 302


def test_rating_page_is_served_to_the_pad(client: Any) -> None:
    r = client.get("/rating")

    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Cảm ơn quý khách!" in html and "/counter/static/counter/rating.js" in html
    assert "<script>" not in html


def test_counter_page_without_reprint_says_so(
    client: Any, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no route serves reprint, the page's data attribute says so (the button stays off)."""
    import counter.views

    monkeypatch.setattr(counter.views, "REPRINT_SAMPLE", "/api/v1/halls/demo/tickets/1/no-such")
    signed_in("clerk1")

    html = client.get("/counter").get_data(as_text=True)

    assert 'data-reprint="0"' in html


@pytest.mark.parametrize(
    "path", ["counter/counter.js", "counter/counter.css", "counter/rating.js", "counter/rating.css"]
)
def test_static_files_are_served(client: Any, path: str) -> None:
    r = client.get(f"/counter/static/{path}")

    assert r.status_code == 200 and len(r.data) > 1000


@pytest.mark.parametrize(("scale", "lowest"), [(3, 2), (4, 3), (5, 4)])
def test_satisfied_means_the_top_two_levels(scale: int, lowest: int) -> None:
    assert [s for s in range(1, scale + 1) if is_satisfied(s, scale)] == [lowest, scale]
    assert is_satisfied(None, scale) is None


def test_my_figures_today(desk: Any, api: Any, tokens: Any, clock: Any) -> None:
    desk.issue("TP")
    desk.ok(1, "next")
    desk.ok(1, "start")
    clock.advance(120)
    first = desk.ok(1, "finish")["ticket"]
    desk.issue("TP")
    desk.ok(1, "next")
    desk.ok(1, "start")
    clock.advance(240)
    second = desk.ok(1, "finish")["ticket"]
    desk.issue("TP")
    desk.ok(1, "next")
    desk.ok(1, "no-show")
    desk.serve(2)  # another clerk's visit counts for them, not here
    desk.rate(first["id"], 4)
    desk.rate(second["id"], 2)

    status, body = api.get("me/today", tokens("clerk1"))

    assert status == 200
    assert body["today"] == {
        "business_date": "2026-11-21",
        "served": 2,
        "no_show": 1,
        "mean_service_s": 180,
        "ratings": 2,
        "satisfied": 1,
        "satisfaction_rate": 0.5,
        "satisfaction_target": 0.95,
    }
    _, theirs = api.get("me/today", tokens("clerk2"))
    assert theirs["today"]["served"] == 1 and theirs["today"]["ratings"] == 0


def test_my_figures_start_empty_each_day(desk: Any, api: Any, tokens: Any, clock: Any) -> None:
    desk.rate(desk.serve(1)["id"], 4)
    clock.advance(24 * 3600)

    _, body = api.get("me/today", tokens("clerk1"))

    assert body["today"]["served"] == 0
    assert body["today"]["mean_service_s"] is None
    assert body["today"]["satisfaction_rate"] is None


def test_my_figures_by_session(client: Any, signed_in: Any) -> None:
    signed_in("clerk1")

    r = client.get("/api/v1/halls/demo/me/today")

    assert r.status_code == 200 and r.get_json()["today"]["served"] == 0


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("pad1", 403), ("kiosk", 403)])
def test_my_figures_are_for_users_only(api: Any, tokens: Any, who: Any, status: int) -> None:
    got, body = api.get("me/today", tokens(who) if who else None)

    assert got == status, body


def test_my_figures_of_another_hall_are_refused(api: Any, other_hall: Any) -> None:
    token = other_hall["counters"][0]["token"]

    status, _ = api.get("me/today", token)

    assert status == 403


def test_my_figures_equal_the_manager_report_row(
    desk: Any, api: Any, tokens: Any, clock: Any
) -> None:
    """A scripted day of two clerks: each one's own figures are the report's row for them."""

    def visit(counter: int, seconds: int, score: int | None = None) -> None:
        desk.issue("TP")
        ticket = desk.ok(counter, "next")["ticket"]
        desk.ok(counter, "start")
        clock.advance(seconds)
        desk.ok(counter, "finish")
        if score is not None:
            status, body = desk.rate(ticket["id"], score, who=f"pad{counter}")
            assert status == 201, body

    def no_show(counter: int) -> None:
        desk.issue("TP")
        desk.ok(counter, "next")
        clock.advance(30)
        desk.ok(counter, "no-show")

    visit(1, 100, 4)
    visit(2, 300, 1)
    no_show(1)
    visit(1, 201, 2)
    visit(2, 95)
    visit(1, 60, 3)
    no_show(2)
    no_show(2)
    visit(2, 41, 4)
    desk.issue("TP")  # still waiting at the end: nobody's yet

    _, report = api.get("reports/summary?by=clerk", tokens("manager"))
    rows = {g["key"]: g for g in report["groups"]}
    expected = {
        "clerk1": {"served": 3, "no_show": 1, "mean_service_s": 120, "ratings": 3, "satisfied": 2},
        "clerk2": {"served": 3, "no_show": 2, "mean_service_s": 145, "ratings": 2, "satisfied": 1},
    }
    for clerk, want in expected.items():
        _, body = api.get("me/today", tokens(clerk))
        mine, row = body["today"], rows[clerk]
        assert {k: mine[k] for k in want} == want
        assert mine["business_date"] == report["from"] == report["to"]
        assert mine["served"] == row["served"]
        assert mine["no_show"] == row["no_show"]
        assert mine["mean_service_s"] == round(row["service_mean_s"])
        assert mine["ratings"] == row["rated"]
        assert mine["satisfied"] == row["satisfied"]
        assert mine["satisfaction_rate"] == row["satisfaction_rate"]
        assert mine["satisfaction_target"] == row["satisfaction_target"]
