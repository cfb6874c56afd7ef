"""Printer URIs, the devices behind them, printing one ticket and asking a printer its state.

A printer is named by a URI (``LAYSO_PRINTER``)::

    preview:DIR                 tickets filed as PNG + raw ESC/POS in DIR (the demo default)
    tcp://HOST[:9100]           network printer (raw port 9100)
    usb://VID:PID               USB printer, ids in hex (needs python-escpos[usb])
    serial:///dev/ttyS0         serial printer, ?baudrate=9600 (needs python-escpos[serial])
    file:///dev/usb/lp0         a device file (usblp, a parallel port); opened per ticket with
                                "wb", so a regular file keeps only the last ticket
    none                        no printer: nothing is printed

Asking a printer its state is :mod:`layso_agent.status`.

Options go in the query string: ``width=576`` (paper width in dots) or ``paper=58|80``,
``mode=image|text``, ``profile=NAME`` (a python-escpos printer profile), ``timeout=3`` (seconds),
``baudrate=`` (serial), ``in_ep=`` / ``out_ep=`` (USB endpoints).
"""

from __future__ import annotations

import logging
import math
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from escpos.capabilities import CAPABILITIES
from escpos.escpos import Escpos
from escpos.exceptions import DeviceNotFoundError
from escpos.exceptions import Error as EscposError
from escpos.printer import Dummy, File, Network, Serial, Usb

from layso_agent.render import (
    IMAGE_MODE,
    MODES,
    WIDTH_58MM,
    WIDTH_80MM,
    render_ticket_image,
    write_image_ticket,
    write_ticket,
)
from layso_agent.ticket import TicketView

logger = logging.getLogger(__name__)

SCHEMES = ("preview", "tcp", "usb", "serial", "file", "none")
#: How the preview printer saves its PNGs: zlib's fastest level, about 1.8 ms of CPU a ticket
#: instead of 2.8 (a third of drawing one) for files a quarter bigger (~9 KB).
PNG_OPTIONS: dict[str, Any] = {"compress_level": 1}
DEFAULT_PORT = 9100
DEFAULT_TIMEOUT_S = 3.0
DEFAULT_BAUDRATE = 9600
PAPER_WIDTHS = {"58": WIDTH_58MM, "80": WIDTH_80MM}
MIN_WIDTH_PX, MAX_WIDTH_PX = 256, 2048

_COMMON_OPTIONS = frozenset({"width", "paper", "mode", "profile", "timeout"})
_OPTIONS = {
    "preview": _COMMON_OPTIONS,
    "tcp": _COMMON_OPTIONS,
    "usb": _COMMON_OPTIONS | {"in_ep", "out_ep"},
    "serial": _COMMON_OPTIONS | {"baudrate"},
    "file": _COMMON_OPTIONS,
}
_URI_FORMS = (
    "preview:DIR, tcp://HOST:9100, usb://VID:PID, serial:///dev/ttyS0, file:///dev/usb/lp0, none"
)
_USB_IDS = re.compile(r"(?:0x)?([0-9a-f]{1,4}):(?:0x)?([0-9a-f]{1,4})", re.IGNORECASE)


class PrinterUnavailable(Exception):
    """The printer cannot take the ticket now; ``reason`` says why in a few words."""

    def __init__(self, reason: str, *, uri: str | None = None) -> None:
        super().__init__(f"printer {uri}: {reason}" if uri else reason)
        self.reason = reason
        self.uri = uri


@dataclass(frozen=True)
class PrinterConfig:
    """A printer URI, parsed and checked by :func:`parse_printer_uri`."""

    kind: str  # one of SCHEMES
    uri: str
    host: str | None = None  # tcp
    port: int = DEFAULT_PORT  # tcp
    vendor_id: int | None = None  # usb
    product_id: int | None = None  # usb
    in_ep: int | None = None  # usb; None: python-escpos's default
    out_ep: int | None = None  # usb
    path: str | None = None  # preview folder, serial or file device
    baudrate: int = DEFAULT_BAUDRATE  # serial
    width_px: int = WIDTH_80MM
    mode: str = IMAGE_MODE
    profile: str | None = None  # None: python-escpos's "default" profile
    timeout: float = DEFAULT_TIMEOUT_S


# --------------------------------------------------------------------------------------------
# URIs


