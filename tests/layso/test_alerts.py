"""Live alerts over a bare Session and the controlled clock: each kind raised once, never twice,
cleared once; thresholds per hall; the open alerts read back from the log after a restart."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from layso import errors
from layso.db import Database
from layso.events import Ev
from layso.models import Counter, Device, DeviceKind, Event, Ticket, User
from layso.services import alerts
from layso.services import counters as ops
from layso.services.common import get_hall
from layso.services.config import update_hall
from layso.services.tickets import issue_ticket

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]


class Hall_:
    def __init__(self, db: Database, clock: Any) -> None:
        self.db, self.clock = db, clock

    def issue(self, code: str = "TP") -> Ticket:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            return issue_ticket(s, hall, service_code=code, priority=None, now=self.clock()).ticket

    def act(self, action: Any, counter: int, **kw: Any) -> Any:
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            user = s.scalars(sa.select(User).where(User.username == f"clerk{counter}")).one()
            return action(s, hall, counter, user=user, now=self.clock(), **kw)

    def evaluate(self) -> list[tuple[str, str]]:
        """Run the evaluator once; (raise|clear, key) of what it wrote."""
        with self.db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            changes = alerts.evaluate(s, hall, self.clock())
            alerts.apply(s, hall, changes, self.clock())
            return [(c.action, c.key) for c in changes]

    def open_keys(self, kind: str | None = None) -> set[str]:
        with self.db.read() as s:
            found = alerts.open_alerts(s, get_hall(s, "demo"))
        return {k for k, a in found.items() if kind is None or a["kind"] == kind}

    def configure(self, **values: Any) -> None:
        with self.db.write() as s:
            update_hall(s, get_hall(s, "demo", lock=True), values, user=None, now=self.clock())

    def close_all_but(self, *keep: int) -> None:
        """Close the demo's open counters except `keep` (their idle alerts stay out of the way)."""
        for n in range(1, 6):
            if n not in keep:
                self.act(ops.close_counter, n)


@pytest.fixture
def hall(db: Database, clock: Any) -> Hall_:
    alerts.forget()
    return Hall_(db, clock)


def test_a_ticket_past_its_target_raises_a_warning_then_a_critical_alert_once_each(
    hall: Hall_, clock: Any
) -> None:
    hall.close_all_but()
    t = hall.issue("TP")  # target 15 min; critical at 1.5 × = 22.5 min
    clock.advance(14 * 60)
    assert hall.evaluate() == []

    clock.advance(60)
    assert hall.evaluate() == [("raise", f"ticket_wait:{t.id}:warning")]
    assert hall.evaluate() == []  # evaluated again: nothing new
    clock.advance(8 * 60)
    assert sorted(hall.evaluate()) == [
        ("clear", f"ticket_wait:{t.id}:warning"),
        ("raise", f"ticket_wait:{t.id}:critical"),
    ]
    assert hall.open_keys("ticket_wait") == {f"ticket_wait:{t.id}:critical"}


def test_calling_the_late_ticket_clears_its_alert_with_the_time_it_was_open(
    hall: Hall_, clock: Any, db: Database
) -> None:
    hall.close_all_but(2)
    t = hall.issue("TP")
    clock.advance(16 * 60)
    hall.evaluate()
    clock.advance(90)

    hall.act(ops.call_next, 2)
    changes = hall.evaluate()

    assert ("clear", f"ticket_wait:{t.id}:warning") in changes
    with db.read() as s:
        cleared = s.scalars(
            sa.select(Event).where(
                Event.name == Ev.ALERT_CLEARED,
                Event.payload["kind"].as_string() == "ticket_wait",
            )
        ).first()
    assert cleared is not None and cleared.audience == "managers"
    assert cleared.payload["duration_s"] == 90 and cleared.payload["kind"] == "ticket_wait"


def test_each_area_warns_at_its_own_target_and_only_late_tickets_are_named(
    hall: Hall_, clock: Any
) -> None:
    """Only tickets past the least patient area's warning are read back: every area's own
    target still decides (CT 10 min, TP 15, DD 20 in the demo; critical at 1.5x)."""
    hall.close_all_but()
    ct, tp, dd = hall.issue("CT"), hall.issue("TP"), hall.issue("DD")
    clock.advance(9 * 60)
    hall.issue("CT")  # a fresh ticket of the least patient area is never named
    clock.advance(60)  # 10 min: CT's first ticket only
    assert hall.evaluate() == [("raise", f"ticket_wait:{ct.id}:warning")]

    clock.advance(5 * 60)  # 15 min: CT critical, TP's warning; DD waits on
    assert sorted(hall.evaluate()) == [
        ("clear", f"ticket_wait:{ct.id}:warning"),
        ("raise", f"ticket_wait:{ct.id}:critical"),
        ("raise", f"ticket_wait:{tp.id}:warning"),
    ]
    clock.advance(5 * 60)  # 20 min: DD's warning; the second CT ticket's (10 min) too
    raised = hall.evaluate()
    assert ("raise", f"ticket_wait:{dd.id}:warning") in raised and len(raised) == 2
    with hall.db.read() as s:
        body = alerts.open_alerts(s, get_hall(s, "demo"))[f"ticket_wait:{dd.id}:warning"]
    assert body["values"]["waited_s"] == 20 * 60 and body["values"]["target_s"] == 20 * 60


