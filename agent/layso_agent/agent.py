"""The print agent: prints one kiosk's tickets on a printer attached to the kiosk PC.

    layso-agent run --server http://192.168.1.10:5000 --token DEVICE_TOKEN --printer URI

(``layso print-agent`` with the same options, on a PC with the whole server installed). The
token is that of a ``print-agent`` device paired with the kiosk (``layso device add --kind
print-agent --kiosk KIOSK_NAME``). The agent asks ``GET /api/v1/me`` which hall it serves, then
joins the hall's hub (namespace ``/hall``) like any screen, receives its ``print.job`` events,
prints each with :func:`layso_agent.delivery.deliver` and answers ``print.result``. It says
``print.hello`` with its printer's state after every connect (the server then re-sends every job
still pending, including those issued while the agent was away), ``print.status`` whenever the
printer's state changes (checked after each job and every minute), and reconnects by itself,
sending the last event ``seq`` it saw so that the hub replays what it missed.

Nothing prints twice. For each job: print, then append the job to the journal (fsync), then
answer. A job already in the journal (its answer was lost, or the agent was killed between
journal and answer) is answered again from the journal without printing. Only a crash in the
instant between the paper coming out and the journal line reaching the disk can print a ticket
a second time; nothing can lose one.

Files, in ``$LAYSO_AGENT_DIR`` (default ``$LAYSO_INSTANCE/print-agent``, i.e.
``./instance/print-agent``), named after the server and token so that two agents never share:

* ``agent-<key>.journal``: one JSON line per job handled (``job``, ``ticket``, ``ok``,
  ``printer``, ``error``, ``at``), compacted to the newest 2000 jobs;
* ``agent-<key>.state``: ``{"seq": N}``, the last hall event seen, replaced atomically.

Plain Python (python-socketio's client, threads): no Flask and no server code.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
import os
import queue
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import socketio

from layso_agent.delivery import Outcome, deliver, view_from_dict
from layso_agent.driver import PrinterConfig, parse_printer_uri
from layso_agent.status import STATUSES, query_status
from layso_agent.ticket import TicketView

logger = logging.getLogger("layso.print_agent")

NAMESPACE = "/hall"
STATUS_EVERY_S = 60.0
HEARTBEAT_EVERY_S = 25.0  # device.heartbeat: the server marks a silent device offline
JOURNAL_KEEP = 2000
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
HTTP_TIMEOUT_S = 10.0


class AgentError(Exception):
    """The agent cannot go on: stop with this message."""


class AgentRefused(AgentError):
    """The server refused the token, or it is not a print agent's: retrying will not help."""


def agent_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    for name in ("layso-agent", "layso"):
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return "dev"


def state_dir(env: dict[str, str] | None = None) -> Path:
    """Where the journal and the state file live."""
    env = dict(os.environ) if env is None else env
    if env.get("LAYSO_AGENT_DIR"):
        return Path(env["LAYSO_AGENT_DIR"]).expanduser()
    return Path(env.get("LAYSO_INSTANCE") or "instance").expanduser() / "print-agent"


def _write_atomically(path: Path, text: str, *, sync: bool) -> None:
    partial = path.with_name(path.name + ".part")
    with open(partial, "w", encoding="utf-8") as f:
        f.write(text)
        if sync:
            f.flush()
            os.fsync(f.fileno())
    os.replace(partial, path)


