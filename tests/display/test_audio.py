"""GET /api/v1/halls/{hall}/audio/call.wav: strict input, the hall's sentence, real speech."""

from __future__ import annotations

import io
import math
import secrets
import shutil
import struct
import wave
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from layso.models import Hall, Service, Ticket
from layso.services.common import business_date
from layso.voice import NullEngine, chime_wav

URL = "/api/v1/halls/demo/audio/call.wav"
CHIME_AND_PAUSE_S = 1.2 + 0.25  # the call WAV: chime, a short pause, then the speech


def _get(client: Any, token: str | None, query: str) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(f"{URL}?{query}", headers=headers)


def _pcm(data: bytes) -> tuple[int, list[int]]:
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (1, 2)
        rate = w.getframerate()
        frames = w.readframes(w.getnframes())
    return rate, list(struct.unpack(f"<{len(frames) // 2}h", frames))


def _rms(samples: list[int]) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def _set_hall(db: Any, **values: Any) -> None:
    with db.write() as s:
        s.execute(sa.update(Hall).where(Hall.slug == "demo").values(**values))


def _issue(db: Any, at: Any, *numbers: str) -> None:
    """Tickets with these display numbers, issued today in the demo hall (only those are spoken)."""
    with db.write() as s:
        hall = s.scalars(sa.select(Hall).where(Hall.slug == "demo")).one()
        service = s.scalars(sa.select(Service).where(Service.hall_id == hall.id)).first()
        day = business_date(hall, at)
        for i, number in enumerate(numbers):
            s.add(
                Ticket(
                    hall_id=hall.id,
                    issued_service_id=service.id,
                    service_id=service.id,
                    business_date=day,
                    number=900_000 + i,
                    display_number=number,
                    code=secrets.token_urlsafe(12),
                    issued_at=at,
                    queued_at=at,
                )
            )


@pytest.fixture(autouse=True)
def issued(db: Any, clock: Any, demo: Any) -> None:
    _issue(db, clock(), "1023", "A023", "A024", "1001")


@pytest.fixture
def espeak(need: Any) -> None:
    need(shutil.which("espeak-ng") is not None, "espeak-ng is not installed")


def test_a_call_is_the_chime_then_real_speech(
    client: Any, tokens: Any, espeak: None, app: Any
) -> None:
    resp = _get(client, tokens("display"), "number=1023&counter=3")

    assert resp.status_code == 200
    assert resp.mimetype == "audio/wav"
    assert resp.headers["X-Layso-Speech"] == "yes"
    rate, samples = _pcm(resp.data)
    assert len(samples) / rate > CHIME_AND_PAUSE_S + 1.0  # more than a second of speech
    speech = samples[round(CHIME_AND_PAUSE_S * rate) :]
    assert _rms(speech) > 1000, "the speech part is (nearly) silent"
    assert list(Path(app.instance_path, "voice-cache").glob("*.wav")), "cached on disk"


def test_the_same_call_twice_is_served_from_the_cache(
    client: Any, tokens: Any, espeak: None
) -> None:
    first = _get(client, tokens("display"), "number=A023&counter=1")
    second = _get(client, tokens("display"), "number=A023&counter=1")
    other = _get(client, tokens("display"), "number=A024&counter=1")

    assert first.status_code == second.status_code == other.status_code == 200
    assert first.data == second.data
    assert other.data != first.data


def test_the_halls_own_template_and_voice_are_used(
    client: Any, tokens: Any, db: Any, espeak: None
) -> None:
    default = _get(client, tokens("display"), "number=1023&counter=3").data
    _set_hall(db, voice_template="Ticket {number}, counter {counter}", voice_lang="en")

    english = _get(client, tokens("display"), "number=1023&counter=3")

    assert english.status_code == 200 and english.headers["X-Layso-Speech"] == "yes"
    assert english.data != default


