"""Printing and status through real connections: a fake network printer, files and a tty."""

from __future__ import annotations

import socket
import types
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import zxingcpp
from escpos.printer import Dummy
from escpos_decode import decode, decode_text
from PIL import Image, ImageChops

from layso_agent import driver
from layso_agent import status as printer_status
from layso_agent.driver import (
    PreviewPrinter,
    PrinterUnavailable,
    open_printer,
    parse_printer_uri,
    print_ticket,
)
from layso_agent.render import layout_ticket, render_ticket_image, write_ticket
from layso_agent.status import STATUS_PAPER, STATUS_PRINTER, interpret_status, query_status
from layso_agent.ticket import sample_ticket

VIEW = sample_ticket()


def expected_bytes(width: int = 576, mode: str = "image", profile: str | None = None) -> bytes:
    p = Dummy(profile=profile)
    write_ticket(p, VIEW, mode=mode, width_px=width)
    return p.output


def same(a: Image.Image, b: Image.Image) -> bool:
    return ImageChops.difference(a.convert("L"), b.convert("L")).getbbox() is None


# --- printing over the network ---------------------------------------------------------------


@pytest.mark.parametrize("width", [576, 384])
def test_print_over_tcp_sends_the_ticket_image_and_cuts(fake_printer, width: int) -> None:
    server = fake_printer()

    print_ticket(parse_printer_uri(f"{server.uri}?width={width}"), VIEW)

    [data] = server.wait_for_connections(1)
    decoded = decode(data)
    image = decoded.stacked_image()
    assert image.width == width
    top, bottom = layout_ticket(VIEW, width).number_band
    number = image.convert("L").crop((0, top, width, bottom))
    assert number.histogram()[0] > 0.15 * width * (bottom - top)  # the number's band is inked
    assert [r.text for r in zxingcpp.read_barcodes(image.convert("L"))] == [VIEW.status_url]
    assert same(image, render_ticket_image(VIEW, width))
    assert decoded.names[0] == "ESC @"
    assert decoded.names[-1] == "GS V"
    assert data == expected_bytes(width)


def test_print_over_tcp_in_text_mode_keeps_vietnamese(fake_printer) -> None:
    server = fake_printer()

    print_ticket(parse_printer_uri(f"{server.uri}?mode=text&profile=TM-T20II"), VIEW)

    [data] = server.wait_for_connections(1)
    text = " ".join(decode_text(decode(data), "TM-T20II").split())
    assert "Tư pháp - Hộ tịch" in text
    assert "Số người đang chờ trước quý khách / People ahead: 3" in text
    assert decode(data).qr_payloads() == [VIEW.status_url.encode()]
    assert data == expected_bytes(mode="text", profile="TM-T20II")


def test_network_printer_gets_a_short_timeout(fake_printer) -> None:
    server = fake_printer()

    p = open_printer(parse_printer_uri(server.uri))
    try:
        assert p.timeout == 3.0  # python-escpos would wait 60 s
        assert p.device.gettimeout() == 3.0
    finally:
        p.close()
    server.wait_for_connections(1)


def test_print_to_closed_port_fails_at_once(closed_port: int) -> None:
    config = parse_printer_uri(f"tcp://127.0.0.1:{closed_port}")

    with pytest.raises(PrinterUnavailable) as excinfo:
        print_ticket(config, VIEW)

    assert excinfo.value.reason == "connection refused"
    assert str(closed_port) in str(excinfo.value)


def test_print_closes_the_connection_when_writing_fails(fake_printer, monkeypatch) -> None:
    server = fake_printer()

    def broken_write(p, view, **kw):
        p.hw("INIT")
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(driver, "write_ticket", broken_write)

    with pytest.raises(PrinterUnavailable, match="broken pipe"):
        print_ticket(parse_printer_uri(server.uri), VIEW)

    assert server.wait_for_connections(1) == [b"\x1b@"]


# --- status ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("ok", "ok"),
        ("paper_low", "paper_low"),
        ("paper_out", "paper_out"),
        ("offline", "offline"),
        ("garbage", "error"),
        ("no_answer", "unknown"),  # takes bytes, never answers: neither "ok" nor "offline"
    ],
)
def test_status_over_tcp(fake_printer, state: str, expected: str) -> None:
    server = fake_printer(state)

    status = query_status(parse_printer_uri(f"{server.uri}?timeout=0.2"))

    assert status == expected
    [sent] = server.wait_for_connections(1)
    assert sent == (STATUS_PRINTER + STATUS_PAPER if state != "no_answer" else STATUS_PRINTER)


