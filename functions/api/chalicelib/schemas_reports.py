"""Schemas and query parameters of the reports (``routes/reports.py``)."""

from __future__ import annotations

from contact_center.services import reports

from .schemas import ID_PATTERN, INTEGER, STRING, TIMESTAMP, Schema, _nullable, _obj, _ref

NUMBER: Schema = {"type": "number"}


def _query(name: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


_RANGE = [
    _query("from", TIMESTAMP, "records ending at or after (default: 24 hours before 'to')"),
    _query(
        "to", TIMESTAMP, f"records ending at or before (default: now; at most {reports.RANGE_MAX_DAYS} days)"
    ),
    _query("queue_id", {"type": "string", "pattern": ID_PATTERN}, "one queue"),
    _query("seat_id", {"type": "string", "pattern": ID_PATTERN}, "one agent's seat"),
    _query("outcome", {"type": "string", "enum": sorted(o.value for o in reports.Outcome)}, "one outcome"),
]

REPORT_PARAMETERS: dict[str, list[Schema]] = {
    "ContactRecordPage": [*_RANGE, _query("format", {"type": "string", "enum": ["csv"]}, "CSV export")],
    "IntervalReport": [
        *_RANGE,
        _query(
            "interval", {"type": "string", "enum": sorted(i.value for i in reports.Interval)}, "bucket size"
        ),
        _query(
            "service_level_seconds",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": 3600,
                "default": reports.DEFAULT_SERVICE_LEVEL_SECONDS,
            },
            "answered within this many seconds counts toward the service level",
        ),
    ],
}

REPORT_SCHEMAS: dict[str, Schema] = {
    "ContactRecord": _obj(
        {
            "contact_id": STRING,
            "queue_id": _nullable(STRING),
            "seat_id": _nullable(STRING),
            "caller": STRING,
            "called": STRING,
            "channel": STRING,
            "outcome": {"type": "string", "enum": sorted(o.value for o in reports.Outcome)},
            "enqueued_at": _nullable(TIMESTAMP),
            "answered_at": _nullable(TIMESTAMP),
            "ended_at": TIMESTAMP,
            "hangup_side": _nullable(STRING),
            "hangup_cause": _nullable(STRING),
        },
        ["contact_id", "outcome", "ended_at"],
    ),
    "ContactRecordPage": _obj(
        {"items": {"type": "array", "items": _ref("ContactRecord")}, "next_token": _nullable(STRING)},
        ["items", "next_token"],
    ),
    "IntervalFigures": _obj(
        {
            "queue_id": STRING,
            "seat_id": STRING,
            "interval_start": TIMESTAMP,
            "offered": INTEGER,
            "answered": INTEGER,
            "abandoned": INTEGER,
            "timed_out": INTEGER,
            "asa_seconds": _nullable(NUMBER),
            "aht_seconds": _nullable(NUMBER),
            "service_level": {
                **_nullable(NUMBER),
                "description": "share of offered answered in time, 0 to 1",
            },
        },
        ["interval_start", "offered", "answered", "abandoned", "timed_out"],
    ),
    "IntervalReport": _obj(
        {
            "interval": STRING,
            "service_level_seconds": INTEGER,
            "from": TIMESTAMP,
            "to": TIMESTAMP,
            "items": {"type": "array", "items": _ref("IntervalFigures")},
        },
        ["interval", "service_level_seconds", "from", "to", "items"],
    ),
}