def test_a_broken_template_falls_back_to_the_default_sentence(
    client: Any, tokens: Any, db: Any, espeak: None
) -> None:
    default = _get(client, tokens("display"), "number=1023&counter=3").data
    _set_hall(db, voice_template="Mời số {sô} {")

    resp = _get(client, tokens("display"), "number=1023&counter=3")

    assert resp.status_code == 200 and resp.data == default


def test_without_a_speech_engine_the_call_is_the_chime(client: Any, tokens: Any, app: Any) -> None:
    app.extensions["layso.voice"].engine = NullEngine()

    resp = _get(client, tokens("display"), "number=1023&counter=3")

    assert resp.status_code == 200
    assert resp.headers["X-Layso-Speech"] == "no"
    assert resp.data == chime_wav()


@pytest.mark.parametrize("who", ["kiosk", "clerk2", "cdisplay1", "manager", "pad3"])
def test_any_device_or_user_of_the_hall_may_fetch_it(
    client: Any, tokens: Any, app: Any, who: str
) -> None:
    app.extensions["layso.voice"].engine = NullEngine()

    assert _get(client, tokens(who), "number=1001&counter=1").status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "number=10%2023&counter=3",  # a space
        "number=%3Cscript%3E&counter=3",
        "number=12345678901&counter=3",  # 11 characters
        "number=ABCDE123456&counter=3",
        "number=a023&counter=3",  # prefixes are capitals
        "number=A&counter=3",  # no digits
        "number=1023&counter=-1",
        "number=1023&counter=3.5",
        "number=1023&counter=12345",
        "number=1023&counter=",
        "number=1023",
        "counter=3",
        "number=1023&number=1024&counter=3",
        "number=..%2F..%2Fetc%2Fpasswd&counter=1",
    ],
)
def test_bad_input_is_refused_with_a_clear_error(client: Any, tokens: Any, query: str) -> None:
    resp = _get(client, tokens("display"), query)

    assert resp.status_code == 400
    assert resp.json["error"]["code"] == "bad_request"
    assert resp.json["error"]["message"]


def test_an_unknown_counter_is_not_found(client: Any, tokens: Any) -> None:
    resp = _get(client, tokens("display"), "number=1023&counter=99")

    assert resp.status_code == 404 and resp.json["error"]["code"] == "unknown_counter"


def test_no_token_another_halls_token_and_an_unknown_hall_are_refused(
    client: Any, tokens: Any, other_hall: Any
) -> None:
    assert _get(client, None, "number=1023&counter=3").status_code == 401
    assert _get(client, "nope", "number=1023&counter=3").status_code == 401
    assert (
        _get(client, other_hall["devices"]["display"], "number=1023&counter=3").status_code == 403
    )
    resp = client.get(
        "/api/v1/halls/nowhere/audio/call.wav?number=1023&counter=3",
        headers={"Authorization": f"Bearer {tokens('display')}"},
    )
    assert resp.status_code == 404


def test_a_never_issued_number_is_not_found_and_nothing_is_synthesised(
    client: Any, tokens: Any, app: Any
) -> None:
    cache = Path(app.instance_path, "voice-cache")
    for number in ("7777", "B123", "1024"):
        resp = _get(client, tokens("display"), f"number={number}&counter=3")
        assert resp.status_code == 404
        assert resp.json["error"]["code"] == "unknown_ticket"
    assert not list(cache.glob("*.wav")) if cache.exists() else True


def test_audio_is_rate_limited_per_device(client: Any, tokens: Any, app: Any) -> None:
    app.extensions["layso.voice"].engine = NullEngine()
    app.config["LAYSO_RATE_AUDIO"] = 3

    answers = [_get(client, tokens("display"), "number=1023&counter=3") for _ in range(4)]

    assert [r.status_code for r in answers] == [200, 200, 200, 429]
    assert answers[-1].json["error"]["code"] == "rate_limited"
    assert _get(client, tokens("kiosk"), "number=1023&counter=3").status_code == 200
