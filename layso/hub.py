"""The real-time hub: namespace /hall, rooms per hall and audience, snapshot or exact replay."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from flask import Flask, current_app, request
from flask import session as cookie
from flask_socketio import SocketIO, emit, join_room
from socketio import RedisManager
from sqlalchemy.orm import Session

from layso import signals
from layso.db import Database, PendingEvent
from layso.events import Ev
from layso.models import ApiToken, Counter, Device, Hall, Role, User, UserSession
from layso.services.accounts import (
    Principal,
    principal_for_token,
    principal_for_user,
    session_user,
)
from layso.services.state import (
    DEVICE_RENDERS,
    device_event,
    events_after,
    oldest_seq,
    renders,
    replay_limit,
    shared_state,
)
from layso.web import has_surrogate

logger = logging.getLogger(__name__)

MAX_SEQ = 2**53  # the largest `after` a screen may ask to replay from

NAMESPACE = "/hall"
socketio = SocketIO()

CALLS = frozenset({Ev.TICKET_CALLED, Ev.TICKET_RECALLED})  # what a hall waits to see and hear
DEVICES = "devices"  # devices of one kind hear the hall's events in "devices:<kind>"


def room(hall: str, audience: str = "hall") -> str:
    return f"hall:{hall}" if audience == "hall" else f"hall:{hall}:{audience}"


def rooms_for(hall: str, audiences: list[str], principal: Principal) -> list[str]:
    """The rooms a connection joins: a device hears the hall's events in its kind's room, which
    gets only what that kind renders, with no clerk's login name (people hear them all in the
    hall's room)."""
    kind = principal.device_kind
    return [room(hall, f"{DEVICES}:{kind}" if kind and aud == "hall" else aud) for aud in audiences]


def emissions(ev: PendingEvent) -> list[tuple[str | list[str], dict[str, Any]]]:
    """Where one committed event goes, and with which body."""
    if ev.audience != "hall":
        return [(room(ev.hall, ev.audience), ev.payload)]
    kinds = [
        room(ev.hall, f"{DEVICES}:{k}") for k in DEVICE_RENDERS if renders(k, ev.name, ev.payload)
    ]
    if not kinds:
        return [(room(ev.hall), ev.payload)]
    to_devices = device_event(ev.name, ev.payload)
    if to_devices is ev.payload:  # nothing in it is for people only: one message
        return [([room(ev.hall), *kinds], ev.payload)]
    return [(room(ev.hall), ev.payload), (kinds, to_devices)]


def audiences_for(session: Session, hall: Hall, principal: Principal) -> list[str]:
    """The audiences whose events this principal may receive."""
    out = ["hall"]
    if principal.kind == "device":
        out.append(f"device:{principal.id}")
        if principal.counter_id is not None:
            counter = session.get(Counter, principal.counter_id)
            if counter is not None:
                out.append(f"counter:{counter.number}")
    elif principal.role in (Role.MANAGER, Role.ADMIN):
        out.append("managers")
    else:
        number = session.scalar(sa.select(Counter.number).where(Counter.clerk_id == principal.id))
        if number is not None:
            out.append(f"counter:{number}")
    return out


def manager_state(s: Session, hall: Hall, state: dict[str, Any]) -> dict[str, Any]:
    """The snapshot as managers get it: with the open alerts and every device's health."""
    from layso.services import alerts, health

    monitor = current_app.extensions.get("layso.monitor")
    return {
        **state,
        "alerts": alerts.current(s, hall),
        "devices": health.device_list(s, hall, monitor.presence if monitor else None),
    }


