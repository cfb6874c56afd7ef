"""The results counter (trả kết quả): the area kind, its wording on the printed ticket and in
the call, the dossier code kept at the counter, the log search and the figures per kind."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import AuditEntry, Event, Hall, Service, Ticket
from layso.services import printing
from layso.services.common import get_hall
from layso.voice_words import with_results_purpose

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]


def patch(api: Any, tokens: Any, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    resp = api.client.patch(
        f"/api/v1/halls/demo/{path}",
        json=body,
        headers={"Authorization": f"Bearer {tokens('manager')}"},
    )
    return resp.status_code, resp.get_json()


def test_a_manager_sets_an_areas_kind_validated_and_audited(api: Any, tokens: Any, db: Any) -> None:
    status, body = patch(api, tokens, "config/services/DD", {"kind": "pickup"})
    assert status == 400 and "intake" in body["error"]["message"]
    with db.read() as s:
        assert s.scalar(sa.select(Service.kind).where(Service.code == "DD")).value == "intake"
    status, body = patch(api, tokens, "config/services/DD", {"kind": "results"})
    assert status == 200 and body["service"]["kind"] == "results"
    with db.read() as s:
        entry = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
        assert entry is not None and entry.action == "config.service.edit"
        assert entry.detail == {"code": "DD", "changes": {"kind": ["intake", "results"]}}
    _, state = api.get("state", tokens("kiosk"))
    kinds = {s["code"]: s["kind"] for s in state["services"]}
    assert kinds["DD"] == "results" and kinds["KQ"] == "results" and kinds["TP"] == "intake"


def test_dossier_code_is_kept_logged_searched_and_counted_apart(
    day: Any, api: Any, tokens: Any, db: Any
) -> None:
    day.at("09:00:00")
    intake = day.issue("CT")
    result = day.issue("KQ")
    assert result["service_kind"] == "results" and result["display_number"] == "6001"
    clerk5 = tokens("clerk5")
    # nothing at the counter yet
    status, _ = api.post("counters/5/dossier", clerk5, {"dossier_code": "H01.26-0001"})
    assert status == 409
    assert day.counter(5, "next")["id"] == intake["id"]
    status, body = api.post("counters/5/dossier", clerk5, {"dossier_code": "H01.26-0001"})
    assert status == 409 and body["error"]["code"] == "conflict"  # an intake ticket
    day.counter(5, "start")
    day.counter(5, "finish")
    day.at("09:05:00")
    assert day.counter(5, "next")["id"] == result["id"]

    with db.read() as s:
        seq = s.scalar(sa.select(Hall.event_seq))
    for bad in ("", "  ", "x" * 41, "mã-hồ-sơ", "-H01", "H01 26", 12345, ["H01"]):
        status, body = api.post("counters/5/dossier", clerk5, {"dossier_code": bad})
        if bad in ("", "  "):
            assert status == 200 and body["ticket"]["dossier_code"] is None  # "no code": no-op
        else:
            assert status == 400, bad
    status, body = api.post("counters/5/dossier", tokens("clerk1"), {"dossier_code": "H01"})
    assert status == 403
    with db.read() as s:
        assert s.scalar(sa.select(Hall.event_seq)) == seq  # bad input changed nothing
        assert s.get(Ticket, result["id"]).dossier_code is None  # type: ignore[union-attr]

    code = "000.00.12.H01-261121-0007"
    status, body = api.post("counters/5/dossier", clerk5, {"dossier_code": f" {code} "})
    assert status == 200 and body["ticket"]["dossier_code"] == code
    day.counter(5, "start")
    day.counter(5, "finish")
    with db.read() as s:
        assert s.get(Ticket, result["id"]).dossier_code == code  # type: ignore[union-attr]
        names = list(
            s.scalars(
                sa.select(Event.name).where(Event.ticket_id == result["id"]).order_by(Event.seq)
            )
        )
    assert names == [
        "ticket.issued",
        "ticket.called",
        "ticket.dossier",
        "ticket.started",
        "ticket.finished",
        "rating.requested",
    ]

    mgr = tokens("manager")
    for q in ("h01-261121", "0007", code):
        status, log = api.get(f"reports/tickets?q={q}", mgr)
        assert status == 200 and [r["id"] for r in log["rows"]] == [result["id"]], q
        assert log["rows"][0]["dossier_code"] == code
        assert log["rows"][0]["area_kind"] == "results"
    _, log = api.get("reports/tickets?q=6001", mgr)  # the number is searched too
    assert [r["id"] for r in log["rows"]] == [result["id"]]
    _, log = api.get("reports/tickets?q=H99", mgr)
    assert log["rows"] == []
    _, log = api.get("reports/tickets?kind=intake", mgr)
    assert [r["id"] for r in log["rows"]] == [intake["id"]]
    status, _ = api.get("reports/tickets?kind=other", mgr)
    assert status == 400
    status, _ = api.get("reports/tickets?q=" + "x" * 41, mgr)
    assert status == 400

    status, summary = api.get("reports/summary?by=kind", mgr)
    assert status == 200
    groups = {g["key"]: g for g in summary["groups"]}
    assert [g["key"] for g in summary["groups"]] == ["intake", "results"]
    assert groups["results"]["label"] == "Trả kết quả / Results"
    assert (groups["results"]["issued"], groups["results"]["served"]) == (1, 1)
    assert (groups["intake"]["issued"], groups["intake"]["served"]) == (1, 1)
    assert groups["results"]["wait_median_s"] == 300  # 09:00 → 09:05
    assert groups["intake"]["wait_median_s"] == 0


def test_the_printed_ticket_and_the_call_say_collect_results(day: Any, db: Any, clock: Any) -> None:
    day.at("09:00:00")
    result = day.issue("KQ")
    intake = day.issue("TP")
    with db.read() as s:
        hall = get_hall(s, "demo")
        views = {
            t["id"]: printing.ticket_view(
                s, hall, s.get(Ticket, t["id"]), "http://hall", reprint=False, at=clock()
            )
            for t in (result, intake)
        }
    assert views[result["id"]].purpose == "Nhận kết quả / Collect results"
    assert views[intake["id"]].purpose is None
    assert with_results_purpose("Kính mời công dân có số thứ tự {số} đến quầy số {quầy}") == (
        "Kính mời công dân có số thứ tự {số} đến quầy số {quầy} để nhận kết quả"
    )
    assert with_results_purpose("Number {number}, counter {counter}.", "en") == (
        "Number {number}, counter {counter} to collect your results"
    )
    already = "Mời số {số} đến quầy {quầy} để nhận kết quả"
    assert with_results_purpose(already) == already
