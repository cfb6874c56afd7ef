"""The HTTP server under `layso run`: bounded so that idle or half-open sockets cannot freeze it.

Three bounds, the same under eventlet and gevent:

- a deadline for the request line and headers of every request (LAYSO_HEADER_TIMEOUT); it ends
  when the headers are in, so websockets and long-polling requests are never cut by it;
- a connection ceiling (LAYSO_MAX_CONNECTIONS, kept below the open-files limit): past it a new
  connection gets an immediate 503 instead of waiting in the kernel's queue;
- the open-files limit itself, raised at start from systemd's soft 1,024 towards the hard limit.

(The hub drops engine.io sockets that never join /hall: see layso.hub.)
"""

from __future__ import annotations

import errno
import gc
import logging
import resource
import time
from typing import Any

from layso.config import Settings

logger = logging.getLogger(__name__)

# files the process needs besides client sockets: SQLite and its WAL, logs, Redis, printers
FD_RESERVE = 128
NOFILE_TARGET = 65536  # when the hard limit is unlimited
BACKLOG = 1024  # the kernel's queue of connections not yet accepted
SHED_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nConnection: close\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 0\r\n\r\n"
)
TIMEOUT_RESPONSE = b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = NOFILE_TARGET if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            logger.info("open-files limit raised from %d to %d", soft, target)
            soft = target
        except (ValueError, OSError) as e:
            logger.warning("could not raise the open-files limit from %d: %s", soft, e)
    return NOFILE_TARGET if soft == resource.RLIM_INFINITY else soft


def connection_ceiling(settings: Settings, open_files: int) -> int:
    """LAYSO_MAX_CONNECTIONS, lowered to what the open-files limit leaves room for."""
    room = max(open_files - FD_RESERVE, 64)
    if settings.max_connections > room:
        logger.warning(
            "LAYSO_MAX_CONNECTIONS=%d is above what %d open files allow; using %d "
            "(raise LimitNOFILE in the systemd unit)",
            settings.max_connections,
            open_files,
            room,
        )
        return room
    return settings.max_connections


class _Listener:
    """The listening socket, waiting out 'too many open files' instead of dying of it."""

    def __init__(self, sock: Any, sleep: Any) -> None:
        self._sock = sock
        self._sleep = sleep
        self._warned = 0.0

    def accept(self) -> Any:
        while True:
            try:
                return self._sock.accept()
            except OSError as e:
                if e.errno not in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                    raise
                if time.monotonic() - self._warned > 10:
                    self._warned = time.monotonic()
                    logger.error("out of file descriptors; accepting again in a moment: %s", e)
                self._sleep(0.1)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _shed(sock: Any) -> None:
    """Past the ceiling: say 503 at once and close (the server's finally closes the socket)."""
    try:
        sock.settimeout(1)
        sock.sendall(SHED_RESPONSE)
    except OSError:
        pass


def serve(app: Any, settings: Settings, *, host: str, port: int) -> None:
    """Serve `app` (the Flask app wrapped by Flask-SocketIO) until stopped."""
    ceiling = connection_ceiling(settings, raise_open_files_limit())
    logger.info(
        "at most %d connections; request headers within %g s; /hall joined within %g s",
        ceiling,
        settings.header_timeout_s,
        settings.join_timeout_s,
    )
    _quiet_collector()
    if settings.async_mode == "eventlet":
        _serve_eventlet(app, settings, host, port, ceiling)
    elif settings.async_mode == "gevent":
        _serve_gevent(app, settings, host, port, ceiling)
    else:  # threading: Werkzeug's development server, for development only
        from layso.hub import socketio

        socketio.run(
            app,
            host=host,
            port=port,
            log_output=False,
            use_reloader=False,
            debug=False,
            allow_unsafe_werkzeug=True,
        )


GC_THRESHOLDS = (50_000, 50, 100)  # the server's: young, middle, old (Python's: 700, 10, 10)