def test_an_idle_counters_alert_counts_the_people_waiting_in_its_own_areas(
    hall: Hall_, clock: Any
) -> None:
    hall.close_all_but(1)  # counter 1 serves TP and CT
    hall.configure(alert_settings={"idle_counter_min": 5, "max_waiting": 50})
    for code in ("TP", "CT", "CT", "DD", "KQ"):
        hall.issue(code)
    clock.advance(5 * 60)
    assert hall.evaluate() == [("raise", "counter_idle:1")]
    with hall.db.read() as s:
        body = alerts.open_alerts(s, get_hall(s, "demo"))["counter_idle:1"]
    assert body["values"]["waiting"] == 3 and "3 người đang chờ" in body["message"]
    assert body["values"]["idle_s"] == 5 * 60  # from its oldest waiting ticket


def test_too_many_waiting_in_an_area_by_hall_and_by_area_threshold(hall: Hall_) -> None:
    hall.close_all_but()
    hall.configure(alert_settings={"max_waiting": 3, "max_waiting_by_service": {"CT": 2}})
    for _ in range(2):
        hall.issue("TP")
        hall.issue("CT")
    assert hall.evaluate() == [("raise", "queue_length:CT")]

    hall.issue("TP")
    assert hall.evaluate() == [("raise", "queue_length:TP")]
    hall.configure(alert_settings={"max_waiting": 10, "max_waiting_by_service": {}})
    assert sorted(hall.evaluate()) == [("clear", "queue_length:CT"), ("clear", "queue_length:TP")]


def test_an_open_counter_idle_while_people_wait_raises_then_clears_when_it_calls(
    hall: Hall_, clock: Any
) -> None:
    hall.close_all_but(2)
    hall.configure(alert_settings={"idle_counter_min": 5})
    clock.advance(600)  # idle for long, but nobody waited
    hall.issue("TP")
    clock.advance(4 * 60)
    assert hall.open_keys() == set() and hall.evaluate() == []

    clock.advance(60)
    assert hall.evaluate() == [("raise", "counter_idle:2")]
    assert hall.evaluate() == []
    hall.act(ops.call_next, 2)
    assert hall.evaluate() == [("clear", "counter_idle:2")]


def test_a_counter_paused_too_long_raises_and_resuming_clears(hall: Hall_, clock: Any) -> None:
    hall.close_all_but(3)
    hall.configure(alert_settings={"pause_max_min": 20})
    hall.act(ops.pause_counter, 3, reason="meeting")
    clock.advance(19 * 60)
    assert hall.evaluate() == []

    clock.advance(60)
    assert hall.evaluate() == [("raise", "counter_paused:3")]
    with hall.db.read() as s:
        body = alerts.open_alerts(s, get_hall(s, "demo"))["counter_paused:3"]
    assert body["values"]["pause_code"] == "meeting" and "Đi họp" in body["message"]
    hall.act(ops.resume_counter, 3)
    assert hall.evaluate() == [("clear", "counter_paused:3")]


@pytest.mark.parametrize(("state", "level"), [("paper_low", "warning"), ("paper_out", "critical")])
def test_a_printer_low_on_or_out_of_paper(
    hall: Hall_, db: Database, state: str, level: str
) -> None:
    hall.close_all_but()
    with db.write() as s:
        agent = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.PRINT_AGENT)).one()
        agent.printer_state, agent_id = state, agent.id

    assert hall.evaluate() == [("raise", f"printer_paper:{agent_id}:{state}")]
    with db.read() as s:
        assert alerts.current(s, get_hall(s, "demo"))[0]["level"] == level
    with db.write() as s:
        s.get(Device, agent_id).printer_state = "ok"  # type: ignore[union-attr]
    assert hall.evaluate() == [("clear", f"printer_paper:{agent_id}:{state}")]


def test_a_device_offline_raises_and_back_online_clears(hall: Hall_, db: Database) -> None:
    hall.close_all_but()
    with db.write() as s:
        display = s.scalars(sa.select(Device).where(Device.kind == DeviceKind.DISPLAY)).one()
        display.health, display_id = {"online": False, "last_seen": None}, display.id

    assert hall.evaluate() == [("raise", f"device_offline:{display_id}")]
    assert hall.evaluate() == []
    with db.write() as s:
        s.get(Device, display_id).health = {"online": True}  # type: ignore[union-attr]
    assert hall.evaluate() == [("clear", f"device_offline:{display_id}")]


