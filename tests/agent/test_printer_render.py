"""The ticket as an image, and what text mode sends for Vietnamese."""

from __future__ import annotations

import dataclasses
import unicodedata
from datetime import UTC, datetime, timedelta, timezone

import pytest
import zxingcpp
from escpos.printer import Dummy
from escpos_decode import decode, decode_text
from PIL import Image, ImageChops, ImageDraw

from layso_agent import parts
from layso_agent.render import (
    FONT_DIR,
    clear_caches,
    font,
    format_issued_at,
    format_wait,
    layout_ticket,
    render_ticket_image,
    wrap_runs,
    write_ticket,
)
from layso_agent.text import VietnameseTextWriter, fold_to_ascii, to_cp1258_form
from layso_agent.ticket import TicketView, sample_ticket

# Every letter of Vietnamese: the vowels with each shape mark and each tone, both cases, and đ.
VIETNAMESE_LETTERS = unicodedata.normalize(
    "NFC",
    "".join(
        base + tone
        for base in "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
        for tone in ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
    )
    + "đĐ",
)


def black_pixels(image: Image.Image, top: int = 0, bottom: int | None = None) -> int:
    band = image.convert("L").crop(
        (0, top, image.width, image.height if bottom is None else bottom)
    )
    return band.histogram()[0]


def test_sample_ticket_is_frozen_and_overridable() -> None:
    ticket = sample_ticket(display_number="A023", priority="Người cao tuổi")

    assert ticket.display_number == "A023" and ticket.priority == "Người cao tuổi"
    assert ticket.hall_name == "UBND xã Tân Phú - Trung tâm Phục vụ hành chính công"
    assert ticket.issued_at.utcoffset() == timedelta(hours=7)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ticket.ahead = 0  # type: ignore[misc]


@pytest.mark.parametrize("width", [576, 384])
def test_image_is_exactly_the_paper_width_in_black_and_white(width: int) -> None:
    image = render_ticket_image(sample_ticket(), width)

    assert image.width == width
    assert image.mode in ("1", "L")
    histogram = image.convert("L").histogram()
    assert sum(histogram[1:255]) == 0  # only black and white: nothing for the printer to dither


@pytest.mark.parametrize("width", [576, 384])
def test_number_is_very_large(width: int) -> None:
    layout = layout_ticket(sample_ticket(), width)

    top, bottom = layout.number_band
    # the number's ink spans most of the paper and is tall: print-shop "huge"
    columns = layout.image.convert("L").crop((0, top, width, bottom)).point(lambda v: v == 0)
    left, _, right, _ = columns.getbbox()
    assert right - left > 0.8 * width
    assert bottom - top > 0.2 * width
    assert black_pixels(layout.image, top, bottom) > 0.15 * width * (bottom - top)


@pytest.mark.parametrize("width", [576, 384])
def test_qr_code_reads_back_as_the_status_url(width: int) -> None:
    view = sample_ticket(status_url="https://laysotanphu.gov.vn/t/K7QW2M9P")

    results = zxingcpp.read_barcodes(render_ticket_image(view, width).convert("L"))

    assert [r.text for r in results] == ["https://laysotanphu.gov.vn/t/K7QW2M9P"]


@pytest.mark.parametrize("bold", [False, True])
def test_bundled_font_has_every_vietnamese_letter(bold: bool) -> None:
    f = font(32, bold=bold)

    def glyph(char: str) -> bytes:
        image = Image.new("L", (64, 64))
        ImageDraw.Draw(image).text((8, 8), char, font=f, fill=255)
        return image.tobytes()

    no_glyph = glyph("\ue000")  # private use area: DejaVu draws its "missing" box

    missing = [ch for ch in VIETNAMESE_LETTERS if glyph(ch) == no_glyph]

    assert missing == []
    assert (FONT_DIR / "LICENSE-DejaVu.txt").read_text().count("Bitstream Vera") >= 2


