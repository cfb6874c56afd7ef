"""Spoken calls for the wall display: Vietnamese number reading, call phrases, chime, speech.

Everything here is plain Python plus one subprocess (espeak-ng); nothing imports Flask, so the
module can be used from the web app, a worker or the command line alike.

Public API
----------
- :func:`read_number_vi` / :func:`read_ticket_vi` / :func:`read_ticket_en`: how a number or a
  ticket code is said aloud.
- :func:`validate_template` / :func:`render_phrase`: the manager-configured call sentence.
- :class:`SpeechEngine` (protocol), :class:`EspeakEngine`, :class:`NullEngine`,
  :class:`SpeechUnavailable`.
- :func:`chime_wav`: the "ding-dong" played before every call (also shipped as
  ``layso/static/chime.wav``).
- :class:`CallAnnouncer`: chime + pause + speech as one WAV, cached on disk.

Command line (for people, not for the app)::

    python -m layso.voice chime [PATH]              # (re)write the static chime.wav
    python -m layso.voice call 1023 3 -o call.wav   # render a whole call to a WAV file
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import os
import re
import shutil
import string
import struct
import subprocess
import sys
import tempfile
import unicodedata
import wave
from array import array
from pathlib import Path
from typing import Protocol, runtime_checkable

__all__ = [
    "DEFAULT_TEMPLATE_EN",
    "DEFAULT_TEMPLATE_VI",
    "PLACEHOLDERS",
    "CallAnnouncer",
    "EspeakEngine",
    "NullEngine",
    "SpeechEngine",
    "SpeechUnavailable",
    "chime_wav",
    "read_number_vi",
    "read_ticket_en",
    "read_ticket_vi",
    "render_phrase",
    "validate_template",
]

log = logging.getLogger(__name__)

#: Sample rate of espeak-ng's output, and therefore of the chime and of every call WAV.
SAMPLE_RATE = 22050

DEFAULT_TEMPLATE_VI = "Kính mời công dân có số thứ tự {số} đến quầy số {quầy}"
DEFAULT_TEMPLATE_EN = "Ticket number {number}, please go to counter {counter}"

# --------------------------------------------------------------------------------------------
# Vietnamese numbers
# --------------------------------------------------------------------------------------------

_DIGITS_VI = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_ODD_WORDS = ("linh", "lẻ")
_MAX_NUMBER = 999_999_999


def _read_triple_vi(n: int, *, full: bool, odd: str) -> list[str]:
    """Words for 0 < n < 1000; ``full`` reads an empty hundreds place as "không trăm"."""
    hundreds, tens, units = n // 100, n // 10 % 10, n % 10
    words: list[str] = []
    if hundreds or full:
        words += [_DIGITS_VI[hundreds], "trăm"]
    if tens == 0:
        if units:
            if words:  # 101 → "một trăm linh một", 1005 → "... không trăm linh năm"
                words.append(odd)
            words.append(_DIGITS_VI[units])
    elif tens == 1:
        words.append("mười")
        if units:
            words.append("lăm" if units == 5 else _DIGITS_VI[units])  # 15 → "mười lăm"
    else:
        words += [_DIGITS_VI[tens], "mươi"]
        if units == 1:
            words.append("mốt")  # 21 → "hai mươi mốt"
        elif units == 4:
            words.append("tư")  # 24 → "hai mươi tư"
        elif units == 5:
            words.append("lăm")  # 25 → "hai mươi lăm"
        elif units:
            words.append(_DIGITS_VI[units])
    return words


def read_number_vi(n: int, odd: str = "linh") -> str:
    """Read a whole number 0..999,999,999 in Vietnamese, the way a hall announcer says it.

    Rules: "mười" for 10–19 ("mười lăm" for 15, "mười bốn" for 14); "mươi" for the tens from 20,
    with "mốt" for a final 1, "tư" for a final 4 and "lăm" for a final 5 (21 "hai mươi mốt",
    24 "hai mươi tư", 25 "hai mươi lăm"); an empty tens place between hundreds and units is
    read with ``odd`` ("linh", Northern, the default; or "lẻ", Southern): 101 "một trăm linh
    một". After "nghìn" or "triệu" an empty hundreds place is read aloud, "không trăm"
    (1023 "một nghìn không trăm hai mươi ba"), while whole empty groups are skipped
    (2000 "hai nghìn", 1000001 "một triệu không trăm linh một").

    Raises ``ValueError`` for negatives, numbers above 999,999,999 or an unknown ``odd`` word,
    and ``TypeError`` for anything that is not an ``int``.
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"read_number_vi needs an int, got {type(n).__name__}")
    if not 0 <= n <= _MAX_NUMBER:
        raise ValueError(f"read_number_vi covers 0..{_MAX_NUMBER:,}, got {n:,}")
    if odd not in _ODD_WORDS:
        raise ValueError(f"odd must be one of {_ODD_WORDS}, got {odd!r}")
    if n == 0:
        return _DIGITS_VI[0]
    words: list[str] = []
    for value, unit in ((n // 1_000_000, "triệu"), (n // 1000 % 1000, "nghìn"), (n % 1000, "")):
        if value == 0:
            continue
        words += _read_triple_vi(value, full=bool(words), odd=odd)
        if unit:
            words.append(unit)
    return " ".join(words)


# --------------------------------------------------------------------------------------------
# Ticket codes
# --------------------------------------------------------------------------------------------

#: How each letter of a ticket prefix is spelled aloud in Vietnamese (Northern letter names).
LETTER_NAMES_VI = {
    "A": "A", "Ă": "á", "Â": "ớ", "B": "bê", "C": "xê", "D": "dê", "Đ": "đê", "E": "E",
    "Ê": "ê", "F": "ép", "G": "giê", "H": "hát", "I": "I", "J": "gi", "K": "ca", "L": "e-lờ",
    "M": "em-mờ", "N": "en-nờ", "O": "O", "Ô": "ô", "Ơ": "ơ", "P": "pê", "Q": "quy",
    "R": "e-rờ", "S": "ét-xì", "T": "tê", "U": "U", "Ư": "ư", "V": "vê", "W": "vê kép",
    "X": "ích-xì", "Y": "i dài", "Z": "dét",
}  # fmt: skip

_TOKEN_RE = re.compile(r"\d+|[^\W\d_]")
_MAX_NUMBER_DIGITS = 9


def _ticket_tokens(display_number: str | int) -> list[str]:
    if isinstance(display_number, bool):
        raise TypeError("a ticket number cannot be a bool")
    if isinstance(display_number, int):
        display_number = str(display_number)
    if not isinstance(display_number, str):
        raise TypeError(f"a ticket number must be a str, got {type(display_number).__name__}")
    tokens = _TOKEN_RE.findall(unicodedata.normalize("NFC", display_number))
    if not tokens:
        raise ValueError(f"ticket number {display_number!r} has no letter or digit to read")
    return tokens


def read_ticket_vi(display_number: str, odd: str = "linh") -> str:
    """What the announcer says for a ticket code such as "1023" or "A023".

    - Digits are read as one number, leading zeros dropped, as announcers do for the printed,
      zero-padded codes: "1023" → "một nghìn không trăm hai mươi ba", "A023" → "A hai mươi
      ba", "A000" → "A không". A digit run longer than 9 digits is read digit by digit.
    - Letters are spelled one by one with their Vietnamese names (:data:`LETTER_NAMES_VI`):
      vowels as themselves ("A", "E", "O"...), "B" "bê", "C" "xê", "D" "dê", "K" "ca",
      "L" "e-lờ", "S" "ét-xì", "X" "ích-xì"...; "AB012" → "A bê mười hai".
    - Separators (spaces, "-", ".") are ignored: "A-023" reads like "A023".

    ``odd`` is passed to :func:`read_number_vi`. Raises ``ValueError`` when the code has no
    letter or digit.
    """
    words: list[str] = []
    for token in _ticket_tokens(display_number):
        if token.isdigit():
            if len(token) <= _MAX_NUMBER_DIGITS:
                words.append(read_number_vi(int(token), odd=odd))
            else:
                words += [_DIGITS_VI[int(d)] for d in token]
        else:
            words.append(LETTER_NAMES_VI.get(token.upper(), token))
    return " ".join(words)


def read_ticket_en(display_number: str) -> str:
    """Ticket code as text for an English voice: "A023" → "A-23", "1023" → "1023".

    Leading zeros are dropped and the digits stay digits (the English voice reads "23" as
    "twenty-three" and "1023" as "one thousand and twenty-three"). Letters are upper-cased and
    joined to the number with hyphens ("AB012" → "A-B-12"): espeak-ng's English voice reads a
    free-standing "A" as the article ("uh"), but "A-23" as the letter "ay" then "twenty-three".
    A digit run longer than 9 digits is spelled digit by digit.
    """
    parts: list[str] = []
    for token in _ticket_tokens(display_number):
        if token.isdigit():
            parts.append(str(int(token)) if len(token) <= _MAX_NUMBER_DIGITS else " ".join(token))
        else:
            parts.append(token.upper())
    return "-".join(parts)


# --------------------------------------------------------------------------------------------
# Call phrase templates
# --------------------------------------------------------------------------------------------

#: Placeholder names accepted in a call template, and what each stands for.
PLACEHOLDERS = {"số": "number", "number": "number", "quầy": "counter", "counter": "counter"}
_ALLOWED_TEXT = "{số} (or {number}) and {quầy} (or {counter})"
_LANGS = ("vi", "en")


def _template_parts(template: str) -> list[tuple[str, str | None]]:
    """Split a template into (literal text, placeholder kind or None); raise on any error."""
    if not isinstance(template, str):
        raise TypeError(f"a call template must be a str, got {type(template).__name__}")
    template = unicodedata.normalize("NFC", template)  # "số" typed decomposed still matches
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(
            f"call template {template!r} is malformed ({exc}); placeholders are "
            f"{_ALLOWED_TEXT}, and a literal brace is written twice: {{{{ or }}}}"
        ) from None
    parts: list[tuple[str, str | None]] = []
    for literal, field, spec, conversion in parsed:
        kind = None
        if field is not None:
            name = field.strip()
            if name not in PLACEHOLDERS:
                shown = "{" + field + "}" if field else "{} (an empty placeholder)"
                raise ValueError(
                    f"call template {template!r} has an unknown placeholder {shown}; "
                    f"allowed: {_ALLOWED_TEXT}"
                )
            if spec or conversion:
                raise ValueError(
                    f"call template {template!r}: placeholder {{{name}}} takes no format "
                    f"spec or conversion; write it plainly as {{{name}}}"
                )
            kind = PLACEHOLDERS[name]
        parts.append((literal, kind))
    return parts


def validate_template(template: str) -> None:
    """Check a manager-configured call template; raise ``ValueError`` with a clear message.

    Allowed placeholders: ``{số}`` / ``{number}`` (the ticket) and ``{quầy}`` / ``{counter}``
    (the counter), each any number of times, without format specs; literal braces are doubled.
    """
    _template_parts(template)


def _read_counter(counter: int | str, lang: str) -> str:
    if lang == "vi":
        if isinstance(counter, int) and not isinstance(counter, bool):
            return read_number_vi(counter)
        return read_ticket_vi(counter)
    return read_ticket_en(counter)


def render_phrase(template: str, *, number: str, counter: int | str, lang: str = "vi") -> str:
    """Fill a call template, the ticket and counter written the way the voice should say them.

    For ``lang="vi"`` both are read in Vietnamese words ("1023" → "một nghìn không trăm hai
    mươi ba", counter 3 → "ba"); for ``lang="en"`` they are given as :func:`read_ticket_en`
    text ("A-23", "3"). Raises ``ValueError`` for an invalid template or an unknown language.
    """
    if lang not in _LANGS:
        raise ValueError(f"unsupported language {lang!r}; expected one of {_LANGS}")
    parts = _template_parts(template)
    values = {
        "number": read_ticket_vi(number) if lang == "vi" else read_ticket_en(number),
        "counter": _read_counter(counter, lang),
    }
    text = "".join(literal + (values[kind] if kind else "") for literal, kind in parts)
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# WAV helpers (stdlib only; audioop is deprecated and gone in 3.13)
# --------------------------------------------------------------------------------------------

_PCM = 1
_EXTENSIBLE = 0xFFFE


def _parse_wav(data: bytes) -> tuple[int, int, int, bytes]:
    """(channels, sample width, rate, frames) of a PCM WAV.

    Tolerates the streaming header espeak-ng writes to a pipe, whose RIFF and data sizes are
    placeholders (~2 GiB): the data chunk is cut at the end of the bytes actually there.
    """
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    fmt: tuple[int, int, int, int] | None = None
    pos = 12
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        size = int.from_bytes(data[pos + 4 : pos + 8], "little")
        body_start = pos + 8
        if chunk_id == b"fmt ":
            body = data[body_start : body_start + size]
            if len(body) < 16:
                raise ValueError("truncated fmt chunk")
            tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", body)
            if tag == _EXTENSIBLE and len(body) >= 26:
                (tag,) = struct.unpack_from("<H", body, 24)
            if (
                tag != _PCM
                or bits not in (8, 16, 24, 32)
                or channels < 1
                or not 4000 <= rate <= 384000
            ):
                raise ValueError(f"unsupported WAV format (tag {tag}, {bits} bits)")
            if block_align != channels * bits // 8:
                raise ValueError("inconsistent WAV block alignment")
            fmt = (channels, bits // 8, rate, block_align)
        elif chunk_id == b"data":
            if fmt is None:
                raise ValueError("WAV data chunk before its fmt chunk")
            frames = data[body_start : min(body_start + size, len(data))]
            frames = frames[: len(frames) - len(frames) % fmt[3]]
            return fmt[0], fmt[1], fmt[2], frames
        pos = body_start + size + (size & 1)
    raise ValueError("WAV file has no data chunk")


def _to_mono16(channels: int, width: int, frames: bytes) -> array:
    """PCM frames of any supported width and channel count → mono signed 16-bit samples."""
    if width == 1:  # unsigned 8-bit
        samples = array("h", ((b - 128) << 8 for b in frames))
    else:
        if width > 2:  # keep the two most significant bytes of each little-endian sample
            top = bytearray(len(frames) // width * 2)
            top[0::2] = frames[width - 2 :: width]
            top[1::2] = frames[width - 1 :: width]
            frames = bytes(top)
        samples = array("h")
        samples.frombytes(frames)
        if sys.byteorder == "big":
            samples.byteswap()
    if channels > 1:
        lanes = [samples[k::channels] for k in range(channels)]
        samples = array("h", (sum(group) // channels for group in zip(*lanes, strict=True)))
    return samples


def _wav_bytes(samples: array, rate: int) -> bytes:
    """Mono 16-bit samples → a complete WAV file."""
    if sys.byteorder == "big":
        samples = array("h", samples)
        samples.byteswap()
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# Chime
# --------------------------------------------------------------------------------------------

# (start s, fundamental Hz): E5 then C5, a falling major third: "ding-dong".
_CHIME_NOTES = ((0.0, 659.25), (0.42, 523.25))
# (multiple of the fundamental, amplitude, decay time constant s): a soft bell timbre.
_CHIME_PARTIALS = ((1.0, 1.0, 0.40), (2.0, 0.30, 0.18), (3.0, 0.10, 0.10))
_CHIME_SECONDS = 1.2
_CHIME_ATTACK = 0.010  # raised-cosine fade-in of each note, so it starts without a click
_CHIME_RELEASE = 0.08  # raised-cosine fade-out of the whole chime, ending on exact zero
_CHIME_PEAK = 0.45  # of full scale (-7 dBFS): RMS close to espeak-ng speech (~0.12)


def _chime_samples(rate: int = SAMPLE_RATE) -> array:
    total = round(_CHIME_SECONDS * rate)
    attack = max(1, round(_CHIME_ATTACK * rate))
    release = max(1, round(_CHIME_RELEASE * rate))
    signal = [0.0] * total
    for start_s, freq in _CHIME_NOTES:
        start = round(start_s * rate)
        for k, amp, tau in _CHIME_PARTIALS:
            step = 2.0 * math.pi * freq * k / rate
            fall = math.exp(-1.0 / (tau * rate))
            env = amp
            for i in range(total - start):
                value = env * math.sin(step * i)
                if i < attack:
                    value *= 0.5 - 0.5 * math.cos(math.pi * i / attack)
                signal[start + i] += value
                env *= fall
    for i in range(release):  # the last sample is exactly zero
        signal[total - 1 - i] *= 0.5 - 0.5 * math.cos(math.pi * i / release)
    peak = max(abs(v) for v in signal) or 1.0
    scale = _CHIME_PEAK * 32767 / peak
    return array("h", (round(v * scale) for v in signal))


def chime_wav(rate: int = SAMPLE_RATE) -> bytes:
    """A ~1.2 s two-tone "ding-dong" (E5 then C5, soft bell partials, decaying), as WAV bytes.

    Mono, 16-bit, ``rate`` Hz (22050 by default, espeak-ng's rate). Deterministic: the same
    bytes every time, which is what ``layso/static/chime.wav`` holds for browsers.
    """
    if not isinstance(rate, int) or not 8000 <= rate <= 192000:
        raise ValueError(f"chime rate must be an int 8000..192000, got {rate!r}")
    return _wav_bytes(_chime_samples(rate), rate)


# --------------------------------------------------------------------------------------------
# Speech engines
# --------------------------------------------------------------------------------------------


class SpeechUnavailable(RuntimeError):
    """The speech engine cannot speak now (missing binary, timeout, failure, bad output)."""


@runtime_checkable
class SpeechEngine(Protocol):
    """Text-to-speech backend: returns a PCM WAV for ``text`` in ``voice``."""

    name: str

    def available(self) -> bool: ...

    def synthesize(self, text: str, voice: str) -> bytes: ...


_VOICE_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+\-]{0,63}")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


class EspeakEngine:
    """espeak-ng as a subprocess: ``espeak-ng -v VOICE --stdout -- TEXT``.

    Voices of espeak-ng 1.51: "vi" (Northern, default), "vi-vn-x-central", "vi-vn-x-south",
    "en". Output: WAV, 22050 Hz mono 16-bit (returned with a corrected header). ``speed`` is
    espeak-ng's words per minute (``-s``; None keeps its default of 175). Any failure, timeout
    (``timeout`` s, 5 by default) included, raises :class:`SpeechUnavailable`.
    """

    name = "espeak-ng"

    def __init__(
        self,
        binary: str = "espeak-ng",
        *,
        timeout: float = 5.0,
        speed: int | None = None,
    ) -> None:
        self.binary = binary
        self.timeout = timeout
        self.speed = speed

    def available(self) -> bool:
        return shutil.which(self.binary) is not None

    def synthesize(self, text: str, voice: str = "vi") -> bytes:
        if not _VOICE_RE.fullmatch(voice):
            raise ValueError(f"invalid espeak-ng voice name {voice!r}")
        exe = shutil.which(self.binary)
        if exe is None:
            raise SpeechUnavailable(f"{self.binary} not found on PATH")
        text = " ".join(_CONTROL_RE.sub(" ", text).split())
        cmd = [exe, "-v", voice, "--stdout"]
        if self.speed is not None:
            cmd += ["-s", str(int(self.speed))]
        cmd += ["--", text]  # "--": a text starting with "-" is not taken for an option
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            raise SpeechUnavailable(
                f"{self.binary} timed out after {self.timeout:g} s (voice {voice!r})"
            ) from None
        except OSError as exc:
            raise SpeechUnavailable(f"{self.binary} could not run: {exc}") from exc
        if proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip()[:200]
            raise SpeechUnavailable(
                f"{self.binary} exited {proc.returncode} (voice {voice!r}): {err or 'no message'}"
            )
        try:
            channels, width, rate, frames = _parse_wav(proc.stdout)
        except ValueError as exc:
            raise SpeechUnavailable(f"{self.binary} gave no usable WAV: {exc}") from None
        if not frames:
            raise SpeechUnavailable(f"{self.binary} produced no audio for {text!r}")
        return _wav_bytes(_to_mono16(channels, width, frames), rate)


class NullEngine:
    """No speech at all: never available; calls then play the chime only."""

    name = "null"

    def available(self) -> bool:
        return False

    def synthesize(self, text: str, voice: str = "vi") -> bytes:
        raise SpeechUnavailable("no speech engine configured")


# --------------------------------------------------------------------------------------------
# Announcer
# --------------------------------------------------------------------------------------------

_CACHE_FORMAT = 1  # bump when the chime, the pause or the layout of a call WAV changes
_PAUSE_SECONDS = 0.25


class CallAnnouncer:
    """Builds the call WAV (chime, short pause, speech) and caches it on disk.

    One file per (engine, voice, text) under ``cache_dir``, named by a sha256, written to a
    temporary file then renamed into place, so readers never see a half-written file and
    concurrent writers of the same call are harmless. No state is shared between instances
    except those files; an instance only keeps its computed chime and whether it already
    warned that the engine is unavailable. Without a usable engine a call is the chime alone,
    and one warning line is logged: once per instance when the engine is unavailable, once per
    call when it fails.
    """

    def __init__(
        self,
        cache_dir: Path,
        engine: SpeechEngine | None = None,
        *,
        max_bytes: int | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        # the cache's total size bound: past it the least recently used WAVs are removed
        self.max_bytes = max_bytes
        self.engine: SpeechEngine = engine if engine is not None else EspeakEngine()
        self._warned_unavailable = False
        self._chimes: dict[int, array] = {}  # rate → chime samples, computed once per instance

    def _chime(self, rate: int = SAMPLE_RATE) -> array:
        samples = self._chimes.get(rate)
        if samples is None:
            samples = self._chimes[rate] = _chime_samples(rate)
        return samples

    def chime_wav(self) -> bytes:
        """The chime alone, as played when there is no speech."""
        return _wav_bytes(self._chime(), SAMPLE_RATE)

    def cache_path(self, text: str, voice: str = "vi") -> Path:
        key = json.dumps([_CACHE_FORMAT, self.engine.name, voice, text], ensure_ascii=False)
        return self.cache_dir / f"{hashlib.sha256(key.encode('utf-8')).hexdigest()}.wav"

    def announce_wav(self, text: str, voice: str = "vi") -> bytes:
        """Chime + pause + ``text`` spoken in ``voice``, as one 16-bit mono WAV."""
        text = " ".join(unicodedata.normalize("NFC", text).split())
        if not text:
            return self.chime_wav()
        path = self.cache_path(text, voice)
        try:
            cached = path.read_bytes()
        except FileNotFoundError:
            cached = b""
        except OSError as exc:
            log.warning("voice cache %s unreadable: %s", path, exc)
            cached = b""
        if cached[:4] == b"RIFF":
            try:
                os.utime(path)  # recently used: the last to be evicted
            except OSError:
                pass
            return cached

        if not self.engine.available():
            if not self._warned_unavailable:
                self._warned_unavailable = True
                log.warning(
                    "speech engine %s unavailable: calls play the chime only", self.engine.name
                )
            return self.chime_wav()
        try:
            channels, width, rate, frames = _parse_wav(self.engine.synthesize(text, voice))
        except (SpeechUnavailable, ValueError) as exc:
            log.warning(
                "speech engine %s failed for %r (voice %s), playing the chime only: %s",
                self.engine.name,
                text,
                voice,
                exc,
            )
            return self.chime_wav()

        samples = array("h", self._chime(rate))
        samples.extend(array("h", bytes(2 * round(_PAUSE_SECONDS * rate))))
        samples.extend(_to_mono16(channels, width, frames))
        data = _wav_bytes(samples, rate)
        self._store(path, data)
        return data

    def announce_call(
        self,
        number: str,
        counter: int | str,
        *,
        template: str | None = None,
        lang: str = "vi",
        voice: str | None = None,
    ) -> bytes:
        """Render the call sentence (default template per language) and :meth:`announce_wav`."""
        if template is None:
            template = DEFAULT_TEMPLATE_EN if lang == "en" else DEFAULT_TEMPLATE_VI
        text = render_phrase(template, number=number, counter=counter, lang=lang)
        return self.announce_wav(text, voice or lang)

    def _store(self, path: Path, data: bytes) -> None:
        tmp = None
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.cache_dir, prefix=".tmp-", suffix=".wav")
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            log.warning("voice cache %s not written: %s", path, exc)
        finally:
            if tmp is not None:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
        if self.max_bytes is not None:
            self.evict(self.max_bytes, keep=path)

    def evict(self, max_bytes: int, *, keep: Path | None = None) -> int:
        """Remove the least recently used WAVs until the cache holds at most ``max_bytes``.

        Recency is the file's mtime, refreshed on every cache hit. ``keep`` (the file just
        written) goes last. Returns the number of bytes removed.
        """
        entries: list[tuple[float, int, Path]] = []
        try:
            for entry in os.scandir(self.cache_dir):
                if entry.name.endswith(".wav") and not entry.name.startswith(".tmp-"):
                    try:
                        st = entry.stat()
                    except OSError:
                        continue
                    used = math.inf if entry.path == str(keep) else st.st_mtime
                    entries.append((used, st.st_size, Path(entry.path)))
        except OSError as exc:
            log.warning("voice cache %s not listed: %s", self.cache_dir, exc)
            return 0
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in sorted(entries, key=lambda e: e[0]):
            if total <= max_bytes:
                break
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.warning("voice cache %s not removed: %s", path, exc)
                continue
            total -= size
            removed += size
        return removed


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------

STATIC_CHIME = Path(__file__).with_name("static") / "chime.wav"


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m layso.voice", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    p_chime = sub.add_parser("chime", help="write the chime WAV (default: the static file)")
    p_chime.add_argument("path", nargs="?", type=Path, default=STATIC_CHIME)
    p_call = sub.add_parser("call", help="render a whole call (chime + speech) to a WAV file")
    p_call.add_argument("number")
    p_call.add_argument("counter")
    p_call.add_argument("-o", "--output", type=Path, required=True)
    p_call.add_argument("--lang", choices=_LANGS, default="vi")
    p_call.add_argument("--voice")
    p_call.add_argument("--template")
    args = parser.parse_args(argv)

    if args.cmd == "chime":
        args.path.write_bytes(chime_wav())
        print(args.path)
        return 0
    with tempfile.TemporaryDirectory() as cache:
        announcer = CallAnnouncer(Path(cache))
        data = announcer.announce_call(
            args.number, args.counter, template=args.template, lang=args.lang, voice=args.voice
        )
        text = render_phrase(
            args.template or (DEFAULT_TEMPLATE_EN if args.lang == "en" else DEFAULT_TEMPLATE_VI),
            number=args.number,
            counter=args.counter,
            lang=args.lang,
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    print(f"{args.output}: {text}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
