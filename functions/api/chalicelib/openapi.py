"""The OpenAPI 3 document of the API, built here and committed as ``functions/api/openapi.json``.

The infrastructure generates the API Gateway resources from the committed file, clients and the
fuzz tests read it from ``GET /openapi.json``; a test keeps the file, this module and the app's
routes identical. Regenerate with ``python functions/api/chalicelib/openapi.py > functions/api/openapi.json``.
"""

from __future__ import annotations

import json
from typing import Any

from contact_center.contracts import values

Schema = dict[str, Any]

ID_PATTERN = values.anchored(values.ID_PATTERN)
E164_PATTERN = values.anchored(values.E164_PATTERN)


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
        },
        ["merchant_id", "name", "contact_email", "seat_licenses", "seats_used", "created_at"],
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
        }
    ),
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
    "Number": _obj(
        {"number": STRING, "queue_id": _nullable(STRING), "created_at": TIMESTAMP}, ["number", "queue_id"]
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
    "Trunk": _obj(
        {
            "trunk_id": STRING,
            "name": STRING,
            "source_cidrs": {"type": "array", "items": STRING},
            "legacy": {"type": "boolean"},
            "created_at": TIMESTAMP,
        },
        ["trunk_id", "name", "source_cidrs", "legacy"],
    ),
    "TrunkUpdate": _obj(
        {
            "name": NAME,
            "source_cidrs": {
                "type": "array",
                "items": STRING,
                "minItems": 1,
                "maxItems": 50,
                "description": "IPv4 or IPv6 CIDR blocks; wider than /8 (IPv4) or /32 (IPv6) needs allow_world_open",
            },
            "legacy": {"type": "boolean", "default": False},
            "allow_world_open": {
                "type": "boolean",
                "default": False,
                "description": "accept source_cidrs wider than one carrier's network (calls from anywhere)",
            },
        }
    ),
    "TrunkCreate": {"allOf": [_ref("TrunkUpdate"), {"type": "object", "required": ["name", "source_cidrs"]}]},
}

for _name in ("Merchant", "ApiKey", "Queue", "Number", "Seat", "Trunk"):
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
    "number": {"type": "string", "pattern": E164_PATTERN, "description": "E.164, e.g. +14155550100"},
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