def test_decomposed_input_prints_like_precomposed() -> None:
    composed = sample_ticket()
    decomposed = dataclasses.replace(
        composed,
        **{
            name: unicodedata.normalize("NFD", getattr(composed, name))
            for name in ("hall_name", "service_name", "footer")
        },
    )
    assert decomposed.service_name != composed.service_name

    difference = ImageChops.difference(
        render_ticket_image(composed).convert("L"), render_ticket_image(decomposed).convert("L")
    )

    assert difference.getbbox() is None


def test_priority_and_reprint_add_their_markers() -> None:
    plain = render_ticket_image(sample_ticket())

    marked = render_ticket_image(sample_ticket(priority="Người cao tuổi", reprint=True))

    # the reprint banner is a black band across the top
    assert black_pixels(marked, 0, 40) > 0.5 * marked.width * 25
    assert black_pixels(plain, 0, 40) < black_pixels(marked, 0, 40) / 4
    assert marked.height > plain.height + 80


def test_a_booked_ticket_prints_its_booked_time() -> None:
    from datetime import datetime

    from layso_agent.delivery import view_from_dict, view_to_dict

    at = datetime.fromisoformat("2026-11-21T08:30:00+07:00")
    plain = render_ticket_image(sample_ticket())
    booked = render_ticket_image(sample_ticket(booked_for=at))
    assert booked.height > plain.height + 20  # one more line: "Giờ hẹn / Booked time: 08:30"
    assert view_from_dict(view_to_dict(sample_ticket(booked_for=at))).booked_for == at
    assert view_from_dict(view_to_dict(sample_ticket())).booked_for is None
    _, text = text_ticket("TM-T20II", 576, booked_for=at)
    assert "Giờ hẹn / Booked time: 08:30" in " ".join(text.split())


def test_long_names_wrap_instead_of_being_clipped() -> None:
    view = sample_ticket(
        hall_name="Ủy ban nhân dân phường Nguyễn Thái Bình - Bộ phận tiếp nhận và trả kết quả "
        "giải quyết thủ tục hành chính",
        service_name="Đất đai - Xây dựng - Tài nguyên và Môi trường - Quy hoạch",
        status_url="https://example.gov.vn/t/" + "X" * 120,
    )

    image = render_ticket_image(view, 384)

    assert image.width == 384
    # nothing drawn under the side margins: every line fitted the paper
    assert black_pixels(image.crop((0, 0, 4, image.height))) == 0
    assert black_pixels(image.crop((380, 0, 384, image.height))) == 0
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [view.status_url]


def test_wrap_keeps_values_whole_and_lines_narrow() -> None:
    f = font(20)

    lines = wrap_runs([("Thời gian chờ dự kiến / Estimated wait:", f), ("~12\u00a0phút", f)], 200)

    assert all(sum(f.getlength(t) for t, _ in line) <= 200 for line in lines)
    assert lines[-1][-1][0].endswith("~12\u00a0phút")


@pytest.mark.parametrize(
    ("seconds", "printed"),
    [(None, "—"), (0, "Được gọi ngay (next)"), (59, "~1 phút (min)"), (720, "~12 phút (min)")],
)
def test_format_wait(seconds: int | None, printed: str) -> None:
    assert format_wait(seconds) == printed


def test_format_issued_at_uses_the_halls_local_time() -> None:
    view = sample_ticket(
        issued_at=datetime(2026, 11, 21, 1, 15, tzinfo=UTC).astimezone(timezone(timedelta(hours=7)))
    )

    assert format_issued_at(view) == "08:15 21/11/2026"


# --- text mode -------------------------------------------------------------------------------


def test_cp1258_form_splits_the_tone_only() -> None:
    assert to_cp1258_form("ộ") == "ô\u0323"
    assert to_cp1258_form("ữ") == "ư\u0303"
    assert to_cp1258_form("Đ") == "Đ"
    assert "".join(map(to_cp1258_form, "Hộ tịch")).encode("cp1258") == b"H\xf4\xf2 ti\xf2ch"


def test_fold_to_ascii() -> None:
    assert fold_to_ascii("Tư pháp - Hộ tịch, Đất đai") == "Tu phap - Ho tich, Dat dai"


