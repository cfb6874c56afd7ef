"""Manager API of the notifier under /api/v1: settings, channels, the outbox and its failures.

The logic is :mod:`layso.services.notify.config`; secrets are never here (the environment)."""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from layso.apidoc import doc, obj, query
from layso.services.notify import config as notify_config
from layso.web import hall_context, json_body, now, query_int
from manager.api import MANAGERS, _actor, api
from manager.schemas import ANY_OBJ, DELETED, WHO, config_doc

STATES = notify_config.STATES
NOTICES = obj(
    {
        "notices": {"type": "array", "items": {"type": "object"}},
        "counts": obj(
            {s: {"type": "integer"} for s in notify_config.STATES}, list(notify_config.STATES)
        ),
    },
    ["notices", "counts"],
)


@api.get("/halls/<slug>/notify")
@doc(
    "The notifier: the hall's settings (near_ahead, late_places) and its channels, with whether "
    "each channel's secret is set in the environment",
    who=WHO,
    ok=(200, "settings and channels", ANY_OBJ),
    errors=(401, 403, 404),
    tag="manager",
)
def notify_get(slug: str) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS) as c:
        return jsonify(
            {
                "settings": notify_config.settings_view(c.session, c.hall),
                "channels": notify_config.list_channels(c.session, c.hall),
            }
        )


@api.patch("/halls/<slug>/notify/settings")
@config_doc(
    "Change the notifier's settings: near_ahead (notify at this many people ahead, 0: never), "
    "late_places (“I'll be late” moves back this many places, 0: not offered)",
    200,
    "settings",
)
def notify_settings(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        s = notify_config.update_settings(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"settings": s})


@api.post("/halls/<slug>/notify/channels")
@config_doc(
    "Add a channel: {kind: webhook|sms|zns, name, settings, active} (see the README for each "
    "kind's settings; secrets come from the environment only)",
    201,
    "channel",
)
def notify_channel_add(slug: str) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        ch = notify_config.add_channel(c.session, c.hall, data, user=_actor(c), now=now())
        return jsonify({"channel": ch}), 201


@api.patch("/halls/<slug>/notify/channels/<int:channel_id>")
@config_doc("Change a channel's name, settings or active flag", 200, "channel")
def notify_channel_edit(slug: str, channel_id: int) -> ResponseReturnValue:
    data = json_body()
    with hall_context(slug, *MANAGERS, write=True) as c:
        ch = notify_config.update_channel(
            c.session, c.hall, channel_id, data, user=_actor(c), now=now()
        )
        return jsonify({"channel": ch})


@api.delete("/halls/<slug>/notify/channels/<int:channel_id>")
@doc(
    "Delete a channel and its undelivered notices (writes an audit entry)",
    who=WHO,
    ok=(200, "deleted", DELETED),
    errors=(401, 403, 404),
    tag="manager",
)
def notify_channel_delete(slug: str, channel_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        notify_config.delete_channel(c.session, c.hall, channel_id, user=_actor(c), now=now())
        return jsonify({"deleted": channel_id})


@api.get("/halls/<slug>/notify/notices")
@doc(
    "The newest notices (phone numbers masked), e.g. ?state=failed for the failures, with "
    "counts per state",
    who=WHO,
    ok=(200, "notices", NOTICES),
    errors=(400, 401, 403, 404),
    params=[
        query(
            "state",
            {"type": "string", "enum": list(notify_config.STATES)},
            description="only this state",
        ),
        query(
            "limit", {"type": "integer", "minimum": 1, "maximum": 500}, description="at most (100)"
        ),
    ],
    tag="manager",
)
def notify_notices(slug: str) -> ResponseReturnValue:
    state = request.args.get("state") or None
    limit = query_int("limit", 100, 1, 500) or 100
    with hall_context(slug, *MANAGERS) as c:
        return jsonify(notify_config.list_outbox(c.session, c.hall, state=state, limit=limit))


@api.post("/halls/<slug>/notify/notices/<int:notice_id>/retry")
@config_doc("Send a failed notice again", 200, "notice", body=False)
def notify_retry(slug: str, notice_id: int) -> ResponseReturnValue:
    with hall_context(slug, *MANAGERS, write=True) as c:
        n = notify_config.retry_failed(c.session, c.hall, notice_id, user=_actor(c), now=now())
        return jsonify({"notice": n})
