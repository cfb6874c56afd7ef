"""The cached parts of a ticket image: the bundled fonts and their line metrics, word
wrapping, the LRU of drawn blocks, the fitted size of a number and the QR code.

Each is drawn or measured once and reused from ticket to ticket; :mod:`layso_agent.render`
lays a ticket out from them."""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Hashable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import qrcode
from PIL import Image, ImageFont

_FONT_FILES = {False: "DejaVuSans.ttf", True: "DejaVuSans-Bold.ttf"}
# Vietnamese stacks two marks over capitals (Ẫ, Ỗ) and hangs one under (Ỵ, Ộ): a line must make
# room for both, or the marks of one line touch the next.
_TALL_SAMPLE = "ẪỖẤẶỸ"
_DEEP_SAMPLE = "ỴỵgjỘ"
BLACK = 0
WHITE = 255
# grey -> dot, as convert("1") without dithering thresholds (a dot below 128)
INK = [255 if v < 128 else 0 for v in range(256)]
_MODULE_PIXELS = bytes([WHITE, BLACK]) + bytes(254)
# The QR code: error level M, and a fixed mask so that qrcode does not draw all 8 masks to pick
# the "best" (most of a ticket's drawing time before); any mask reads the same. Mask 3 had the
# lowest penalty (qrcode's own score of the 8) on average and at worst over 300 random status
# URLs of four kinds of server address. At least version 3 (29 modules: a status URL of up to
# 42 bytes), so the code keeps one size from ticket to ticket; a longer URL still gets the bigger
# version it needs.
QR_ERROR = qrcode.constants.ERROR_CORRECT_M
QR_MASK = 3
QR_MIN_VERSION = 3
#: Blocks of a ticket that are the same from ticket to ticket (the hall's header, the labels),
#: drawn once and pasted: how many to keep (least recently used dropped first).
BLOCK_CACHE_SIZE = 256


def nfc(text: str) -> str:
    """Return text in NFC, the precomposed form every font and code page here expects."""
    return unicodedata.normalize("NFC", text)


#: The bundled fonts, next to this module (package data in pyproject.toml).
FONT_DIR = Path(__file__).resolve().parent / "fonts"


@lru_cache(maxsize=32)
def font(size: int, *, bold: bool = False) -> ImageFont.FreeTypeFont:
    """Return the bundled DejaVu Sans (bold or regular) at ``size`` pixels."""
    return ImageFont.truetype(str(FONT_DIR / _FONT_FILES[bold]), size)


@dataclass(frozen=True)
class LineMetrics:
    above: int  # baseline to the highest mark a Vietnamese line can have
    below: int  # baseline to the lowest

    @property
    def height(self) -> int:
        return self.above + self.below


@lru_cache(maxsize=64)
def metrics(f: ImageFont.FreeTypeFont) -> LineMetrics:
    ascent, descent = f.getmetrics()
    top = f.getbbox(_TALL_SAMPLE, anchor="ls")[1]
    bottom = f.getbbox(_DEEP_SAMPLE, anchor="ls")[3]
    return LineMetrics(above=max(ascent, -top), below=max(descent, bottom))


Run = tuple[str, ImageFont.FreeTypeFont]


def line_width(line: list[Run]) -> float:
    """Width of a line of runs, one space (in the next run's font) between runs."""
    width = 0.0
    for i, (text, f) in enumerate(line):
        if i:
            width += f.getlength(" ")
        width += f.getlength(text)
    return width


def _merge(words: list[Run]) -> list[Run]:
    """Join neighbouring words in the same font, so kerning and spaces measure as drawn."""
    merged: list[Run] = []
    for word, f in words:
        if merged and merged[-1][1] is f:
            merged[-1] = (f"{merged[-1][0]} {word}", f)
        else:
            merged.append((word, f))
    return merged


def _split_long_word(word: str, f: ImageFont.FreeTypeFont, max_width: float) -> Iterator[str]:
    piece = ""
    for char in word:
        if piece and f.getlength(piece + char) > max_width:
            yield piece
            piece = ""
        piece += char
    if piece:
        yield piece