def test_status_of_closed_port_is_offline(closed_port: int) -> None:
    assert query_status(parse_printer_uri(f"tcp://127.0.0.1:{closed_port}")) == "offline"


@pytest.mark.parametrize(
    ("printer", "paper", "expected"),
    [
        (b"\x12", b"\x12", "ok"),
        (b"\x16", b"\x12", "ok"),  # bit 2: drawer pin, not our business
        (b"\x12", b"\x1e", "paper_low"),
        (b"\x12", b"\x16", "paper_low"),  # one near-end sensor bit is enough
        (b"\x12", b"\x72", "paper_out"),
        (b"\x1a", b"\x7e", "paper_out"),  # out of paper also sets offline
        (b"\x1a", b"\x12", "offline"),
        (b"\x1a", b"\x1e", "offline"),
        (b"\x13", b"\x12", "error"),  # bit 0 must be 0
        (b"\x10", b"\x12", "error"),  # bit 1 must be 1
        (b"\x02", b"\x12", "error"),  # bit 4 must be 1
        (b"\x92", b"\x12", "error"),  # bit 7 must be 0
        (b"\x12", b"\xff", "error"),
        (b"", b"\x12", "error"),
        (b"\x12\x12", b"\x12", "error"),
        (b"\x12", b"OK", "error"),
    ],
)
def test_interpret_status(printer: bytes, paper: bytes, expected: str) -> None:
    assert interpret_status(printer, paper) == expected


@pytest.mark.parametrize(
    ("state", "expected"),
    [("ok", "ok"), ("paper_out", "paper_out"), ("garbage", "error"), ("no_answer", "offline")],
)
def test_status_of_a_device_file(fake_device, state: str, expected: str) -> None:
    device = fake_device(state)

    status = query_status(parse_printer_uri(f"file://{device.path}?timeout=0.2"))

    assert status == expected
    assert bytes(device.received).startswith(STATUS_PRINTER)


def test_status_of_a_missing_device_file_is_offline(tmp_path: Path) -> None:
    assert query_status(parse_printer_uri(f"file://{tmp_path}/lp0")) == "offline"


def test_status_of_a_capture_file_is_ok_when_writable(tmp_path: Path) -> None:
    capture = tmp_path / "capture.bin"
    capture.write_bytes(b"")

    assert query_status(parse_printer_uri(f"file://{capture}")) == "ok"


class FakeSerialPort:
    """Stands in for pyserial's Serial: answers DLE EOT like a printer with paper running low."""

    def __init__(self, port: str, baudrate: int, timeout: float, write_timeout: float) -> None:
        self.port, self.baudrate = port, baudrate
        self.replies = b""

    def write(self, data: bytes) -> None:
        self.replies += {STATUS_PRINTER: b"\x12", STATUS_PAPER: b"\x1e"}[data]

    def flush(self) -> None:
        pass

    @property
    def in_waiting(self) -> int:
        return len(self.replies)

    def read(self, size: int) -> bytes:
        data, self.replies = self.replies[:size], self.replies[size:]
        return data

    def close(self) -> None:
        pass


def test_status_of_a_serial_printer(monkeypatch) -> None:
    fake_serial = types.SimpleNamespace(Serial=FakeSerialPort)
    monkeypatch.setattr(printer_status, "_import_serial", lambda: fake_serial)

    status = query_status(parse_printer_uri("serial:///dev/ttyS0?baudrate=19200"))

    assert status == "paper_low"


def test_serial_without_pyserial(monkeypatch) -> None:
    monkeypatch.setattr(driver.Serial, "is_usable", staticmethod(lambda: False))

    def no_pyserial():
        raise printer_status._MissingDependency("pyserial is not installed")

    monkeypatch.setattr(printer_status, "_import_serial", no_pyserial)
    config = parse_printer_uri("serial:///dev/ttyS0")

    with pytest.raises(PrinterUnavailable, match="pyserial is not installed"):
        print_ticket(config, VIEW)
    assert query_status(config) == "error"


class FakeUsb:
    """Stands in for python-escpos's Usb driver, with a printer that is out of paper."""

    opened: list[FakeUsb] = []

    def __init__(self, vendor_id, product_id, usb_args, timeout, profile=None, **endpoints):
        self.ids, self.timeout, self.endpoints = (vendor_id, product_id), timeout, endpoints
        self.replies: list[bytes] = []
        self.closed = False

    @staticmethod
    def is_usable() -> bool:
        return True

    def open(self) -> None:
        FakeUsb.opened.append(self)

    def _raw(self, data: bytes) -> None:
        self.replies.append({STATUS_PRINTER: b"\x1a", STATUS_PAPER: b"\x7e"}[data])

    def _read(self) -> bytes:
        return self.replies.pop(0)

    def close(self) -> None:
        self.closed = True


