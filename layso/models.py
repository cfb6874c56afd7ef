"""The hall's data: SQLAlchemy 2 typed models. Times are stored in UTC."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Store aware datetimes as UTC; SQLite hands back naive ones, so re-attach UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: sa.JSON, list[Any]: sa.JSON}


class TicketStatus(enum.StrEnum):
    WAITING = "waiting"
    CALLED = "called"
    SERVING = "serving"
    HELD = "held"
    DONE = "done"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # still waiting (or held) when the hall's day ended: hết giờ


class CounterState(enum.StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLOSED = "closed"


class Role(enum.StrEnum):
    CLERK = "clerk"
    MANAGER = "manager"
    ADMIN = "admin"


class DeviceKind(enum.StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"
    COUNTER_DISPLAY = "counter-display"
    RATING_PAD = "rating-pad"
    PRINT_AGENT = "print-agent"


class ServiceKind(enum.StrEnum):
    INTAKE = "intake"  # tiếp nhận hồ sơ
    RESULTS = "results"  # trả kết quả


#: what a results area says on the kiosk, the ticket, the display and in the call
RESULTS_WORDS = ("Nhận kết quả", "Collect results")


class PriorityPolicy(enum.StrEnum):
    STRICT = "strict"
    INTERLEAVED = "interleaved"
    WEIGHTED = "weighted"


def _enum(e: type[enum.Enum]) -> sa.Enum:
    return sa.Enum(e, native_enum=False, values_callable=lambda x: [m.value for m in x], length=20)


class Hall(Base):
    __tablename__ = "hall"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    timezone: Mapped[str] = mapped_column(sa.String(64), default="Asia/Ho_Chi_Minh")
    # {"days": [0..6], "ranges": [["07:30", "11:30"], ...]}; null = always open
    hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    priority_policy: Mapped[PriorityPolicy] = mapped_column(
        _enum(PriorityPolicy), default=PriorityPolicy.STRICT
    )
    priority_interleave: Mapped[int] = mapped_column(default=3)
    priority_weight: Mapped[float] = mapped_column(default=2.0)
    voice_template: Mapped[str] = mapped_column(
        sa.String(300), default="Kính mời công dân có số thứ tự {số} đến quầy số {quầy}"
    )
    voice_lang: Mapped[str] = mapped_column(sa.String(40), default="vi")
    rating_scale: Mapped[int] = mapped_column(default=4)
    # [{"vi": "Rất hài lòng", "en": "Very satisfied"}, ...] best first; null = the default labels
    rating_labels: Mapped[list[Any] | None] = mapped_column(default=None)
    # reason chips offered after a low score: [{"vi": ..., "en": ...}]
    rating_reasons: Mapped[list[Any] | None] = mapped_column(default=None)
    rating_on: Mapped[str] = mapped_column(sa.String(10), default="finish")  # finish | start
    satisfaction_target: Mapped[float] = mapped_column(default=0.95)
    # the hall's local day on which a manager kept the queue open past closing time
    keep_open_on: Mapped[date | None] = mapped_column(default=None)
    # alert thresholds {"wait_warning_factor": 1.0, ...}; null = services/alerts.DEFAULTS
    alert_settings: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    # [{"code": "meeting", "vi": "Đi họp", "en": "Meeting"}, ...]; null = pauses.DEFAULT_REASONS
    pause_reasons: Mapped[list[Any] | None] = mapped_column(default=None)
    greeting: Mapped[str] = mapped_column(sa.String(300), default="Xin kính chào quý khách")
    ticket_footer: Mapped[str] = mapped_column(
        sa.String(200), default="Xin cảm ơn quý khách / Thank you"
    )
    event_seq: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime]

    services: Mapped[list[Service]] = relationship(
        back_populates="hall", order_by="Service.position"
    )
    counters: Mapped[list[Counter]] = relationship(back_populates="hall", order_by="Counter.number")


class PriorityReason(Base):
    """A group the law gives priority to; data, not code."""

    __tablename__ = "priority_reason"
    __table_args__ = (sa.UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(40))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Service(Base):
    """A service area (lĩnh vực) with its own numbering."""

    __tablename__ = "service"
    __table_args__ = (sa.UniqueConstraint("hall_id", "code"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str] = mapped_column(sa.String(200), default="")
    # intake (tiếp nhận hồ sơ) or results (trả kết quả): its wording and its own figures
    kind: Mapped[ServiceKind] = mapped_column(
        _enum(ServiceKind), default=ServiceKind.INTAKE, server_default="intake"
    )
    prefix: Mapped[str] = mapped_column(sa.String(5), default="")
    first_number: Mapped[int] = mapped_column(default=1)
    last_number: Mapped[int] = mapped_column(default=999)
    step: Mapped[int] = mapped_column(default=1)
    daily_cap: Mapped[int | None] = mapped_column(default=None)
    target_wait_min: Mapped[int] = mapped_column(default=15)
    hours: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    hall: Mapped[Hall] = relationship(back_populates="services")
    procedures: Mapped[list[Procedure]] = relationship(
        back_populates="service", cascade="all, delete-orphan", order_by="Procedure.id"
    )


class Procedure(Base):
    """An administrative procedure (thủ tục) that the kiosk search leads to its area."""

    __tablename__ = "procedure"
    id: Mapped[int] = mapped_column(primary_key=True)
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(sa.String(300))
    service: Mapped[Service] = relationship(back_populates="procedures")


class CounterService(Base):
    __tablename__ = "counter_service"
    counter_id: Mapped[int] = mapped_column(
        sa.ForeignKey("counter.id", ondelete="CASCADE"), primary_key=True
    )
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(default=0)
    service: Mapped[Service] = relationship()


class Counter(Base):
    __tablename__ = "counter"
    __table_args__ = (sa.UniqueConstraint("hall_id", "number"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(100), default="")
    state: Mapped[CounterState] = mapped_column(_enum(CounterState), default=CounterState.CLOSED)
    pause_reason: Mapped[str | None] = mapped_column(sa.String(100), default=None)
    # the code of the reason in the hall's pause list; null for a free-text reason
    pause_code: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    clerk_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("user.id", ondelete="SET NULL"), unique=True, default=None
    )
    current_ticket_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket.id", use_alter=True, ondelete="SET NULL"), default=None
    )
    calls_since_priority: Mapped[int] = mapped_column(default=0)
    state_since: Mapped[datetime | None] = mapped_column(default=None)

    hall: Mapped[Hall] = relationship(back_populates="counters")
    links: Mapped[list[CounterService]] = relationship(
        cascade="all, delete-orphan", order_by="CounterService.position"
    )
    clerk: Mapped[User | None] = relationship(foreign_keys=[clerk_id])

    @property
    def service_ids(self) -> list[int]:
        return [link.service_id for link in self.links]


class User(Base):
    __tablename__ = "user"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True, default=None
    )
    username: Mapped[str] = mapped_column(sa.String(60), unique=True)
    full_name: Mapped[str] = mapped_column(sa.String(120), default="")
    role: Mapped[Role] = mapped_column(_enum(Role))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class ApiToken(Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    user: Mapped[User] = relationship()


class Device(Base):
    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DeviceKind] = mapped_column(_enum(DeviceKind))
    name: Mapped[str] = mapped_column(sa.String(100))
    counter_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("counter.id", ondelete="CASCADE"), default=None
    )
    # a print agent serves the kiosk it is paired with
    kiosk_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("device.id", ondelete="SET NULL"), default=None
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # {"services": [...codes], "counters": [...numbers]} for a zone display
    filter: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    printer_state: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    printer_detail: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    printer_state_at: Mapped[datetime | None] = mapped_column(default=None)
    # the device's health as last persisted (changes only, never every heartbeat):
    # {"online": bool, "since": iso, "version": str, "paper": str, "audio_blocked": bool}
    health: Mapped[dict[str, Any] | None] = mapped_column(default=None)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    counter: Mapped[Counter | None] = relationship(foreign_keys=[counter_id])


class DailyNumber(Base):
    """The last number handed out per area and business day: bumped atomically, never reused."""

    __tablename__ = "daily_number"
    service_id: Mapped[int] = mapped_column(
        sa.ForeignKey("service.id", ondelete="CASCADE"), primary_key=True
    )
    business_date: Mapped[date] = mapped_column(primary_key=True)
    issued: Mapped[int] = mapped_column(default=0)


class Ticket(Base):
    __tablename__ = "ticket"
    __table_args__ = (
        sa.UniqueConstraint("issued_service_id", "business_date", "number"),
        # the queue's counts (queue_figures): waiting and waiting with a priority, index only
        sa.Index("ix_ticket_queue", "hall_id", "status", "service_id", "priority"),
        # the merge rule's reads: per area, booked or walk-in, in queue order
        sa.Index("ix_ticket_queue_order", "hall_id", "status", "service_id", "queued_at"),
        # an area's recent service times (wait_model): the day's last finished tickets, read from
        # the index alone, not every ticket of the day in the database
        sa.Index(
            "ix_ticket_recent", "service_id", "business_date", "status", "finished_at", "started_at"
        ),
        # a call's first look: the tickets sent to this counter (a transfer), in queue order
        sa.Index("ix_ticket_sent", "target_counter_id", "status", "queued_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"))
    # the area whose numbering gave the number; service_id is the queue it waits in now
    issued_service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    business_date: Mapped[date] = mapped_column(index=True)
    number: Mapped[int]
    display_number: Mapped[str] = mapped_column(sa.String(20))
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    priority: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus), default=TicketStatus.WAITING)
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"), default=None)
    clerk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), default=None)
    target_counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"), default=None)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device.id"), default=None)
    issued_at: Mapped[datetime]
    queued_at: Mapped[datetime]  # queue order: issue time, or when it came back from hold
    first_called_at: Mapped[datetime | None] = mapped_column(default=None)
    called_at: Mapped[datetime | None] = mapped_column(default=None)
    call_count: Mapped[int] = mapped_column(default=0)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    print_state: Mapped[str] = mapped_column(sa.String(20), default="pending")
    # mã hồ sơ: the dossier whose result a results ticket collected (entered at the counter)
    dossier_code: Mapped[str | None] = mapped_column(sa.String(40), default=None)
    # a checked-in booking's slot time; null for a walk-in (and for a booking checked in late).
    # A booked ticket's queued_at is when it becomes callable: slot time minus the area's lead.
    booked_for: Mapped[datetime | None] = mapped_column(default=None)
    # checked in from a booking (on time, late or a remote number): its state follows the ticket
    from_booking: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    service: Mapped[Service] = relationship(foreign_keys=[service_id])
    issued_service: Mapped[Service] = relationship(foreign_keys=[issued_service_id])
    counter: Mapped[Counter | None] = relationship(foreign_keys=[counter_id])
    target_counter: Mapped[Counter | None] = relationship(foreign_keys=[target_counter_id])
    clerk: Mapped[User | None] = relationship(foreign_keys=[clerk_id])


class Event(Base):
    """The hall's append-only event log; every figure and every screen is derived from it."""

    __tablename__ = "event"
    __table_args__ = (sa.UniqueConstraint("hall_id", "seq"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(sa.BigInteger)
    name: Mapped[str] = mapped_column(sa.String(40))
    at: Mapped[datetime]
    ticket_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="CASCADE"), index=True, default=None
    )
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"), default=None)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"), default=None)
    # who may see it: "hall", "managers", "counter:<number>", "device:<id>"
    audience: Mapped[str] = mapped_column(sa.String(40), default="hall")
    payload: Mapped[dict[str, Any]]