def wrap_runs(runs: list[Run], max_width: float) -> list[list[Run]]:
    """Wrap runs of (text, font) into lines no wider than ``max_width``, breaking at spaces.

    A word wider than the line (a long URL) is broken between characters.
    """
    words: list[Run] = []
    for text, f in runs:
        # Only plain spaces break: a value spelled with no-break spaces stays on one line.
        for word in filter(None, nfc(text).split(" ")):
            if f.getlength(word) > max_width:
                words.extend((piece, f) for piece in _split_long_word(word, f, max_width))
            else:
                words.append((word, f))
    lines: list[list[Run]] = []
    line: list[Run] = []
    for word in words:
        candidate = _merge([*line, word])
        if line and line_width(candidate) > max_width:
            lines.append(line)
            line = [word]
        else:
            line.append(word)
    if line:
        lines.append(line)
    # no lone last word ("… xã Tân" / "Phú"): take one more word down when it fits
    if len(lines) > 1 and len(lines[-1]) == 1 and len(lines[-2]) >= 3:
        moved = [lines[-2][-1], *lines[-1]]
        if line_width(_merge(moved)) <= max_width:
            lines[-2:] = [lines[-2][:-1], moved]
    return [_merge(line) for line in lines]


@dataclass(frozen=True)
class Block:
    """Part of a ticket drawn once: its ink, and how far it moves the pen down.

    The ink is kept as a 1-bit mask (set where the finished ticket has a dot): thresholding is
    all :meth:`_Canvas.finish` does to the grey pixels, and it gives the same dots whether it
    happens before or after pasting; a block takes an eighth of the memory of its grey strip.
    """

    ink: Image.Image  # mode "1", the paper's width; may reach below ``advance``
    advance: int


class BlockCache:
    """The blocks drawn so far, by what they say and the paper width: a bounded LRU."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.blocks: OrderedDict[tuple[Hashable, ...], Block] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Hashable, ...]) -> Block | None:
        with self._lock:
            block = self.blocks.get(key)
            if block is not None:
                self.blocks.move_to_end(key)
            return block

    def put(self, key: tuple[Hashable, ...], block: Block) -> Block:
        with self._lock:
            self.blocks[key] = block
            self.blocks.move_to_end(key)
            while len(self.blocks) > self.size:
                self.blocks.popitem(last=False)
        return block

    def __len__(self) -> int:
        return len(self.blocks)

    def clear(self) -> None:
        with self._lock:
            self.blocks.clear()


blocks = BlockCache(BLOCK_CACHE_SIZE)


def clear_caches() -> None:
    """Forget every block, number size and QR code drawn so far (fonts stay loaded)."""
    blocks.clear()
    number_size.cache_clear()
    qr_modules.cache_clear()


@lru_cache(maxsize=1024)
def number_size(number: str, max_width: float, max_height: float) -> int:
    """The largest bold size at which ``number`` fits ``max_width`` by ``max_height``."""

    def ink(size: int) -> tuple[int, int, int, int]:
        return font(size, bold=True).getbbox(number, anchor="ls")

    # glyphs scale with the size: measure once, scale, then step down past any rounding
    left, top, right, bottom = ink(100)
    size = int(100 * min(max_width / max(1, right - left), max_height / max(1, bottom - top)))
    size = max(10, size)
    while size > 10:
        left, top, right, bottom = ink(size)
        if right - left <= max_width and bottom - top <= max_height:
            break
        size -= 1
    return size


@lru_cache(maxsize=16)
def qr_modules(data: str) -> Image.Image:
    """The QR code of ``data``, one pixel per module (black on white, 4-module quiet zone)."""
    code = qrcode.QRCode(
        version=QR_MIN_VERSION, error_correction=QR_ERROR, border=4, mask_pattern=QR_MASK
    )
    code.add_data(data)
    code.make(fit=True)  # from QR_MIN_VERSION up, only if the data needs more
    matrix = code.get_matrix()
    pixels = b"".join(map(bytes, matrix)).translate(_MODULE_PIXELS)  # True -> 1 -> black
    return Image.frombytes("L", (len(matrix), len(matrix)), pixels)