def test_status_of_a_usb_printer(monkeypatch) -> None:
    monkeypatch.setattr(driver, "Usb", FakeUsb)
    FakeUsb.opened.clear()

    status = query_status(parse_printer_uri("usb://04b8:0e28?out_ep=3&timeout=2"))

    assert status == "paper_out"
    [usb] = FakeUsb.opened
    assert usb.ids == (0x04B8, 0x0E28) and usb.timeout == 2000 and usb.endpoints == {"out_ep": 3}
    assert usb.closed


def test_usb_without_pyusb(monkeypatch) -> None:
    monkeypatch.setattr(driver.Usb, "is_usable", staticmethod(lambda: False))
    config = parse_printer_uri("usb://04b8:0e28")

    with pytest.raises(PrinterUnavailable, match="pyusb is not installed"):
        print_ticket(config, VIEW)
    assert query_status(config) == "error"


# --- files, preview and none -----------------------------------------------------------------


def test_print_to_a_file(tmp_path: Path) -> None:
    capture = tmp_path / "lp0"

    print_ticket(parse_printer_uri(f"file://{capture}?paper=58"), VIEW)

    assert capture.read_bytes() == expected_bytes(384)


def test_print_to_a_missing_device_fails(tmp_path: Path) -> None:
    config = parse_printer_uri(f"file://{tmp_path}/no/such/dir/lp0")

    with pytest.raises(PrinterUnavailable, match="device not found"):
        print_ticket(config, VIEW)


def test_preview_files_png_and_raw_bytes(tmp_path: Path) -> None:
    folder = tmp_path / "not" / "yet" / "there"

    print_ticket(parse_printer_uri(f"preview:{folder}"), VIEW)

    [png] = folder.glob("*.png")
    [raw] = folder.glob("*.bin")
    assert png.stem == raw.stem and png.stem.endswith("-1023")
    assert raw.read_bytes() == expected_bytes()
    with Image.open(png) as shown:
        assert same(shown, render_ticket_image(VIEW))
        assert same(decode(raw.read_bytes()).stacked_image(), shown)
    assert not list(folder.glob("*.part"))


def test_preview_never_overwrites_a_ticket(tmp_path: Path) -> None:
    moment = datetime(2026, 11, 21, 8, 15, tzinfo=timezone(timedelta(hours=7)))
    preview = PreviewPrinter(tmp_path, width_px=384, clock=lambda: moment)

    first = preview.print_ticket(VIEW)
    second = preview.print_ticket(sample_ticket(reprint=True))

    assert first[0].name == "20261121-081500-000000-1023.png"
    assert second[0].name == "20261121-081500-000000-1023-2.png"
    assert first[1].read_bytes() != second[1].read_bytes()


def test_preview_file_names_use_the_halls_local_time(tmp_path: Path) -> None:
    # the server runs in UTC; the ticket (and so its file name) says the hall's 08:15
    moment = datetime(2026, 11, 21, 1, 15, tzinfo=timezone(timedelta(0)))
    preview = PreviewPrinter(tmp_path, width_px=384, clock=lambda: moment)

    png, _ = preview.print_ticket(VIEW)

    assert png.name == "20261121-081500-000000-1023.png"


def test_preview_in_text_mode(tmp_path: Path) -> None:
    print_ticket(parse_printer_uri(f"preview:{tmp_path}?mode=text&profile=TM-T20II"), VIEW)

    [raw] = tmp_path.glob("*.bin")
    assert raw.read_bytes() == expected_bytes(mode="text", profile="TM-T20II")
    assert len(list(tmp_path.glob("*.png"))) == 1


def test_preview_that_cannot_write_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")

    with pytest.raises(PrinterUnavailable):
        print_ticket(parse_printer_uri(f"preview:{blocker}/tickets"), VIEW)


def test_preview_and_none_are_always_ok(tmp_path: Path) -> None:
    assert query_status(parse_printer_uri(f"preview:{tmp_path}")) == "ok"
    assert query_status(parse_printer_uri("none")) == "ok"


def test_none_prints_nothing(monkeypatch) -> None:
    def no_device(*args, **kwargs):
        raise AssertionError("none must not open anything")

    monkeypatch.setattr(socket, "create_connection", no_device)
    monkeypatch.setattr(driver, "open_printer", no_device)

    print_ticket(parse_printer_uri("none"), VIEW)
