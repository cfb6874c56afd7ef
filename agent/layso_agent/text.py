"""A ticket in the printer's own fonts (text mode), Vietnamese encoded for its code pages.

Image mode (:mod:`layso_agent.render`) is the default; this is for printers whose profile has a
TCVN-3 or CP1258 code page.
"""

from __future__ import annotations

import textwrap
import unicodedata

from escpos.constants import QR_ECLEVEL_M
from escpos.escpos import Escpos

from layso_agent.render import (
    AHEAD_LABEL,
    BOOKED_LABEL,
    NUMBER_LABEL,
    PRIORITY_LABEL,
    QR_CAPTION,
    REPRINT_LABEL,
    TIME_LABEL,
    WAIT_LABEL,
    WIDTH_80MM,
    format_issued_at,
    format_wait,
    nfc,
    set_paper_width,
)
from layso_agent.ticket import TicketView

_TCVN_PAGES = ("TCVN-3-1", "TCVN-3-2")  # TCVN 5712 VN3: small letters, capitals
_CP1258 = "CP1258"
# The five tones. CP1258 has the vowels with shape marks (â ê ô ơ ư ă) but most toned letters
# only as base + combining tone, so Python's cp1258 codec rejects precomposed "ộ".
_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
# escpos-printer-db lists U+00D0 (Icelandic eth) for TCVN-3's capital Đ; same glyph.
_TCVN_ALIASES = {"Đ": "Ð"}
_ASCII_FOLD = {"đ": "d", "Đ": "D"}
_TYPOGRAPHY = {"—": "-", "–": "-", "\u00a0": " "}


def fold_to_ascii(text: str) -> str:
    """Strip Vietnamese diacritics: ``"Tư pháp - Hộ tịch"`` -> ``"Tu phap - Ho tich"``."""
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    folded = "".join(_ASCII_FOLD.get(ch, ch) for ch in unicodedata.normalize("NFC", stripped))
    return folded.encode("ascii", "replace").decode("ascii")


def to_cp1258_form(char: str) -> str:
    """Split the tone off a precomposed letter, as CP1258 spells it: ``ộ`` -> ``ô`` + U+0323."""
    decomposed = unicodedata.normalize("NFD", char)
    tones = "".join(ch for ch in decomposed if ch in _TONE_MARKS)
    base = unicodedata.normalize("NFC", "".join(ch for ch in decomposed if ch not in _TONE_MARKS))
    return base + tones


class VietnameseTextWriter:
    """Write Vietnamese text through the code pages the printer's profile declares.

    Preference: TCVN-3 (precomposed, small letters and capitals on two pages, switched with
    ESC t as needed), then CP1258 with tones as combining marks, then ASCII without diacritics.
    Each run goes through python-escpos's own encoder (``p.magic.write_with_encoding``), which
    emits the ESC t page switch and keeps track of the current page.
    """

    def __init__(self, p: Escpos) -> None:
        self.p = p
        pages = p.profile.get_code_pages()
        self.tcvn = [name for name in _TCVN_PAGES if name in pages]
        self.cp1258 = _CP1258 in pages
        self.encoder = p.magic.encoder

    @property
    def has_vietnamese(self) -> bool:
        return bool(self.tcvn or self.cp1258)

    def _encodable(self, page: str, text: str) -> bool:
        return all(self.encoder.can_encode(page, ch) for ch in text)

    def _place(self, char: str, current: str | None) -> tuple[str | None, str]:
        """Return (code page, text to write) for one character."""
        if ord(char) < 128:
            return current, char
        for page in sorted(self.tcvn, key=lambda name: name != current):
            for candidate in (char, _TCVN_ALIASES.get(char)):
                if candidate and self._encodable(page, candidate):
                    return page, candidate
        if self.cp1258:
            spelled = to_cp1258_form(char)
            if self._encodable(_CP1258, spelled):
                return _CP1258, spelled
        return current, fold_to_ascii(char)

    def runs(self, text: str) -> list[tuple[str | None, str]]:
        """Split text into (code page, text) runs; ``None`` means "any page" (ASCII only)."""
        text = "".join(_TYPOGRAPHY.get(ch, ch) for ch in nfc(text))
        runs: list[tuple[str | None, str]] = []
        current = self.p.magic.encoding
        for char in text:
            page, spelled = self._place(char, current)
            if runs and runs[-1][0] == page:
                runs[-1] = (page, runs[-1][1] + spelled)
            else:
                runs.append((page, spelled))
            current = page
        return runs

    def write(self, text: str) -> None:
        if not self.has_vietnamese:
            self.p.text(fold_to_ascii(text))
            return
        for page, run in self.runs(text):
            page = page or self.p.magic.encoding or (self.tcvn or [_CP1258])[0]
            self.p.magic.write_with_encoding(page, run)

    def line(self, text: str = "") -> None:
        self.write(text + "\n")