class Hub:
    """Emits the database's committed events to their rooms (:data:`layso.signals.committed`)."""

    def __init__(self, app: Flask, db: Database) -> None:
        self.app = app
        self.db = db
        # transactions' events in commit order, emitted by whichever call is already emitting
        self.pending: deque[list[PendingEvent]] = deque()
        self.emitting = False
        self.guard = threading.Lock()  # green under eventlet and gevent
        signals.committed.connect(self.committed, sender=db)

    def committed(self, _db: Database, *, events: list[PendingEvent]) -> None:
        """Emit one transaction's events; a transaction that commits while another's are
        going out (the call's yield below) queues its own behind them, so every socket gets
        this process's events in seq order."""
        with self.guard:
            self.pending.append(events)
            if self.emitting:
                return
            self.emitting = True
        while True:
            with self.guard:
                if not self.pending:
                    self.emitting = False
                    return
                batch = self.pending.popleft()
            try:
                self._emit(batch)
            except Exception:  # logged; the transactions queued behind it still go out
                logger.exception("hub: %d events not emitted", len(batch))
            except BaseException:
                with self.guard:
                    self.emitting = False
                raise

    @staticmethod
    def _emit(events: list[PendingEvent]) -> None:
        last = len(events) - 1
        for i, ev in enumerate(events):
            for to, body in emissions(ev):
                socketio.emit(ev.name, body, to=to, namespace=NAMESPACE)
            if ev.name in CALLS and i < last:
                # A call goes out ahead of the bookkeeping that follows it (queue and counter
                # figures): yield once, so that every socket's writer sends the call now,
                # instead of each sending the transaction's frames one socket after another.
                # Another transaction that commits meanwhile waits in `pending`.
                socketio.sleep(0)


def external_emitter(db: Database, redis_url: str | None) -> None:
    """For the CLI: publish the database's committed events through the shared message queue,
    if there is one."""
    if not redis_url:
        return
    external = SocketIO(message_queue=redis_url)

    def publish(_db: Database, *, events: list[PendingEvent]) -> None:
        for ev in events:
            for to, body in emissions(ev):
                external.emit(ev.name, body, to=to, namespace=NAMESPACE)

    signals.committed.connect(publish, sender=db, weak=False)


def _principal(s: Session, auth: dict[str, Any]) -> Principal | None:
    token = auth.get("token")
    if isinstance(token, str) and token:
        from layso.web import now

        return principal_for_token(s, token, now())
    found = session_user(s, cookie.get("sid"))
    return principal_for_user(found[0], session_id=found[1].id) if found is not None else None


@socketio.on("connect", namespace=NAMESPACE)
def connect(auth: Any = None) -> bool:
    """Sent by every screen as it joins: authenticate, join rooms, then snapshot or replay."""
    auth = auth if isinstance(auth, dict) else {}
    slug, after, token = auth.get("hall"), auth.get("after"), auth.get("token")
    if (
        not isinstance(slug, str)
        or len(slug) > 40
        or has_surrogate(slug)
        or (isinstance(token, str) and (len(token) > 200 or has_surrogate(token)))
        or (
            after is not None
            and (isinstance(after, bool) or not isinstance(after, int) or not 0 <= after <= MAX_SEQ)
        )
    ):
        return False
    db: Database = current_app.extensions["layso.db"]
    from layso.web import now

    with db.read() as s:
        principal = _principal(s, auth)
        hall = s.scalars(sa.select(Hall).where(Hall.slug == slug)).one_or_none()
        if principal is None or hall is None or not principal.in_hall(hall):
            logger.info("hub: refused a connection to hall %r", slug)
            return False
        audiences = audiences_for(s, hall, principal)
        for name in rooms_for(hall.slug, audiences, principal):
            join_room(name)
        device = principal.kind == "device"
        replay = None
        limit = replay_limit(principal.device_kind)
        if after is not None and after <= hall.event_seq and after >= oldest_seq(s, hall) - 1:
            replay = events_after(
                s, hall, after, audiences, limit=limit + 1, kind=principal.device_kind
            )
            if len(replay) > limit:
                replay = None
        # to this one client, which is connected to this process: not through the message
        # queue, which would carry every screen's snapshot to every other server process
        if replay is None:
            state, shown = shared_state(s, hall, now())
            if "managers" in audiences:
                state = manager_state(s, hall, state)
            emit(Ev.SNAPSHOT, shown if device else state, ignore_queue=True)
        else:
            for item in replay:
                body = dict(item)
                emit(body.pop("name"), body, ignore_queue=True)
    logger.debug("hub: %s %s joined %s (%s)", principal.kind, principal.name, slug, request.sid)
    watch: AccessWatch | None = current_app.extensions.get("layso.access_watch")
    if watch is not None:
        watch.joined(request.sid, principal)
    monitor = current_app.extensions.get("layso.monitor")  # layso.monitor: device presence
    if monitor is not None:
        monitor.joined(request.sid, hall.slug, principal)
    return True


_disconnect_hooks: list[Callable[[Any], None]] = []


def on_disconnect(hook: Callable[[Any], None]) -> Callable[[Any], None]:
    """Run ``hook(reason)`` when a /hall connection ends (within its request context). Socket.IO
    keeps one handler per event, so every part that cares registers here, not with @on."""
    _disconnect_hooks.append(hook)
    return hook


