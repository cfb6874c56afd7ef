"""A small ESC/POS reader for tests: turns the bytes sent to a printer back into what it prints.

No package on PyPI parses ESC/POS back into an image, and the commands a ticket uses are few.
:func:`decode` walks the stream command by command and returns every command it saw (in order)
and every raster image, decoded from any of python-escpos's three image commands:

* ``GS v 0`` raster bit image (python-escpos's default, ``impl="bitImageRaster"``),
* ``GS ( L`` graphics: store (fn 112) then print (fn 50) (``impl="graphics"``),
* ``ESC *`` column bit image, one band per command (``impl="bitImageColumn"``).

Text between commands is kept as ``TEXT`` commands, tagged with the code page selected by the
last ``ESC t`` so that :func:`decode_text` can turn it back into Unicode. An unknown command
raises ``ValueError``: a test should notice when the printer would see something new.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from escpos.capabilities import CAPABILITIES
from PIL import Image

ESC, GS, DLE, FS = 0x1B, 0x1D, 0x10, 0x1C
LF, CR, HT, FF = 0x0A, 0x0D, 0x09, 0x0C

# ESC commands with a fixed number of parameter bytes.
_ESC_FIXED = {
    ord("@"): ("ESC @", 0),  # initialise
    ord("a"): ("ESC a", 1),  # justification
    ord("E"): ("ESC E", 1),  # bold
    ord("-"): ("ESC -", 1),  # underline
    ord("!"): ("ESC !", 1),  # print mode
    ord("t"): ("ESC t", 1),  # code page
    ord("d"): ("ESC d", 1),  # print and feed n lines
    ord("J"): ("ESC J", 1),  # print and feed n dots
    ord("M"): ("ESC M", 1),  # font
    ord("G"): ("ESC G", 1),  # double strike
    ord("{"): ("ESC {", 1),  # upside down
    ord("V"): ("ESC V", 1),  # rotate 90
    ord("2"): ("ESC 2", 0),  # default line spacing
    ord("3"): ("ESC 3", 1),  # line spacing
    ord("p"): ("ESC p", 3),  # drawer kick
    ord("c"): ("ESC c", 2),  # ESC c 5 n: panel buttons (and the paper sensor variants)
}
# GS commands with a fixed number of parameter bytes.
_GS_FIXED = {
    ord("!"): ("GS !", 1),  # character size
    ord("B"): ("GS B", 1),  # reverse (white on black)
    ord("b"): ("GS b", 1),  # smoothing
    ord("h"): ("GS h", 1),  # barcode height
    ord("w"): ("GS w", 1),  # barcode width
    ord("H"): ("GS H", 1),  # barcode text position
    ord("f"): ("GS f", 1),  # barcode text font
    ord("L"): ("GS L", 2),  # left margin
    ord("W"): ("GS W", 2),  # print area width
}


@dataclass(frozen=True)
class Command:
    """One command, its parameter bytes and where it starts in the stream."""

    name: str
    args: bytes
    offset: int
    code_page: int | None = None  # for TEXT: the page selected by the last ESC t


@dataclass
class Decoded:
    commands: list[Command] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.commands]

    def stacked_image(self) -> Image.Image:
        """All images one under the other, as the paper shows them (fragments joined)."""
        return stack(self.images)

    def qr_payloads(self) -> list[bytes]:
        """Data stored for native QR codes (GS ( k, cn 49, fn 80)."""
        return [c.args[3:] for c in self.commands if c.name == "GS ( k" and c.args[:2] == b"1P"]


def stack(images: list[Image.Image]) -> Image.Image:
    """Join images vertically, left-aligned, on white."""
    if not images:
        raise ValueError("no images to stack")
    width = max(im.width for im in images)
    out = Image.new("1", (width, sum(im.height for im in images)), 1)
    y = 0
    for im in images:
        out.paste(im, (0, y))
        y += im.height
    return out


def _raster_to_image(
    data: bytes, width_bytes: int, height: int, width: int | None = None
) -> Image.Image:
    """ESC/POS raster rows (1 = dot printed, MSB is leftmost) -> mode "1" image, black on white."""
    if len(data) != width_bytes * height:
        raise ValueError(f"raster has {len(data)} bytes, expected {width_bytes} x {height}")
    inverted = bytes(b ^ 0xFF for b in data)  # in PIL's mode "1" a set bit is white
    image = Image.frombytes("1", (width_bytes * 8, height), inverted)
    if width is not None and width != width_bytes * 8:
        image = image.crop((0, 0, width, height))
    return image


def _columns_to_image(columns: list[bytes], dots: int) -> Image.Image:
    """ESC * column data (each column `dots` high, MSB on top) -> mode "1" band."""
    band = Image.new("1", (len(columns), dots), 1)
    pixels = band.load()
    for x, column in enumerate(columns):
        for y in range(dots):
            if column[y // 8] & (0x80 >> (y % 8)):
                pixels[x, y] = 0
    return band


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int, what: str) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError(f"{what} at offset {self.pos} is cut short")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def byte(self, what: str) -> int:
        return self.take(1, what)[0]


def decode(data: bytes) -> Decoded:
    """Walk an ESC/POS stream; return the commands seen and the raster images printed."""
    out = Decoded()
    r = _Reader(data)
    text = bytearray()
    text_start = 0
    code_page: int | None = None
    column_bands: list[Image.Image] = []

    def flush_text() -> None:
        if text:
            out.commands.append(Command("TEXT", bytes(text), text_start, code_page))
            text.clear()

    def flush_columns() -> None:
        if column_bands:
            out.images.append(stack(column_bands))
            column_bands.clear()

    def emit(name: str, args: bytes, offset: int) -> None:
        flush_text()
        if name not in ("ESC *", "LF"):
            flush_columns()  # ESC * bands end at the first other command
        out.commands.append(Command(name, args, offset))

    while r.pos < len(data):
        start = r.pos
        b = r.byte("byte")
        if b == ESC:
            c = r.byte("ESC command")
            if c in _ESC_FIXED:
                name, n = _ESC_FIXED[c]
                args = r.take(n, name)
                emit(name, args, start)
                if name == "ESC t":
                    code_page = args[0]
                elif name == "ESC @":
                    code_page = None
            elif c == ord("*"):
                m, nl, nh = r.take(3, "ESC *")
                count = nl + 256 * nh
                dots = 24 if m in (32, 33) else 8
                body = r.take(count * dots // 8, "ESC * data")
                columns = [body[i : i + dots // 8] for i in range(0, len(body), dots // 8)]
                emit("ESC *", bytes((m, nl, nh)), start)
                column_bands.append(_columns_to_image(columns, dots))
            else:
                raise ValueError(f"unknown command ESC 0x{c:02x} at offset {start}")
        elif b == GS:
            c = r.byte("GS command")
            if c in _GS_FIXED:
                name, n = _GS_FIXED[c]
                emit(name, r.take(n, name), start)
            elif c == ord("v"):
                if r.byte("GS v") != ord("0"):
                    raise ValueError(f"unknown GS v variant at offset {start}")
                m, xl, xh, yl, yh = r.take(5, "GS v 0")
                width_bytes, height = xl + 256 * xh, yl + 256 * yh
                body = r.take(width_bytes * height, "GS v 0 data")
                emit("GS v 0", bytes((m, xl, xh, yl, yh)), start)
                out.images.append(_raster_to_image(body, width_bytes, height))
            elif c == ord("("):
                fn_class = r.byte("GS (")
                pl, ph = r.take(2, "GS ( length")
                body = r.take(pl + 256 * ph, "GS ( data")
                name = f"GS ( {chr(fn_class)}"
                emit(name, body, start)
                if name == "GS ( L" and body[:2] == b"0p":
                    # m fn a bx by c xL xH yL yH d1...dk
                    xl, xh, yl, yh = body[6:10]
                    width, height = xl + 256 * xh, yl + 256 * yh
                    out.images.append(_raster_to_image(body[10:], (width + 7) // 8, height, width))
            elif c == ord("V"):
                m = r.byte("GS V")
                args = bytes((m,)) + (
                    r.take(1, "GS V n") if m in (65, 66, 97, 98, 103, 104) else b""
                )
                emit("GS V", args, start)
            elif c == ord("k"):
                m = r.byte("GS k")
                if m <= 6:  # function A: data ends with NUL
                    end = data.index(b"\x00", r.pos)
                    body = r.take(end - r.pos + 1, "GS k data")
                else:  # function B: length byte
                    body = r.take(r.byte("GS k length"), "GS k data")
                emit("GS k", bytes((m,)) + body, start)
            else:
                raise ValueError(f"unknown command GS 0x{c:02x} at offset {start}")
        elif b == DLE:
            c = r.byte("DLE command")
            if c != 0x04:
                raise ValueError(f"unknown command DLE 0x{c:02x} at offset {start}")
            emit("DLE EOT", r.take(1, "DLE EOT"), start)
        elif b in (LF, CR, HT, FF):
            emit({LF: "LF", CR: "CR", HT: "HT", FF: "FF"}[b], b"", start)
        elif b < 0x20 or b == 0x7F:
            raise ValueError(f"unknown control byte 0x{b:02x} at offset {start}")
        else:
            if not text:
                text_start = start
            text.append(b)
    flush_text()
    flush_columns()
    return out


def _page_decoder(page_name: str) -> dict[int, str]:
    encoding = CAPABILITIES["encodings"][page_name]
    if "data" in encoding:
        table = "".join(encoding["data"])
        return {0x80 + i: ch for i, ch in enumerate(table) if ch != " "}
    codec = encoding["python_encode"]
    decoded = {}
    for value in range(0x80, 0x100):
        try:
            decoded[value] = bytes((value,)).decode(codec)
        except UnicodeDecodeError:
            pass
    return decoded


def decode_text(decoded: Decoded, profile_name: str) -> str:
    """Turn the TEXT commands back into Unicode (NFC) with the profile's code page tables.

    Line feeds become newlines; a byte the selected page does not define becomes U+FFFD.
    """
    pages = CAPABILITIES["profiles"][profile_name]["codePages"]
    parts: list[str] = []
    for command in decoded.commands:
        if command.name == "LF":
            parts.append("\n")
        elif command.name == "TEXT":
            table = (
                _page_decoder(pages[str(command.code_page)])
                if command.code_page is not None
                else {}
            )
            parts.append(
                "".join(chr(b) if b < 0x80 else table.get(b, "\ufffd") for b in command.args)
            )
    return unicodedata.normalize("NFC", "".join(parts))
