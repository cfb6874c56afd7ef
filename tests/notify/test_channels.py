"""The notifier's channels against provider stubs on loopback: the exact requests, the answers
judged, retries with backoff, failures kept for managers, the outbox in the caller's transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
import sqlalchemy as sa
from notify_stubs import Answer

from layso.models import Event, NotifyOutbox
from layso.services import notify
from layso.services.common import get_hall
from layso.services.notify.channels import verify_webhook
from layso.services.notify.outbox import Sender

pytestmark = [
    pytest.mark.usefixtures("demo"),
    pytest.mark.parametrize(
        "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
    ),
]

SECRET = "webhook-secret-for-tests"
ENV = {
    "LAYSO_WEBHOOK_SECRET": SECRET,
    "LAYSO_SMS_API_KEY": "sms-key-123",
    "LAYSO_ZALO_ACCESS_TOKEN": "zalo-token-xyz",
}
NEAR = notify.Message(
    kind="turn.near",
    text="Sắp đến lượt số 1003",
    text_en="Your turn is near: 1003",
    recipient="0912 345 678",
    data={"number": "1003", "ahead": 2},
)


def add_channel(api: Any, tokens: Callable, kind: str, settings: dict[str, Any]) -> int:
    status, body = api.post(
        "notify/channels", tokens("manager"), {"kind": kind, "name": kind, "settings": settings}
    )
    assert status == 201, body
    return int(body["channel"]["id"])


def enqueue(db: Any, clock: Any, message: notify.Message = NEAR) -> list[int]:
    with db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        return [r.id for r in notify.enqueue(s, hall, message, now=clock())]


def sender(db: Any, clock: Any, **kw: Any) -> Sender:
    return Sender(db, clock, env=ENV, **{"retry_s": 10, "attempts": 3, "timeout_s": 2, **kw})


def rows(db: Any) -> list[NotifyOutbox]:
    with db.read() as s:
        return list(s.scalars(sa.select(NotifyOutbox).order_by(NotifyOutbox.id)))


def test_webhook_is_a_signed_json_post_that_cannot_be_replayed(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    add_channel(api, tokens, "webhook", {"url": f"{stub.url}/hooks/layso"})
    [row_id] = enqueue(db, clock)

    assert sender(db, clock).run_once() == 1

    [req] = stub.wait_for(1)
    assert req.path == "/hooks/layso"
    assert req.headers["Content-Type"] == "application/json; charset=utf-8"
    assert req.headers["X-Layso-Delivery"] == f"demo-{row_id}"
    ts = req.headers["X-Layso-Timestamp"]
    expected = hmac.new(SECRET.encode(), f"{ts}.".encode() + req.body, hashlib.sha256).hexdigest()
    assert req.headers["X-Layso-Signature"] == f"sha256={expected}"
    assert req.json() == {
        "id": f"demo-{row_id}",
        "hall": "demo",
        "kind": "turn.near",
        "to": "84912345678",
        "text": "Sắp đến lượt số 1003",
        "text_en": "Your turn is near: 1003",
        "data": {"number": "1003", "ahead": 2},
        "created_at": "2026-11-21T08:00:00+07:00",
    }
    # what a receiver checks: the signature, a fresh timestamp, a delivery not seen before
    seen: set[str] = set()
    assert verify_webhook(SECRET, req.headers, req.body, seen=seen)
    assert not verify_webhook(SECRET, req.headers, req.body, seen=seen)  # replayed
    assert not verify_webhook(SECRET, req.headers, req.body + b" ")  # tampered
    assert not verify_webhook(SECRET, req.headers, req.body, now=int(ts) + 301)  # stale
    assert not verify_webhook("another-secret", req.headers, req.body)
    [row] = rows(db)
    assert (row.state, row.attempts, row.recipient) == ("sent", 1, "84******678")


def test_sms_gateway_gets_the_configured_json_post(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    add_channel(api, tokens, "sms", {"url": f"{stub.url}/sms/send", "sender": "UBND-PHUONG"})
    [row_id] = enqueue(db, clock)

    sender(db, clock).run_once()

    [req] = stub.wait_for(1)
    assert req.path == "/sms/send"
    assert req.headers["Authorization"] == "Bearer sms-key-123"
    assert req.headers["Content-Type"] == "application/json; charset=utf-8"
    assert req.json() == {
        "to": "84912345678",
        "text": "Sắp đến lượt số 1003",
        "sender": "UBND-PHUONG",
        "ref": f"demo-{row_id}",
    }


def test_sms_gateway_as_a_form_with_renamed_fields_and_the_key_in_the_body(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.answer(Answer(200, b'{"CodeResult": "100", "SMSID": "abc"}'))
    add_channel(
        api,
        tokens,
        "sms",
        {
            "url": f"{stub.url}/MainService.svc/SendMultipleMessage_V4_post",
            "format": "form",
            "fields": {"to": "Phone", "text": "Content", "sender": "Brandname", "ref": "RequestId"},
            "auth": "field:ApiKey",
            "extra": {"SmsType": "2"},
            "phone_format": "0",
            "sender": "UBNDPHUONG",
            "ok_field": "CodeResult",
            "ok_value": "100",
        },
    )
    [row_id] = enqueue(db, clock)

    sender(db, clock).run_once()

    [req] = stub.wait_for(1)
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded; charset=utf-8"
    assert "Authorization" not in req.headers
    assert parse_qs(req.body.decode()) == {
        "Phone": ["0912345678"],
        "Content": ["Sắp đến lượt số 1003"],
        "Brandname": ["UBNDPHUONG"],
        "RequestId": [f"demo-{row_id}"],
        "SmsType": ["2"],
        "ApiKey": ["sms-key-123"],
    }
    assert rows(db)[0].state == "sent"


def test_sms_gateway_answering_200_with_an_error_code_is_a_failure(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.answer(Answer(200, b'{"CodeResult": "99", "ErrorMessage": "Brandname chua dang ky"}'))
    add_channel(api, tokens, "sms", {"url": stub.url, "ok_field": "CodeResult", "ok_value": "100"})
    enqueue(db, clock)

    sender(db, clock).run_once()

    [row] = rows(db)
    assert row.state == "pending" and "CodeResult='99'" in (row.last_error or "")


def test_zalo_zns_gets_a_template_message_with_the_access_token(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.answer(Answer(200, b'{"error": 0, "message": "Success", "data": {"msg_id": "m1"}}'))
    add_channel(
        api,
        tokens,
        "zns",
        {
            "base_url": stub.url,
            "template_id": "301234",
            "template_data": {"so_thu_tu": "number", "so_nguoi_truoc": "ahead"},
        },
    )
    [row_id] = enqueue(db, clock)

    sender(db, clock).run_once()

    [req] = stub.wait_for(1)
    assert req.path == "/message/template"
    assert req.headers["access_token"] == "zalo-token-xyz"
    assert req.headers["Content-Type"] == "application/json"
    assert req.json() == {
        "phone": "84912345678",
        "template_id": "301234",
        "template_data": {"so_thu_tu": "1003", "so_nguoi_truoc": "2"},
        "tracking_id": f"demo-{row_id}",
    }
    assert rows(db)[0].state == "sent"


def test_zns_error_answer_is_kept_and_retried(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.answer(Answer(200, b'{"error": -124, "message": "Access token is invalid"}'))
    add_channel(api, tokens, "zns", {"base_url": stub.url, "template_id": "1"})
    enqueue(db, clock)
    run = sender(db, clock)

    run.run_once()
    [row] = rows(db)
    assert row.state == "pending"
    assert row.last_error == "Zalo error -124: Access token is invalid"

    clock.advance(10)
    run.run_once()  # the stub's default answer has no error 0 either: still failing
    clock.advance(20)
    run.run_once()
    [row] = rows(db)
    assert (row.state, row.attempts) == ("failed", 3)


def test_a_failing_provider_is_retried_with_backoff_then_delivered(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.answer(Answer(500, b"upstream down"), Answer(503, b"still down"))
    add_channel(api, tokens, "webhook", {"url": stub.url})
    enqueue(db, clock)
    run = sender(db, clock, attempts=5)
    start = clock()

    assert run.run_once() == 1
    [row] = rows(db)
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "HTTP 500: upstream down")
    assert (row.next_at - start).total_seconds() == 10
    assert run.run_once() == 0  # not due yet

    clock.advance(10)
    assert run.run_once() == 1
    [row] = rows(db)
    assert (row.attempts, row.last_error) == (2, "HTTP 503: still down")
    assert (row.next_at - clock()).total_seconds() == 20  # doubled

    clock.advance(20)
    assert run.run_once() == 1
    [row] = rows(db)
    assert (row.state, row.attempts, row.last_error) == ("sent", 3, None)
    # the same delivery id each time: the receiver can drop a repeat
    assert len({r.headers["X-Layso-Delivery"] for r in stub.wait_for(3)}) == 1


def test_a_provider_that_does_not_answer_in_time_is_retried(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    import threading

    stub = stubs()
    release = threading.Event()
    stub.answer(Answer(hold=release))
    add_channel(api, tokens, "webhook", {"url": stub.url})
    enqueue(db, clock)
    try:
        sender(db, clock, timeout_s=0.3).run_once()
    finally:
        release.set()
    [row] = rows(db)
    assert row.state == "pending" and "timed out" in (row.last_error or "")


def test_a_refused_connection_is_retried(api: Any, tokens: Callable, db: Any, clock: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    add_channel(api, tokens, "webhook", {"url": f"http://127.0.0.1:{port}/"})
    enqueue(db, clock)

    sender(db, clock).run_once()

    [row] = rows(db)
    assert row.state == "pending" and row.last_error.startswith("no answer")


def test_given_up_notices_are_kept_masked_announced_and_listed_for_managers(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.default = Answer(500, b"no")
    channel = add_channel(api, tokens, "sms", {"url": stub.url})
    enqueue(db, clock)
    run = sender(db, clock, attempts=2)

    run.run_once()
    clock.advance(10)
    run.run_once()

    [row] = rows(db)
    assert (row.state, row.attempts, row.recipient) == ("failed", 2, "84******678")
    with db.read() as s:
        ev = s.scalars(sa.select(Event).where(Event.name == "notify.failed")).one()
    assert ev.audience == "managers"
    assert ev.payload["channel"] == "sms" and ev.payload["error"] == "HTTP 500: no"
    status, body = api.get("notify/notices?state=failed", tokens("manager"))
    assert status == 200
    assert body["counts"] == {"pending": 0, "sent": 0, "failed": 1}
    [notice] = body["notices"]
    assert notice["to"] == "84******678" and notice["channel_id"] == channel
    assert notice["last_error"] == "HTTP 500: no" and notice["attempts"] == 2
    assert api.get("notify/notices?state=failed", tokens("clerk1"))[0] == 403
    # the phone is gone: it cannot be resent
    assert api.post(f"notify/notices/{row.id}/retry", tokens("manager"))[0] == 409


def test_a_refusal_that_cannot_change_is_given_up_at_once(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.default = Answer(400, b'{"error": "bad phone"}')
    add_channel(api, tokens, "webhook", {"url": stub.url})
    add_channel(api, tokens, "webhook", {"url": stub.url, "secret_env": "LAYSO_OTHER_SECRET"})
    enqueue(db, clock)

    sender(db, clock).run_once()

    first, second = rows(db)
    assert (first.state, first.attempts) == ("failed", 1)
    assert first.last_error.startswith("HTTP 400")
    assert (second.state, second.last_error) == ("failed", "LAYSO_OTHER_SECRET is not set")
    assert len(stub.requests) == 1  # no secret: nothing was sent


def test_failed_webhook_notice_can_be_resent_by_a_manager(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    stub = stubs()
    stub.answer(Answer(404, b"no such hook"))
    add_channel(api, tokens, "webhook", {"url": stub.url})
    [row_id] = enqueue(db, clock, notify.Message(kind="alert.printer", text="Máy in hết giấy"))
    run = sender(db, clock)
    run.run_once()
    assert rows(db)[0].state == "failed"

    status, body = api.post(f"notify/notices/{row_id}/retry", tokens("manager"))
    assert status == 200 and body["notice"]["state"] == "pending"
    run.run_once()
    assert rows(db)[0].state == "sent"
    assert stub.wait_for(2)[1].json()["to"] is None


def test_the_outbox_is_written_in_the_callers_transaction(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    add_channel(api, tokens, "webhook", {"url": "http://127.0.0.1:9/"})
    with pytest.raises(RuntimeError), db.write() as s:
        hall = get_hall(s, "demo", lock=True)
        assert len(notify.enqueue(s, hall, NEAR, now=clock())) == 1
        raise RuntimeError("the change that caused it failed")
    assert rows(db) == []


def test_channels_carry_only_their_kinds_and_phone_channels_need_a_phone(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    add_channel(api, tokens, "webhook", {"url": "http://127.0.0.1:9/", "kinds": ["alert."]})
    add_channel(api, tokens, "sms", {"url": "http://127.0.0.1:9/"})
    add_channel(api, tokens, "zns", {"base_url": "http://127.0.0.1:9", "template_id": "7"})

    assert len(enqueue(db, clock, NEAR)) == 2  # sms and zns; the webhook takes alerts only
    no_phone = notify.Message(kind="alert.printer", text="Máy in hết giấy")
    assert len(enqueue(db, clock, no_phone)) == 1  # the webhook only
    not_mobile = notify.Message(kind="turn.near", text="x", recipient="024 3825 1234")
    assert enqueue(db, clock, not_mobile) == []


def test_a_zns_template_for_turns_never_carries_another_kind(
    api: Any, tokens: Callable, db: Any, clock: Any
) -> None:
    add_channel(api, tokens, "zns", {"base_url": "http://127.0.0.1:9", "template_id": "7"})
    alert = notify.Message(kind="alert.raised", text="Hàng chờ quá dài", recipient="0912345678")
    assert enqueue(db, clock, alert) == []
    assert len(enqueue(db, clock, NEAR)) == 1
    add_channel(
        api,
        tokens,
        "zns",
        {"base_url": "http://127.0.0.1:9", "templates": {"alert.raised": "8"}},
    )
    assert len(enqueue(db, clock, alert)) == 1


@pytest.mark.parametrize(
    ("body", "word"),
    [
        ({"kind": "fax", "name": "x", "settings": {}}, "webhook, sms"),
        ({"kind": "webhook", "name": "x", "settings": {"url": "ftp://x"}}, "url"),
        ({"kind": "webhook", "name": "x", "settings": {"url": "http://x", "key": "s"}}, "key"),
        ({"kind": "zns", "name": "x", "settings": {}}, "template_id"),
        ({"kind": "sms", "name": "x", "settings": {"url": "http://x", "auth": "cookie"}}, "auth"),
        ({"kind": "sms", "name": "x", "settings": {"url": "http://x", "key_env": "PATH"}}, "LAYSO"),
    ],
)
def test_bad_channel_settings_are_refused_and_change_nothing(
    api: Any, tokens: Callable, body: dict[str, Any], word: str
) -> None:
    status, answer = api.post("notify/channels", tokens("manager"), body)
    assert status == 400 and word in answer["error"]["message"]
    assert api.get("notify", tokens("manager"))[1]["channels"] == []


def test_managers_see_whether_a_channels_secret_is_set_never_the_secret(
    api: Any, tokens: Callable, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LAYSO_WEBHOOK_SECRET", "s3cr3t")
    add_channel(api, tokens, "webhook", {"url": "http://127.0.0.1:9/"})
    add_channel(api, tokens, "sms", {"url": "http://127.0.0.1:9/", "key_env": "LAYSO_SMS_HALL2"})

    status, body = api.get("notify", tokens("manager"))

    assert status == 200
    hook, sms = body["channels"]
    assert hook["settings"]["secret_variable"] == "LAYSO_WEBHOOK_SECRET"
    assert hook["settings"]["secret_set"] is True
    assert (sms["settings"]["secret_variable"], sms["settings"]["secret_set"]) == (
        "LAYSO_SMS_HALL2",
        False,
    )
    assert "s3cr3t" not in json.dumps(body)


def test_the_sender_loop_sends_what_a_commit_queued_without_being_asked(
    api: Any, tokens: Callable, db: Any, stubs: Callable
) -> None:
    """The background loop (threads here, green threads in the server): woken by the commit."""
    import threading

    from layso.web import utcnow

    stub = stubs()
    add_channel(api, tokens, "webhook", {"url": stub.url})
    run = Sender(
        db, utcnow, spawn=lambda fn: threading.Thread(target=fn, daemon=True).start(), env=ENV
    )
    run.poll_s = 30  # an idle loop would wait this long: the commit's wake-up sends it
    assert run.start()
    try:
        with db.write() as s:
            hall = get_hall(s, "demo", lock=True)
            notify.enqueue(s, hall, NEAR, now=utcnow())
        assert stub.wait_for(1, timeout=10)[0].json()["kind"] == "turn.near"
    finally:
        run.stop()


def test_old_sent_and_failed_notices_are_purged_pending_ones_stay(
    api: Any, tokens: Callable, db: Any, clock: Any, stubs: Callable
) -> None:
    from layso.services.notify import outbox

    stub = stubs()
    stub.answer(Answer(200), Answer(400))
    add_channel(api, tokens, "webhook", {"url": stub.url})
    enqueue(db, clock)
    enqueue(db, clock)
    run = sender(db, clock)
    run.run_once()
    enqueue(db, clock)  # still pending when the others are old
    assert [r.state for r in rows(db)] == ["sent", "failed", "pending"]

    clock.advance(30 * 86400)
    with db.write() as s:
        assert outbox.purge(s, now=clock()) == 0
    clock.advance(2 * 86400)
    with db.write() as s:
        assert outbox.purge(s, now=clock()) == 2
    assert [r.state for r in rows(db)] == ["pending"]
