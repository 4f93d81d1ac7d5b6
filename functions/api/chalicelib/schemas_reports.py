"""Schemas and query parameters of the reports and the webhooks (``routes/reports.py``, ``routes/webhooks.py``)."""

from __future__ import annotations

from contact_center.domain.prompts import PromptEncoding
from contact_center.services import reports, webhooks

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

_EVENTS: Schema = {
    "type": "array",
    "items": {"type": "string", "enum": [e.value for e in webhooks.EventType]},
}

REPORT_SCHEMAS: dict[str, Schema] = {
    "WebhookCreate": _obj(
        {"url": {"type": "string", "maxLength": webhooks.URL_MAX_LENGTH}, "events": _EVENTS}, ["url"]
    ),
    "Webhook": _obj(
        {"webhook_id": STRING, "url": STRING, "events": _EVENTS, "created_at": TIMESTAMP},
        ["webhook_id", "url", "events", "created_at"],
    ),
    "WebhookCreated": {
        "allOf": [
            _ref("Webhook"),
            _obj(
                {"secret": {**STRING, "description": "HMAC-SHA256 key of Switchboard-Signature; shown once"}},
                ["secret"],
            ),
        ]
    },
    "Prompt": _obj(
        {
            "name": STRING,
            "encoding": {"type": "string", "enum": [e.value for e in PromptEncoding]},
            "sample_rate": {"type": "integer", "enum": [8000, 16000]},
            "duration_ms": INTEGER,
            "size_bytes": INTEGER,
            "sha256": STRING,
            "uploaded_at": TIMESTAMP,
        },
        ["name", "encoding", "sample_rate", "duration_ms", "size_bytes", "sha256", "uploaded_at"],
    ),
    "PromptList": _obj(
        {"items": {"type": "array", "items": _ref("Prompt")}, "next_token": _nullable(STRING)},
        ["items", "next_token"],
    ),
    "WebhookList": _obj(
        {"items": {"type": "array", "items": _ref("Webhook")}, "next_token": _nullable(STRING)},
        ["items", "next_token"],
    ),
    "Delivery": _obj(
        {
            "delivery_id": STRING,
            "webhook_id": STRING,
            "status": {"type": "string", "enum": [s.value for s in webhooks.DeliveryStatus]},
            "attempts": INTEGER,
            "next_attempt_at": _nullable(TIMESTAMP),
            "last_error": _nullable(STRING),
            "updated_at": TIMESTAMP,
            "event": {"type": "object"},
        },
        ["delivery_id", "webhook_id", "status", "attempts", "event"],
    ),
    "DeliveryPage": _obj(
        {"items": {"type": "array", "items": _ref("Delivery")}, "next_token": _nullable(STRING)},
        ["items", "next_token"],
    ),
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
            "wrap_up_code": _nullable(STRING),
            "recording_key": {
                **_nullable(STRING),
                "description": "set when the call was recorded; GET .../recording gives a link to it",
            },
        },
        ["contact_id", "outcome", "ended_at"],
    ),
    "RecordingLink": _obj(
        {
            "contact_id": STRING,
            "url": {"type": "string", "description": "reads the recording (audio/wav) until expires_at"},
            "expires_at": {"type": "integer", "description": "epoch seconds"},
        },
        ["contact_id", "url", "expires_at"],
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
