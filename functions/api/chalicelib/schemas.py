"""The schemas and parameters of the OpenAPI document (``openapi.py`` lays out the operations).

Patterns, bounds and states come from ``contact_center.contracts``, the values the code checks.
"""

from __future__ import annotations

from typing import Any

from contact_center.contracts import values
from contact_center.domain.callbacks import (
    CALLBACK_KEYS,
    MAX_ATTEMPTS_MAX,
    RETRY_SECONDS_MAX,
    RETRY_SECONDS_MIN,
)

from .number_schemas import NUMBER_SCHEMAS
from .trunk_schemas import TRUNK_SCHEMAS

Schema = dict[str, Any]

ID_PATTERN = values.anchored(values.ID_PATTERN)
E164_PATTERN = values.anchored(values.E164_PATTERN)
PROMPT_NAME_PATTERN = values.anchored(values.PROMPT_NAME_PATTERN)


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _obj(properties: dict[str, Schema], required: list[str] | None = None) -> Schema:
    schema: Schema = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


def _nullable(schema: Schema) -> Schema:
    return {**schema, "nullable": True}


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
TIMESTAMP: Schema = {"type": "integer", "description": "epoch milliseconds"}
NAME: Schema = {"type": "string", "minLength": 1, "maxLength": 100}
RING_TIMEOUT: Schema = {
    "type": "integer",
    "minimum": values.RING_TIMEOUT_SECONDS_MIN,
    "maximum": values.RING_TIMEOUT_SECONDS_MAX,
    "default": values.DEFAULT_RING_TIMEOUT_SECONDS,
    "description": "seconds an offered call rings the seat's phones before it counts as not answered",
}
AGENT_STATES = list(values.AGENT_STATES)
DIAL_PREFIXES = {
    "type": "array",
    "maxItems": values.DIAL_PREFIXES_MAX,
    "items": {"type": "string", "pattern": values.anchored(values.DIAL_PREFIX_PATTERN)},
    "description": "prefixes of the numbers the merchant's agents may call out to; empty: any number. "
    "Emergency numbers are always dialled.",
}

