"""Asking a printer its state: ESC/POS real-time status (DLE EOT 1, DLE EOT 4).

What is python-escpos's and what is ours:

* Sending a request and reading its reply is python-escpos's own
  :meth:`escpos.escpos.Escpos.query_status` on its own device (network, USB), opened by
  :func:`layso_agent.driver.open_printer` like a print. Only the read timeout of a network
  printer is ours: python-escpos reads with the socket's print timeout (3 s by default here),
  and a network printer that takes bytes but never answers status requests (many do) would
  make every status check cost that long; a printer that answers does so in milliseconds, so a
  reply is awaited :data:`STATUS_TIMEOUT_S` at most.
* A device file (usblp, a parallel port, a tty) is read through our own :class:`_DeviceFileLink`:
  python-escpos's ``File`` printer cannot read at all (``_read`` is not implemented).
* A serial printer is read through our own :class:`_SerialLink`: python-escpos's ``Serial._read``
  asks pyserial for 16 bytes, which waits out the whole timeout for a reply of one byte, twice
  per check, before every ticket.
* Reading the replies is :func:`interpret_status`, not python-escpos's ``is_online()`` /
  ``paper_status()``, which are wrong for us in three ways (each is a case of
  tests/agent/test_printer_driver.py): no reply at all reads "paper adequate" (and merely "not
  online"), so a silent printer would look fine; the fixed bits of a reply are not checked, so
  garbage (``0xFF``) reads "out of paper"; and each paper sensor needs both of its bits
  (``0x1E`` near end, ``0x72`` end), while printers with one sensor set one bit (``0x16``):
  that paper running low would read "adequate".

Plain Python, like the rest of :mod:`layso_agent`.
"""

from __future__ import annotations

import logging
import os
import select
import stat
from typing import Any, Protocol

from escpos.constants import RT_MASK_ONLINE, RT_STATUS_ONLINE, RT_STATUS_PAPER
from escpos.escpos import Escpos
from escpos.printer import Network

from layso_agent.driver import (
    PreviewPrinter,
    PrinterConfig,
    PrinterUnavailable,
    missing_dependency,
    open_printer,
)

logger = logging.getLogger(__name__)

#: What :func:`query_status` answers (the ``printer.status`` event's ``state``).
#: ``unknown``: a network printer that takes bytes but never answers a status request.
STATUSES = ("ok", "paper_low", "paper_out", "offline", "error", "unknown")
#: A status request waits at most this long for each reply (a printer that answers does so in
#: milliseconds); the URI's ``timeout`` still bounds connecting and printing.
STATUS_TIMEOUT_S = 1.0

#: DLE EOT 1: printer status; DLE EOT 4: roll paper sensor status (python-escpos's constants).
STATUS_PRINTER = RT_STATUS_ONLINE
STATUS_PAPER = RT_STATUS_PAPER
# Every DLE EOT reply has bit 1 and bit 4 set and bits 0 and 7 clear; anything else is not one.
_FIXED_MASK = 0b1001_0011
_FIXED_BITS = 0b0001_0010
_OFFLINE = RT_MASK_ONLINE  # DLE EOT 1, bit 3
_PAPER_NEAR_END = 0b0000_1100  # DLE EOT 4, bits 2-3: either one (see the module doc)
_PAPER_END = 0b0110_0000  # DLE EOT 4, bits 5-6: either one


def is_status_byte(value: int) -> bool:
    """Tell whether a byte has the fixed bits of a DLE EOT reply."""
    return value & _FIXED_MASK == _FIXED_BITS


def interpret_status(printer_reply: bytes, paper_reply: bytes) -> str:
    """Turn the replies to DLE EOT 1 and DLE EOT 4 into one of :data:`STATUSES`.

    Each reply must be exactly one well-formed byte, else the answer is ``"error"``. Paper out
    wins over offline (a printer out of paper also reports itself offline), which wins over
    paper low.
    """
    if len(printer_reply) != 1 or len(paper_reply) != 1:
        return "error"
    printer, paper = printer_reply[0], paper_reply[0]
    if not (is_status_byte(printer) and is_status_byte(paper)):
        return "error"
    if paper & _PAPER_END:
        return "paper_out"
    if printer & _OFFLINE:
        return "offline"
    if paper & _PAPER_NEAR_END:
        return "paper_low"
    return "ok"


class _NoReply(Exception):
    """The printer did not answer a status request in time."""


class _MissingDependency(Exception):
    """A library the connection needs is not installed."""


class _Link(Protocol):
    def ask(self, request: bytes) -> bytes: ...

    def close(self) -> None: ...


