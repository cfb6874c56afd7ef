"""Draw a ticket as a raster image and write it to any python-escpos printer.

Most cheap thermal printers have no Vietnamese code page, so the default is to print the ticket
as one image drawn with the bundled DejaVu Sans (every Vietnamese glyph, see
``layso_agent/fonts/LICENSE-DejaVu.txt``). Text mode (:mod:`layso_agent.text`) is for printers
whose profile has one.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from escpos.escpos import Escpos
from PIL import Image, ImageDraw, ImageFont

from layso_agent.parts import (
    BLACK,
    INK,
    WHITE,
    Block,
    Run,
    blocks,
    font,
    line_width,
    metrics,
    nfc,
    number_size,
    qr_modules,
    wrap_runs,
)

# re-exported: callers reach the fonts and the caches through render too
from layso_agent.parts import FONT_DIR as FONT_DIR
from layso_agent.parts import clear_caches as clear_caches
from layso_agent.raster import raster_commands
from layso_agent.ticket import TicketView

#: Printable width in dots of 80 mm and 58 mm paper at 203 dpi.
WIDTH_80MM = 576
WIDTH_58MM = 384

IMAGE_MODE = "image"
TEXT_MODE = "text"
MODES = (IMAGE_MODE, TEXT_MODE)

REPRINT_LABEL = "IN LẠI / REPRINT"
NUMBER_LABEL = "Số thứ tự / Your number"
PRIORITY_LABEL = "Ưu tiên"
TIME_LABEL = "Thời gian / Time:"
BOOKED_LABEL = "Giờ hẹn / Booked time:"
AHEAD_LABEL = "Số người đang chờ trước quý khách / People ahead:"
WAIT_LABEL = "Thời gian chờ dự kiến / Estimated wait:"
QR_CAPTION = "Quét mã để theo dõi lượt / Scan to follow your turn"
NO_ESTIMATE = "—"
CALLED_NEXT = "Được gọi ngay (next)"


def format_issued_at(view: TicketView) -> str:
    """Return the issue time as printed: ``08:15 21/11/2026`` (hall's local time)."""
    return view.issued_at.strftime("%H:%M %d/%m/%Y")


def format_wait(estimated_wait_s: int | None) -> str:
    """Return the estimated wait as printed: ``~12 phút (min)``, ``Được gọi ngay (next)`` when
    nobody is ahead (never "~0 phút"), or a dash when unknown."""
    if estimated_wait_s is None:
        return NO_ESTIMATE
    minutes = math.ceil(max(estimated_wait_s, 0) / 60)
    return f"~{minutes} phút (min)" if minutes else CALLED_NEXT


# --------------------------------------------------------------------------------------------
# Image ticket


class _Canvas:
    """A white strip the width of the paper that grows downwards as blocks are added."""

    def __init__(self, width: int, *, top: int | None = None, height: int | None = None) -> None:
        self.width = width
        self.scale = width / WIDTH_80MM
        # Text shrinks less than the paper: 58 mm tickets stay readable at arm's length.
        self.text_scale = math.sqrt(self.scale)
        self.margin = max(8, round(14 * self.scale))
        self.image = Image.new("L", (width, height or width * 3), WHITE)
        self.draw = ImageDraw.Draw(self.image)
        self.y = self.margin if top is None else top

    @property
    def inner_width(self) -> int:
        return self.width - 2 * self.margin

    def px(self, size: float) -> int:
        """Scale a text size given for 80 mm paper."""
        return max(10, round(size * self.text_scale))

    def regular(self, size: float) -> ImageFont.FreeTypeFont:
        return font(self.px(size))

    def bold(self, size: float) -> ImageFont.FreeTypeFont:
        return font(self.px(size), bold=True)

    def block(self, draw: Callable[..., None], *args: Hashable) -> None:
        """``draw(canvas, *args)``, or paste what it drew last time for this paper width.

        ``draw`` must depend on nothing but the canvas's width and ``args`` (the texts
        themselves, not a hall or a ticket id): a hall renamed draws its new name at once.
        """
        key = (draw.__qualname__, self.width, *args)
        block = blocks.get(key)
        if block is None:
            canvas = _Canvas(self.width, top=0, height=self.width // 2)
            draw(canvas, *args)
            block = blocks.put(key, canvas.as_block())
        self.paste(block)

    def as_block(self) -> Block:
        """What has been drawn from the top, with any ink that hangs below the pen."""
        dots = self.image.point(INK, "1")
        bbox = dots.getbbox()
        bottom = max(self.y, bbox[3] if bbox else 0)
        return Block(dots.crop((0, 0, self.width, bottom)), advance=self.y)

    def paste(self, block: Block) -> None:
        """Add a block's ink below the pen (over any ink already there, as drawing would)."""
        self.ensure(block.ink.height)
        self.image.paste(BLACK, (0, self.y, self.width, self.y + block.ink.height), block.ink)
        self.y += block.advance

    def ensure(self, height: int) -> None:
        """Grow the strip so that ``height`` more pixels fit below ``y``."""
        needed = self.y + height + self.margin
        if needed > self.image.height:
            grown = Image.new("L", (self.width, max(needed, self.image.height * 2)), WHITE)
            grown.paste(self.image, (0, 0))
            self.image = grown
            self.draw = ImageDraw.Draw(self.image)

    def space(self, height: float) -> None:
        self.y += round(height)

    def paragraph(
        self,
        runs: list[Run],
        *,
        align: str = "center",
        fill: int = BLACK,
        line_gap: float = 0.15,
        max_width: float | None = None,
    ) -> None:
        """Draw wrapped runs; every line gets room for Vietnamese marks above and below."""
        max_width = self.inner_width if max_width is None else max_width
        for line in wrap_runs(runs, max_width):
            above = max(metrics(f).above for _, f in line)
            below = max(metrics(f).below for _, f in line)
            self.ensure(above + below)
            baseline = self.y + above
            width = line_width(line)
            if align == "center":
                x = (self.width - width) / 2
            else:
                x = self.margin
            for i, (text, f) in enumerate(line):
                if i:
                    x += f.getlength(" ")
                self.draw.text((x, baseline), text, font=f, fill=fill, anchor="ls")
                x += f.getlength(text)
            size = max(f.size for _, f in line)
            self.y = baseline + below + round(size * line_gap)

    def text(self, text: str, f: ImageFont.FreeTypeFont, *, align: str = "center") -> None:
        self.paragraph([(text, f)], align=align)

    def fits(self, runs: list[Run]) -> bool:
        return len(wrap_runs(runs, self.inner_width)) <= 1

    def split_text(self, text: str, f: ImageFont.FreeTypeFont, *, separator: str) -> None:
        """Draw text on one line if it fits, else one part per line, cut at ``separator``.

        ``"UBND xã Tân Phú - Trung tâm ..."`` breaks between the commune and the centre
        rather than in the middle of "hành chính công".
        """
        if self.fits([(text, f)]) or separator not in text:
            self.text(text, f)
            return
        for part in text.split(separator):
            self.text(part.strip(), f)

    def bilingual(
        self,
        text: str,
        f: ImageFont.FreeTypeFont,
        value: str | None = None,
        value_font: ImageFont.FreeTypeFont | None = None,
        *,
        align: str = "center",
    ) -> None:
        """Draw ``"Vietnamese / English"`` (and a value) on one line, or break after the "/".

        The value is kept whole ("~12 phút (min)" never splits) and follows the English part.
        """
        tail = [(value.replace(" ", "\u00a0"), value_font or f)] if value is not None else []
        runs = [(text, f), *tail]
        vietnamese, slash, english = nfc(text).partition(" / ")
        if self.fits(runs) or not slash:
            self.paragraph(runs, align=align)
            return
        self.paragraph([(f"{vietnamese} /", f)], align=align, line_gap=0.05)
        self.paragraph([(english, f), *tail], align=align)

    def rule(self) -> None:
        """Draw a dashed separator across the printable width."""
        thickness = max(2, round(2 * self.scale))
        gap = round(10 * self.scale)
        self.ensure(thickness + 2 * gap)
        self.y += gap
        dash, hole = max(4, round(10 * self.scale)), max(3, round(6 * self.scale))
        count = (self.inner_width + hole) // (dash + hole)
        # spread the leftover over the holes so the line ends on a whole dash at each margin
        step = (self.inner_width - dash) / max(1, count - 1)
        for i in range(count):
            x = self.margin + round(i * step)
            self.draw.rectangle((x, self.y, x + dash - 1, self.y + thickness - 1), fill=BLACK)
        self.y += thickness + gap

    def banner(self, text: str, f: ImageFont.FreeTypeFont, *, inverted: bool) -> None:
        """Draw text in a box: white on black (``inverted``) or black in a thick frame."""
        pad = round(f.size * 0.35)
        border = max(3, round(4 * self.scale))
        inner = self.inner_width - 2 * (pad + border)
        lines = wrap_runs([(text, f)], inner)
        m = metrics(f)
        height = len(lines) * m.height + 2 * (pad + border)
        self.ensure(height)
        box = (self.margin, self.y, self.width - self.margin - 1, self.y + height - 1)
        if inverted:
            self.draw.rectangle(box, fill=BLACK)
        else:
            self.draw.rectangle(box, outline=BLACK, width=border)
        self.y += pad + border
        for line in lines:
            self.paragraph(line, fill=WHITE if inverted else BLACK, line_gap=0, max_width=inner)
        self.y = box[3] + 1

    def number(self, number: str) -> tuple[int, int]:
        """Draw the ticket number as large as the paper allows; return its band (top, bottom)."""
        number = nfc(number)
        f = font(number_size(number, self.inner_width * 0.94, self.width * 0.42), bold=True)
        left, top, right, bottom = f.getbbox(number, anchor="ls")
        self.ensure(bottom - top)
        baseline = self.y - top
        x = (self.width - (right - left)) / 2 - left
        self.draw.text((x, baseline), number, font=f, fill=BLACK, anchor="ls")
        band = (self.y, self.y + bottom - top)
        self.y = band[1]
        return band

    def qr(self, data: str, *, size: int) -> tuple[int, int]:
        """Draw a QR code about ``size`` pixels wide, centred; return its band (top, bottom)."""
        modules = qr_modules(data)  # one pixel per module, quiet zone included
        box = max(2, size // modules.width)
        side = box * modules.width
        self.ensure(side)
        left = (self.width - side) // 2
        top = self.y
        self.image.paste(modules.resize((side, side), Image.Resampling.NEAREST), (left, top))
        self.y += side
        return top, top + side

    def finish(self) -> Image.Image:
        """Crop below the last block and threshold to pure black and white (no dithering)."""
        strip = self.image.crop((0, 0, self.width, self.y + self.margin))
        return strip.convert("1", dither=Image.Dither.NONE)


@dataclass(frozen=True)
class TicketLayout:
    """The rendered ticket and where its main parts are, for tests and previews."""

    image: Image.Image
    number_band: tuple[int, int]
    qr_band: tuple[int, int]


def layout_ticket(view: TicketView, width_px: int = WIDTH_80MM) -> TicketLayout:
    """Draw the ticket and report the bands of the number and the QR code.

    What every ticket of a hall and area says alike (header, labels, footer) is drawn once per
    paper width and pasted (:meth:`_Canvas.block`); only the number, the time, the people
    ahead, the wait and the QR code are drawn for each ticket.
    """
    if width_px < 200:
        raise ValueError(f"paper too narrow for a ticket: {width_px} dots")
    c = _Canvas(width_px)
    c.block(
        _head, view.reprint, view.hall_name, view.service_name, view.service_name_en, view.purpose
    )
    number_band = c.number(view.display_number)
    c.block(_priority, view.priority)
    if view.booked_for is not None:
        c.block(_detail, BOOKED_LABEL, view.booked_for.strftime("%H:%M"))
    for text, answer in (
        (TIME_LABEL, format_issued_at(view)),
        (AHEAD_LABEL, str(view.ahead)),
        (WAIT_LABEL, format_wait(view.estimated_wait_s)),
    ):
        c.block(_detail, text, answer)
    c.block(_rule)
    qr_band = c.qr(view.status_url, size=round(width_px * 0.5))
    c.block(_foot, view.footer)
    return TicketLayout(image=c.finish(), number_band=number_band, qr_band=qr_band)


# The blocks of a ticket, top to bottom (each draws from its arguments alone).


def _head(
    c: _Canvas,
    reprint: bool,
    hall_name: str,
    service_name: str,
    service_name_en: str,
    purpose: str | None = None,
) -> None:
    if reprint:
        c.banner(REPRINT_LABEL, c.bold(26), inverted=True)
        c.space(10 * c.scale)
    c.split_text(hall_name, c.bold(22), separator=" - ")
    c.rule()
    c.text(service_name, c.bold(34))
    c.text(service_name_en, c.regular(22))
    if purpose:
        c.space(8 * c.scale)
        c.banner(purpose, c.bold(26), inverted=True)
    c.space(12 * c.scale)
    c.bilingual(NUMBER_LABEL, c.regular(20))
    c.space(6 * c.scale)


def _priority(c: _Canvas, priority: str | None) -> None:
    c.space(18 * c.scale)
    if priority:
        c.banner(f"{PRIORITY_LABEL}: {priority}", c.bold(26), inverted=False)
        c.space(4 * c.scale)
    c.rule()


def _detail(c: _Canvas, text: str, answer: str) -> None:
    c.bilingual(text, c.regular(22), answer, c.bold(24), align="left")
    c.space(4 * c.scale)


def _rule(c: _Canvas) -> None:
    c.rule()


def _foot(c: _Canvas, footer: str) -> None:
    c.bilingual(QR_CAPTION, c.regular(20))
    c.rule()
    c.bilingual(footer, c.bold(22))


def render_ticket_image(view: TicketView, width_px: int = WIDTH_80MM) -> Image.Image:
    """Draw the ticket as a black-and-white (mode "1") image exactly ``width_px`` wide."""
    return layout_ticket(view, width_px).image


# --------------------------------------------------------------------------------------------
# Writing to a printer


def set_paper_width(p: Escpos, width_px: int) -> None:
    """Give ``p`` its own copy of its profile with ``media.width.pixels`` set.

    python-escpos only centres images (and checks their width) when the profile knows the paper
    width; profiles are shared class data, so the copy keeps other printers unchanged.
    """
    data = copy.deepcopy(p.profile.profile_data)
    data.setdefault("media", {}).setdefault("width", {})["pixels"] = width_px
    p.profile.profile_data = data


def _image_impl(p: Escpos) -> str:
    """Pick the raster command the profile supports, GS v 0 first (python-escpos's default)."""
    for impl in ("bitImageRaster", "graphics", "bitImageColumn"):
        if p.profile.supports(impl):
            return impl
    return "bitImageRaster"


def write_ticket(
    p: Escpos,
    view: TicketView,
    *,
    mode: str = IMAGE_MODE,
    width_px: int = WIDTH_80MM,
    qr_native: bool | None = None,
) -> None:
    """Write one ticket to ``p`` and cut the paper.

    ``mode="image"`` (default) prints the rendered ticket as one raster image, so every
    Vietnamese letter prints on any printer. ``mode="text"`` uses the printer's own fonts; see
    :func:`layso_agent.text.write_text_ticket` for how Vietnamese is encoded. ``qr_native``
    only applies to text mode.
    """
    if mode == IMAGE_MODE:
        write_image_ticket(p, render_ticket_image(view, width_px), width_px=width_px)
    elif mode == TEXT_MODE:
        from layso_agent.text import write_text_ticket  # it builds on this module

        write_text_ticket(p, view, width_px=width_px, qr_native=qr_native)
    else:
        raise ValueError(f"unknown print mode {mode!r}: use one of {', '.join(MODES)}")


def write_image_ticket(p: Escpos, image: Image.Image, *, width_px: int) -> None:
    """Reset the printer, print an already rendered ticket and cut."""
    set_paper_width(p, width_px)
    p.hw("INIT")
    p.magic.encoding = None  # ESC @ resets the printer's code page too
    impl = _image_impl(p)
    if impl == "bitImageRaster" and image.mode == "1" and image.width == width_px:
        # the same bytes as p.image(...), without its colour conversions (see raster.py)
        p._raw(raster_commands(image))
    else:
        p.image(image, center=True, impl=impl)
    p.cut()