SCHEMAS: dict[str, Schema] = {
    "Error": _obj(
        {
            "error": _obj(
                {"code": STRING, "message": STRING, "field": _nullable(STRING)}, ["code", "message", "field"]
            ),
            "licensed": INTEGER,
            "used": INTEGER,
        },
        ["error"],
    ),
    "Health": _obj({"status": STRING}, ["status"]),
    "Merchant": _obj(
        {
            "merchant_id": STRING,
            "name": STRING,
            "contact_email": STRING,
            "seat_licenses": INTEGER,
            "seats_used": INTEGER,
            "created_at": TIMESTAMP,
            "dial_prefixes": DIAL_PREFIXES,
        },
        [
            "merchant_id",
            "name",
            "contact_email",
            "seat_licenses",
            "seats_used",
            "created_at",
            "dial_prefixes",
        ],
    ),
    "MerchantCreated": {
        "allOf": [
            _ref("Merchant"),
            _obj(
                {"api_key": {**STRING, "description": "shown once"}, "api_key_id": STRING},
                ["api_key", "api_key_id"],
            ),
        ]
    },
    "MerchantCreate": _obj(
        {
            "name": NAME,
            "contact_email": {"type": "string", "format": "email"},
            "seat_licenses": {"type": "integer", "minimum": 0, "maximum": 100000, "default": 0},
        },
        ["name", "contact_email"],
    ),
    "MerchantUpdate": _obj(
        {
            "name": NAME,
            "contact_email": {"type": "string", "format": "email"},
            "seat_licenses": {"type": "integer", "minimum": 0, "maximum": 100000},
            "dial_prefixes": DIAL_PREFIXES,
        }
    ),
    "ApiKey": _obj(
        {"key_id": STRING, "name": _nullable(STRING), "prefix": STRING, "created_at": TIMESTAMP},
        ["key_id", "name", "prefix", "created_at"],
    ),
    "ApiKeyCreated": {
        "allOf": [_ref("ApiKey"), _obj({"api_key": {**STRING, "description": "shown once"}}, ["api_key"])]
    },
    "ApiKeyCreate": _obj({"name": NAME}),
    "SkillRequirement": _obj(
        {"name": STRING, "min_proficiency": {"type": "integer", "minimum": 1, "maximum": 5, "default": 1}},
        ["name"],
    ),
    "Overflow": _nullable(
        _obj(
            {"type": {"type": "string", "enum": ["queue", "legacy_trunk"]}, "target": STRING},
            ["type", "target"],
        )
    ),
    "CallbackPolicy": _nullable(
        {
            **_obj(
                {
                    "digit": {
                        "type": "string",
                        "enum": list(CALLBACK_KEYS),
                        "default": "1",
                        "description": "the key a queued caller presses to leave a callback",
                    },
                    "max_attempts": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": MAX_ATTEMPTS_MAX,
                        "default": 3,
                        "description": "how many times the customer is dialled at most",
                    },
                    "retry_seconds": {
                        "type": "integer",
                        "minimum": RETRY_SECONDS_MIN,
                        "maximum": RETRY_SECONDS_MAX,
                        "default": 120,
                        "description": "the least time between a failed dial and the next",
                    },
                }
            ),
            "description": (
                "callbacks that keep the caller's place; null (the default): callers cannot leave one. "
                "The queue's announcements tell callers the key."
            ),
        }
    ),
    "Queue": _obj(
        {
            "queue_id": STRING,
            "name": STRING,
            "skills": {"type": "array", "items": _ref("SkillRequirement")},
            "priority": INTEGER,
            "strategy": STRING,
            "max_wait_seconds": INTEGER,
            "overflow": _ref("Overflow"),
            "wrap_up_seconds": INTEGER,
            "media": _ref("QueueMedia"),
            "service_level_seconds": INTEGER,
            "recording_percent": INTEGER,
            "callback": _ref("CallbackPolicy"),
            "created_at": TIMESTAMP,
        },
        [
            "queue_id",
            "name",
            "skills",
            "priority",
            "strategy",
            "max_wait_seconds",
            "overflow",
            "wrap_up_seconds",
            "media",
            "service_level_seconds",
            "recording_percent",
            "callback",
        ],
    ),
    "QueueUpdate": _obj(
        {
            "name": NAME,
            "skills": {"type": "array", "items": _ref("SkillRequirement"), "maxItems": 50},
            "priority": {"type": "integer", "minimum": 1, "maximum": 10, "default": 5},
            "strategy": {
                "type": "string",
                "enum": ["longest_idle", "round_robin", "most_skilled"],
                "default": "longest_idle",
            },
            "max_wait_seconds": {"type": "integer", "minimum": 1, "maximum": 7200, "default": 300},
            "overflow": _ref("Overflow"),
            "wrap_up_seconds": {"type": "integer", "minimum": 0, "maximum": 3600, "default": 0},
            "media": _ref("QueueMedia"),
            "service_level_seconds": {
                "type": "integer",
                "minimum": 1,
                "maximum": 3600,
                "default": 20,
                "description": "the wallboard's service level: answered within this many seconds",
            },
            "recording_percent": {
                "type": "integer",
                "minimum": 0,
                "maximum": 100,
                "default": 0,
                "description": "the share of calls answered by this queue's agents that are recorded",
            },
            "callback": _ref("CallbackPolicy"),
        }
    ),
    "QueueMedia": {
        **_obj(
            {
                "answer": {
                    "type": "string",
                    "enum": ["early_media", "200"],
                    "default": "early_media",
                    "description": (
                        "early_media: 183 with the relay's audio until an agent answers; "
                        "200: the caller is answered at once (billing starts) and hears the relay"
                    ),
                },
                "greeting": {
                    "type": "string",
                    "nullable": True,
                    "pattern": PROMPT_NAME_PATTERN,
                    "default": "greeting",
                    "description": "default prompt played once on entry; null for none",
                },
                "greeting_prompt": {
                    "type": "string",
                    "nullable": True,
                    "pattern": PROMPT_NAME_PATTERN,
                    "default": None,
                    "description": "the merchant's uploaded prompt played as the greeting instead (must exist)",
                },
                "music_prompt": {
                    "type": "string",
                    "nullable": True,
                    "pattern": PROMPT_NAME_PATTERN,
                    "default": None,
                    "description": "the merchant's uploaded prompt looped as music on hold instead (must exist)",
                },
                "announce_every_seconds": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 600,
                    "default": 30,
                    "description": "position and expected wait every N s (0: on entry only; else 10-600)",
                },
            }
        ),
        "description": "what a queued caller hears; a PATCH replaces the whole object",
    },
    "QueueCreate": {"allOf": [_ref("QueueUpdate"), {"type": "object", "required": ["name"]}]},
    "QueueStats": _obj(
        {
            "queue_id": STRING,
            "day": {"type": "string", "description": "UTC date the counters cover"},
            "waiting": INTEGER,
            "oldest_wait_seconds": INTEGER,
            "agents": {"type": "object", "additionalProperties": INTEGER},
            "offered": INTEGER,
            "answered": INTEGER,
            "abandoned": {**INTEGER, "description": "callers who hung up while waiting"},
            "timed_out": {**INTEGER, "description": "callers the queue gave up on at max wait"},
        },
        ["waiting", "oldest_wait_seconds", "agents", "offered", "answered", "abandoned", "timed_out"],
    ),
    "NumberCreate": _obj(
        {"number": {"type": "string", "pattern": E164_PATTERN}, "queue_id": STRING}, ["number", "queue_id"]
    ),
    "SeatSkill": _obj(
        {"name": STRING, "proficiency": {"type": "integer", "minimum": 1, "maximum": 5}},
        ["name", "proficiency"],
    ),
    "Seat": _obj(
        {
            "seat_id": STRING,
            "display_name": STRING,
            "skills": {"type": "array", "items": _ref("SeatSkill")},
            "queue_ids": {"type": "array", "items": STRING},
            "ring_timeout_seconds": RING_TIMEOUT,
            "sip_username": STRING,
            "state": {"type": "string", "enum": AGENT_STATES},
            "created_at": TIMESTAMP,
        },
        ["seat_id", "display_name", "skills", "queue_ids", "ring_timeout_seconds", "sip_username", "state"],
    ),
    "SipCredentials": _obj(
        {
            "username": STRING,
            "password": {**STRING, "description": "shown once; only digest HA1 values are stored"},
            "domain": STRING,
            "registrar": STRING,
        },
        ["username", "password", "domain", "registrar"],
    ),
    "SeatCreated": {"allOf": [_ref("Seat"), _obj({"sip": _ref("SipCredentials")}, ["sip"])]},
    "SeatUpdate": _obj(
        {
            "display_name": NAME,
            "skills": {"type": "array", "items": _ref("SeatSkill"), "maxItems": 50},
            "queue_ids": {"type": "array", "items": STRING, "maxItems": 50},
            "ring_timeout_seconds": RING_TIMEOUT,
        }
    ),
    "SeatCreate": {"allOf": [_ref("SeatUpdate"), {"type": "object", "required": ["display_name"]}]},
    "SeatState": _obj(
        {
            "seat_id": STRING,
            "state": {"type": "string", "enum": AGENT_STATES},
            "reason": _nullable(STRING),
            "since": TIMESTAMP,
            "contact_id": _nullable(STRING),
            "version": INTEGER,
        },
        ["seat_id", "state", "reason", "since", "version"],
    ),
    "SeatStateChange": _obj(
        {
            "state": {"type": "string", "enum": list(values.API_SETTABLE_AGENT_STATES)},
            "reason": _nullable(
                {"type": "string", "maxLength": 64, "description": "required with not_ready"}
            ),
        },
        ["state"],
    ),
    "SeatRelease": _obj(
        {
            "state": {
                "type": "string",
                "enum": list(values.API_SETTABLE_AGENT_STATES),
                "default": "not_ready",
            },
            "reason": _nullable(
                {"type": "string", "maxLength": 64, "description": "with not_ready; default forced_release"}
            ),
        }
    ),
    "Home": _obj(
        {
            "merchant_id": STRING,
            "home_region": {**STRING, "description": "the region that alone decides for the merchant"},
            "epoch": {**INTEGER, "description": "bumped by every move; writes under an older one fail"},
            "preferred_region": {**STRING, "description": "where a failback returns the merchant"},
            "active_from": {**TIMESTAMP, "description": "the new home decides from then (the handoff)"},
        },
        ["merchant_id", "home_region", "epoch", "preferred_region", "active_from"],
    ),
    "HomeMove": _obj({"region": {**STRING, "description": "one of the deployed regions"}}, ["region"]),
    "HomeMoved": _obj(
        {"merchant_id": STRING, "from_region": STRING, "to_region": STRING, "epoch": INTEGER},
        ["merchant_id", "from_region", "to_region", "epoch"],
    ),
}