@socketio.on("disconnect", namespace=NAMESPACE)
def disconnect(reason: Any = None, *_rest: Any) -> None:
    watch: AccessWatch | None = current_app.extensions.get("layso.access_watch")
    if watch is not None:
        watch.left(request.sid)
    monitor = current_app.extensions.get("layso.monitor")
    if monitor is not None:
        monitor.left(request.sid)
    for hook in list(_disconnect_hooks):
        try:
            hook(reason)
        except Exception:
            logger.exception("hub: a disconnect hook failed")


class AccessWatch:
    """Ends live /hall connections whose access has ended, within about WATCH_S.

    A device revoked, a user disabled, a session signed out or ended by a new password: the
    change is in the database, whichever process made it, so each server process looks, twice
    a second while it has /hall clients, at the rows of its own clients (three queries by
    primary key) and disconnects those whose access is gone. It runs only while there are
    clients, so an idle process (or a test's app) keeps no task.
    """

    def __init__(self, server: Any, db: Database, interval: float = 0.5) -> None:
        self.server = server
        self.db = db
        self.interval = interval
        self.live: dict[str, Principal] = {}
        self.lock = threading.Lock()
        self.running = False

    def joined(self, sid: str, principal: Principal) -> None:
        with self.lock:
            self.live[sid] = principal
            start = not self.running
            self.running = True
        if start:
            self.server.start_background_task(self.watch)

    def left(self, sid: str) -> None:
        with self.lock:
            self.live.pop(sid, None)

    def watch(self) -> None:
        while True:
            self.server.sleep(self.interval)
            with self.lock:
                if not self.live:
                    self.running = False
                    return
                live = dict(self.live)
            try:
                gone = self.ended(live)
            except Exception:  # a database hiccup: look again next time
                logger.warning("hub: could not check live access this time", exc_info=True)
                continue
            for sid in gone:
                self.left(sid)
                logger.info("hub: access ended for %s %s", live[sid].kind, live[sid].name)
                try:
                    self.server.disconnect(sid, namespace=NAMESPACE, ignore_queue=True)
                except Exception:
                    logger.warning("hub: could not disconnect %s", sid, exc_info=True)

    def ended(self, live: dict[str, Principal]) -> list[str]:
        """The sids whose device, user or session no longer lets them in."""
        devices = {p.id for p in live.values() if p.kind == "device"}
        users = {p.id for p in live.values() if p.kind == "user"}
        sessions = {p.session_id for p in live.values() if p.session_id is not None}
        api_tokens = {p.token_id for p in live.values() if p.token_id is not None}
        with self.db.read() as s:

            def still(column: Any, ids: set[int], valid: Any) -> set[int]:
                """Those of `ids` whose row still lets them in (no query for none)."""
                return (
                    set(s.scalars(sa.select(column).where(column.in_(ids), valid)))
                    if ids
                    else set()
                )

            ok_devices = still(Device.id, devices, Device.revoked_at.is_(None))
            ok_users = still(User.id, users, User.active.is_(True))
            ok_sessions = still(UserSession.id, sessions, UserSession.ended_at.is_(None))
            ok_tokens = still(ApiToken.id, api_tokens, ApiToken.revoked_at.is_(None))
        gone = []
        for sid, p in live.items():
            if p.kind == "device":
                alive = p.id in ok_devices
            else:
                alive = (
                    p.id in ok_users
                    and (p.session_id is None or p.session_id in ok_sessions)
                    and (p.token_id is None or p.token_id in ok_tokens)
                )
            if not alive:
                gone.append(sid)
        return gone


QUEUE_CHANNEL = "flask-socketio"  # Flask-SocketIO's default: the CLI's emitter publishes there