def _quiet_collector() -> None:
    """Keep Python's full garbage collections short: they stop the whole server (every request
    and screen) while they walk every object. What exists once the app is built (modules,
    SQLAlchemy's mappers and caches, Flask, the hub) lives as long as the process, so it is
    moved out of the collector's sight (gc.freeze); a full collection then walks only what
    requests made since. Measured: some 170,000 objects frozen at start; the full collections
    of a server that had built its app took 40–180 ms each, every one of them a pause for
    every client.

    Then the young generation is collected once 50,000 more objects were made than freed,
    instead of 700: a call makes thousands of objects (rows, ORM state, events, JSON), nearly
    all gone when it answers, and collections every 700 ran inside every request, each
    walking that request's live objects (measured with `benchmarks/latency.py`: the ratio to
    the bare stack 2.35 → 2.2 at p50). Older generations follow after 50 and 100 young ones.

    No collection comes before the freeze: with the collector off while the program loaded,
    all of it sat in the young generation, and collecting it walked every object (0.13 s of a
    1 s start; the test suite starts some hundreds of servers) to find some 300 unreachable
    ones (SQLAlchemy's class resolvers and a few copied classes: no file, socket or
    connection), which now stay, frozen, for the life of the process: tens of kilobytes.
    """
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    gc.enable()  # `layso run` held it off while the program loaded (layso/__main__.py)


GC_STEP = 500  # young objects left after an answer that make the server collect them there


def collect_between_requests() -> None:
    """Collect the young generation once an answer is out, while it is small.

    Every request leaves some fifty objects in reference cycles (SQLAlchemy's session,
    connection and transaction, werkzeug's request and its environ), which only the collector
    frees. Left to the threshold above, they piled up to 50,000 and one young collection then
    walked them all: 11-17 ms in which no request and no screen was served (measured with
    gc.callbacks under `benchmarks/latency.py`: three such pauses in a run of 850 calls, the
    run's largest latencies). Collected here, some five hundred at a time once a request has
    been answered, a young collection took 0.15 ms at the median (0.24 ms at p90; the middle
    generation's, one in fifty, up to 1.5 ms), and none falls inside a request. The older
    generations follow at the pace of the collector's own thresholds (without its rule that
    defers a full collection while the old generation is large: here that is every 5,000
    steps); the threshold stays as the net for what is not a request (the hub's sockets)."""
    count = gc.get_count()
    if count[0] < GC_STEP:
        return
    threshold = gc.get_threshold()
    if count[2] >= threshold[2]:
        gc.collect(2)
    elif count[1] >= threshold[1]:
        gc.collect(1)
    else:
        gc.collect(0)