SCHEMAS.update(TRUNK_SCHEMAS)
SCHEMAS.update(NUMBER_SCHEMAS)

for _name in ("Merchant", "ApiKey", "Queue", "Number", "Seat", "Trunk", "NumberAudit"):
    SCHEMAS[f"{_name}Page"] = _obj(
        {"items": {"type": "array", "items": _ref(_name)}, "next_token": _nullable(STRING)},
        ["items", "next_token"],
    )

PATH_PARAMETERS: dict[str, Schema] = {
    "merchant_id": {"type": "string", "pattern": ID_PATTERN},
    "queue_id": {"type": "string", "pattern": ID_PATTERN},
    "seat_id": {"type": "string", "pattern": ID_PATTERN},
    "key_id": {"type": "string", "pattern": ID_PATTERN},
    "trunk_id": {"type": "string", "pattern": ID_PATTERN},
    "user_id": {"type": "string", "pattern": ID_PATTERN},
    "webhook_id": {"type": "string", "pattern": ID_PATTERN},
    "delivery_id": {"type": "string", "pattern": ID_PATTERN},
    "contact_id": {"type": "string", "pattern": ID_PATTERN},
    "number": {"type": "string", "pattern": E164_PATTERN, "description": "E.164, e.g. +14155550100"},
    "name": {"type": "string", "pattern": PROMPT_NAME_PATTERN, "description": "a prompt name"},
}

PAGE_PARAMETERS: list[Schema] = [
    {
        "name": "limit",
        "in": "query",
        "required": False,
        "schema": {"type": "integer", "minimum": 1, "maximum": 100},
    },
    {"name": "next_token", "in": "query", "required": False, "schema": {"type": "string", "maxLength": 2048}},
]

IDEMPOTENCY_PARAMETER: Schema = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "A retry with the same key returns the first result and creates nothing twice.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
}
