"""A provider stand-in on loopback: a tiny threading HTTP server that records every request
(method, path, headers, raw body) and answers what the test tells it to."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

WAIT_S = 30  # upper bound while awaiting a request; never reached when things work


@dataclass
class Seen:
    method: str
    path: str
    headers: Any  # http.client.HTTPMessage: names match whatever their case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Answer:
    status: int = 200
    body: bytes = b'{"ok": true}'
    hold: threading.Event | None = None  # answer only once this is set (a hanging provider)


@dataclass
class Stub:
    server: ThreadingHTTPServer
    requests: list[Seen] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)  # used in turn, then `default`
    default: Answer = field(default_factory=Answer)
    cond: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def answer(self, *answers: Answer) -> None:
        with self.cond:
            self.answers.extend(answers)

    def wait_for(self, count: int, timeout: float = WAIT_S) -> list[Seen]:
        with self.cond:
            if not self.cond.wait_for(lambda: len(self.requests) >= count, timeout=timeout):
                raise AssertionError(f"{len(self.requests)} requests, expected {count}")
            return list(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def start_stub(port: int = 0) -> Stub:
    holder: list[Stub] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802  (http.server's name)
            stub = holder[0]
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with stub.cond:
                stub.requests.append(Seen("POST", self.path, self.headers, body))
                answer = stub.answers.pop(0) if stub.answers else stub.default
                stub.cond.notify_all()
            if answer.hold is not None:
                answer.hold.wait(WAIT_S)
            self.send_response(answer.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    stub = Stub(server)
    holder.append(stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return stub


@pytest.fixture
def stubs() -> Iterator[Any]:
    """Make provider stubs on loopback; all are shut down after the test."""
    made: list[Stub] = []

    def make(port: int = 0) -> Stub:
        stub = start_stub(port)
        made.append(stub)
        return stub

    yield make
    for stub in made:
        stub.close()
