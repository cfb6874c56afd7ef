"""The channels: how one outbox row becomes one HTTP request, and how its answer is judged.

Each kind has a settings check (:func:`check_settings`, used by the configuration), a request
builder and a judge. The request shapes (the README repeats them):

**webhook** — ``POST <url>`` with ``Content-Type: application/json; charset=utf-8`` and::

    X-Layso-Delivery:  <hall>-<row id>      (the same on every retry: deduplicate on it)
    X-Layso-Timestamp: <unix seconds>       (when this attempt was signed)
    X-Layso-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + raw body)>

    {"id": "<hall>-<row id>", "hall": "<slug>", "kind": "turn.near", "to": "84912345678",
     "text": "<Vietnamese>", "text_en": "<English>", "data": {...}, "created_at": "<ISO 8601>"}

  The secret is ``LAYSO_WEBHOOK_SECRET`` (or the variable named by ``secret_env``). A receiver
  recomputes the signature over the raw body, refuses a timestamp more than five minutes away
  from its clock and a delivery id it has already seen: a captured request cannot be replayed
  (:func:`verify_webhook` does exactly that).

**sms** — ``POST <url>``, a JSON body (``format: "json"``, the default) or a form
(``format: "form"``)::

    {"to": "84912345678", "text": "<Vietnamese, no English>", "sender": "<brandname>",
     "ref": "<hall>-<row id>", ...extra}

  Field names can be renamed (``fields: {"to": "Phone", "text": "Content", "sender":
  "Brandname", "ref": "RequestId"}``), constant fields added (``extra``), the number written as
  ``0912345678`` (``phone_format: "0"``). The key (``LAYSO_SMS_API_KEY`` or ``key_env``) goes in
  ``Authorization: Bearer <key>`` (``auth: "bearer"``), in a header (``auth: "header:X-Api-Key"``)
  or in a body field (``auth: "field:ApiKey"``). Any 2xx answer is success unless ``ok_field``
  is set: then the JSON answer's field must equal ``ok_value`` (gateways that answer 200 with an
  error code). This shape is modelled on common Vietnamese brandname-SMS HTTP APIs; no gateway's
  compatibility is claimed — map the fields to yours.

**zns** — Zalo Notification Service through the Official Account API::

    POST <base_url>/message/template          (base_url: https://business.openapi.zalo.me)
    access_token: <LAYSO_ZALO_ACCESS_TOKEN>
    Content-Type: application/json

    {"phone": "84912345678", "template_id": "<id>", "template_data": {"<param>": "<text>"},
     "tracking_id": "<hall>-<row id>"}

  The template comes from ``templates[<message kind>]`` or, for ``turn.*`` notices only,
  ``template_id`` (a template approved for one content never carries another kind);
  ``template_data`` maps each template parameter to a key of the message's data
  (``{"so_ve": "number", "quay": "counter"}``), or passes the data as it is. Zalo answers 200
  with ``{"error": 0, ...}`` on success; any other ``error`` is a failure (its ``message`` kept).

A failure is retried with backoff by the sender, except a refusal that cannot change by itself
(a missing secret, an HTTP 4xx other than 408 and 429): that is given up at once.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from layso.models import NotifyChannel, NotifyOutbox
from layso.services.notify import zns_template

KINDS = ("webhook", "sms", "zns")
DEFAULT_ENV = {
    "webhook": "LAYSO_WEBHOOK_SECRET",
    "sms": "LAYSO_SMS_API_KEY",
    "zns": "LAYSO_ZALO_ACCESS_TOKEN",
}
ENV_KEY = {"webhook": "secret_env", "sms": "key_env", "zns": "token_env"}
ZNS_BASE_URL = "https://business.openapi.zalo.me"
SIGNATURE_TOLERANCE_S = 300
_ENV_NAME = re.compile(r"^LAYSO_[A-Z0-9_]{1,60}$")
_FIELD = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,39}$")


class ChannelError(Exception):
    """A message this channel cannot send; ``permanent``: retrying cannot help."""

    def __init__(self, text: str, *, permanent: bool = False) -> None:
        super().__init__(text)
        self.permanent = permanent


@dataclass(frozen=True)
class HttpRequest:
    url: str
    headers: dict[str, str]
    body: bytes


def delivery_id(hall_slug: str, row: NotifyOutbox) -> str:
    return f"{hall_slug}-{row.id}"


def secret(channel: NotifyChannel, env: Mapping[str, str] | None = None) -> str:
    """The channel's secret from the environment (never from the database)."""
    env = os.environ if env is None else env
    name = (channel.settings or {}).get(ENV_KEY[channel.kind]) or DEFAULT_ENV[channel.kind]
    value = env.get(name, "")
    if not value:
        raise ChannelError(f"{name} is not set", permanent=True)
    return value


# --- building the requests ---------------------------------------------------------------------