def _serve_eventlet(app: Any, settings: Settings, host: str, port: int, ceiling: int) -> None:
    import eventlet
    import eventlet.wsgi

    header_timeout = settings.header_timeout_s

    class Protocol(eventlet.wsgi.HttpProtocol):  # type: ignore[misc]
        """eventlet's protocol with one deadline for the request line and the headers."""

        _timer: Any = None

        def _cancel(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _read_request_line(self) -> Any:
            self._timer = eventlet.Timeout(header_timeout)
            try:
                line = super()._read_request_line()
            except eventlet.Timeout as t:
                if t is not self._timer:
                    raise
                line = ""
            if not line:
                self._cancel()
            return line

        def parse_request(self) -> bool:
            try:
                return bool(super().parse_request())
            except eventlet.Timeout as t:
                if t is not self._timer:
                    raise
                self.close_connection = 1
                try:
                    self.wfile.write(TIMEOUT_RESPONSE)
                except OSError:
                    pass
                return False
            finally:
                self._cancel()

        def handle_one_request(self) -> None:
            try:
                super().handle_one_request()
            finally:
                self._cancel()
            collect_between_requests()  # the answer is out

    class Pool(eventlet.GreenPool):  # type: ignore[misc]
        """The connection pool: when full, shed the new connection instead of queueing it."""

        def spawn(self, function: Any, *args: Any, **kwargs: Any) -> Any:
            if self.free() <= 0:
                conn_state = args[0]  # [address, socket, state]
                return eventlet.spawn(_shed, conn_state[1])
            return super().spawn(function, *args, **kwargs)

    import socket

    family, _, _, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    listener = eventlet.listen(address, family, backlog=BACKLOG)
    eventlet.wsgi.server(
        _Listener(listener, eventlet.sleep),
        app,
        log_output=False,
        protocol=Protocol,
        custom_pool=Pool(ceiling),
    )


def _serve_gevent(app: Any, settings: Settings, host: str, port: int, ceiling: int) -> None:
    import gevent
    from gevent import pywsgi

    header_timeout = settings.header_timeout_s

    class Handler(pywsgi.WSGIHandler):  # type: ignore[misc]
        """gevent's handler with one deadline for the request line and the headers."""

        _timer: Any = None
        _started = False

        def read_requestline(self) -> Any:
            line = super().read_requestline()
            self._started = bool(line)
            return line

        def get_environ(self) -> Any:
            if self._timer is not None:  # the headers are in: the application has no deadline
                self._timer.close()
                self._timer = None
            return super().get_environ()

        def handle_one_request(self) -> Any:
            self._started = False
            self._timer = gevent.Timeout.start_new(header_timeout)
            timer = self._timer
            try:
                result = super().handle_one_request()
                if self.environ and self.environ.get("HTTP_UPGRADE", "").lower() == "websocket":
                    # the websocket is over (close frames exchanged): end the TCP connection
                    # too, as RFC 6455 asks of a server, instead of waiting for another
                    # request on it (the client waited out its close timeout, 3 s)
                    return None
                return result
            except gevent.Timeout as t:
                if t is not timer:
                    raise
                return ("408", TIMEOUT_RESPONSE) if self._started else None
            finally:
                timer.close()
                self._timer = None
                collect_between_requests()  # the answer is out

    class Server(pywsgi.WSGIServer):  # type: ignore[misc]
        """Counts open connections; past the ceiling a new one is shed with a 503."""

        open_connections = 0

        def handle(self, sock: Any, address: Any) -> None:
            if self.open_connections >= ceiling:
                _shed(sock)
                return
            self.open_connections += 1
            try:
                super().handle(sock, address)
            finally:
                self.open_connections -= 1

    server = Server((host, port), app, backlog=BACKLOG, handler_class=Handler, log=None)
    from layso.hub import socketio

    _close_websockets_firmly(socketio.server.eio)
    socketio.wsgi_server = server  # Flask-SocketIO's stop() looks for it
    server.serve_forever()


WEBSOCKET_CLOSE_WAIT_S = 1.0


def _close_websockets_firmly(eio: Any) -> None:
    """Under gevent, a websocket the server closes must also end its TCP connection.

    simple-websocket sends the close frame and then waits for the client's answer in a read
    that has no deadline, on a duplicate of the socket: a client that never answers (one that
    never joined /hall, say) kept its connection and two files open. This shuts the socket down
    a moment after the close frame, which ends that read.
    """
    import gevent
    from engineio.async_drivers import gevent as driver

    if driver.SimpleWebSocketWSGI is None:  # gevent-websocket is installed and used instead
        return
    WebSocketWSGI = driver.WebSocketWSGI

    class FirmWebSocket(WebSocketWSGI):  # type: ignore[misc,valid-type]
        def close(self) -> None:
            super().close()
            sock = getattr(getattr(self, "ws", None), "sock", None)
            if sock is not None:
                gevent.spawn_later(WEBSOCKET_CLOSE_WAIT_S, _shutdown, sock)

    # engine.io picks its websocket class from this table; a copy, so that only this server
    # (not the module shared with other servers in the process) uses the firm class
    eio._async = dict(eio._async, websocket=FirmWebSocket)


def _shutdown(sock: Any) -> None:
    import socket

    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed: the client answered the close frame
