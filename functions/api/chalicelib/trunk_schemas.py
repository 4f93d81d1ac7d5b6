"""The trunk schemas of the OpenAPI document (``services.trunk_commands`` holds each field's rule)."""

from __future__ import annotations

from typing import Any

from contact_center.domain.trunks import CALLER_ID_RULES_MAX, MAX_CONCURRENT_CALLS_MAX, Transport

Schema = dict[str, Any]

_STRING: Schema = {"type": "string"}
_E164: Schema = {"type": "string", "pattern": r"^\+[1-9][0-9]{0,14}$"}
_CALLER_ID_RULE: Schema = {
    "type": "object",
    "properties": {
        "prefix": {"type": "string", "pattern": r"^\+?[0-9]{0,15}$", "description": "of the dialled number"},
        "caller_id": _E164,
    },
    "required": ["caller_id"],
}
_CALLER_ID_RULES: Schema = {
    "type": "array",
    "items": _CALLER_ID_RULE,
    "maxItems": CALLER_ID_RULES_MAX,
    "description": "the first rule whose prefix starts the dialled number sets the calling number",
}
_TRANSPORT: Schema = {"type": "string", "enum": [t.value for t in Transport]}

TRUNK_SCHEMAS: dict[str, Schema] = {
    "Trunk": {
        "type": "object",
        "properties": {
            "trunk_id": _STRING,
            "merchant_id": {**_STRING, "nullable": True, "description": "null: a platform carrier"},
            "name": _STRING,
            "source_cidrs": {"type": "array", "items": _STRING},
            "legacy": {"type": "boolean"},
            "address": {**_STRING, "nullable": True},
            "transport": {**_TRANSPORT, "nullable": True},
            "max_concurrent_calls": {"type": "integer", "nullable": True},
            "caller_id_rules": _CALLER_ID_RULES,
            "username": {**_STRING, "nullable": True},
            "realm": {**_STRING, "nullable": True},
            "created_at": {"type": "integer", "description": "epoch milliseconds"},
        },
        "required": ["trunk_id", "name", "source_cidrs", "legacy", "address", "transport"],
    },
    "TrunkUpdate": {
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 100},
            "source_cidrs": {
                "type": "array",
                "items": _STRING,
                "maxItems": 50,
                "description": "IPv4 or IPv6 CIDR blocks; wider than /8 (IPv4) or /32 (IPv6) needs allow_world_open",
            },
            "legacy": {"type": "boolean", "default": False},
            "allow_world_open": {
                "type": "boolean",
                "default": False,
                "description": "accept source_cidrs wider than one carrier's network (calls from anywhere)",
            },
            "address": {
                "type": "string",
                "nullable": True,
                "maxLength": 300,
                "description": "host:port, a SIP URI, or a bare domain (DNS SRV when a call is sent); null clears",
            },
            "transport": {**_TRANSPORT, "default": "udp"},
            "username": {"type": "string", "nullable": True, "maxLength": 128, "description": "null clears"},
            "password": {"type": "string", "maxLength": 256, "description": "kept as HA1 for the realm only"},
            "realm": {"type": "string", "maxLength": 253, "description": "default: the address's host"},
            "max_concurrent_calls": {
                "type": "integer",
                "nullable": True,
                "minimum": 1,
                "maximum": MAX_CONCURRENT_CALLS_MAX,
            },
            "caller_id_rules": _CALLER_ID_RULES,
        },
    },
    "TrunkCreate": {
        "allOf": [
            {"$ref": "#/components/schemas/TrunkUpdate"},
            {"type": "object", "required": ["name"], "description": "source_cidrs, address or both"},
        ]
    },
}
