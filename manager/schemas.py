"""The manager API's contract for the OpenAPI document: report parameters, figures, rows and
the configuration endpoints' shape (used by the ``@doc`` lines in :mod:`manager.api`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from layso.apidoc import Schema, doc, obj, query
from layso.services import reports
from layso.services.official import OFFICIAL_GROUPINGS

MAX_LIMIT = 1000  # rows per JSON page of the wait-time log
FORMATS = ("json", "csv", "xlsx")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

WHO = "a manager or admin of the hall"
DATE_Q = [
    {
        "name": "from",
        "in": "query",
        "required": False,
        "description": "first day (the hall's local date), default today",
        "schema": {"type": "string", "format": "date"},
    },
    {
        "name": "to",
        "in": "query",
        "required": False,
        "description": "last day, inclusive; default `from` (or today)",
        "schema": {"type": "string", "format": "date"},
    },
]
DEFINITIONS = (
    "A ticket belongs to the range when its ticket.issued event is on one of the range's days "
    "in the hall's time zone. Every figure comes from the event log, not the ticket row. "
    "Times are the hall's local time with offset. wait_s = first ticket.called − "
    "ticket.issued; walk_s = last ticket.started − the last call (called or recalled) before "
    "it (the last call counts for walk); service_s = ticket.finished − last ticket.started. "
    "area = the area that issued the number (its queue and target wait); served_area = the "
    "area at the end (after transfers). counter/clerk = those of the ticket's last handling "
    "event. late = called with wait_s above the area's target, or never called and waiting "
    "(or cancelled) beyond it, measured to the cancellation or to now (at most the end of its "
    "day)."
)
SUMMARY_DEFS = (
    "Percentiles interpolate linearly between closest ranks (Excel PERCENTILE.INC). "
    "within_target_rate = called tickets with wait_s ≤ target ÷ (called tickets + never-called "
    "tickets already late). no_show_rate = final no-shows ÷ tickets called at least once. "
    "bookings: the range's bookings per state; bookings.no_show_rate = bookings that ended "
    "no-show ÷ bookings served or no-show (cancelled and open ones left out). "
    "satisfaction_rate = ratings in the top two levels of their scale ÷ ratings, compared with "
    "the hall's satisfaction_target (meets_target). official_ratings maps every rating onto "
    "the state's official three levels, whatever its scale: top level = very_satisfied (Rất hài "
    "lòng), second = satisfied (Hài lòng), every lower level = dissatisfied (Không hài lòng). "
    "For by=counter and by=clerk: open_s = time "
    "the counter was open (counter.changed state 'open'; for a clerk, the counters they were "
    "signed in at), serving_s = ticket.started until that visit ends (finished, transferred, "
    "held), idle_s = open_s − serving_s (includes waiting for called citizens to walk up), all "
    "within the range's days up to now. A ticket counts for the area that issued it, the hour "
    "and day it was issued, and the counter and clerk of its last handling event."
)
FIGURES = obj(
    {
        "issued": {"type": "integer"},
        "called": {"type": "integer"},
        "served": {"type": "integer"},
        "no_show": {"type": "integer"},
        "cancelled": {"type": "integer"},
        "expired": {"type": "integer"},
        "wait_median_s": {"type": ["number", "null"]},
        "wait_p90_s": {"type": ["number", "null"]},
        "walk_mean_s": {"type": ["number", "null"]},
        "service_mean_s": {"type": ["number", "null"]},
        "within_target_rate": {"type": ["number", "null"]},
        "no_show_rate": {"type": ["number", "null"]},
        "satisfaction_rate": {"type": ["number", "null"]},
        "satisfaction_target": {"type": "number"},
        "ratings": {"type": "object", "additionalProperties": {"type": "integer"}},
        "official_ratings": {
            "type": "object",
            "properties": {
                "very_satisfied": {"type": "integer"},
                "satisfied": {"type": "integer"},
                "dissatisfied": {"type": "integer"},
            },
        },
        "open_s": {"type": "integer"},
        "serving_s": {"type": "integer"},
        "idle_s": {"type": "integer"},
    }
)
ROW = obj(
    {
        "id": {"type": "integer"},
        "display_number": {"type": "string"},
        "area": {"type": "string"},
        "served_area": {"type": "string"},
        "priority": {"type": ["string", "null"]},
        "state": {"enum": list(reports.STATES)},
        "issued_at": {"type": "string", "format": "date-time"},
        "first_called_at": {"type": ["string", "null"], "format": "date-time"},
        "recalls": {"type": "array", "items": {"type": "string", "format": "date-time"}},
        "last_called_at": {"type": ["string", "null"], "format": "date-time"},
        "started_at": {"type": ["string", "null"], "format": "date-time"},
        "finished_at": {"type": ["string", "null"], "format": "date-time"},
        "no_show_at": {"type": ["string", "null"], "format": "date-time"},
        "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
        "expired_at": {"type": ["string", "null"], "format": "date-time"},
        "wait_s": {"type": ["integer", "null"]},
        "walk_s": {"type": ["integer", "null"]},
        "service_s": {"type": ["integer", "null"]},
        "late": {"type": "boolean"},
        "counter": {"type": ["integer", "null"]},
        "clerk": {"type": ["string", "null"]},
        "rating": {"type": ["integer", "null"]},
        "area_kind": {"enum": ["intake", "results"]},
        "dossier_code": {"type": ["string", "null"]},
    }
)
ANY_OBJ = {"type": "object"}
CONFIG_ERRS = (400, 401, 403, 404, 409)
DELETED = obj({"deleted": {"type": "integer"}})

TICKET_PARAMS = [
    query(
        "format",
        {"enum": list(FORMATS)},
        description="csv is UTF-8 with a BOM; xlsx has local date-times",
    ),
    query("service", {"type": "string"}),
    query("counter", {"type": "integer", "minimum": 0, "maximum": 1_000_000}),
    query("clerk", {"type": "string"}),
    query("status", {"enum": list(reports.STATES)}),
    query("late_only", {"type": "boolean"}),
    query(
        "q",
        {"type": "string", "maxLength": 40},
        description="search: part of the ticket number or of the dossier code (mã hồ sơ)",
    ),
    query("kind", {"enum": ["intake", "results"]}),
    query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}),
    query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
    query("page", {"type": "integer", "minimum": 1, "maximum": 10**6}),
]
TICKET_ROWS = obj(
    {
        "total": {"type": "integer"},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
        "rows": {"type": "array", "items": ROW},
    }
)
#: the summary's parameters and answer, as report_doc takes them
SUMMARY: tuple[list[Schema], tuple[str, Schema]] = (
    [query("by", {"enum": list(reports.GROUPINGS)})],
    (
        "groups and total",
        obj(
            {
                "by": {"type": "string"},
                "satisfaction_target": {"type": "number"},
                "groups": {
                    "type": "array",
                    "items": {"allOf": [FIGURES, obj({"key": {}, "label": {"type": "string"}})]},
                },
                "total": FIGURES,
                "bookings": obj(
                    {
                        "total": {"type": "integer"},
                        "by_state": {"type": "object", "additionalProperties": {"type": "integer"}},
                        "no_show": {"type": "integer"},
                        "no_show_rate": {"type": ["number", "null"]},
                    }
                ),
            }
        ),
    ),
)


LEVELS = obj(
    {
        "very_satisfied": {"type": "integer"},
        "satisfied": {"type": "integer"},
        "dissatisfied": {"type": "integer"},
        "rated": {"type": "integer"},
        "satisfied_total": {"type": "integer"},
        "rate": {"type": ["number", "null"]},
        "target": {"type": "number"},
        "meets_target": {"type": ["boolean", "null"]},
    }
)
OFFICIAL_DEFS = (
    "Every rating of the range is mapped onto the state's three official levels, whatever "
    "scale it was given on: the scale's top score = very_satisfied (Rất hài lòng), the one "
    "below = satisfied (Hài lòng), every lower score = dissatisfied (Không hài lòng). rate = "
    "(very_satisfied + satisfied) ÷ rated, meets_target = rate ≥ the hall's satisfaction "
    "target. A rating counts for the counter and clerk of its ticket's last handling, the area "
    "that issued the number, and the month and quarter the ticket was issued (hall-local). "
    "format=xlsx gives the workbook a one-stop unit files: unit, period, a table per group "
    "with the total, and the signature block (Người lập biểu / Thủ trưởng đơn vị)."
)
#: the official evaluation's parameters and answer, as report_doc takes them
OFFICIAL: tuple[list[Schema], tuple[str, Schema]] = (
    [
        query("by", {"enum": list(OFFICIAL_GROUPINGS)}),
        query("format", {"enum": ["json", "xlsx"]}),
    ],
    (
        "counts per official level and the rate, per group and in total (or the XLSX)",
        obj(
            {
                "unit": {"type": "string"},
                "by": {"type": "string"},
                "target": {"type": "number"},
                "groups": {
                    "type": "array",
                    "items": {"allOf": [LEVELS, obj({"key": {}, "label": {"type": "string"}})]},
                },
                "total": LEVELS,
            }
        ),
    ),
)


def report_doc(
    summary: str,
    params: list[Schema],
    ok: tuple[str, Schema],
    *,
    media: Mapping[str, Schema] | None = None,
) -> Callable[[Any], Any]:
    """A report endpoint: a date range, its own parameters, the definitions of its figures."""
    names = {p["name"] for p in params}
    if params is OFFICIAL[0]:
        notes = OFFICIAL_DEFS
    else:
        notes = DEFINITIONS + (" " + SUMMARY_DEFS if "by" in names else "")
    return doc(
        summary,
        who=WHO,
        params=[*DATE_Q, *params],
        ok=(200, *ok),
        errors=(400, 401, 403, 404),
        tag="manager",
        notes=notes,
        media=media,
    )


def config_doc(
    summary: str, status: int, result: str, *, body: bool = True
) -> Callable[[Any], Any]:
    """A configuration change: any JSON object in, ``{result: {...}}`` out."""
    return doc(
        summary + " (writes an audit entry and a config.changed event)",
        who=WHO,
        ok=(status, "done", obj({result: ANY_OBJ})),
        errors=CONFIG_ERRS,
        body=ANY_OBJ if body else None,
        tag="manager",
    )
