"""The ticket's GS v 0 bytes, built from the 1-bit image, are python-escpos's bytes exactly."""

from __future__ import annotations

import pytest
from escpos.printer import Dummy
from escpos_decode import decode
from PIL import Image, ImageChops, ImageDraw

from layso_agent.raster import raster_commands
from layso_agent.render import render_ticket_image, set_paper_width, write_image_ticket
from layso_agent.ticket import sample_ticket


def pattern(width: int, height: int) -> Image.Image:
    """An asymmetric black-on-white picture: any flip, shift or bit-order slip shows."""
    image = Image.new("1", (width, height), 1)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width // 3, 5), fill=0)
    draw.line((0, height - 1, width - 1, 0), fill=0, width=3)
    draw.point([(width - 1, height - 1), (1, height // 2)], fill=0)
    return image


def escpos_image(image: Image.Image, **options: object) -> bytes:
    p = Dummy()
    p.image(image, impl="bitImageRaster", **options)
    return p.output


@pytest.mark.parametrize(("width", "height"), [(64, 20), (203, 75), (576, 960), (384, 2100)])
def test_same_bytes_as_python_escpos(width: int, height: int) -> None:
    image = pattern(width, height)

    assert raster_commands(image) == escpos_image(image)
    assert raster_commands(image, fragment_height=128) == escpos_image(image, fragment_height=128)


def test_fragments_read_back_as_the_image() -> None:
    image = pattern(576, 2000)

    decoded = decode(raster_commands(image))

    assert [im.height for im in decoded.images] == [960, 960, 80]
    difference = ImageChops.difference(decoded.stacked_image().convert("L"), image.convert("L"))
    assert difference.getbbox() is None


def test_only_black_and_white_images() -> None:
    with pytest.raises(ValueError, match="mode '1'"):
        raster_commands(Image.new("L", (8, 8), 255))


@pytest.mark.parametrize("width", [576, 384])
def test_ticket_bytes_are_those_of_python_escpos_image(width: int) -> None:
    image = render_ticket_image(sample_ticket(priority="Người cao tuổi"), width)
    ours = Dummy()
    theirs = Dummy()

    write_image_ticket(ours, image, width_px=width)
    set_paper_width(theirs, width)
    theirs.hw("INIT")
    theirs.image(image, center=True, impl="bitImageRaster")
    theirs.cut()

    assert ours.output == theirs.output


def test_other_images_still_go_through_python_escpos() -> None:
    narrow = pattern(500, 40)  # narrower than the paper: python-escpos centres it
    ours = Dummy()
    theirs = Dummy()

    write_image_ticket(ours, narrow, width_px=576)
    set_paper_width(theirs, 576)
    theirs.hw("INIT")
    theirs.image(narrow, center=True, impl="bitImageRaster")
    theirs.cut()

    assert ours.output == theirs.output
