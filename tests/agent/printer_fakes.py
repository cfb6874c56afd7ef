"""Fakes of real printers for the printer tests: a network printer on port 9100 and a tty.

Imported by tests/agent/conftest.py and tests/printer/conftest.py as fixtures.
"""

from __future__ import annotations

import os
import selectors
import socket
import threading
import tty
from collections.abc import Callable, Iterator

import pytest

DLE_EOT = b"\x10\x04"

#: Replies (to DLE EOT 1, DLE EOT 4) of a printer in each state, per the ESC/POS spec:
#: bits 1 and 4 always set; DLE EOT 1 bit 3 = offline; DLE EOT 4 bits 2-3 = paper near end,
#: bits 5-6 = paper end. Out of paper, a printer also goes offline.
REPLIES = {
    "ok": {1: b"\x12", 4: b"\x12"},
    "paper_low": {1: b"\x12", 4: b"\x1e"},
    "paper_out": {1: b"\x1a", 4: b"\x7e"},
    "offline": {1: b"\x1a", 4: b"\x12"},  # e.g. cover open
    "garbage": {1: b"\xffOK", 4: b"\xffOK"},
    "no_answer": {},
}
WAIT_S = 10  # upper bound while awaiting an event; never reached when things work


def is_print_data(data: bytes) -> bool:
    """Whether a connection sent anything besides DLE EOT status requests."""
    rest = data
    for request in (b"\x10\x04\x01", b"\x10\x04\x04"):
        rest = rest.replace(request, b"")
    return bool(rest)


class StatusResponder:
    """Answer DLE EOT n the way the printer in ``state`` does.

    A real printer parses its whole input; this fake only answers while a connection has sent
    nothing but status requests, so the bytes of a ticket's image can never be mistaken for one.
    """

    def __init__(self, state: str) -> None:
        self.state = state
        self.answering = True
        self.pending = b""

    def feed(self, chunk: bytes) -> bytes:
        """Take received bytes; return the reply to send back."""
        if not self.answering:
            return b""
        self.pending += chunk
        reply = b""
        while len(self.pending) >= 3 and self.pending.startswith(DLE_EOT):
            n, self.pending = self.pending[2], self.pending[3:]
            reply += REPLIES[self.state].get(n, b"")
        if self.pending and not DLE_EOT.startswith(self.pending[:2]):
            self.answering = False  # print data: stop answering on this connection
        return reply


class FakeNetworkPrinter:
    """A raw-TCP printer on 127.0.0.1 that records every byte of every connection."""

    def __init__(self, state: str = "ok") -> None:
        self.state = state
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        self._done = threading.Condition()
        self.connections: list[bytes] = []  # data of each closed connection, in order
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept_loop, daemon=True)
        self._accepting.start()

    @property
    def uri(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _accept_loop(self) -> None:
        with selectors.DefaultSelector() as sel:
            sel.register(self.listener, selectors.EVENT_READ)
            sel.register(self._wake_r, selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in sel.select()}
                if self._wake_r in ready:
                    return
                conn, _ = self.listener.accept()
                worker = threading.Thread(target=self._serve, args=(conn,), daemon=True)
                self._threads.append(worker)
                worker.start()

    def _serve(self, conn: socket.socket) -> None:
        responder = StatusResponder(self.state)
        received = bytearray()
        with conn:
            while True:
                try:
                    chunk = conn.recv(65536)
                except OSError:
                    break
                if not chunk:
                    break
                received += chunk
                reply = responder.feed(chunk)
                if reply:
                    conn.sendall(reply)
        with self._done:
            self.connections.append(bytes(received))
            self._done.notify_all()

    def wait_for_connections(self, count: int) -> list[bytes]:
        """Wait until ``count`` connections have been closed by the client; return their data."""
        with self._done:
            if not self._done.wait_for(lambda: len(self.connections) >= count, timeout=WAIT_S):
                raise AssertionError(f"only {len(self.connections)} of {count} connections ended")
            return list(self.connections)

    def tickets(self) -> list[bytes]:
        """Data of the ended connections that carried print data, not only status requests."""
        with self._done:
            return [data for data in self.connections if is_print_data(data)]

    def wait_for_tickets(self, count: int, timeout: float = WAIT_S) -> list[bytes]:
        """Wait until ``count`` connections with print data have ended; return their data."""
        with self._done:
            if not self._done.wait_for(
                lambda: sum(map(is_print_data, self.connections)) >= count, timeout=timeout
            ):
                printed = sum(map(is_print_data, self.connections))
                raise AssertionError(f"only {printed} of {count} tickets printed")
            return [data for data in self.connections if is_print_data(data)]

    def close(self) -> None:
        self._wake_w.send(b"x")
        self._accepting.join(WAIT_S)
        self.listener.close()
        self._wake_r.close()
        self._wake_w.close()


@pytest.fixture
def fake_printer() -> Iterator[Callable[..., FakeNetworkPrinter]]:
    """Return a factory: ``fake_printer("paper_low")`` starts a network printer in that state."""
    started: list[FakeNetworkPrinter] = []

    def start(state: str = "ok") -> FakeNetworkPrinter:
        server = FakeNetworkPrinter(state)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def closed_port() -> int:
    """A local port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FakeDevicePrinter:
    """A printer behind a tty (like /dev/usb/lp0 or a serial port), on a pseudo-terminal."""

    def __init__(self, state: str) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)  # no echo, no line editing: bytes pass as they are
        self.path = os.ttyname(self.slave)
        self.responder = StatusResponder(state)
        self.received = bytearray()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 4096)
            except OSError:  # master closed
                return
            if not chunk:
                return
            self.received += chunk
            reply = self.responder.feed(chunk)
            if reply:
                os.write(self.master, reply)

    def close(self) -> None:
        os.close(self.slave)  # with no slave left open, the master's read fails: thread ends
        self._thread.join(WAIT_S)
        os.close(self.master)


@pytest.fixture
def fake_device() -> Iterator[Callable[..., FakeDevicePrinter]]:
    """Return a factory: ``fake_device("ok")`` -> a printer answering on a pty's path."""
    started: list[FakeDevicePrinter] = []

    def start(state: str = "ok") -> FakeDevicePrinter:
        device = FakeDevicePrinter(state)
        started.append(device)
        return device

    yield start
    for device in started:
        device.close()