def _redacted(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        host = parts.hostname or ""
        netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


class MessageQueue(RedisManager):  # type: ignore[misc]
    """The Redis message queue shared by several server processes, saying when it is down.

    python-socketio (5.18) hands every emit to this process's own clients first and only then
    publishes it to Redis; when Redis cannot be reached the publish is given up. So a process
    keeps serving its own screens through an outage, while screens on the other processes miss
    its events until Redis is back and they reconnect (and replay from their last seq). This
    class logs that state once per change, not once per event.
    """

    def __init__(self, url: str) -> None:
        super().__init__(url, channel=QUEUE_CHANNEL, redis_options={"socket_connect_timeout": 3})
        self.shown_url = _redacted(url)
        self.reachable: bool | None = None

    def probe(self) -> str | None:
        """Ping Redis once; the error text when it cannot be reached, else None."""
        try:
            module = self._get_redis_module()
            client = module.Redis.from_url(self.redis_url, socket_connect_timeout=3)
            try:
                client.ping()
            finally:
                client.close()
        except Exception as exc:  # any failure means the same thing here: unreachable
            return str(exc) or type(exc).__name__
        return None

    def note(self, ok: bool, detail: str | None = None) -> None:
        if ok and self.reachable is False:
            logger.warning("hub: message queue %s is reachable again", self.shown_url)
        elif not ok and self.reachable is not False:
            logger.error(
                "hub: message queue %s unreachable (%s): this process keeps serving its own "
                "clients; clients of other processes miss its events until the queue is back",
                self.shown_url,
                detail or "publish failed",
            )
        self.reachable = ok

    def _publish(self, data: Any) -> Any:
        result = super()._publish(data)  # None when it gave up (it logs and never raises)
        if result is None:
            if self.reachable is not False:  # say why once, not on every event of an outage
                self.note(False, self.probe())
        else:
            self.note(True)
        return result


class JoinGuard:
    """Drops engine.io connections that have not joined /hall within the grace.

    A screen opens its engine.io connection and joins /hall a few milliseconds later. A socket
    that never joins (a scanner, a broken client, a flood) would otherwise hold a connection
    and a file until the ping timeout, or for ever if it answers pings.
    """

    def __init__(self, server: Any, grace: float) -> None:
        self.server = server
        self.grace = grace
        self.deadlines: dict[str, float] = {}
        self.sweeping = False
        self.dropped = 0
        self._on_eio_connect = server.eio.handlers["connect"]
        server.eio.on("connect", self.eio_connect)

    def eio_connect(self, eio_sid: str, environ: dict[str, Any], *args: Any) -> Any:
        self.deadlines[eio_sid] = time.monotonic() + self.grace
        if not self.sweeping:
            self.sweeping = True
            self.server.start_background_task(self.sweep)
        return self._on_eio_connect(eio_sid, environ, *args)

    def sweep(self) -> None:
        while True:
            self.server.sleep(min(1.0, self.grace / 2))
            try:
                self.drop_late(time.monotonic())
            except Exception:  # the guard must outlive any one odd socket
                logger.exception("hub: the join guard failed once")

    def drop_late(self, now: float) -> None:
        sockets = self.server.eio.sockets
        manager = self.server.manager
        late = []
        for eio_sid, deadline in list(self.deadlines.items()):
            if eio_sid not in sockets or manager.sid_from_eio_sid(eio_sid, NAMESPACE):
                del self.deadlines[eio_sid]  # gone, or joined (or joining) /hall
            elif now >= deadline:
                del self.deadlines[eio_sid]
                late.append(eio_sid)
        for eio_sid in late:
            self.server.eio.disconnect(eio_sid)
        if late:
            self.dropped += len(late)
            logger.info(
                "hub: dropped %d connections that did not join %s within %g s",
                len(late),
                NAMESPACE,
                self.grace,
            )


def init_app(
    app: Flask,
    db: Database,
    *,
    async_mode: str,
    message_queue: str | None,
    join_timeout: float = 5.0,
) -> Hub:
    kwargs: dict[str, Any] = {
        "async_mode": async_mode,
        "logger": False,
        "engineio_logger": False,
        "ping_interval": 10,
        "ping_timeout": 10,
        "max_http_buffer_size": 64 * 1024,
    }
    # always explicit: the module-level SocketIO keeps options from an earlier init_app
    kwargs["client_manager"] = MessageQueue(message_queue) if message_queue else None
    socketio.init_app(app, **kwargs)
    app.extensions["layso.join_guard"] = JoinGuard(socketio.server, join_timeout)
    app.extensions["layso.access_watch"] = AccessWatch(socketio.server, db)
    if message_queue:
        queue: MessageQueue = kwargs["client_manager"]
        problem = queue.probe()
        if problem is None:
            queue.note(True)
            logger.info("hub: message queue %s reachable", queue.shown_url)
        else:
            queue.note(False, problem)
    hub = Hub(app, db)
    app.extensions["layso.hub"] = hub
    return hub
