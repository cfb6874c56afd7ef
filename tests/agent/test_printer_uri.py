"""Printer URIs: every scheme, every option, and a clear error for each bad one."""

from __future__ import annotations

import pytest

from layso_agent.driver import PrinterConfig, parse_printer_uri


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("preview:/var/lib/layso/tickets", {"kind": "preview", "path": "/var/lib/layso/tickets"}),
        ("preview:tickets?paper=58", {"kind": "preview", "path": "tickets", "width_px": 384}),
        ("tcp://192.168.1.50:9100", {"kind": "tcp", "host": "192.168.1.50", "port": 9100}),
        ("tcp://printer.local", {"kind": "tcp", "host": "printer.local", "port": 9100}),
        ("TCP://10.0.0.5:9101/", {"kind": "tcp", "host": "10.0.0.5", "port": 9101}),
        ("tcp://[::1]:9100", {"kind": "tcp", "host": "::1", "port": 9100}),
        ("usb://04b8:0e28", {"kind": "usb", "vendor_id": 0x04B8, "product_id": 0x0E28}),
        ("usb://0x0416:0x5011", {"kind": "usb", "vendor_id": 0x0416, "product_id": 0x5011}),
        (
            "usb://04b8:0e28?in_ep=0x81&out_ep=3",
            {"kind": "usb", "in_ep": 0x81, "out_ep": 3},
        ),
        ("serial:///dev/ttyS0", {"kind": "serial", "path": "/dev/ttyS0", "baudrate": 9600}),
        (
            "serial:///dev/ttyUSB0?baudrate=115200",
            {"kind": "serial", "path": "/dev/ttyUSB0", "baudrate": 115200},
        ),
        ("file:///dev/usb/lp0", {"kind": "file", "path": "/dev/usb/lp0"}),
        ("file://localhost/dev/usb/lp0", {"kind": "file", "path": "/dev/usb/lp0"}),
        ("file:///tmp/my%20tickets.bin", {"kind": "file", "path": "/tmp/my tickets.bin"}),
        ("none", {"kind": "none"}),
        ("  NONE ", {"kind": "none"}),
    ],
)
def test_parse_valid_uri(uri: str, expected: dict[str, object]) -> None:
    config = parse_printer_uri(uri)

    for name, value in expected.items():
        assert getattr(config, name) == value, name


def test_parse_defaults() -> None:
    config = parse_printer_uri("tcp://10.0.0.5")

    assert config == PrinterConfig(kind="tcp", uri="tcp://10.0.0.5", host="10.0.0.5")
    assert (config.width_px, config.mode, config.profile, config.timeout) == (
        576,
        "image",
        None,
        3.0,
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("width=384", {"width_px": 384}),
        ("paper=80", {"width_px": 576}),
        ("paper=58mm", {"width_px": 384}),
        ("width=384&paper=58", {"width_px": 384}),
        ("mode=text", {"mode": "text"}),
        ("profile=TM-T20II", {"profile": "TM-T20II"}),
        ("timeout=0.5", {"timeout": 0.5}),
        ("mode=TEXT&profile=POS-5890&width=384&timeout=10", {"mode": "text", "timeout": 10.0}),
    ],
)
def test_parse_options(query: str, expected: dict[str, object]) -> None:
    config = parse_printer_uri(f"tcp://10.0.0.5:9100?{query}")

    for name, value in expected.items():
        assert getattr(config, name) == value, name


def test_bare_preview_uses_the_given_folder(tmp_path) -> None:
    config = parse_printer_uri("preview:", preview_dir=tmp_path)

    assert config.kind == "preview" and config.path == str(tmp_path)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("", "empty printer URI"),
        ("   ", "empty printer URI"),
        ("10.0.0.5", "no scheme"),
        ("lpt://1", "unknown printer URI scheme 'lpt'"),
        ("http://10.0.0.5", "unknown printer URI scheme 'http'"),
        ("none:foo", "'none' takes no"),
        ("preview:", "preview needs a folder"),
        ("tcp://", "missing host"),
        ("tcp://:9100", "missing host"),
        ("tcp://10.0.0.5:abc", "bad port 'abc'"),
        ("tcp://10.0.0.5:70000", "bad port '70000'"),
        ("tcp://10.0.0.5:0", "bad port 0"),
        ("tcp://10.0.0.5:9100/printer", "unexpected path"),
        ("tcp://user:pw@10.0.0.5", "user name or password"),
        ("usb://", "bad USB ids"),
        ("usb://04b8", "bad USB ids"),
        ("usb://04b8:zz28", "bad USB ids"),
        ("usb://04b8:0e28:1", "bad USB ids"),
        ("usb://12345:0e28", "bad USB ids"),
        ("usb://0000:0e28", "cannot be 0"),
        ("serial://dev/ttyS0", "three slashes"),
        ("serial://", "missing device path"),
        ("file:", "missing device path"),
        ("file://printer/dev/usb/lp0", "three slashes"),
        ("tcp://10.0.0.5?width=abc", "bad width 'abc'"),
        ("tcp://10.0.0.5?width=100", "bad width '100'"),
        ("tcp://10.0.0.5?width=580", "bad width '580'"),
        ("tcp://10.0.0.5?paper=76", "bad paper '76'"),
        ("tcp://10.0.0.5?width=576&paper=58", "contradicts paper=58"),
        ("tcp://10.0.0.5?mode=pdf", "bad mode 'pdf'"),
        ("tcp://10.0.0.5?profile=NoSuchPrinter", "unknown printer profile 'NoSuchPrinter'"),
        ("tcp://10.0.0.5?timeout=0", "bad timeout '0'"),
        ("tcp://10.0.0.5?timeout=-1", "bad timeout '-1'"),
        ("tcp://10.0.0.5?timeout=nan", "bad timeout 'nan'"),
        ("tcp://10.0.0.5?timeout=600", "bad timeout '600'"),
        ("tcp://10.0.0.5?color=red", "unknown option 'color'"),
        ("tcp://10.0.0.5?baudrate=9600", "unknown option 'baudrate' for tcp"),
        ("serial:///dev/ttyS0?baudrate=fast", "bad baudrate 'fast'"),
        ("usb://04b8:0e28?in_ep=0x1ff", "bad in_ep"),
        ("tcp://10.0.0.5?width", "bad option 'width'"),
        ("tcp://10.0.0.5?width=", "bad option 'width='"),
        ("tcp://10.0.0.5?mode=text&mode=image", "given twice"),
        ("tcp://10.0.0.5#top", "fragment"),
    ],
)
def test_parse_bad_uri_says_what_is_wrong(uri: str, message: str) -> None:
    with pytest.raises(ValueError) as excinfo:
        parse_printer_uri(uri)

    assert message in str(excinfo.value)