class PrintJob(Base):
    """One ticket to print (or reprint) on one printer; done once, retried until then."""

    __tablename__ = "print_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int] = mapped_column(sa.ForeignKey("ticket.id", ondelete="CASCADE"))
    # the print agent that prints it; null = the server's own printer
    device_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("device.id", ondelete="SET NULL"), index=True, default=None
    )
    reprint: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")  # pending|done|failed
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    created_at: Mapped[datetime]
    done_at: Mapped[datetime | None] = mapped_column(default=None)


class Rating(Base):
    __tablename__ = "rating"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    ticket_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="CASCADE"), unique=True
    )
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counter.id"))
    clerk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id"))
    score: Mapped[int]
    scale: Mapped[int]
    reasons: Mapped[list[Any]]
    at: Mapped[datetime]


class Suggestion(Base):
    __tablename__ = "suggestion"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.Text)
    contact: Mapped[str | None] = mapped_column(sa.String(200), default=None)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device.id"), default=None)
    at: Mapped[datetime]


class Notice(Base):
    """A line on the display's ticker."""

    __tablename__ = "notice"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(sa.String(500))
    text_en: Mapped[str] = mapped_column(sa.String(500), default="")
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class AuditEntry(Base):
    __tablename__ = "audit_entry"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True
    )
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(sa.String(60))
    detail: Mapped[dict[str, Any]]
    at: Mapped[datetime]