def sign(secret_value: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret_value.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_webhook(
    secret_value: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
    seen: set[str] | None = None,
) -> bool:
    """What a receiver checks: the signature, a fresh timestamp, a delivery id not seen before
    (added to ``seen``)."""
    try:
        ts = int(headers["X-Layso-Timestamp"])
        given = headers["X-Layso-Signature"]
        delivery = headers["X-Layso-Delivery"]
    except (KeyError, TypeError, ValueError):
        return False
    now = time.time() if now is None else now
    if abs(now - ts) > SIGNATURE_TOLERANCE_S:
        return False
    if not hmac.compare_digest(given, sign(secret_value, ts, body)):
        return False
    if seen is not None:
        if delivery in seen:
            return False
        seen.add(delivery)
    return True


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def webhook_request(
    channel: NotifyChannel,
    row: NotifyOutbox,
    hall_slug: str,
    created_at: str,
    *,
    env: Mapping[str, str] | None = None,
    now: float | None = None,
) -> HttpRequest:
    key = secret(channel, env)
    ident = delivery_id(hall_slug, row)
    body = _json(
        {
            "id": ident,
            "hall": hall_slug,
            "kind": row.kind,
            "to": row.recipient,
            "text": row.body.get("text", ""),
            "text_en": row.body.get("text_en", ""),
            "data": row.body.get("data", {}),
            "created_at": created_at,
        }
    )
    ts = int(time.time() if now is None else now)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Layso-Delivery": ident,
        "X-Layso-Timestamp": str(ts),
        "X-Layso-Signature": sign(key, ts, body),
    }
    return HttpRequest(channel.settings["url"], headers, body)


def sms_request(
    channel: NotifyChannel,
    row: NotifyOutbox,
    hall_slug: str,
    *,
    env: Mapping[str, str] | None = None,
) -> HttpRequest:
    s = channel.settings
    key = secret(channel, env)
    if not row.recipient:
        raise ChannelError("no phone number", permanent=True)
    names = {"to": "to", "text": "text", "sender": "sender", "ref": "ref"}
    names.update(s.get("fields") or {})
    phone = row.recipient
    if s.get("phone_format") == "0":
        phone = "0" + phone[2:]
    fields: dict[str, Any] = {
        names["to"]: phone,
        names["text"]: row.body.get("text", ""),
        names["ref"]: delivery_id(hall_slug, row),
    }
    if s.get("sender"):
        fields[names["sender"]] = s["sender"]
    fields.update(s.get("extra") or {})
    headers: dict[str, str] = {}
    auth = s.get("auth") or "bearer"
    if auth == "bearer":
        headers["Authorization"] = f"Bearer {key}"
    elif auth.startswith("header:"):
        headers[auth[len("header:") :]] = key
    else:  # field:<name>
        fields[auth[len("field:") :]] = key
    if s.get("format") == "form":
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
        body = urlencode({k: str(v) for k, v in fields.items()}).encode()
    else:
        headers["Content-Type"] = "application/json; charset=utf-8"
        body = _json(fields)
    return HttpRequest(s["url"], headers, body)


def zns_request(
    channel: NotifyChannel,
    row: NotifyOutbox,
    hall_slug: str,
    *,
    env: Mapping[str, str] | None = None,
) -> HttpRequest:
    s = channel.settings
    token = secret(channel, env)
    if not row.recipient:
        raise ChannelError("no phone number", permanent=True)
    template = zns_template(s, row.kind)
    if not template:
        raise ChannelError(f"no ZNS template for {row.kind}", permanent=True)
    data = row.body.get("data", {})
    mapping = s.get("template_data")
    if mapping:
        values = {param: str(data.get(key, "")) for param, key in mapping.items()}
    else:
        values = {k: str(v) for k, v in data.items()}
    body = _json(
        {
            "phone": row.recipient,
            "template_id": template,
            "template_data": values,
            "tracking_id": delivery_id(hall_slug, row),
        }
    )
    base = (s.get("base_url") or ZNS_BASE_URL).rstrip("/")
    headers = {"access_token": token, "Content-Type": "application/json"}
    return HttpRequest(f"{base}/message/template", headers, body)


def build_request(
    channel: NotifyChannel,
    row: NotifyOutbox,
    hall_slug: str,
    created_at: str,
    *,
    env: Mapping[str, str] | None = None,
) -> HttpRequest:
    if channel.kind == "webhook":
        return webhook_request(channel, row, hall_slug, created_at, env=env)
    if channel.kind == "sms":
        return sms_request(channel, row, hall_slug, env=env)
    if channel.kind == "zns":
        return zns_request(channel, row, hall_slug, env=env)
    raise ChannelError(f"unknown channel kind {channel.kind!r}", permanent=True)


# --- judging the answers -----------------------------------------------------------------------


def judge(channel: NotifyChannel, status: int, body: bytes) -> None:
    """Raise :class:`ChannelError` unless the answer means the message was taken."""
    if not 200 <= status < 300:
        permanent = 400 <= status < 500 and status not in (408, 429)
        raise ChannelError(f"HTTP {status}: {_snippet(body)}", permanent=permanent)
    s = channel.settings or {}
    if channel.kind == "zns":
        answer = _parse(body)
        if not isinstance(answer, dict) or answer.get("error") != 0:
            message = answer.get("message") if isinstance(answer, dict) else None
            code = answer.get("error") if isinstance(answer, dict) else None
            raise ChannelError(f"Zalo error {code}: {message or _snippet(body)}")
    elif channel.kind == "sms" and s.get("ok_field"):
        answer = _parse(body)
        got = answer.get(s["ok_field"]) if isinstance(answer, dict) else None
        if str(got) != str(s.get("ok_value", "")):
            raise ChannelError(f"gateway answered {s['ok_field']}={got!r}: {_snippet(body)}")


