"""Tests for layso.voice: number reading, call templates, chime, speech engine and announcer."""

from __future__ import annotations

import io
import logging
import math
import os
import re
import shutil
import subprocess
import sys
import wave
from array import array
from pathlib import Path

import pytest

from layso import voice
from layso.voice import (
    DEFAULT_TEMPLATE_EN,
    DEFAULT_TEMPLATE_VI,
    CallAnnouncer,
    EspeakEngine,
    NullEngine,
    SpeechEngine,
    SpeechUnavailable,
    chime_wav,
    read_number_vi,
    read_ticket_en,
    read_ticket_vi,
    render_phrase,
    validate_template,
)

STATIC_CHIME = Path(voice.__file__).parent / "static" / "chime.wav"


def need_binary(name: str) -> str:
    """Path of ``name``; skip (visibly) when missing, or fail when LAYSO_TEST_STRICT=1."""
    path = shutil.which(name)
    if path:
        return path
    reason = f"{name} is not installed (apt-get install {name})"
    if os.environ.get("LAYSO_TEST_STRICT") == "1":
        pytest.fail(f"{reason}; LAYSO_TEST_STRICT=1 forbids skipping", pytrace=False)
    pytest.skip(reason)


# ---------------------------------------------------------------------------- WAV helpers


def read_wav(data: bytes) -> tuple[wave._wave_params, array]:
    with wave.open(io.BytesIO(data), "rb") as w:
        params = w.getparams()
        frames = w.readframes(params.nframes)
    assert params.sampwidth == 2 and params.nchannels == 1
    samples = array("h")
    samples.frombytes(frames)
    if sys.byteorder == "big":
        samples.byteswap()
    assert len(samples) == params.nframes, "header frame count must match the data"
    return params, samples


def rms(samples) -> float:
    return math.sqrt(sum(s * s for s in samples) / max(1, len(samples)))


def tone_wav(
    seconds: float = 0.5,
    rate: int = 22050,
    *,
    channels: int = 1,
    width: int = 2,
    streaming_header: bool = False,
) -> bytes:
    """A 440 Hz test tone, written independently of layso.voice's own helpers."""
    n = round(seconds * rate)
    values = [round(12000 * math.sin(2 * math.pi * 440 * i / rate)) for i in range(n)]
    if width == 1:
        frames = bytes((v >> 8) + 128 for v in values for _ in range(channels))
    else:
        frames = b"".join(v.to_bytes(2, "little", signed=True) * channels for v in values)
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(width)
        w.setframerate(rate)
        w.writeframes(frames)
    data = bytearray(buf.getvalue())
    if streaming_header:  # what espeak-ng writes to a pipe: sizes unknown, ~2 GiB placeholders
        data[4:8] = (0x7FFFF024).to_bytes(4, "little")
        data[40:44] = (0x7FFFF000).to_bytes(4, "little")
    return bytes(data)


class CountingEngine:
    """Fake engine: returns a fixed WAV and counts its calls."""

    name = "counting-fake"

    def __init__(self, wav: bytes | None = None) -> None:
        self.wav = wav if wav is not None else tone_wav()
        self.calls: list[tuple[str, str]] = []

    def available(self) -> bool:
        return True

    def synthesize(self, text: str, voice: str) -> bytes:
        self.calls.append((text, voice))
        return self.wav


class FailingEngine(CountingEngine):
    name = "failing-fake"

    def synthesize(self, text: str, voice: str) -> bytes:
        self.calls.append((text, voice))
        raise SpeechUnavailable("engine broke")


# ---------------------------------------------------------------------------- numbers