class Journal:
    """The jobs this agent has handled, one JSON line each, on disk before any answer."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._load()

    def _load(self) -> None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        lines = text.splitlines()
        torn = bool(text) and not text.endswith("\n")
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                torn = True  # a line cut short by a power failure: the job was not answered
                continue
            if isinstance(entry, dict) and isinstance(entry.get("job"), int):
                self.entries[entry["job"]] = entry
        if torn or len(lines) > 2 * JOURNAL_KEEP:
            self._rewrite()

    def _rewrite(self) -> None:
        newest = sorted(self.entries)[-JOURNAL_KEEP:]
        self.entries = {job: self.entries[job] for job in newest}
        text = "".join(json.dumps(self.entries[job]) + "\n" for job in newest)
        _write_atomically(self.path, text, sync=True)

    def get(self, job_id: int) -> dict[str, Any] | None:
        with self._lock:
            return self.entries.get(job_id)

    def add(self, entry: dict[str, Any]) -> None:
        """Append one job and make it durable (fsync) before returning."""
        line = (json.dumps(entry) + "\n").encode()
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
            self.entries[entry["job"]] = entry
            if len(self.entries) > 2 * JOURNAL_KEEP:
                self._rewrite()


class SeqState:
    """The last hall event seen, so that a reconnect resumes where the agent left off."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.seq: int | None = None
        self._lock = threading.Lock()  # the client runs each event's handler in its own thread
        try:
            value = json.loads(path.read_text(encoding="utf-8")).get("seq")
            self.seq = value if isinstance(value, int) and value >= 0 else None
        except (FileNotFoundError, ValueError, AttributeError):
            self.seq = None

    def note(self, seq: Any, *, reset: bool = False) -> None:
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            return
        with self._lock:
            if reset or self.seq is None or seq > self.seq:
                self.seq = seq
                self.path.parent.mkdir(parents=True, exist_ok=True)
                _write_atomically(self.path, json.dumps({"seq": seq}), sync=False)


class JobRunner:
    """Prints jobs once: journal first, then the answer; the socket is someone else's."""

    def __init__(
        self,
        config: PrinterConfig,
        journal: Journal,
        answer: Callable[[str, dict[str, Any]], None],
        *,
        deliver_fn: Callable[[PrinterConfig, TicketView], Outcome] = deliver,
        status_fn: Callable[[PrinterConfig], str] = query_status,
    ) -> None:
        self.config = config
        self.journal = journal
        self.answer = answer
        self.deliver = deliver_fn
        self.status = status_fn
        self.state: str | None = None
        self.detail: str | None = None

    def refresh_status(self) -> bool:
        """Ask the printer its state; True when it changed."""
        state = self.status(self.config)
        changed = state != self.state
        self.state = state
        if changed:
            self.detail = None
        return changed

    def run(self, body: dict[str, Any]) -> dict[str, Any] | None:
        """Print one ``print.job`` (unless the journal has it) and answer it."""
        job_id = body.get("job") if isinstance(body, dict) else None
        if not isinstance(job_id, int) or isinstance(job_id, bool):
            logger.warning("ignored a print job without a job id")
            return None
        ticket = body.get("ticket") if isinstance(body.get("ticket"), dict) else {}
        ticket_id = ticket.get("id")
        entry = self.journal.get(job_id)
        if entry is None:
            try:
                view = view_from_dict(body.get("view"))
            except ValueError as exc:
                logger.error("job %d: %s", job_id, exc)
                outcome = Outcome(ok=False, state=self.state or "error", error=str(exc)[:200])
            else:
                outcome = self.deliver(self.config, view)
                logger.info(
                    "job %d: ticket %s %s",
                    job_id,
                    view.display_number,
                    "printed" if outcome.ok else f"not printed ({outcome.error})",
                )
            entry = {
                "job": job_id,
                "ticket": ticket_id,
                "ok": outcome.ok,
                "printer": outcome.state,
                "error": outcome.error,
                "attempts": outcome.attempts,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            }
            self.journal.add(entry)  # before answering: this job never prints again
            self.state, self.detail = outcome.state, outcome.error
            attempts = outcome.attempts
        else:
            logger.info("job %d was already handled: answering again without printing", job_id)
            attempts = 0
        result = {
            "ticket": ticket_id,
            "job": job_id,
            "ok": bool(entry["ok"]),
            "printer": self.state or entry.get("printer") or "ok",
            "error": entry.get("error"),
            "attempts": attempts,
        }
        self.answer("print.result", result)
        return result