@pytest.mark.parametrize(
    ("profile", "pages", "capital_d"),
    [
        # Epson 80 mm: TCVN-3, small letters and capitals on two pages. escpos-printer-db names
        # TCVN-3's capital Đ as U+00D0 (Ð, the same glyph), so that is what it decodes to.
        ("TM-T20II", {"TCVN-3-1", "TCVN-3-2"}, "Ð"),
        ("POS-5890", {"CP1258"}, "Đ"),  # cheap 58 mm: CP1258 only, tones as combining marks
    ],
)
def test_text_writer_encodes_every_vietnamese_letter(
    profile: str, pages: set[str], capital_d: str
) -> None:
    p = Dummy(profile=profile)
    writer = VietnameseTextWriter(p)

    writer.line(VIETNAMESE_LETTERS)

    assert (
        decode_text(decode(p.output), profile) == VIETNAMESE_LETTERS.replace("Đ", capital_d) + "\n"
    )
    assert b"?" not in p.output
    assert {page for page, _ in writer.runs(VIETNAMESE_LETTERS)} == pages


def test_escpos_magic_alone_loses_vietnamese_on_cp1258_printers() -> None:
    """Why the writer exists: python-escpos's own text() prints "?" for "ộ" on POS-5890."""
    p = Dummy(profile="POS-5890")

    p.text("Hộ tịch")

    assert b"?" in p.output


def text_ticket(profile: str, width: int = 576, **overrides: object) -> tuple[bytes, str]:
    p = Dummy(profile=profile)
    write_ticket(p, sample_ticket(**overrides), mode="text", width_px=width)
    return p.output, decode_text(decode(p.output), profile)


@pytest.mark.parametrize("profile", ["TM-T20II", "POS-5890", "default"])
@pytest.mark.parametrize("width", [576, 384])
def test_text_ticket_keeps_vietnamese(profile: str, width: int) -> None:
    raw, text = text_ticket(profile, width, priority="Người cao tuổi", reprint=True)

    flat = " ".join(text.split())  # lines may wrap differently on 58 mm
    for phrase in (
        "UBND xã Tân Phú",
        "Tư pháp - Hộ tịch",
        "Số thứ tự /",
        "1023",
        "Ưu tiên: Người cao tuổi",
        "Thời gian / Time: 08:15 21/11/2026",
        "Số người đang chờ trước quý khách / People ahead: 3",
        "Thời gian chờ dự kiến / Estimated wait: ~12 phút (min)",
        "Quét mã để theo dõi lượt / Scan to follow your turn",
        "Xin cảm ơn quý khách / Thank you",
        "IN LẠI / REPRINT",
    ):
        assert phrase in flat, phrase
    assert "?" not in text and "\ufffd" not in text
    assert max(len(line) for line in text.splitlines()) <= width // 12


def test_text_ticket_prints_big_number_qr_and_cut() -> None:
    raw, _ = text_ticket("TM-T20II")

    decoded = decode(raw)
    sizes = [c.args[0] for c in decoded.commands if c.name == "GS !"]
    assert max(sizes) >= 0x33  # at least 4x width and 4x height for the number
    assert decoded.qr_payloads() == [sample_ticket().status_url.encode()]
    assert decoded.names[-1] == "GS V"


def test_text_ticket_prints_qr_as_image_without_native_qr() -> None:
    raw, _ = text_ticket("POS-5890", 384)  # profile without qrCode

    decoded = decode(raw)
    assert decoded.qr_payloads() == []
    [qr] = decoded.images
    assert qr.width == 384
    assert [r.text for r in zxingcpp.read_barcodes(qr.convert("L"))] == [sample_ticket().status_url]


def test_text_ticket_strips_diacritics_without_a_vietnamese_code_page() -> None:
    raw, text = text_ticket("TM-T88IV")

    assert "Tu phap - Ho tich" in text
    assert "So nguoi dang cho truoc quy khach / People ahead: 3" in " ".join(text.split())
    assert all(b < 0x80 for c in decode(raw).commands if c.name == "TEXT" for b in c.args)


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown print mode"):
        write_ticket(Dummy(), sample_ticket(), mode="pdf")