NUMBERS_VI = [
    (0, "không"),
    (1, "một"),
    (5, "năm"),
    (10, "mười"),
    (11, "mười một"),
    (14, "mười bốn"),
    (15, "mười lăm"),
    (20, "hai mươi"),
    (21, "hai mươi mốt"),
    (24, "hai mươi tư"),
    (25, "hai mươi lăm"),
    (55, "năm mươi lăm"),
    (99, "chín mươi chín"),
    (100, "một trăm"),
    (101, "một trăm linh một"),
    (105, "một trăm linh năm"),
    (110, "một trăm mười"),
    (115, "một trăm mười lăm"),
    (121, "một trăm hai mươi mốt"),
    (1000, "một nghìn"),
    (1001, "một nghìn không trăm linh một"),
    (1005, "một nghìn không trăm linh năm"),
    (1010, "một nghìn không trăm mười"),
    (1023, "một nghìn không trăm hai mươi ba"),
    (1100, "một nghìn một trăm"),
    (1999, "một nghìn chín trăm chín mươi chín"),
    (2000, "hai nghìn"),
    (2024, "hai nghìn không trăm hai mươi tư"),
    (10000, "mười nghìn"),
    (12345, "mười hai nghìn ba trăm bốn mươi lăm"),
    (21000, "hai mươi mốt nghìn"),
    (100000, "một trăm nghìn"),
    (1000000, "một triệu"),
    (1000001, "một triệu không trăm linh một"),
    (1005000, "một triệu không trăm linh năm nghìn"),
    (2001024, "hai triệu không trăm linh một nghìn không trăm hai mươi tư"),
    (
        999_999_999,
        "chín trăm chín mươi chín triệu chín trăm chín mươi chín nghìn chín trăm chín mươi chín",
    ),
]


@pytest.mark.parametrize(("n", "words"), NUMBERS_VI, ids=[str(n) for n, _ in NUMBERS_VI])
def test_read_number_vi(n, words):
    assert read_number_vi(n) == words


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (101, "một trăm lẻ một"),
        (1005, "một nghìn không trăm lẻ năm"),
        (1023, "một nghìn không trăm hai mươi ba"),
    ],
)
def test_read_number_vi_southern_odd_word(n, words):
    assert read_number_vi(n, odd="lẻ") == words


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        ((-1,), {}, ValueError),
        ((1_000_000_000,), {}, ValueError),
        (("12",), {}, TypeError),
        ((True,), {}, TypeError),
        ((1.0,), {}, TypeError),
        ((101,), {"odd": "le"}, ValueError),
    ],
)
def test_read_number_vi_rejects(args, kwargs, error):
    with pytest.raises(error):
        read_number_vi(*args, **kwargs)


@pytest.mark.parametrize(
    ("code", "vi", "en"),
    [
        ("1023", "một nghìn không trăm hai mươi ba", "1023"),
        ("A023", "A hai mươi ba", "A-23"),
        ("B007", "bê bảy", "B-7"),
        ("C100", "xê một trăm", "C-100"),
        ("D015", "dê mười lăm", "D-15"),
        ("a-001", "A một", "A-1"),
        ("AB012", "A bê mười hai", "A-B-12"),
        ("A000", "A không", "A-0"),
        (" 0042 ", "bốn mươi hai", "42"),
        ("1234567890", "một hai ba bốn năm sáu bảy tám chín không", "1 2 3 4 5 6 7 8 9 0"),
    ],
)
def test_read_ticket(code, vi, en):
    assert read_ticket_vi(code) == vi
    assert read_ticket_en(code) == en


@pytest.mark.parametrize("code", ["", "  ", "--", "#"])
def test_read_ticket_needs_a_letter_or_digit(code):
    with pytest.raises(ValueError, match="no letter or digit"):
        read_ticket_vi(code)
    with pytest.raises(ValueError, match="no letter or digit"):
        read_ticket_en(code)


# ---------------------------------------------------------------------------- templates


def test_render_phrase_vietnamese_default_template():
    assert render_phrase(DEFAULT_TEMPLATE_VI, number="1023", counter=3) == (
        "Kính mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số ba"
    )


def test_render_phrase_english_aliases_and_letters():
    assert render_phrase(DEFAULT_TEMPLATE_EN, number="A023", counter=12, lang="en") == (
        "Ticket number A-23, please go to counter 12"
    )
    assert (
        render_phrase("Mời số {number}, quầy {counter}", number="A023", counter="15")
        == "Mời số A hai mươi ba, quầy mười lăm"
    )