def _parse(body: bytes) -> Any:
    try:
        return json.loads(body.decode("utf-8", "replace") or "null")
    except ValueError:
        return None


def _snippet(body: bytes) -> str:
    return body[:120].decode("utf-8", "replace").strip()


# --- settings ----------------------------------------------------------------------------------


def _url(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 500:
        return False
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def check_settings(kind: str, settings: Any) -> tuple[dict[str, Any], list[str]]:
    """Validated settings of a channel kind, or the problems (English; the caller words them)."""
    problems: list[str] = []
    if kind not in KINDS:
        return {}, [f"kind must be one of {', '.join(KINDS)}"]
    if not isinstance(settings, dict):
        return {}, ["settings must be an object"]
    allowed = {
        "webhook": {"url", "secret_env", "kinds"},
        "sms": {
            "url",
            "key_env",
            "kinds",
            "format",
            "sender",
            "fields",
            "extra",
            "auth",
            "phone_format",
            "ok_field",
            "ok_value",
        },
        "zns": {"base_url", "token_env", "kinds", "template_id", "templates", "template_data"},
    }[kind]
    extra = sorted(set(settings) - allowed)
    if extra:
        problems.append(f"unknown settings: {', '.join(extra)}")
    out = {k: v for k, v in settings.items() if k in allowed}
    if kind in ("webhook", "sms") and not _url(out.get("url")):
        problems.append("url must be an http(s) address")
    if kind == "zns":
        if "base_url" in out and not _url(out["base_url"]):
            problems.append("base_url must be an http(s) address")
        templates = out.get("templates") or {}
        if not isinstance(templates, dict) or not all(
            isinstance(k, str) and isinstance(v, str | int) for k, v in templates.items()
        ):
            problems.append("templates must map message kinds to template ids")
        if not out.get("template_id") and not templates:
            problems.append("template_id (or templates) is needed")
        if "template_id" in out and not isinstance(out["template_id"], str | int):
            problems.append("template_id must be text")
        mapping = out.get("template_data")
        if mapping is not None and (
            not isinstance(mapping, dict)
            or not all(isinstance(k, str) and isinstance(v, str) for k, v in mapping.items())
        ):
            problems.append("template_data must map template parameters to data keys")
    env_key = ENV_KEY[kind]
    if env_key in out and not (isinstance(out[env_key], str) and _ENV_NAME.match(out[env_key])):
        problems.append(f"{env_key} must name a LAYSO_… environment variable")
    kinds = out.get("kinds")
    if kinds is not None and (
        not isinstance(kinds, list)
        or len(kinds) > 20
        or not all(isinstance(k, str) and 0 < len(k) <= 40 for k in kinds)
    ):
        problems.append("kinds must be a list of message kind prefixes")
    if kind == "sms":
        if out.get("format", "json") not in ("json", "form"):
            problems.append("format must be json or form")
        if out.get("phone_format", "84") not in ("84", "0"):
            problems.append("phone_format must be 84 or 0")
        auth = out.get("auth", "bearer")
        if not isinstance(auth, str) or not (
            auth == "bearer"
            or (auth.startswith(("header:", "field:")) and _FIELD.match(auth.split(":", 1)[1]))
        ):
            problems.append("auth must be bearer, header:<name> or field:<name>")
        fields = out.get("fields") or {}
        if not isinstance(fields, dict) or not all(
            k in ("to", "text", "sender", "ref") and isinstance(v, str) and _FIELD.match(v)
            for k, v in fields.items()
        ):
            problems.append("fields may rename to, text, sender, ref")
        extra_fields = out.get("extra") or {}
        if not isinstance(extra_fields, dict) or not all(
            isinstance(k, str) and _FIELD.match(k) and isinstance(v, str | int)
            for k, v in extra_fields.items()
        ):
            problems.append("extra must map field names to text or numbers")
        if "sender" in out and not (isinstance(out["sender"], str) and len(out["sender"]) <= 40):
            problems.append("sender must be text of at most 40 characters")
        if "ok_field" in out and not (
            isinstance(out["ok_field"], str) and _FIELD.match(out["ok_field"])
        ):
            problems.append("ok_field must be a field name")
    return out, problems


def public_settings(channel: NotifyChannel) -> dict[str, Any]:
    """A channel's settings as managers see them, with whether its secret is set."""
    name = (channel.settings or {}).get(ENV_KEY.get(channel.kind, ""), "") or DEFAULT_ENV.get(
        channel.kind, ""
    )
    return {
        **(channel.settings or {}),
        "secret_variable": name,
        "secret_set": bool(name and os.environ.get(name)),
    }