def parse_printer_uri(
    uri: str, *, preview_dir: str | os.PathLike[str] | None = None
) -> PrinterConfig:
    """Parse a printer URI; raise ``ValueError`` saying what is wrong with a bad one.

    ``preview_dir`` is the folder a bare ``preview:`` files tickets in.
    """
    text = uri.strip()
    if not text:
        raise ValueError(f"empty printer URI: use one of {_URI_FORMS}")
    if text.lower() in ("none", "none:"):
        return PrinterConfig(kind="none", uri=text)
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if not colon or not scheme:
        raise ValueError(f"printer URI {uri!r} has no scheme: use one of {_URI_FORMS}")
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown printer URI scheme {scheme!r} in {uri!r}: use one of {_URI_FORMS}"
        )
    if scheme == "none":
        raise ValueError(f"printer URI {uri!r}: 'none' takes no folder, address or options")
    if "#" in rest:
        raise ValueError(f"printer URI {uri!r}: unexpected '#' fragment")
    if scheme == "preview":
        # preview:DIR is a plain path, not a URL: take it as written.
        folder, _, query = rest.partition("?")
        fields: dict[str, Any] = {"path": _preview_folder(uri, folder, preview_dir)}
    else:
        parts = urlsplit(text)
        query = parts.query
        fields = _LOCATION_PARSERS[scheme](uri, parts)
    fields.update(_parse_options(uri, scheme, query))
    return PrinterConfig(kind=scheme, uri=text, **fields)


def _preview_folder(uri: str, folder: str, preview_dir: str | os.PathLike[str] | None) -> str:
    if folder:
        return folder
    if preview_dir is not None:
        return os.fspath(preview_dir)
    raise ValueError(
        f"printer URI {uri!r}: preview needs a folder, e.g. preview:/var/lib/layso/tickets"
    )


def _no_user_info(uri: str, parts: Any) -> None:
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"printer URI {uri!r}: unexpected user name or password")


def _parse_tcp(uri: str, parts: Any) -> dict[str, Any]:
    _no_user_info(uri, parts)
    if not parts.hostname:
        raise ValueError(f"printer URI {uri!r}: missing host, e.g. tcp://192.168.1.50:9100")
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition(":")[2]
        raise ValueError(
            f"printer URI {uri!r}: bad port {port_text!r}, a number from 1 to 65535"
        ) from None
    if port == 0:
        raise ValueError(f"printer URI {uri!r}: bad port 0, a number from 1 to 65535")
    if parts.path not in ("", "/"):
        raise ValueError(f"printer URI {uri!r}: unexpected path {parts.path!r} after the port")
    return {"host": parts.hostname, "port": port or DEFAULT_PORT}


def _parse_usb(uri: str, parts: Any) -> dict[str, Any]:
    match = _USB_IDS.fullmatch(parts.netloc)
    if not match or parts.path not in ("", "/"):
        raise ValueError(
            f"printer URI {uri!r}: bad USB ids, expected usb://VID:PID in hex, e.g. usb://04b8:0e28"
        )
    vendor_id, product_id = (int(group, 16) for group in match.groups())
    if not vendor_id or not product_id:
        raise ValueError(f"printer URI {uri!r}: bad USB ids, vendor and product id cannot be 0")
    return {"vendor_id": vendor_id, "product_id": product_id}


def _device_path(uri: str, parts: Any, example: str) -> dict[str, Any]:
    if parts.netloc not in ("", "localhost"):
        raise ValueError(
            f"printer URI {uri!r}: expected an absolute device path with three slashes, "
            f"e.g. {example}"
        )
    path = unquote(parts.path)
    if not path.startswith("/") or path == "/":
        raise ValueError(f"printer URI {uri!r}: missing device path, e.g. {example}")
    return {"path": path}


_LOCATION_PARSERS: dict[str, Callable[[str, Any], dict[str, Any]]] = {
    "tcp": _parse_tcp,
    "usb": _parse_usb,
    "serial": lambda uri, parts: _device_path(uri, parts, "serial:///dev/ttyS0"),
    "file": lambda uri, parts: _device_path(uri, parts, "file:///dev/usb/lp0"),
}


