"""Raw sockets held open against a server: the flood drills of faults.py and the freeze tests
(tests/layso/test_hardening_freeze.py) both use these."""

from __future__ import annotations

import base64
import os
import selectors
import socket
import time


def flood(port: int, n: int, payload: bytes, within: float = 10.0) -> list[socket.socket]:
    """Open n sockets at once and send each the same bytes as soon as it is connected."""
    socks: list[socket.socket] = []
    sel = selectors.DefaultSelector()
    for _ in range(n):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        sel.register(s, selectors.EVENT_WRITE)
    pending, deadline = n, time.monotonic() + within
    while pending and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj  # type: ignore[assignment]
            sel.unregister(s)
            pending -= 1
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                try:
                    s.send(payload)
                except OSError:
                    pass
    sel.close()
    return socks


def first_reads(
    socks: list[socket.socket], within: float, *, until_eof: bool = False
) -> list[tuple[socket.socket, float, bool]]:
    """Wait for the server's first bytes on every socket (with until_eof: for it to close
    each one): (socket, seconds after the start, closed by the server), in the order seen."""
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    t0, seen = time.monotonic(), []
    while len(seen) < len(socks) and time.monotonic() - t0 < within:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj  # type: ignore[assignment]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if until_eof and data:
                continue
            sel.unregister(s)
            seen.append((s, time.monotonic() - t0, not data))
    sel.close()
    return seen


def websocket_upgrade(port: int) -> bytes:
    """A bare Engine.IO websocket upgrade request, which never joins a namespace afterwards."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