def test_render_phrase_repeats_literal_braces_and_decomposed_text():
    template = "{{Thông báo}} số {số}, xin nhắc lại, số {số} đến quầy {quầy}"
    assert render_phrase(template, number="21", counter=4) == (
        "{Thông báo} số hai mươi mốt, xin nhắc lại, số hai mươi mốt đến quầy bốn"
    )
    # A manager's keyboard may send "số" / "quầy" decomposed (NFD): still the same placeholders.
    import unicodedata

    decomposed = unicodedata.normalize("NFD", "Mời {số} đến quầy {quầy}")
    validate_template(decomposed)
    assert render_phrase(decomposed, number="5", counter=1) == "Mời năm đến quầy một"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("Mời số {ticket} đến quầy {quầy}", r"unknown placeholder \{ticket\}"),
        ("Mời số {} đến quầy {quầy}", r"unknown placeholder \{\} \(an empty placeholder\)"),
        ("Mời số {0}", r"unknown placeholder \{0\}"),
        ("Mời số {số.__class__}", r"unknown placeholder \{số.__class__\}"),
        ("Mời số {số!r}", r"no format spec or conversion"),
        ("Mời số {số:>5}", r"no format spec or conversion"),
        ("Mời số {số", r"malformed"),
        ("Mời số số} đến", r"malformed"),
    ],
)
def test_validate_template_rejects(template, message):
    with pytest.raises(ValueError, match=message) as info:
        validate_template(template)
    if "unknown" in message:
        assert "{số}" in str(info.value) and "{quầy}" in str(info.value)  # says what's allowed
    with pytest.raises(ValueError, match=message):
        render_phrase(template, number="1", counter=1)


def test_validate_template_accepts_defaults_and_rejects_unknown_language():
    validate_template(DEFAULT_TEMPLATE_VI)
    validate_template(DEFAULT_TEMPLATE_EN)
    validate_template("Không có chỗ trống")  # no placeholder at all is allowed
    with pytest.raises(ValueError, match="unsupported language"):
        render_phrase(DEFAULT_TEMPLATE_VI, number="1", counter=1, lang="fr")


# ---------------------------------------------------------------------------- chime


def test_chime_is_a_valid_audible_wav_without_clicks():
    params, samples = read_wav(chime_wav())
    assert params.framerate == 22050
    duration = params.nframes / params.framerate
    assert 0.8 < duration < 1.6
    assert rms(samples) > 2000  # far from silence (full scale is 32767)
    assert max(abs(s) for s in samples) < 32000  # and not clipping
    # Starts from and returns to silence: no click at either end.
    assert abs(samples[0]) < 50 and abs(samples[-1]) < 50
    assert max(abs(s) for s in samples[:5]) < 2000
    # Two tones: both halves are clearly audible.
    half = len(samples) // 2
    assert rms(samples[:half]) > 2000 and rms(samples[half:]) > 500


def test_chime_is_deterministic_and_follows_rate():
    assert chime_wav() == chime_wav()
    params, _ = read_wav(chime_wav(16000))
    assert params.framerate == 16000
    with pytest.raises(ValueError):
        chime_wav(100)


def test_static_chime_file_matches_generator():
    """layso/static/chime.wav is chime_wav()'s output (rewrite: python -m layso.voice chime)."""
    static_params, static_samples = read_wav(STATIC_CHIME.read_bytes())
    params, samples = read_wav(chime_wav())
    assert static_params == params
    assert max(abs(a - b) for a, b in zip(static_samples, samples, strict=True)) <= 1


# ---------------------------------------------------------------------------- announcer (fakes)


def test_announce_wav_chime_pause_speech_and_cache_hit(tmp_path):
    engine = CountingEngine(tone_wav(0.5))
    announcer = CallAnnouncer(tmp_path / "cache", engine)

    first = announcer.announce_wav("Mời số một", "vi")
    params, samples = read_wav(first)
    chime_params, chime_samples = read_wav(chime_wav())
    assert params.framerate == 22050
    assert params.nframes > chime_params.nframes + round(0.5 * 22050)
    assert list(samples[: len(chime_samples)]) == list(chime_samples)  # chime first
    assert rms(samples[-round(0.5 * 22050) :]) > 5000  # then the speech, not silence
    assert engine.calls == [("Mời số một", "vi")]

    second = announcer.announce_wav("Mời số một", "vi")
    assert second == first
    assert len(engine.calls) == 1, "a cache hit must not call the engine"

    # The cache survives the instance: a new announcer on the same directory hits it too.
    again = CallAnnouncer(tmp_path / "cache", engine).announce_wav("Mời  số một ", "vi")
    assert again == first and len(engine.calls) == 1

    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert len(files) == 1 and re.fullmatch(r"[0-9a-f]{64}\.wav", files[0])  # no tmp left
    assert (tmp_path / "cache" / files[0]).read_bytes() == first

    # Another voice or another text is another entry.
    announcer.announce_wav("Mời số một", "vi-vn-x-south")
    announcer.announce_wav("Mời số hai", "vi")
    assert len(engine.calls) == 3
    assert len(list((tmp_path / "cache").iterdir())) == 3