def test_after_a_restart_open_alerts_are_read_back_from_the_log_not_raised_again(
    hall: Hall_, clock: Any, db: Database
) -> None:
    hall.close_all_but()
    hall.issue("TP")
    clock.advance(16 * 60)
    assert len(hall.evaluate()) == 1

    alerts.forget()  # a new process: nothing in memory
    assert hall.evaluate() == []
    with db.read() as s:
        raised = s.scalar(sa.select(sa.func.count()).where(Event.name == Ev.ALERT_RAISED))
    assert raised == 1


def test_a_revoked_or_closed_subject_clears_its_alert(
    hall: Hall_, clock: Any, db: Database
) -> None:
    hall.close_all_but(3)
    hall.configure(alert_settings={"pause_max_min": 1})
    hall.act(ops.pause_counter, 3, reason="lunch")
    clock.advance(120)
    assert hall.evaluate() == [("raise", "counter_paused:3")]

    hall.act(ops.resume_counter, 3)
    hall.act(ops.close_counter, 3)
    assert hall.evaluate() == [("clear", "counter_paused:3")]


@pytest.mark.parametrize(
    "bad",
    [
        {"max_waiting": 0},
        {"max_waiting": True},
        {"wait_warning_factor": "1"},
        {"wait_warning_factor": 2.0, "wait_critical_factor": 1.5},
        {"device_offline_s": 1},
        {"max_waiting_by_service": {"TP": -1}},
        {"nonsense": 1},
        [1, 2],
    ],
)
def test_bad_thresholds_are_refused_and_change_nothing(hall: Hall_, db: Database, bad: Any) -> None:
    with pytest.raises(errors.LaysoError) as e, db.write() as s:
        update_hall(
            s, get_hall(s, "demo", lock=True), {"alert_settings": bad}, user=None, now=hall.clock()
        )

    assert e.value.status == 400
    with db.read() as s:
        assert get_hall(s, "demo").alert_settings is None


def test_thresholds_are_audited_and_shown_with_the_defaults(hall: Hall_, db: Database) -> None:
    hall.configure(alert_settings={"device_offline_s": 30})

    with db.read() as s:
        h = get_hall(s, "demo")
        assert alerts.settings(h)["device_offline_s"] == 30
        assert alerts.settings(h)["max_waiting"] == alerts.DEFAULTS["max_waiting"]
        from layso.models import AuditEntry

        entry = s.scalars(sa.select(AuditEntry).order_by(AuditEntry.id.desc())).first()
    assert entry is not None and "alert_settings" in entry.detail


def test_report_counts_alerts_by_kind_and_open_time(hall: Hall_, clock: Any, db: Database) -> None:
    hall.close_all_but(2)
    hall.configure(alert_settings={"idle_counter_min": 1})
    hall.issue("TP")
    clock.advance(60)
    hall.evaluate()  # counter_idle:2 raised
    clock.advance(120)
    hall.act(ops.call_next, 2)
    hall.evaluate()  # cleared after 120 s

    with db.read() as s:
        h = get_hall(s, "demo")
        from layso.services.common import business_date

        day = business_date(h, clock())
        rep = alerts.report(s, h, day, day, clock())
    assert rep["total"]["alerts"] == 1
    assert rep["by_kind"] == [{"kind": "counter_idle", "alerts": 1, "open_s": 120, "critical": 0}]
    assert rep["total"]["still_open"] == 0
    assert Counter  # imported for the models' registry


def test_a_counters_idle_time_counts_from_its_last_finished_ticket(hall: Hall_, clock: Any) -> None:
    hall.close_all_but(2)
    hall.configure(alert_settings={"idle_counter_min": 5})
    hall.issue("TP")
    hall.issue("TP")
    hall.act(ops.call_next, 2)
    hall.act(ops.start, 2)
    clock.advance(8 * 60)
    hall.act(ops.finish, 2)  # the second has waited 8 min, but the counter was busy
    clock.advance(4 * 60)
    assert "counter_idle:2" not in hall.open_keys() and hall.evaluate() == []

    clock.advance(60)
    assert hall.evaluate() == [("raise", "counter_idle:2")]


def test_the_monitors_warm_up_reads_every_hall_and_writes_nothing(
    hall: Hall_, clock: Any, app: Any, db: Database
) -> None:
    """`layso run` evaluates once at start to build the sweep's statements; it raises nothing
    (the first sweep does)."""
    hall.close_all_but()
    t = hall.issue("CT")
    clock.advance(11 * 60)
    with db.read() as s:
        before = s.scalar(sa.select(sa.func.count()).select_from(Event))
    monitor = app.extensions["layso.monitor"]
    with app.app_context():
        monitor.warm()
        with db.read() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Event)) == before
        assert hall.open_keys() == set()
        monitor.sweep()
    assert hall.open_keys("ticket_wait") == {f"ticket_wait:{t.id}:warning"}
