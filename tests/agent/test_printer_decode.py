"""The test-side ESC/POS reader reads back what python-escpos writes."""

from __future__ import annotations

import pytest
from escpos.printer import Dummy
from escpos_decode import decode, stack
from PIL import Image, ImageChops, ImageDraw


def pattern(width: int, height: int) -> Image.Image:
    """An asymmetric black-on-white picture: any flip, shift or bit-order slip shows."""
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 3, 5), fill=0)
    draw.line((0, height - 1, width - 1, 0), fill=0, width=3)
    draw.ellipse((width // 2, height // 4, width - 10, height // 2), outline=0, width=2)
    draw.point([(width - 1, height - 1), (1, height // 2)], fill=0)
    return image


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


@pytest.mark.parametrize(
    ("impl", "command"),
    [("bitImageRaster", "GS v 0"), ("graphics", "GS ( L"), ("bitImageColumn", "ESC *")],
)
def test_image_round_trip(impl: str, command: str) -> None:
    original = pattern(200, 72)  # width not a multiple of 8 on purpose for GS ( L
    p = Dummy()

    p.image(original, impl=impl)

    decoded = decode(p.output)
    [image] = decoded.images
    assert command in decoded.names
    assert same(image.crop((0, 0, 200, 72)), original)
    assert ImageChops.invert(image.convert("L")).crop((200, 0, *image.size)).getbbox() is None


def test_image_fragments_stack_back_into_one() -> None:
    original = pattern(64, 300)
    p = Dummy()

    p.image(original, fragment_height=128)

    decoded = decode(p.output)
    assert [im.height for im in decoded.images] == [128, 128, 44]
    assert same(stack(decoded.images), original)


@pytest.mark.parametrize(
    ("cut", "args"),
    [({}, b"\x00"), ({"mode": "PART"}, b"\x01"), ({"feed": False}, b"\x42\x00")],
)
def test_cut_is_seen(cut: dict[str, object], args: bytes) -> None:
    p = Dummy()
    p.text("x\n")

    p.cut(**cut)

    last = decode(p.output).commands[-1]
    assert (last.name, last.args) == ("GS V", args)


def test_text_is_tagged_with_its_code_page() -> None:
    p = Dummy()
    p.hw("INIT")
    p.charcode("CP1258")
    p.text("Tư\n")

    decoded = decode(p.output)

    assert decoded.names == ["ESC @", "ESC t", "TEXT", "LF"]
    assert decoded.commands[2].args == b"T\xfd"
    assert decoded.commands[2].code_page == decoded.commands[1].args[0]


def test_native_qr_payload_is_read() -> None:
    p = Dummy()

    p.qr("http://x/t/1", native=True)

    assert decode(p.output).qr_payloads() == [b"http://x/t/1"]


@pytest.mark.parametrize("data", [b"\x1b\x99", b"\x1d\xee", b"\x07", b"\x10\x05"])
def test_unknown_command_is_an_error(data: bytes) -> None:
    with pytest.raises(ValueError, match="unknown"):
        decode(data)


def test_truncated_image_is_an_error() -> None:
    p = Dummy()
    p.image(pattern(64, 20))

    with pytest.raises(ValueError, match="cut short"):
        decode(p.output[:-10])