# (method, path, operation id, summary, request schema, success status, response schema, admin only, public)
Operation = tuple[str, str, str, str, str | None, int, str | None, bool, bool]
M = "/merchants/{merchant_id}"
OPERATIONS: list[Operation] = [
    ("get", "/health", "health", "Liveness", None, 200, "Health", False, True),
    ("get", "/openapi.json", "openapi_document", "This document", None, 200, None, False, True),
    (
        "post",
        "/merchants",
        "create_merchant",
        "Sign a merchant up",
        "MerchantCreate",
        201,
        "MerchantCreated",
        True,
        False,
    ),
    ("get", "/merchants", "list_merchants", "List merchants", None, 200, "MerchantPage", True, False),
    ("get", M, "get_merchant", "Read a merchant", None, 200, "Merchant", False, False),
    (
        "patch",
        M,
        "update_merchant",
        "Change profile or seat licences",
        "MerchantUpdate",
        200,
        "Merchant",
        False,
        False,
    ),
    (
        "post",
        M + "/api-keys",
        "create_api_key",
        "Issue an API key",
        "ApiKeyCreate",
        201,
        "ApiKeyCreated",
        False,
        False,
    ),
    ("get", M + "/api-keys", "list_api_keys", "List API keys", None, 200, "ApiKeyPage", False, False),
    (
        "delete",
        M + "/api-keys/{key_id}",
        "delete_api_key",
        "Revoke an API key",
        None,
        204,
        None,
        False,
        False,
    ),
    ("post", M + "/queues", "create_queue", "Create a queue", "QueueCreate", 201, "Queue", False, False),
    ("get", M + "/queues", "list_queues", "List queues", None, 200, "QueuePage", False, False),
    ("get", M + "/queues/{queue_id}", "get_queue", "Read a queue", None, 200, "Queue", False, False),
    (
        "patch",
        M + "/queues/{queue_id}",
        "update_queue",
        "Change a queue",
        "QueueUpdate",
        200,
        "Queue",
        False,
        False,
    ),
    ("delete", M + "/queues/{queue_id}", "delete_queue", "Delete a queue", None, 204, None, False, False),
    (
        "get",
        M + "/queues/{queue_id}/stats",
        "queue_stats",
        "Queue figures (today, UTC)",
        None,
        200,
        "QueueStats",
        False,
        False,
    ),
    (
        "post",
        M + "/numbers",
        "create_number",
        "Claim a phone number",
        "NumberCreate",
        201,
        "Number",
        False,
        False,
    ),
    ("get", M + "/numbers", "list_numbers", "List phone numbers", None, 200, "NumberPage", False, False),
    (
        "delete",
        M + "/numbers/{number}",
        "delete_number",
        "Release a phone number",
        None,
        204,
        None,
        False,
        False,
    ),
    (
        "post",
        M + "/seats",
        "create_seat",
        "Create a seat (one licence)",
        "SeatCreate",
        201,
        "SeatCreated",
        False,
        False,
    ),
    ("get", M + "/seats", "list_seats", "List seats", None, 200, "SeatPage", False, False),
    ("get", M + "/seats/{seat_id}", "get_seat", "Read a seat", None, 200, "Seat", False, False),
    (
        "patch",
        M + "/seats/{seat_id}",
        "update_seat",
        "Change a seat",
        "SeatUpdate",
        200,
        "Seat",
        False,
        False,
    ),
    (
        "delete",
        M + "/seats/{seat_id}",
        "delete_seat",
        "Delete a seat (frees its licence)",
        None,
        204,
        None,
        False,
        False,
    ),
    (
        "post",
        M + "/seats/{seat_id}/credentials",
        "rotate_seat_credentials",
        "New SIP password",
        None,
        201,
        "SipCredentials",
        False,
        False,
    ),
    (
        "get",
        M + "/seats/{seat_id}/state",
        "get_seat_state",
        "The agent's state",
        None,
        200,
        "SeatState",
        False,
        False,
    ),
    (
        "put",
        M + "/seats/{seat_id}/state",
        "put_seat_state",
        "Go available or not ready",
        "SeatStateChange",
        200,
        "SeatState",
        False,
        False,
    ),
    (
        "post",
        M + "/seats/{seat_id}/release",
        "release_seat",
        "Free a seat stuck on a call: its contact ends as forced_release",
        "SeatRelease",
        200,
        "SeatState",
        False,
        False,
    ),
    ("post", "/trunks", "create_trunk", "Add a carrier trunk", "TrunkCreate", 201, "Trunk", True, False),
    ("get", "/trunks", "list_trunks", "List carrier trunks", None, 200, "TrunkPage", True, False),
    (
        "patch",
        "/trunks/{trunk_id}",
        "update_trunk",
        "Change a carrier trunk",
        "TrunkUpdate",
        200,
        "Trunk",
        True,
        False,
    ),
    ("delete", "/trunks/{trunk_id}", "delete_trunk", "Remove a carrier trunk", None, 204, None, True, False),
]

ERROR_RESPONSE: Schema = {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}


def _operation(op: Operation) -> Schema:
    method, path, operation_id, summary, request, status, response, admin_only, public = op
    parameters: list[Schema] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in PATH_PARAMETERS
        if "{" + name + "}" in path
    ]
    if method == "get" and response is not None and response.endswith("Page"):
        parameters += PAGE_PARAMETERS
    if method == "post":
        parameters.append(IDEMPOTENCY_PARAMETER)
    body: Schema = {"description": "No content"}
    if status != 204:
        schema = _ref(response) if response else {"type": "object"}
        body = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    operation: Schema = {
        "operationId": operation_id,
        "summary": summary + (" (platform admin)" if admin_only else ""),
        "parameters": parameters,
        "responses": {str(status): body, "default": ERROR_RESPONSE},
    }
    if request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(request)}},
        }
    if public:
        operation["security"] = []
    return operation


def document() -> Schema:
    paths: dict[str, Schema] = {}
    for op in OPERATIONS:
        paths.setdefault(op[1], {})[op[0]] = _operation(op)
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Switchboard API",
            "version": "1.0.0",
            "description": (
                "Merchants onboard themselves: API keys, queues, phone numbers, seats with SIP credentials "
                "and agent state. Authenticate with 'Authorization: Bearer <key>'. Errors are "
                "{error: {code, message, field}}. POSTs honour Idempotency-Key. Lists take limit and next_token."
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
        },
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, sort_keys=True))