def test_ticket_view_fields() -> None:
    names = [f.name for f in dataclasses.fields(TicketView)]

    assert names == [
        "hall_name",
        "service_name",
        "service_name_en",
        "display_number",
        "issued_at",
        "ahead",
        "estimated_wait_s",
        "status_url",
        "priority",
        "footer",
        "reprint",
        "booked_for",
        "purpose",
    ]


@pytest.mark.parametrize("profile", ["TM-T20II", "default"])
def test_a_results_ticket_says_what_it_is_for(profile: str) -> None:
    """A ticket of a results area (trả kết quả) carries its purpose under the area's name,
    in text mode and in the drawn image (which grows by the banner)."""
    purpose = "Nhận kết quả / Collect results"
    _raw, text = text_ticket(profile, purpose=purpose)
    flat = " ".join(text.split())
    assert "Nhận kết quả / Collect results" in flat
    where = [flat.index(x) for x in ("Justice - Civil status", "Nhận kết quả", "Số thứ tự")]
    assert where == sorted(where)
    _raw, plain = text_ticket(profile)
    assert "Nhận kết quả" not in plain
    from layso_agent.render import layout_ticket

    with_purpose = layout_ticket(sample_ticket(purpose=purpose))
    without = layout_ticket(sample_ticket())
    assert with_purpose.image.height > without.image.height
    assert with_purpose.number_band[0] > without.number_band[0]


def test_wrapping_leaves_no_lone_last_word() -> None:
    from layso_agent.render import font, wrap_runs

    f = font(bold=True, size=22)
    text = "Trung tâm Phục vụ hành chính công xã Tân Phú"
    width = f.getlength("Trung tâm Phục vụ hành chính công xã Tân") + 1

    lines = wrap_runs([(text, f)], width)

    assert [run[0] for line in lines for run in line] == [
        "Trung tâm Phục vụ hành chính công xã",
        "Tân Phú",
    ]


def test_cached_header_follows_the_halls_new_name() -> None:
    old = sample_ticket(hall_name="UBND xã Tân Phú - Trung tâm Phục vụ hành chính công")
    new = sample_ticket(
        hall_name="UBND phường Tân Phú - Trung tâm Phục vụ hành chính công",
        display_number="1024",
        status_url="http://192.168.1.10:5000/t/X8RT4N2Q",
    )
    printed = []
    for view in (old, new):  # the second ticket's header block is drawn anew, not the cached one
        p = Dummy()
        write_ticket(p, view)
        printed.append(decode(p.output).stacked_image().convert("L"))
    clear_caches()

    for view, image in zip((old, new), printed, strict=True):
        fresh = layout_ticket(view)  # nothing cached: every block drawn for this ticket
        assert ImageChops.difference(image, fresh.image.convert("L")).getbbox() is None
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [view.status_url]
    header = (0, 0, 576, layout_ticket(old).number_band[0])
    assert ImageChops.difference(printed[0].crop(header), printed[1].crop(header)).getbbox()


def test_block_cache_is_reused_and_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    clear_caches()
    render_ticket_image(sample_ticket())
    blocks = len(parts.blocks)

    render_ticket_image(sample_ticket(display_number="1024", status_url="http://x/t/AAAA2222"))
    assert len(parts.blocks) == blocks  # same hall, area and values: nothing new drawn

    monkeypatch.setattr(parts.blocks, "size", blocks + 2)
    for ahead in range(10):
        render_ticket_image(sample_ticket(ahead=ahead + 50))
    assert len(parts.blocks) == blocks + 2
    clear_caches()


@pytest.mark.parametrize("width", [576, 384])
def test_fixed_mask_qr_codes_read_back(width: int) -> None:
    hosts = ["http://192.168.1.10:5000", "https://laysotanphu.gov.vn", "http://127.0.0.1:5000"]
    alphabet = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
    for i in range(12):
        code = "".join(alphabet[(i * 7 + k * 11) % len(alphabet)] for k in range(8))
        url = f"{hosts[i % len(hosts)]}/t/{code}"

        image = render_ticket_image(sample_ticket(status_url=url), width).convert("L")

        assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]
