"""Spoken calls for the wall display: Vietnamese number reading, call phrases, chime, speech.

Everything here is plain Python plus one subprocess (espeak-ng); nothing imports Flask, so the
module can be used from the web app, a worker or the command line alike.

Three modules: what is said (:mod:`layso.voice_words`), the WAV format and the chime
(:mod:`layso.voice_wav`), and here the speech engines and the spoken-call cache; this module
re-exports the other two, so callers import from ``layso.voice`` alone.

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
import json
import logging
import math
import os
import re
import shutil
import subprocess
import tempfile
import unicodedata
from array import array
from pathlib import Path
from typing import Protocol, runtime_checkable

from layso.voice_wav import (
    SAMPLE_RATE,
    chime_samples,
    chime_wav,
    parse_wav,
    to_mono16,
    wav_bytes,
)
from layso.voice_words import (
    DEFAULT_TEMPLATE_EN,
    DEFAULT_TEMPLATE_VI,
    LANGS,
    PLACEHOLDERS,
    read_number_vi,
    read_ticket_en,
    read_ticket_vi,
    render_phrase,
    validate_template,
)

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
            channels, width, rate, frames = parse_wav(proc.stdout)
        except ValueError as exc:
            raise SpeechUnavailable(f"{self.binary} gave no usable WAV: {exc}") from None
        if not frames:
            raise SpeechUnavailable(f"{self.binary} produced no audio for {text!r}")
        return wav_bytes(to_mono16(channels, width, frames), rate)


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
            samples = self._chimes[rate] = chime_samples(rate)
        return samples

    def chime_wav(self) -> bytes:
        """The chime alone, as played when there is no speech."""
        return wav_bytes(self._chime(), SAMPLE_RATE)

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
            channels, width, rate, frames = parse_wav(self.engine.synthesize(text, voice))
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
        samples.extend(to_mono16(channels, width, frames))
        data = wav_bytes(samples, rate)
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
    p_call.add_argument("--lang", choices=LANGS, default="vi")
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
