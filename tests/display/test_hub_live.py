"""The real-time hub against the real server (eventlet, then gevent): snapshot, exact replay,
refusals, rolled-back changes, several processes on PostgreSQL + Redis, and Redis down."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import socketio
import sqlalchemy as sa

from layso.config import Settings
from layso.db import Database
from layso.models import Hall, Service
from layso.services.demo import seed_demo

pytestmark = pytest.mark.server


def _database(server: Any) -> Database:
    return Database(Settings.from_env(server.env).database_url)


def assert_event_body(name: str, body: dict[str, Any]) -> None:
    """API.md: every event body has seq (int), hall and at (ISO 8601 with an offset)."""
    assert isinstance(body["seq"], int) and not isinstance(body["seq"], bool), (name, body)
    assert body["hall"] == "demo", (name, body)
    at = datetime.fromisoformat(body["at"])
    assert at.utcoffset() is not None, (name, body["at"])
    if name in ("ticket.called", "ticket.recalled"):
        assert isinstance(body["counter"], int), body
        assert isinstance(body["call_count"], int), body
        assert body["call_count"] == body["ticket"]["call_count"], body


def test_connect_without_after_gets_the_snapshot_first(live: Any, hub_client: Any, live_api: Any):
    server, demo = live
    api = live_api(server.url)
    probe = hub_client(server.url, demo["devices"]["display"]).connect()
    probe.wait_for("snapshot")
    api.issue(demo["devices"]["kiosk"], "CT")
    # the area's queue.changed is recorded just after the issue (services/queue_news)
    probe.wait_for("queue.changed", lambda b: b["service"] == "CT")
    _, state = api.get("state", demo["devices"]["display"])

    display = hub_client(server.url, demo["devices"]["display"]).connect()

    name, snap = display.wait_count(1)[0]
    assert name == "snapshot"
    assert snap["seq"] == state["seq"] and snap["hall"] == "demo"
    assert [c["number"] for c in snap["counters"]] == [1, 2, 3, 4, 5]
    assert {s["code"]: s["waiting"] for s in snap["services"]}["CT"] == 1
    assert snap["notices"] and snap["info"]["voice_template"]


def test_reconnect_after_a_drop_replays_exactly_the_missed_events_once_in_order(
    live: Any, hub_client: Any, live_api: Any
) -> None:
    server, demo = live
    api = live_api(server.url)
    kiosk, clerk1, display_token = (
        demo["devices"]["kiosk"],
        demo["counters"][0]["token"],
        demo["devices"]["display"],
    )
    first = hub_client(server.url, display_token).connect()
    first.wait_for("snapshot")
    api.issue(kiosk)
    first.wait_for("queue.changed")
    last_seen = first.last_seq
    first.disconnect()
    # what happens while the display is away; a second display stays, to see when the queue
    # figures (recorded after the writes, services/queue_news) are in the log too
    probe = hub_client(server.url, display_token).connect()
    probe.wait_for("snapshot")
    for code in ("TP", "CT", "DD"):
        api.issue(kiosk, code)
    assert api.post("counters/1/next", clerk1)[0] == 200
    called = probe.wait_for("ticket.called")["seq"]
    assert api.post("counters/1/recall", clerk1)[0] == 200
    probe.wait_for("queue.changed", lambda b: b["service"] == "TP" and b["seq"] > called)
    probe.wait_for("ticket.recalled")
    _, log = api.get(f"events?after={last_seen}", display_token)
    expected = [(e["name"], e["seq"]) for e in log["events"]]

    again = hub_client(server.url, display_token, after=last_seen).connect()
    again.wait_count(len(expected))
    api.issue(kiosk, "XD")  # a later, real event: everything before it has arrived
    again.wait_for("queue.changed", lambda b: b["service"] == "XD")

    got = [(n, b["seq"]) for n, b in again.events]
    replayed = got[: len(expected)]
    assert replayed == expected
    # what a wall display renders, and nothing else (not the call's counter.changed: the call
    # tells the display all of it); the queue figures come when they are recorded
    # (services/queue_news: one per area and pass, so two areas' may share one)
    assert [n for n, _ in replayed if n != "queue.changed"] == [
        "ticket.called",
        "ticket.recalled",
    ]
    queues = [b["service"] for n, b in again.events[: len(expected)] if n == "queue.changed"]
    assert set(queues) == {"TP", "CT", "DD"}
    assert "snapshot" not in [n for n, _ in got]
    seqs = [s for _, s in got]
    assert seqs == sorted(set(seqs)), "each event once, in seq order"
    assert seqs[0] > last_seen
    for name, body in again.events:
        assert_event_body(name, body)


def test_every_event_of_a_working_day_carries_seq_hall_and_at(
    live: Any, hub_client: Any, live_api: Any
) -> None:
    server, demo = live
    api = live_api(server.url)
    kiosk, clerk1, clerk2 = (
        demo["devices"]["kiosk"],
        demo["counters"][0]["token"],
        demo["counters"][1]["token"],
    )
    manager = hub_client(server.url, demo["manager"]["token"]).connect()
    pad = hub_client(server.url, demo["counters"][0]["rating_pad"]).connect()
    manager.wait_for("snapshot")
    a, b, c = (api.issue(kiosk, "TP") for _ in range(3))

    steps = [
        ("counters/1/next", clerk1, None),
        ("counters/1/recall", clerk1, None),
        ("counters/1/start", clerk1, None),
        ("counters/1/finish", clerk1, None),
        ("counters/2/next", clerk2, None),
        ("counters/2/no-show", clerk2, None),
        ("counters/2/next", clerk2, None),
        ("counters/2/transfer", clerk2, {"service": "CT"}),
        ("counters/2/pause", clerk2, {"reason": "Đi họp"}),
        ("counters/2/resume", clerk2, None),
        (f"tickets/{c['id']}/cancel", demo["manager"]["token"], None),
    ]
    for path, token, body in steps:
        status, answer = api.post(path, token, body)
        assert status == 200, (path, answer)
    fence = api.issue(kiosk, "KD")
    manager.wait_for("ticket.issued", lambda x: x["ticket"]["id"] == fence["id"])
    pad.wait_for("rating.requested")

    names = [n for n, _ in manager.events]
    for expected in (
        "ticket.called",
        "ticket.recalled",
        "ticket.started",
        "ticket.finished",
        "ticket.no_show",
        "ticket.transferred",
        "ticket.cancelled",
        "counter.changed",
        "queue.changed",
    ):
        assert expected in names
    for name, body in manager.events[1:] + pad.events[1:]:
        assert_event_body(name, body)
    calls = [b for n, b in manager.events if n in ("ticket.called", "ticket.recalled")]
    assert [(b["ticket"]["id"], b["counter"], b["call_count"]) for b in calls[:2]] == [
        (a["id"], 1, 1),
        (a["id"], 1, 2),
    ]


def test_refused_before_any_data_is_sent(live: Any, hub_client: Any, live_api: Any) -> None:
    server, demo = live
    database = _database(server)
    with database.write() as s:
        other = seed_demo(s, now=datetime.now().astimezone(), slug="other")
    database.dispose()
    cases = {
        "wrong token": {"token": "not-a-token", "hall": "demo", "after": None},
        "another hall's token": {"token": other["devices"]["display"], "hall": "demo"},
        "token of this hall, other hall": {"token": demo["devices"]["display"], "hall": "other"},
        "no hall": {"token": demo["devices"]["display"], "after": None},
        "no auth at all": None,
    }
    clients = {case: hub_client(server.url, None, auth=auth) for case, auth in cases.items()}

    for case, client in clients.items():
        with pytest.raises(socketio.exceptions.ConnectionError):
            client.connect()
        assert not client.client.connected, case
    live_api(server.url).issue(demo["devices"]["kiosk"])  # an event they must not get either
    probe = hub_client(server.url, demo["devices"]["display"], after=0).connect()
    probe.wait_for("queue.changed")  # the event went out: had they joined, they would have it

    assert {case: c.events for case, c in clients.items()} == {case: [] for case in cases}


def test_a_rolled_back_change_is_never_sent(live: Any, hub_client: Any, live_api: Any) -> None:
    server, demo = live
    api = live_api(server.url)
    kiosk = demo["devices"]["kiosk"]
    database = _database(server)
    with database.write() as s:
        hall_id = s.scalar(sa.select(Hall.id).where(Hall.slug == "demo"))
        s.execute(
            sa.update(Service)
            .where(Service.hall_id == hall_id, Service.code == "DD")
            .values(daily_cap=1)
        )
    database.dispose()
    display = hub_client(server.url, demo["devices"]["display"]).connect()
    display.wait_for("snapshot")
    last = api.issue(kiosk, "DD")
    display.wait_for("queue.changed", lambda b: b["service"] == "DD")
    before = display.mark()

    status, body = api.post("tickets", kiosk, {"service": "DD"})
    api.issue(kiosk, "TP")
    display.wait_for("queue.changed", lambda b: b["service"] == "TP", since=before)

    assert status == 409 and body["error"]["code"] == "numbers_exhausted"
    after = display.events[before:]
    assert [(n, b["service"]) for n, b in after] == [("queue.changed", "TP")]
    assert last["display_number"] == "3001"


@pytest.mark.postgres
@pytest.mark.redis
def test_a_display_on_server_a_sees_tickets_issued_and_called_through_server_b(
    tmp_path: Path,
    pg_url: str,
    async_mode: str,
    rootconf: Any,
    need: Any,
    server_env_factory: Any,
    cli: Any,
    servers: Any,
    hub_client: Any,
    live_api: Any,
) -> None:
    need(rootconf.redis_available(), f"Redis is not reachable at {rootconf.REDIS_URL}")
    env_a = server_env_factory(
        tmp_path / "a",
        LAYSO_DATABASE_URL=pg_url,
        LAYSO_REDIS_URL=rootconf.REDIS_URL,
        LAYSO_ASYNC_MODE=async_mode,
    )
    env_b = dict(env_a, LAYSO_INSTANCE=str(tmp_path / "b"))
    demo = json.loads(cli(env_a, "seed-demo", "--json"))
    a = servers(env_a, tmp_path / "a.log")
    b = servers(env_b, tmp_path / "b.log")
    display = hub_client(a.url, demo["devices"]["display"]).connect()
    display.wait_for("snapshot")
    via_b = live_api(b.url)

    ticket = via_b.issue(demo["devices"]["kiosk"], "LD")
    status, called = via_b.post("counters/4/next", demo["counters"][3]["token"])

    assert status == 200 and called["ticket"]["id"] == ticket["id"]

    # Redis pub/sub channels are server-wide: other servers on this machine may publish to a
    # hall "demo" too, so match the ticket by more than its id
    def same(x: dict[str, Any]) -> bool:
        t = x["ticket"]
        return (t["id"], t["issued_at"], t["display_number"]) == (
            ticket["id"],
            ticket["issued_at"],
            ticket["display_number"],
        )

    call = display.wait_for("ticket.called", same)
    assert call["counter"] == 4 and call["call_count"] == 1
    assert "unreachable" not in a.log.read_text() + b.log.read_text()


def test_redis_down_one_process_keeps_serving_its_own_clients_and_logs_it(
    tmp_path: Path,
    async_mode: str,
    rootconf: Any,
    server_env_factory: Any,
    cli: Any,
    servers: Any,
    hub_client: Any,
    live_api: Any,
) -> None:
    closed = f"redis://127.0.0.1:{rootconf.free_port()}/0"  # nothing listens there
    env = server_env_factory(tmp_path / "i", LAYSO_REDIS_URL=closed, LAYSO_ASYNC_MODE=async_mode)
    demo = json.loads(cli(env, "seed-demo", "--json"))
    server = servers(env, tmp_path / "s.log")
    display = hub_client(server.url, demo["devices"]["display"]).connect()
    display.wait_for("snapshot")
    api = live_api(server.url)

    ticket = api.issue(demo["devices"]["kiosk"], "TP")
    status, _ = api.post("counters/1/next", demo["counters"][0]["token"])

    assert status == 200
    display.wait_for("ticket.called", lambda x: x["ticket"]["id"] == ticket["id"])
    log = server.log.read_text()
    assert f"message queue {closed} unreachable" in log
    assert "keeps serving its own clients" in log


class PrivateRedis:
    """A throwaway redis-server on a free port: its pub/sub traffic is this test's alone."""

    def __init__(self, binary: str, port: int, workdir: Path) -> None:
        import redis

        self.binary, self.port, self.workdir = binary, port, workdir
        self.url = f"redis://127.0.0.1:{port}/0"
        self.client = redis.Redis(port=port, socket_connect_timeout=1)
        self.proc: Any = None

    def start(self) -> None:
        import subprocess

        import redis

        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(200):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)  # waiting for the process to listen: no event to await
        raise AssertionError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path, need: Any, rootconf: Any) -> Any:
    import shutil

    binary = shutil.which("redis-server")
    need(binary is not None, "redis-server is not installed")
    redis_server = PrivateRedis(binary, rootconf.free_port(), tmp_path)
    redis_server.start()
    yield redis_server
    redis_server.client.close()
    redis_server.stop()


