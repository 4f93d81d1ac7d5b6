"""The OpenAPI 3 document of the API, built here and committed as ``functions/api/openapi.json``.

The infrastructure generates the API Gateway resources from the committed file, clients and the
fuzz tests read it from ``GET /openapi.json``; a test keeps the file, this module and the app's
routes identical. Regenerate with ``(cd functions/api && python -m chalicelib.openapi > openapi.json)``.
"""

from __future__ import annotations

import json

from .schemas import (
    IDEMPOTENCY_PARAMETER,
    PAGE_PARAMETERS,
    PATH_PARAMETERS,
    SCHEMAS,
    Schema,
    _ref,
)

# (method, path, operation id, summary, request schema, success status, response schema, admin only, public)
Operation = tuple[str, str, str, str, str | None, int, str | None, bool, bool]
M = "/merchants/{merchant_id}"
T = M + "/trunks"
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
        "patch",
        M + "/numbers/{number}",
        "update_number",
        "Move a number: switchboard, legacy or split (from its next call)",
        "NumberModeChange",
        200,
        "NumberChange",
        False,
        False,
    ),
    (
        "post",
        M + "/number-changes",
        "change_numbers",
        "Move many numbers at once, all or nothing",
        "NumberChangeBatch",
        201,
        "NumberChanges",
        False,
        False,
    ),
    (
        "get",
        M + "/number-changes",
        "list_number_changes",
        "The audit log of number moves, newest first",
        None,
        200,
        "NumberAuditPage",
        False,
        False,
    ),
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
    ("get", "/trunks", "list_trunks", "List every trunk", None, 200, "TrunkPage", True, False),
    ("get", "/trunks/{trunk_id}", "get_trunk", "Read a trunk", None, 200, "Trunk", True, False),
    (
        "patch",
        "/trunks/{trunk_id}",
        "update_trunk",
        "Change a trunk",
        "TrunkUpdate",
        200,
        "Trunk",
        True,
        False,
    ),
    ("delete", "/trunks/{trunk_id}", "delete_trunk", "Remove a trunk", None, 204, None, True, False),
    (
        "post",
        T,
        "create_merchant_trunk",
        "Add the merchant's own trunk",
        "TrunkCreate",
        201,
        "Trunk",
        False,
        False,
    ),
    ("get", T, "list_merchant_trunks", "List the merchant's trunks", None, 200, "TrunkPage", False, False),
    ("get", T + "/{trunk_id}", "get_merchant_trunk", "Read a trunk", None, 200, "Trunk", False, False),
    (
        "patch",
        T + "/{trunk_id}",
        "update_merchant_trunk",
        "Change a trunk",
        "TrunkUpdate",
        200,
        "Trunk",
        False,
        False,
    ),
    ("delete", T + "/{trunk_id}", "delete_merchant_trunk", "Remove a trunk", None, 204, None, False, False),
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