def _parse_options(uri: str, scheme: str, query: str) -> dict[str, Any]:
    if not query:
        return {}
    options: dict[str, str] = {}
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        name, value = unquote(name).strip().lower(), unquote(value).strip()
        if not equals or not name or not value:
            raise ValueError(f"printer URI {uri!r}: bad option {item!r}, expected name=value")
        if name not in _OPTIONS[scheme]:
            known = ", ".join(sorted(_OPTIONS[scheme]))
            raise ValueError(
                f"printer URI {uri!r}: unknown option {name!r} for {scheme}: (known: {known})"
            )
        if name in options:
            raise ValueError(f"printer URI {uri!r}: option {name!r} given twice")
        options[name] = value

    fields: dict[str, Any] = {}
    if "width" in options:
        fields["width_px"] = _parse_width(uri, options["width"])
    if "paper" in options:
        paper = options["paper"].lower().removesuffix("mm")
        if paper not in PAPER_WIDTHS:
            raise ValueError(f"printer URI {uri!r}: bad paper {options['paper']!r}, use 58 or 80")
        width = PAPER_WIDTHS[paper]
        if fields.get("width_px", width) != width:
            raise ValueError(
                f"printer URI {uri!r}: width={fields['width_px']} contradicts paper={paper} "
                f"({width} dots)"
            )
        fields["width_px"] = width
    if "mode" in options:
        mode = options["mode"].lower()
        if mode not in MODES:
            raise ValueError(
                f"printer URI {uri!r}: bad mode {options['mode']!r}, use {' or '.join(MODES)}"
            )
        fields["mode"] = mode
    if "profile" in options:
        profile = options["profile"]
        if profile not in CAPABILITIES["profiles"]:
            raise ValueError(
                f"printer URI {uri!r}: unknown printer profile {profile!r} "
                "(see the profiles of python-escpos, e.g. TM-T20II, POS-5890)"
            )
        fields["profile"] = profile
    if "timeout" in options:
        fields["timeout"] = _parse_timeout(uri, options["timeout"])
    if "baudrate" in options:
        fields["baudrate"] = _parse_int(uri, "baudrate", options["baudrate"], 50, 4_000_000)
    for name in ("in_ep", "out_ep"):
        if name in options:
            fields[name] = _parse_int(uri, name, options[name], 1, 255)
    return fields


def _parse_int(uri: str, name: str, text: str, low: int, high: int) -> int:
    try:
        value = int(text, 0)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ValueError(f"printer URI {uri!r}: bad {name} {text!r}, a number from {low} to {high}")
    return value


def _parse_width(uri: str, text: str) -> int:
    try:
        width = int(text)
    except ValueError:
        width = 0
    if not MIN_WIDTH_PX <= width <= MAX_WIDTH_PX or width % 8:
        raise ValueError(
            f"printer URI {uri!r}: bad width {text!r}, the paper width in dots: a multiple of 8 "
            f"from {MIN_WIDTH_PX} to {MAX_WIDTH_PX} "
            f"({WIDTH_80MM} for 80 mm paper, {WIDTH_58MM} for 58 mm)"
        )
    return width


def _parse_timeout(uri: str, text: str) -> float:
    try:
        timeout = float(text)
    except ValueError:
        timeout = math.nan
    if not (math.isfinite(timeout) and 0 < timeout <= 60):
        raise ValueError(f"printer URI {uri!r}: bad timeout {text!r}, seconds from 0 to 60")
    return timeout


# --------------------------------------------------------------------------------------------
# Devices