def test_redis_going_down_and_back_is_logged_and_local_screens_never_notice(
    tmp_path: Path,
    private_redis: Any,
    server_env_factory: Any,
    cli: Any,
    servers: Any,
    hub_client: Any,
    live_api: Any,
) -> None:
    env = server_env_factory(tmp_path / "i", LAYSO_REDIS_URL=private_redis.url)
    demo = json.loads(cli(env, "seed-demo", "--json"))
    server = servers(env, tmp_path / "s.log")
    display = hub_client(server.url, demo["devices"]["display"]).connect()
    display.wait_for("snapshot")
    api = live_api(server.url)

    private_redis.stop()
    api.issue(demo["devices"]["kiosk"], "TP")  # answered: the log line is written
    display.wait_for("queue.changed", lambda x: (x["service"], x["waiting"]) == ("TP", 1))
    log_during = server.log.read_text()
    private_redis.start()
    api.issue(demo["devices"]["kiosk"], "TP")
    display.wait_for("queue.changed", lambda x: (x["service"], x["waiting"]) == ("TP", 2))

    assert f"message queue {private_redis.url} unreachable" in log_during
    assert f"message queue {private_redis.url} is reachable again" in server.log.read_text()
    assert display.client.connected


def test_snapshots_go_to_their_screen_only_not_through_the_message_queue(
    tmp_path: Path,
    private_redis: Any,
    server_env_factory: Any,
    cli: Any,
    servers: Any,
    hub_client: Any,
    live_api: Any,
) -> None:
    url, redis_client = private_redis.url, private_redis.client
    env = server_env_factory(tmp_path / "i", LAYSO_REDIS_URL=url)
    demo = json.loads(cli(env, "seed-demo", "--json"))
    server = servers(env, tmp_path / "s.log")
    channel = redis_client.pubsub(ignore_subscribe_messages=True)
    channel.subscribe("flask-socketio")

    def published_until_marker() -> list[tuple[str, str | None]]:
        """Everything published so far: Redis delivers in order, so read up to our marker."""
        redis_client.publish("flask-socketio", json.dumps({"method": "test-marker"}))
        out = []
        deadline = time.monotonic() + 15
        while True:
            assert time.monotonic() < deadline, "the marker never came back"
            message = channel.get_message(timeout=1)
            if message is None:  # nothing yet, or a subscribe confirmation (ignored)
                continue
            body = json.loads(message["data"])
            if body["method"] == "test-marker":
                return out
            out.append((body["method"], body.get("event")))

    display = hub_client(server.url, demo["devices"]["display"]).connect()
    display.wait_for("snapshot")
    replayed = hub_client(server.url, demo["devices"]["display"], after=0).connect()
    replayed.wait_count(1)
    while_connecting = published_until_marker()
    live_api(server.url).issue(demo["devices"]["kiosk"], "CT")
    display.wait_for("queue.changed", lambda x: x["service"] == "CT")
    afterwards = published_until_marker()
    channel.close()

    assert while_connecting == []  # neither the snapshot nor the replay went through Redis
    assert replayed.events[0][0] != "snapshot" and replayed.events[0][1]["seq"] == 1
    assert ("emit", "ticket.issued") in afterwards  # hall events do go through the queue
