"""The wallboard's response schema (``routes/wallboard.py``)."""

from __future__ import annotations

from .schemas import AGENT_STATES, INTEGER, STRING, TIMESTAMP, Schema, _nullable, _obj, _ref

RATIO: Schema = _nullable({"type": "number", "minimum": 0, "maximum": 1})
_WINDOW_FIELDS = ["offered", "answered", "abandoned", "timed_out", "service_level", "abandon_rate"]

WALLBOARD_SCHEMAS: dict[str, Schema] = {
    "WallboardWindow": _obj(
        {
            "offered": INTEGER,
            "answered": INTEGER,
            "abandoned": INTEGER,
            "timed_out": INTEGER,
            "service_level": RATIO,
            "abandon_rate": RATIO,
        },
        _WINDOW_FIELDS,
    ),
    "WallboardQueue": _obj(
        {
            "queue_id": STRING,
            "name": STRING,
            "service_level_seconds": INTEGER,
            "waiting": INTEGER,
            "oldest_wait_seconds": INTEGER,
            "agents": _obj({state: INTEGER for state in AGENT_STATES}, AGENT_STATES),
            "today": _ref("WallboardWindow"),
            "interval": _ref("WallboardWindow"),
        },
        [
            "queue_id",
            "name",
            "service_level_seconds",
            "waiting",
            "oldest_wait_seconds",
            "agents",
            "today",
            "interval",
        ],
    ),
    "WallboardAgent": _obj(
        {
            "seat_id": STRING,
            "display_name": STRING,
            "state": {"type": "string", "enum": AGENT_STATES},
            "reason": _nullable(STRING),
            "seconds_in_state": INTEGER,
            "queue_ids": {"type": "array", "items": STRING},
        },
        ["seat_id", "display_name", "state", "reason", "seconds_in_state", "queue_ids"],
    ),
    "Wallboard": _obj(
        {
            "now": TIMESTAMP,
            "day": {"type": "string", "description": "the UTC day 'today' covers"},
            "interval_start": TIMESTAMP,
            "queues": {"type": "array", "items": _ref("WallboardQueue")},
            "agents": {"type": "array", "items": _ref("WallboardAgent")},
        },
        ["now", "day", "interval_start", "queues", "agents"],
    ),
}