class IdempotencyKey(Base):
    """A client's key for one change (a kiosk tap, a counter press): a retry replays the answer."""

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("hall_id", "scope", "key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"))
    # what the key was used for, e.g. "ticket" or "counter:3:next": a key is only replayed there
    scope: Mapped[str] = mapped_column(sa.String(60))
    key: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[int]
    response: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(index=True)


class UserSession(Base):
    """A signed-in browser session, kept on the server so that signing out really ends it."""

    __tablename__ = "user_session"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # sha256 of the random id the signed cookie carries
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(default=None)


class NotifySetting(Base):
    """A hall's "your turn is near" settings (one row per hall; none: the defaults)."""

    __tablename__ = "notify_setting"
    hall_id: Mapped[int] = mapped_column(
        sa.ForeignKey("hall.id", ondelete="CASCADE"), primary_key=True
    )
    # notify a ticket with a phone when this many people or fewer are ahead; 0 = never
    near_ahead: Mapped[int] = mapped_column(default=3)
    # "I'll be late" moves a waiting ticket back this many places, once; 0 = not offered
    late_places: Mapped[int] = mapped_column(default=3)


class NotifyChannel(Base):
    """One way out of the hall: a signed webhook, an SMS gateway or Zalo ZNS.

    ``settings`` holds what is not secret (address, template, field names); secrets are read
    from the environment when sending (layso.services.notify.channels)."""

    __tablename__ = "notify_channel"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))  # webhook | sms | zns
    name: Mapped[str] = mapped_column(sa.String(100))
    settings: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]


