"""The sound of a call, stdlib only: reading and writing mono 16-bit WAV, and the chime
played before every call (see layso.voice)."""

import io
import math
import struct
import sys
import wave
from array import array

#: Sample rate of espeak-ng's output, and therefore of the chime and of every call WAV.
SAMPLE_RATE = 22050

# --------------------------------------------------------------------------------------------
# WAV helpers (stdlib only; audioop is deprecated and gone in 3.13)
# --------------------------------------------------------------------------------------------

_PCM = 1
_EXTENSIBLE = 0xFFFE


def parse_wav(data: bytes) -> tuple[int, int, int, bytes]:
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


def to_mono16(channels: int, width: int, frames: bytes) -> array:
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


def wav_bytes(samples: array, rate: int) -> bytes:
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


def chime_samples(rate: int = SAMPLE_RATE) -> array:
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
    return wav_bytes(chime_samples(rate), rate)