class PreviewPrinter:
    """A printer that files each ticket in a folder: the demo's printer, no hardware needed.

    Every ticket becomes ``<timestamp>-<display_number>.png`` (the ticket as image mode prints
    it; the time in the hall's zone, like the ticket's own) and ``.bin`` (the exact ESC/POS
    bytes for the configured mode, from python-escpos's ``Dummy``). Files appear whole: each is
    written aside, then renamed.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        width_px: int = WIDTH_80MM,
        mode: str = IMAGE_MODE,
        profile: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.width_px = width_px
        self.mode = mode
        self.profile = profile
        self.clock = clock or (lambda: datetime.now().astimezone())

    @classmethod
    def from_config(cls, config: PrinterConfig) -> PreviewPrinter:
        assert config.path is not None
        return cls(config.path, width_px=config.width_px, mode=config.mode, profile=config.profile)

    def print_ticket(self, view: TicketView) -> tuple[Path, Path]:
        """File one ticket; return the paths of its PNG and BIN files."""
        image = render_ticket_image(view, self.width_px)
        dummy = Dummy(profile=self.profile)
        if self.mode == IMAGE_MODE:
            write_image_ticket(dummy, image, width_px=self.width_px)
        else:
            write_ticket(dummy, view, mode=self.mode, width_px=self.width_px)
        self.directory.mkdir(parents=True, exist_ok=True)
        png, raw = self._free_paths(view)
        _write_atomically(png, lambda f: image.save(f, format="PNG", **PNG_OPTIONS))
        _write_atomically(raw, lambda f: f.write(dummy.output))
        logger.info("ticket %s previewed in %s", view.display_number, png)
        return png, raw

    def _free_paths(self, view: TicketView) -> tuple[Path, Path]:
        number = re.sub(r"[^0-9A-Za-z_-]+", "_", view.display_number) or "ticket"
        moment = self.clock()
        if moment.tzinfo is not None and view.issued_at.tzinfo is not None:
            moment = moment.astimezone(view.issued_at.tzinfo)  # the hall's time, as printed
        stem = f"{moment:%Y%m%d-%H%M%S-%f}-{number}"
        candidate, n = stem, 1
        while (self.directory / f"{candidate}.png").exists():
            n += 1
            candidate = f"{stem}-{n}"
        return self.directory / f"{candidate}.png", self.directory / f"{candidate}.bin"

    def close(self) -> None:
        """Nothing to release; here so that every printer can be closed alike."""


def _write_atomically(path: Path, write: Callable[[Any], object]) -> None:
    """Write through a temporary file so that a reader never sees half a ticket."""
    partial = path.with_name(path.name + ".part")
    with open(partial, "wb") as f:
        write(f)
    os.replace(partial, path)


def missing_dependency(config: PrinterConfig) -> str | None:
    if config.kind == "usb" and not Usb.is_usable():
        return "pyusb is not installed (pip install 'python-escpos[usb]')"
    if config.kind == "serial" and not Serial.is_usable():
        return "pyserial is not installed (pip install 'python-escpos[serial]')"
    return None


def open_printer(config: PrinterConfig) -> Escpos | PreviewPrinter:
    """Open the device behind ``config``; raise :class:`PrinterUnavailable` if it is not there.

    tcp, usb, serial and file give a connected python-escpos printer (a network printer with
    ``config.timeout``, 3 s by default, for connecting and each write, not python-escpos's 60 s);
    preview gives a :class:`PreviewPrinter`; none gives a ``Dummy`` that keeps the bytes.
    """
    if config.kind == "preview":
        return PreviewPrinter.from_config(config)
    if config.kind == "none":
        return Dummy(profile=config.profile)
    missing = missing_dependency(config)
    if missing:
        raise PrinterUnavailable(missing, uri=config.uri)
    p: Escpos
    if config.kind == "tcp":
        p = Network(config.host, config.port, timeout=config.timeout, profile=config.profile)
    elif config.kind == "usb":
        endpoints = {
            name: value
            for name, value in (("in_ep", config.in_ep), ("out_ep", config.out_ep))
            if value is not None
        }
        p = Usb(
            config.vendor_id,
            config.product_id,
            usb_args={},
            timeout=round(config.timeout * 1000),  # pyusb counts milliseconds
            profile=config.profile,
            **endpoints,
        )
    elif config.kind == "serial":
        p = Serial(
            config.path, baudrate=config.baudrate, timeout=config.timeout, profile=config.profile
        )
    elif config.kind == "file":
        p = File(config.path, profile=config.profile)
    else:
        raise ValueError(f"unknown printer kind {config.kind!r}")
    try:
        p.open()
    except (EscposError, OSError) as exc:
        raise PrinterUnavailable(describe_error(exc, config), uri=config.uri) from exc
    return p


def describe_error(exc: BaseException, config: PrinterConfig) -> str:
    """Say in a few words why the printer failed, from the error or the error behind it."""
    chain: list[BaseException] = []
    error: BaseException | None = exc
    while error is not None and error not in chain:
        chain.append(error)
        error = error.__cause__ or error.__context__
    for error in chain:
        if isinstance(error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(error, TimeoutError):
            return f"no answer within {config.timeout:g} s"
        if isinstance(error, FileNotFoundError):
            return "device not found (unplugged or switched off?)"
        if isinstance(error, PermissionError):
            return "permission denied (is the service user in the lp/dialout group?)"
        if isinstance(error, OSError) and error.strerror:
            return error.strerror.lower()
    if isinstance(exc, DeviceNotFoundError):
        return "device not found"
    return str(exc) or type(exc).__name__


def _close_quietly(p: Escpos | PreviewPrinter, config: PrinterConfig) -> None:
    try:
        p.close()
    except (EscposError, OSError, RuntimeError) as exc:
        logger.warning("printer %s: closing failed: %s", config.uri, exc)


def print_ticket(config: PrinterConfig, view: TicketView) -> None:
    """Print one ticket: open the printer, write, cut, and always close it.

    Raises :class:`PrinterUnavailable` (with a short reason) when the printer is unreachable,
    unplugged, refuses or stops taking data. With ``none`` nothing is printed.
    """
    if config.kind == "none":
        return
    if config.kind == "preview":
        try:
            PreviewPrinter.from_config(config).print_ticket(view)
        except OSError as exc:
            raise PrinterUnavailable(describe_error(exc, config), uri=config.uri) from exc
        return
    p = open_printer(config)
    try:
        assert not isinstance(p, PreviewPrinter)
        write_ticket(p, view, mode=config.mode, width_px=config.width_px)
    except (EscposError, OSError) as exc:
        raise PrinterUnavailable(describe_error(exc, config), uri=config.uri) from exc
    finally:
        _close_quietly(p, config)
    logger.info("ticket %s printed on %s", view.display_number, config.uri)