class NotifyOutbox(Base):
    """One message for one channel: written in the transaction that causes it, sent later."""

    __tablename__ = "notify_outbox"
    __table_args__ = (sa.Index("ix_notify_outbox_due", "state", "next_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(
        sa.ForeignKey("notify_channel.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(sa.String(40))  # e.g. turn.near, turn.called
    # a phone number in 84… form while undelivered; masked (84******678) once done
    recipient: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    ticket_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="SET NULL"), default=None
    )
    # {"text": Vietnamese, "text_en": English, "data": {template values}}
    body: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(sa.String(20), default="pending")  # pending|sent|failed
    attempts: Mapped[int] = mapped_column(default=0)
    next_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(sa.String(300), default=None)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(default=None)


# a call's reads (services/next_ticket.py): the first waiting ticket of one area and one kind
# (priority or not, booked or walk-in), in queue order, is the first entry of its index range
sa.Index(
    "ix_ticket_lane",
    Ticket.hall_id,
    Ticket.status,
    Ticket.service_id,
    Ticket.priority.is_(None),
    Ticket.booked_for.is_(None),
    Ticket.queued_at,
)


class TicketContact(Base):
    """What a waiting ticket's holder asked for from the phone page or a booking: the phone to
    notify (erased once the ticket is called or leaves the queue), the notices sent, the one
    "I'll be late"."""

    __tablename__ = "ticket_contact"
    ticket_id: Mapped[int] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="CASCADE"), primary_key=True
    )
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(20), default=None)  # 84… form
    near_at: Mapped[datetime | None] = mapped_column(default=None)
    called_at: Mapped[datetime | None] = mapped_column(default=None)
    late_at: Mapped[datetime | None] = mapped_column(default=None)


# --- appointments and remote numbers (issue 14) -----------------------------------------------


