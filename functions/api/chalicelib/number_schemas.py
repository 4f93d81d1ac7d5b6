"""The number schemas of the OpenAPI document: numbers and their migration modes
(``services.number_commands`` holds each field's rule)."""

from __future__ import annotations

from typing import Any

from contact_center.contracts import values
from contact_center.contracts.values import PROMPT_NAME_PATTERN
from contact_center.domain.menus import DIGITS, RETRIES_MAX, TIMEOUT_SECONDS_MAX, TIMEOUT_SECONDS_MIN
from contact_center.domain.migration import NumberMode
from contact_center.services.number_commands import BATCH_MAX

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_ID: Schema = {"type": "string", "pattern": values.anchored(values.ID_PATTERN)}
_E164: Schema = {"type": "string", "pattern": values.anchored(values.E164_PATTERN)}
_MODE: Schema = {"type": "string", "enum": [m.value for m in NumberMode]}
_PERCENT: Schema = {"type": "integer", "minimum": 0, "maximum": 100}
_ROUTING_PROPERTIES: Schema = {
    "mode": _MODE,
    "queue_id": {**_STRING, "nullable": True},
    "legacy_trunk_id": {**_STRING, "nullable": True},
    "switchboard_percent": _PERCENT,
    "fallback_trunk_id": {**_STRING, "nullable": True},
}
_ROUTING: Schema = {
    "type": "object",
    "properties": _ROUTING_PROPERTIES,
    "required": ["mode", "queue_id", "legacy_trunk_id", "switchboard_percent"],
}
_MODE_CHANGE_PROPERTIES: Schema = {
    "mode": _MODE,
    "legacy_trunk_id": {**_ID, "description": "with legacy and split; default: the number's current one"},
    "switchboard_percent": {**_PERCENT, "description": "with split: the callers (by hash) sent to the queue"},
    "queue_id": {**_ID, "description": "default: the number's current queue"},
    "fallback_trunk_id": {
        **_ID,
        "nullable": True,
        "description": "switchboard and split: calls the queue cannot take (max wait or RONA limit, no "
        "overflow of its own) go to this trunk; default: the number's current one; null removes it",
    },
}
_CHANGE: Schema = {
    "type": "object",
    "properties": {"number": _E164, **_ROUTING_PROPERTIES, "previous": _ROUTING},
    "required": ["number", "mode", "previous"],
}

_MENU: Schema = {
    "type": "object",
    "description": "Played to the number's Switchboard-side callers before a queue takes them: a key "
    "of options chooses its queue, an invalid key replays the prompt (up to retries), silence for "
    "timeout_seconds after the prompt goes to default_queue",
    "additionalProperties": False,
    "required": ["options", "default_queue"],
    "properties": {
        "prompt": {
            **_STRING,
            "pattern": values.anchored(PROMPT_NAME_PATTERN),
            "description": "a prompt file of the media relays; default: menu",
        },
        "options": {
            "type": "object",
            "minProperties": 1,
            "description": f"one key of {DIGITS} -> a queue id of the merchant",
            "additionalProperties": _ID,
        },
        "default_queue": _ID,
        "timeout_seconds": {
            "type": "integer",
            "minimum": TIMEOUT_SECONDS_MIN,
            "maximum": TIMEOUT_SECONDS_MAX,
            "default": 5,
        },
        "retries": {"type": "integer", "minimum": 0, "maximum": RETRIES_MAX, "default": 2},
    },
}

_MENU_REF: Schema = {"$ref": "#/components/schemas/Menu"}

NUMBER_SCHEMAS: dict[str, Schema] = {
    "Number": {
        "type": "object",
        "properties": {
            "number": _STRING,
            **_ROUTING_PROPERTIES,
            "menu": {"allOf": [_MENU_REF], "nullable": True},
            "created_at": {"type": "integer"},
        },
        "required": ["number", "queue_id", "mode"],
    },
    "Menu": _MENU,
    "NumberMenu": {
        "type": "object",
        "properties": {"number": _E164, "menu": _MENU_REF},
        "required": ["number", "menu"],
    },
    "NumberModeChange": {"type": "object", "properties": _MODE_CHANGE_PROPERTIES, "required": ["mode"]},
    "NumberChange": {
        "type": "object",
        "properties": {**_CHANGE["properties"], "audit_id": _STRING},
        "required": ["number", "mode", "previous", "audit_id"],
    },
    "NumberChangeBatch": {
        "type": "object",
        "properties": {
            "changes": {
                "type": "array",
                "minItems": 1,
                "maxItems": BATCH_MAX,
                "items": {
                    "type": "object",
                    "properties": {"number": _E164, **_MODE_CHANGE_PROPERTIES},
                    "required": ["number", "mode"],
                },
            }
        },
        "required": ["changes"],
    },
    "NumberChanges": {
        "type": "object",
        "properties": {
            "batch_id": {**_STRING, "nullable": True},
            "audit_ids": {"type": "array", "items": _STRING},
            "changes": {"type": "array", "items": _CHANGE},
        },
        "required": ["batch_id", "audit_ids", "changes"],
    },
    "NumberAudit": {
        "type": "object",
        "properties": {
            "audit_id": _STRING,
            "changed_at": {"type": "integer", "description": "epoch milliseconds"},
            "actor": {"type": "string", "description": "admin, or key:<key id>"},
            "batch_id": {**_STRING, "nullable": True},
            "rollback_of": {**_STRING, "nullable": True, "description": "the entry this one undid"},
            "changes": {"type": "array", "items": _CHANGE},
        },
        "required": ["audit_id", "changed_at", "actor", "changes"],
    },
}