class PrintAgent:
    """One agent: the hub connection, a worker thread that prints, the files that remember."""

    def __init__(
        self,
        server: str,
        token: str,
        config: PrinterConfig,
        directory: Path,
        *,
        deliver_fn: Callable[[PrinterConfig, TicketView], Outcome] = deliver,
        status_fn: Callable[[PrinterConfig], str] = query_status,
    ) -> None:
        self.server = server.rstrip("/")
        self.token = token
        self.hall: str | None = None
        key = hashlib.sha256(f"{self.server}\n{token}".encode()).hexdigest()[:12]
        directory.mkdir(parents=True, exist_ok=True)
        self.journal = Journal(directory / f"agent-{key}.journal")
        self.seq = SeqState(directory / f"agent-{key}.state")
        self.runner = JobRunner(
            config, self.journal, self.send, deliver_fn=deliver_fn, status_fn=status_fn
        )
        # jobs in job order: python-socketio's client runs each event's handler in a thread of
        # its own, so two jobs sent together may reach the queue in either order
        self.tasks: queue.PriorityQueue[tuple[int, int, str, Any]] = queue.PriorityQueue()
        self._order = itertools.count()
        self.queued: set[int] = set()
        self.queued_lock = threading.Lock()
        self.stopping = threading.Event()
        self.sio = socketio.Client(reconnection=False, logger=False, engineio_logger=False)
        self._register()

    # --- the hub ----------------------------------------------------------------------------

    def _register(self) -> None:
        sio = self.sio

        @sio.on("connect", namespace=NAMESPACE)
        def on_connect() -> None:
            logger.info("connected to %s (hall %s)", self.server, self.hall)
            self.put("hello")

        @sio.on("disconnect", namespace=NAMESPACE)
        def on_disconnect(*_: Any) -> None:
            logger.warning("disconnected from %s", self.server)

        @sio.on("snapshot", namespace=NAMESPACE)
        def on_snapshot(body: Any) -> None:
            if isinstance(body, dict):
                self.seq.note(body.get("seq"), reset=True)

        @sio.on("print.job", namespace=NAMESPACE)
        def on_job(body: Any) -> None:
            if not isinstance(body, dict):
                return
            self.seq.note(body.get("seq"))
            job_id = body.get("job")
            with self.queued_lock:
                if job_id in self.queued:
                    return  # the replay and the hello both sent it: print it once
                if isinstance(job_id, int):
                    self.queued.add(job_id)
            self.put("job", body, job_id if isinstance(job_id, int) else 0)

        @sio.on("*", namespace=NAMESPACE)
        def on_other(_event: str, body: Any = None) -> None:
            if isinstance(body, dict):
                self.seq.note(body.get("seq"))

    def put(self, kind: str, body: Any = None, job_id: int = 0) -> None:
        """Queue work: hello and stop before any job, jobs oldest first."""
        rank = {"stop": -2, "hello": -1}.get(kind, job_id)
        self.tasks.put((rank, next(self._order), kind, body))

    def auth(self) -> dict[str, Any]:
        return {"token": self.token, "hall": self.hall, "after": self.seq.seq}

    def send(self, event: str, body: dict[str, Any]) -> None:
        """Emit if connected; a lost answer is answered again after the next hello.

        Connected means the hall's namespace is: python-socketio's ``connected`` turns true
        only once ``connect()`` returns, after the hub may already have replayed the jobs
        missed while away. An answer to those, refused then, would wait for the next
        connection (the ticket never marked printed), as it did on a loaded machine."""
        if NAMESPACE not in self.sio.namespaces:
            logger.info(
                "not connected: %s for job %s waits for the next connection", event, body.get("job")
            )
            return
        try:
            self.sio.emit(event, body, namespace=NAMESPACE)
        except Exception as exc:  # the connection broke just now
            logger.warning("could not send %s: %s", event, exc)

    def whoami(self, *, retry: bool = True) -> dict[str, Any]:
        """GET /api/v1/me; retries while the server is unreachable, fails on a refused token."""
        delay = RETRY_FIRST_S
        request = urllib.request.Request(
            f"{self.server}/api/v1/me",
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json"},
        )
        while True:
            try:
                with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as resp:
                    me = json.load(resp)
                break
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):
                    raise AgentRefused(
                        "máy chủ từ chối mã thiết bị / the server refused the device token"
                    ) from None
                problem = f"HTTP {exc.code}"
            except (urllib.error.URLError, OSError, ValueError) as exc:
                problem = str(getattr(exc, "reason", exc))
            if not retry or self.stopping.is_set():
                raise AgentError(f"server {self.server} unreachable: {problem}")
            logger.warning(
                "server %s unreachable (%s); retrying in %.1f s", self.server, problem, delay
            )
            if self.stopping.wait(delay):
                raise AgentError("stopped")
            delay = min(delay * 2, RETRY_MAX_S)
        if (
            not isinstance(me, dict)
            or me.get("kind") != "device"
            or me.get("role") != ("print-agent")
        ):
            raise AgentRefused(
                "mã này không phải của máy in kiosk (print-agent) / "
                "this token is not a print agent's"
            )
        return me

    # --- the work ---------------------------------------------------------------------------

    def work(self) -> None:
        """The worker thread: hello, jobs, a heartbeat every ~25 s and a status check every
        minute; one at a time."""
        checked = time.monotonic()
        while not self.stopping.is_set():
            try:
                _, _, kind, body = self.tasks.get(timeout=HEARTBEAT_EVERY_S)
            except queue.Empty:
                if time.monotonic() - checked >= STATUS_EVERY_S:
                    checked = time.monotonic()
                    if self.runner.refresh_status():
                        self.send("print.status", self.status_body())
                self.send("device.heartbeat", self.heartbeat_body())
                continue
            try:
                if kind == "hello":
                    self.runner.refresh_status()
                    self.send("print.hello", self.status_body())
                    self.send("device.heartbeat", self.heartbeat_body())
                elif kind == "job":
                    before = self.runner.state
                    self.runner.run(body)
                    with self.queued_lock:
                        self.queued.discard(body.get("job"))
                    if self.runner.state != before:
                        logger.info("printer state: %s", self.runner.state)
                elif kind == "stop":
                    return
            except Exception:
                logger.exception("print agent task %s failed", kind)

    def heartbeat_body(self) -> dict[str, Any]:
        """``device.heartbeat``: the agent's version and its printer's paper state."""
        paper = self.runner.state if self.runner.state in STATUSES else None
        body: dict[str, Any] = {"version": f"layso-agent {agent_version()}"[:40]}
        if paper:
            body["paper"] = paper
        return body

    def status_body(self) -> dict[str, Any]:
        return {"printer": self.runner.state or "error", "detail": self.runner.detail}

    def run(self) -> int:
        me = self.whoami()
        self.hall = me.get("hall")
        logger.info(
            "print agent %r of hall %s, printer %s",
            me.get("name"),
            self.hall,
            self.runner.config.uri,
        )
        worker = threading.Thread(target=self.work, name="print-worker", daemon=True)
        worker.start()
        delay = RETRY_FIRST_S
        while not self.stopping.is_set():
            try:
                self.sio.connect(
                    self.server, auth=self.auth, namespaces=[NAMESPACE], wait_timeout=10
                )
            except socketio.exceptions.ConnectionError as exc:
                logger.warning(
                    "cannot join the hub at %s (%s); retrying in %.1f s", self.server, exc, delay
                )
                try:
                    self.whoami(retry=False)  # a revoked token stops the agent
                except AgentRefused:
                    raise
                except AgentError:
                    pass  # the server is down: keep trying
                if self.stopping.wait(delay):
                    break
                delay = min(delay * 2, RETRY_MAX_S)
                continue
            delay = RETRY_FIRST_S
            self.sio.wait()  # until the connection ends
            if not self.stopping.is_set():
                self.stopping.wait(RETRY_FIRST_S)
        self.put("stop")
        worker.join(timeout=HTTP_TIMEOUT_S)
        return 0

    def stop(self) -> None:
        self.stopping.set()
        try:
            self.sio.disconnect()
        except Exception:  # not connected
            pass


def run_agent(*, server: str, token: str, printer_uri: str) -> int:
    """``layso print-agent``: run until stopped (SIGTERM / Ctrl-C); 1 when it cannot work."""
    directory = state_dir()
    try:
        config = parse_printer_uri(printer_uri, preview_dir=directory / "tickets")
    except ValueError as exc:
        print(f"Địa chỉ máy in sai / Bad printer URI: {exc}", file=sys.stderr, flush=True)
        return 2
    agent = PrintAgent(server, token, config, directory)

    def stop(_signum: int, _frame: Any) -> None:
        logger.info("stopping")
        agent.stop()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        return agent.run()
    except AgentError as exc:
        print(f"layso print-agent: {exc}", file=sys.stderr, flush=True)
        return 1