class BookingState(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CALLED = "called"
    SERVED = "served"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"


class BookingRule(Base):
    """Booking settings of a hall (service_id null) or of one area (its non-null fields override
    the hall's). See services/bookings.py `settings_for` for the defaults."""

    __tablename__ = "booking_rule"
    __table_args__ = (sa.UniqueConstraint("hall_id", "service_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service.id", ondelete="CASCADE"), default=None
    )
    enabled: Mapped[bool | None] = mapped_column(default=None)
    remote_numbers: Mapped[bool | None] = mapped_column(default=None)  # "số từ xa" for today
    days_ahead: Mapped[int | None] = mapped_column(default=None)  # 0 = today only
    per_person_day: Mapped[int | None] = mapped_column(default=None)  # per phone / ID, all areas
    per_person_area_day: Mapped[int | None] = mapped_column(default=None)  # per phone / ID, area
    walk_in_reserve: Mapped[int | None] = mapped_column(default=None)  # numbers kept per day
    checkin_before_min: Mapped[int | None] = mapped_column(default=None)
    checkin_after_min: Mapped[int | None] = mapped_column(default=None)
    lead_min: Mapped[int | None] = mapped_column(default=None)  # callable from slot − lead
    require_id: Mapped[bool | None] = mapped_column(default=None)  # CCCD asked and checked
    retention_days: Mapped[int | None] = mapped_column(default=None)  # personal data kept


class SlotTemplate(Base):
    """Bookable slots of an area: on these weekdays, from start to end, every slot_min minutes,
    `capacity` bookings each."""

    __tablename__ = "slot_template"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id", ondelete="CASCADE"))
    weekdays: Mapped[list[Any]]  # [0..6], Monday = 0
    start: Mapped[str] = mapped_column(sa.String(5))  # "07:30", hall-local
    end: Mapped[str] = mapped_column(sa.String(5))  # "11:30": the last slot starts before it
    slot_min: Mapped[int] = mapped_column(default=15)
    capacity: Mapped[int] = mapped_column(default=2)
    active: Mapped[bool] = mapped_column(default=True)
    service: Mapped[Service] = relationship()


class Closure(Base):
    """A day a hall (service_id null) or an area takes no bookings: a holiday, a move."""

    __tablename__ = "closure"
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"), index=True)
    service_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("service.id", ondelete="CASCADE"), default=None
    )
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(200), default="")
    reason_en: Mapped[str] = mapped_column(sa.String(200), default="")


class Booking(Base):
    """An appointment (slot_start set) or a remote number for the day (slot_start null).

    Personal data: the phone in plain digits (the notifier needs it), the ID number only as an
    HMAC (quota checks) and its last digits for masked display; all three are emptied
    `retention_days` after the booking's day (purged_at set)."""

    __tablename__ = "booking"
    __table_args__ = (
        sa.UniqueConstraint("hall_id", "code"),
        sa.Index("ix_booking_day", "hall_id", "business_date", "service_id"),
        sa.Index("ix_booking_phone", "hall_id", "phone", "business_date"),
        sa.Index("ix_booking_id_hash", "hall_id", "id_hash", "business_date"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    hall_id: Mapped[int] = mapped_column(sa.ForeignKey("hall.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(sa.ForeignKey("service.id", ondelete="CASCADE"))
    business_date: Mapped[date]
    slot_start: Mapped[datetime | None] = mapped_column(default=None)
    code: Mapped[str] = mapped_column(sa.String(12))
    phone: Mapped[str | None] = mapped_column(sa.String(20), default=None)
    id_hash: Mapped[str | None] = mapped_column(sa.String(64), default=None)
    id_last: Mapped[str | None] = mapped_column(sa.String(4), default=None)
    state: Mapped[BookingState] = mapped_column(_enum(BookingState), default=BookingState.BOOKED)
    late: Mapped[bool] = mapped_column(default=False)  # checked in after the window: a walk-in
    created_at: Mapped[datetime]
    checked_in_at: Mapped[datetime | None] = mapped_column(default=None)
    cancelled_at: Mapped[datetime | None] = mapped_column(default=None)
    purged_at: Mapped[datetime | None] = mapped_column(default=None)
    ticket_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("ticket.id", ondelete="SET NULL"), unique=True, default=None
    )

    service: Mapped[Service] = relationship()
    ticket: Mapped[Ticket | None] = relationship()