class _EscposLink:
    """Network and USB: python-escpos's device and its ``Escpos.query_status``."""

    def __init__(self, config: PrinterConfig, wait: float) -> None:
        try:
            p = open_printer(config)
        except PrinterUnavailable as exc:
            raise ConnectionError(exc.reason) from exc
        assert not isinstance(p, PreviewPrinter)
        self.p = p
        if isinstance(p, Network) and p.device is not None:
            p.device.settimeout(wait)  # the print timeout is far too long here (module doc)
        # USB: pyusb's own read timeout (1 s) applies

    def ask(self, request: bytes) -> bytes:
        try:
            # called on the class: a stand-in device (tests) needs only _raw and _read
            return bytes(Escpos.query_status(self.p, request))
        except TimeoutError:
            return b""

    def close(self) -> None:
        self.p.close()


class _DeviceFileLink:
    """A device file opened for reading and writing (usblp, a parallel port, a tty)."""

    def __init__(self, path: str, timeout: float, wait: float) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        self.timeout = timeout
        self.wait = wait

    def ask(self, request: bytes) -> bytes:
        data = request
        while data:
            _, writable, _ = select.select([], [self.fd], [], self.timeout)
            if not writable:
                raise _NoReply
            data = data[os.write(self.fd, data) :]
        readable, _, _ = select.select([self.fd], [], [], self.wait)
        if not readable:
            return b""
        try:
            return os.read(self.fd, 16)
        except BlockingIOError:
            return b""

    def close(self) -> None:
        os.close(self.fd)


def _import_serial() -> Any:
    try:
        import serial
    except ImportError:
        raise _MissingDependency("pyserial is not installed") from None
    return serial


class _SerialLink:
    """A serial port through pyserial: one byte awaited, then whatever else is there."""

    def __init__(self, path: str, baudrate: int, timeout: float) -> None:
        serial = _import_serial()
        self.port = serial.Serial(
            port=path, baudrate=baudrate, timeout=timeout, write_timeout=timeout
        )

    def ask(self, request: bytes) -> bytes:
        self.port.write(request)
        self.port.flush()
        data = bytes(self.port.read(1))  # waits up to the port's timeout
        waiting = self.port.in_waiting if data else 0
        return data + bytes(self.port.read(waiting)) if waiting else data

    def close(self) -> None:
        self.port.close()


def _open_link(config: PrinterConfig, wait: float) -> _Link:
    if config.kind == "file":
        assert config.path is not None
        return _DeviceFileLink(config.path, config.timeout, wait)
    if config.kind == "serial":
        assert config.path is not None
        return _SerialLink(config.path, config.baudrate, config.timeout)
    if config.kind in ("tcp", "usb"):
        missing = missing_dependency(config)
        if missing:
            raise _MissingDependency(missing)
        return _EscposLink(config, wait)
    raise ValueError(f"no status link for {config.kind!r}")


def _ask(link: _Link, request: bytes) -> bytes:
    reply = link.ask(request)
    if not reply:
        raise _NoReply
    return reply


def query_status(config: PrinterConfig) -> str:
    """Ask the printer its state: ``ok``, ``paper_low``, ``paper_out``, ``offline``, ``error`` or
    ``unknown``.

    tcp, serial, file and usb send DLE EOT 1 and DLE EOT 4 and read the replies
    (:func:`interpret_status`), waiting at most :data:`STATUS_TIMEOUT_S` (or the URI's shorter
    ``timeout``) for each. Unreachable, refused, unplugged or silent within that time is
    ``offline``, except a network printer that accepted the connection but never answers:
    ``unknown`` (it may print fine; nobody can tell its paper from here); a malformed reply, no
    permission or a missing library is ``error``. A regular
    file (a capture, no printer to answer) is ``ok`` if writable. preview and none are ``ok``.
    Never raises for a printer's sake.
    """
    if config.kind in ("preview", "none"):
        return "ok"
    if config.kind == "file" and _is_regular_file(config.path):
        return "ok" if os.access(config.path or "", os.W_OK) else "error"
    wait = min(config.timeout, STATUS_TIMEOUT_S)
    try:
        link = _open_link(config, wait)
    except _MissingDependency as exc:
        logger.warning("printer %s: cannot query status: %s", config.uri, exc)
        return "error"
    except PermissionError as exc:
        logger.warning("printer %s: cannot query status: %s", config.uri, exc)
        return "error"
    except OSError as exc:
        logger.info("printer %s unreachable: %s", config.uri, exc)
        return "offline"
    try:
        replies = [_ask(link, request) for request in (STATUS_PRINTER, STATUS_PAPER)]
    except _NoReply:
        logger.info("printer %s: no status reply within %g s", config.uri, wait)
        return "unknown" if config.kind == "tcp" else "offline"
    except OSError as exc:
        logger.info("printer %s: status request failed: %s", config.uri, exc)
        return "offline"
    finally:
        try:
            link.close()
        except OSError as exc:
            logger.debug("printer %s: closing the status link failed: %s", config.uri, exc)
    state = interpret_status(*replies)
    if state == "error":
        logger.warning("printer %s: malformed status replies %r", config.uri, replies)
    return state


def _is_regular_file(path: str | None) -> bool:
    try:
        return path is not None and stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False