@pytest.mark.parametrize(
    ("rate", "channels", "width"),
    [(16000, 1, 2), (22050, 2, 2), (22050, 1, 1), (44100, 2, 1)],
)
def test_announce_wav_converts_engine_output(tmp_path, rate, channels, width):
    wav = tone_wav(0.4, rate, channels=channels, width=width, streaming_header=True)
    announcer = CallAnnouncer(tmp_path, CountingEngine(wav))
    params, samples = read_wav(announcer.announce_wav("xin chào"))
    assert params.framerate == rate  # the chime is generated at the speech's rate
    assert params.nframes == round(1.2 * rate) + round(0.25 * rate) + round(0.4 * rate)
    assert rms(samples[-round(0.4 * rate) :]) > 5000


def test_unavailable_engine_gives_chime_alone_and_warns_once(tmp_path, caplog):
    announcer = CallAnnouncer(tmp_path / "cache", NullEngine())
    with caplog.at_level(logging.WARNING, logger="layso.voice"):
        assert announcer.announce_wav("Mời số một") == chime_wav()
        assert announcer.announce_wav("Mời số hai") == chime_wav()
    warnings = [r for r in caplog.records if r.name == "layso.voice"]
    assert len(warnings) == 1 and "unavailable" in warnings[0].getMessage()
    assert "\n" not in warnings[0].getMessage() and warnings[0].exc_info is None
    assert not (tmp_path / "cache").exists()  # the chime alone is never cached


def test_failing_engine_gives_chime_and_is_retried(tmp_path, caplog):
    engine = FailingEngine()
    announcer = CallAnnouncer(tmp_path, engine)
    with caplog.at_level(logging.WARNING, logger="layso.voice"):
        assert announcer.announce_wav("Mời số một") == chime_wav()
        assert announcer.announce_wav("Mời số một") == chime_wav()
    assert len(engine.calls) == 2  # a failure is not cached
    assert [r.levelno for r in caplog.records if r.name == "layso.voice"] == [logging.WARNING] * 2
    assert "engine broke" in caplog.records[0].getMessage()


def test_engine_returning_garbage_gives_chime(tmp_path, caplog):
    announcer = CallAnnouncer(tmp_path, CountingEngine(b"not a wav"))
    with caplog.at_level(logging.WARNING, logger="layso.voice"):
        assert announcer.announce_wav("Mời số một") == chime_wav()
    assert "RIFF" in caplog.text


def test_announce_call_renders_default_template(tmp_path):
    engine = CountingEngine()
    announcer = CallAnnouncer(tmp_path, engine)
    announcer.announce_call("1023", 3)
    announcer.announce_call("A023", 3, lang="en")
    assert engine.calls == [
        ("Kính mời công dân có số thứ tự một nghìn không trăm hai mươi ba đến quầy số ba", "vi"),
        ("Ticket number A-23, please go to counter 3", "en"),
    ]


def test_engines_follow_the_protocol():
    assert isinstance(EspeakEngine(), SpeechEngine)
    assert isinstance(NullEngine(), SpeechEngine)
    assert isinstance(CountingEngine(), SpeechEngine)
    assert not NullEngine().available()
    with pytest.raises(SpeechUnavailable):
        NullEngine().synthesize("x", "vi")


# ---------------------------------------------------------------------------- espeak-ng failures


def test_espeak_engine_missing_binary():
    engine = EspeakEngine(binary="espeak-ng-definitely-not-installed")
    assert not engine.available()
    with pytest.raises(SpeechUnavailable, match="not found"):
        engine.synthesize("xin chào", "vi")


def test_espeak_engine_non_zero_exit():
    engine = EspeakEngine(binary=need_binary("false"))
    with pytest.raises(SpeechUnavailable, match="exited 1"):
        engine.synthesize("xin chào", "vi")