def write_text_ticket(
    p: Escpos, view: TicketView, *, width_px: int = WIDTH_80MM, qr_native: bool | None = None
) -> None:
    """Print the ticket with the printer's fonts, then cut.

    Vietnamese goes through :class:`VietnameseTextWriter`: with a TCVN-3 or CP1258 page in the
    profile every letter keeps its marks; on a profile with neither, text mode strips the
    diacritics ("Tu phap - Ho tich"), which is why image mode is the default. The number is
    printed at up to 8x width and height (GS !), the QR natively (GS ( k) when the profile
    supports it, otherwise as an image.
    """
    set_paper_width(p, width_px)
    columns = max(16, width_px // 12)  # font A is 12 dots wide
    native = bool(p.profile.supports("qrCode")) if qr_native is None else qr_native
    out = VietnameseTextWriter(p)

    def wrapped(text: str, *, split: str | None = None) -> None:
        text = nfc(text)
        parts = [text]
        if split and split in text and len(text) > columns:
            # "Vietnamese / English" breaks after the slash, "Commune - Centre" at the dash
            head, _, tail = text.partition(split)
            parts = [f"{head} /" if split.strip() == "/" else head, tail]
        for part in parts:
            for line in textwrap.wrap(part, columns) or [""]:
                out.line(line)

    def keep(value: str) -> str:
        return value.replace(" ", "\u00a0")  # textwrap does not break at no-break spaces

    p.hw("INIT")
    p.magic.encoding = None  # ESC @ resets the printer's code page too
    p.set(align="center")
    if view.reprint:
        p.set(bold=True, invert=True)
        wrapped(f" {REPRINT_LABEL} ")
        p.set(bold=False, invert=False)
        out.line()
    wrapped(view.hall_name, split=" - ")
    out.line("-" * columns)
    p.set(bold=True, double_height=True)
    wrapped(view.service_name)
    p.set(bold=False, normal_textsize=True)
    wrapped(view.service_name_en)
    if view.purpose:
        p.set(bold=True, invert=True)
        wrapped(f" {view.purpose} ")
        p.set(bold=False, invert=False)
    out.line()
    wrapped(NUMBER_LABEL, split=" / ")
    number = nfc(view.display_number)
    scale = max(2, min(8, (columns - 2) // max(1, len(number))))
    p.set(bold=True, custom_size=True, width=scale, height=scale)
    out.line(number)
    p.set(bold=False, custom_size=True, width=1, height=1)
    if view.priority:
        p.set(bold=True, double_height=True)
        wrapped(f"{PRIORITY_LABEL}: {view.priority}")
        p.set(bold=False, normal_textsize=True)
    out.line("-" * columns)
    p.set(align="left")
    if view.booked_for is not None:
        wrapped(f"{BOOKED_LABEL} {view.booked_for.strftime('%H:%M')}", split=" / ")
    wrapped(f"{TIME_LABEL} {keep(format_issued_at(view))}", split=" / ")
    wrapped(f"{AHEAD_LABEL} {view.ahead}", split=" / ")
    wrapped(f"{WAIT_LABEL} {keep(format_wait(view.estimated_wait_s))}", split=" / ")
    p.set(align="center")
    module = 6 if width_px >= WIDTH_80MM else 4
    if native:
        p.qr(view.status_url, ec=QR_ECLEVEL_M, size=module, native=True)
    else:
        p.qr(view.status_url, ec=QR_ECLEVEL_M, size=module, native=False, center=True)
    wrapped(QR_CAPTION, split=" / ")
    out.line("-" * columns)
    wrapped(view.footer, split=" / ")
    p.cut()