def test_espeak_engine_timeout(monkeypatch):
    seen = {}

    def fake_run(cmd, **kwargs):
        seen.update(kwargs, cmd=cmd)
        raise subprocess.TimeoutExpired(cmd, kwargs["timeout"])

    monkeypatch.setattr(voice.shutil, "which", lambda name: "/usr/bin/espeak-ng")
    monkeypatch.setattr(voice.subprocess, "run", fake_run)
    with pytest.raises(SpeechUnavailable, match="timed out after 5 s"):
        EspeakEngine().synthesize("-mời số một", "vi")
    assert seen["timeout"] == 5.0
    # Voice as an argument, text after "--" (so a leading "-" is not an option).
    assert seen["cmd"] == ["/usr/bin/espeak-ng", "-v", "vi", "--stdout", "--", "-mời số một"]


@pytest.mark.parametrize("bad_voice", ["-w/tmp/x", "", "vi vi", "../vi"])
def test_espeak_engine_rejects_odd_voice_names(bad_voice):
    with pytest.raises(ValueError, match="voice"):
        EspeakEngine().synthesize("xin chào", bad_voice)


# ---------------------------------------------------------------------------- real espeak-ng


@pytest.mark.parametrize("voice_name", ["vi", "vi-vn-x-central", "vi-vn-x-south", "en"])
def test_espeak_synthesizes_a_proper_wav(voice_name):
    need_binary("espeak-ng")
    data = EspeakEngine().synthesize("-một hai ba", voice_name)
    params, samples = read_wav(data)  # the streaming header is fixed: nframes is real
    assert params.framerate == 22050
    assert params.nframes / params.framerate > 0.3
    assert rms(samples) > 500


def test_announce_wav_with_espeak(tmp_path):
    need_binary("espeak-ng")
    announcer = CallAnnouncer(tmp_path)
    text = render_phrase(DEFAULT_TEMPLATE_VI, number="1023", counter=3)
    data = announcer.announce_wav(text, "vi")

    params, samples = read_wav(data)
    chime_params, chime_samples = read_wav(chime_wav())
    duration = params.nframes / params.framerate
    assert duration > 1.0
    assert params.nframes > chime_params.nframes + round(1.0 * 22050)  # > a second of speech
    speech = samples[chime_params.nframes :]
    assert rms(speech) > 1000, "the speech part must not be silence"
    assert announcer.announce_wav(text, "vi") == data  # cached
    assert len(list(tmp_path.glob("*.wav"))) == 1


def test_announce_call_in_english_with_espeak(tmp_path):
    need_binary("espeak-ng")
    params, samples = read_wav(CallAnnouncer(tmp_path).announce_call("A023", 3, lang="en"))
    assert params.nframes / params.framerate > 2.0
    assert rms(samples[round(1.45 * 22050) :]) > 1000


def test_concurrent_announcers_share_the_cache_safely(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    engine = CountingEngine()
    announcers = [CallAnnouncer(tmp_path, engine) for _ in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda a: a.announce_wav("Mời số một"), announcers * 4))
    assert len(set(results)) == 1
    assert [p.suffix for p in tmp_path.iterdir()] == [".wav"]  # one entry, no temp file left
    read_wav(results[0])


def test_the_cache_is_bounded_and_evicts_the_least_recently_used(tmp_path):
    engine = CountingEngine(tone_wav(0.5))
    one = len(CallAnnouncer(tmp_path / "probe", engine).announce_wav("probe", "vi"))
    cache = tmp_path / "cache"
    announcer = CallAnnouncer(cache, engine, max_bytes=3 * one)

    for text in ("một", "hai", "ba"):
        announcer.announce_wav(f"Mời số {text}", "vi")
    oldest = announcer.cache_path("Mời số một", "vi")
    second = announcer.cache_path("Mời số hai", "vi")
    os.utime(oldest, (1_000_000, 1_000_000))  # long ago: least recently used...
    os.utime(second, (1_000_100, 1_000_100))
    announcer.announce_wav("Mời số một", "vi")  # ...until this cache hit makes it recent
    calls = len(engine.calls)
    announcer.announce_wav("Mời số bốn", "vi")  # a fourth phrase: one must go

    files = sorted(cache.glob("*.wav"))
    assert sum(f.stat().st_size for f in files) <= 3 * one
    assert len(files) == 3
    assert not second.exists(), "the least recently used phrase is evicted"
    assert oldest.exists() and announcer.cache_path("Mời số bốn", "vi").exists()
    assert len(engine.calls) == calls + 1

    for i in range(20):  # many phrases never grow it past the bound
        announcer.announce_wav(f"Mời số {i}", "vi")
    assert sum(f.stat().st_size for f in cache.glob("*.wav")) <= 3 * one
