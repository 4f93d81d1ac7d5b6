"""The OpenAPI 3 document of the API, built here and committed as ``functions/api/openapi.json``.

The infrastructure generates the API Gateway resources from the committed file, clients and the
fuzz tests read it from ``GET /openapi.json``; a test keeps the file, this module and the app's
routes identical. Regenerate with ``(cd functions/api && python -m chalicelib.openapi > openapi.json)``.
"""

from __future__ import annotations

import json

from contact_center.contracts import values

from . import policy
from .routes.transfers import SCHEMAS as TRANSFER_SCHEMAS
from .schemas import (
    IDEMPOTENCY_PARAMETER,
    PAGE_PARAMETERS,
    PATH_PARAMETERS,
    SCHEMAS,
    Schema,
    _ref,
)
from .schemas_desk import DESK_SCHEMAS
from .schemas_people import PEOPLE_SCHEMAS
from .schemas_reports import REPORT_PARAMETERS, REPORT_SCHEMAS
from .schemas_wallboard import WALLBOARD_SCHEMAS

# (method, path, operation id, summary, request schema, success status, response schema); who may call
# each operation comes from the route policy table (``policy``), shown as ``x-roles``.
Operation = tuple[str, str, str, str, str | None, int, str | None]
M = "/merchants/{merchant_id}"
T = M + "/trunks"
PROMPT_AUDIO = "(audio)"
OPERATIONS: list[Operation] = [
    ("get", "/health", "health", "Liveness", None, 200, "Health"),
    ("get", "/openapi.json", "openapi_document", "This document", None, 200, None),
    (
        "post",
        "/auth/sign-in",
        "sign_in",
        "Sign a supervisor or agent in: a session token",
        "SignIn",
        200,
        "Session",
    ),
    (
        "post",
        "/auth/invites/accept",
        "accept_invite",
        "Choose a password with an invite token, and sign in",
        "InviteAccept",
        200,
        "Session",
    ),
    ("get", "/auth/me", "me", "Who these credentials are", None, 200, "Principal"),
    ("post", "/merchants", "create_merchant", "Sign a merchant up", "MerchantCreate", 201, "MerchantCreated"),
    ("get", "/merchants", "list_merchants", "List merchants", None, 200, "MerchantPage"),
    ("get", M, "get_merchant", "Read a merchant", None, 200, "Merchant"),
    ("patch", M, "update_merchant", "Change profile or seat licences", "MerchantUpdate", 200, "Merchant"),
    ("post", M + "/api-keys", "create_api_key", "Issue an API key", "ApiKeyCreate", 201, "ApiKeyCreated"),
    ("get", M + "/api-keys", "list_api_keys", "List API keys", None, 200, "ApiKeyPage"),
    ("delete", M + "/api-keys/{key_id}", "delete_api_key", "Revoke an API key", None, 204, None),
    (
        "post",
        M + "/users",
        "create_user",
        "Let a supervisor or agent sign in",
        "UserCreate",
        201,
        "UserCreated",
    ),
    ("get", M + "/users", "list_users", "List the people who sign in", None, 200, "UserPage"),
    ("get", M + "/users/{user_id}", "get_user", "Read a user", None, 200, "User"),
    ("delete", M + "/users/{user_id}", "delete_user", "Delete a user", None, 204, None),
    (
        "put",
        M + "/users/{user_id}/password",
        "set_user_password",
        "Set a user's password",
        "PasswordSet",
        204,
        None,
    ),
    (
        "post",
        M + "/users/{user_id}/invites",
        "invite_user",
        "A new one-time invite token",
        None,
        201,
        "Invite",
    ),
    ("post", M + "/queues", "create_queue", "Create a queue", "QueueCreate", 201, "Queue"),
    ("get", M + "/queues", "list_queues", "List queues", None, 200, "QueuePage"),
    ("get", M + "/queues/{queue_id}", "get_queue", "Read a queue", None, 200, "Queue"),
    ("patch", M + "/queues/{queue_id}", "update_queue", "Change a queue", "QueueUpdate", 200, "Queue"),
    ("delete", M + "/queues/{queue_id}", "delete_queue", "Delete a queue", None, 204, None),
    (
        "get",
        M + "/queues/{queue_id}/stats",
        "queue_stats",
        "Queue figures (today, UTC)",
        None,
        200,
        "QueueStats",
    ),
    (
        "get",
        M + "/wallboard",
        "wallboard",
        "Live figures of every queue in view (today and this 15-minute interval) and every agent's state",
        None,
        200,
        "Wallboard",
    ),
    (
        "get",
        M + "/contacts",
        "list_contacts",
        "Contact records; ?format=csv or Accept: text/csv exports",
        None,
        200,
        "ContactRecordPage",
    ),
    (
        "get",
        M + "/contacts/{contact_id}/recording",
        "get_recording",
        "A short-lived link to the call's recording (404 when it has none)",
        None,
        200,
        "RecordingLink",
    ),
    (
        "get",
        M + "/reports/queues",
        "queue_intervals",
        "Interval figures per queue",
        None,
        200,
        "IntervalReport",
    ),
    (
        "get",
        M + "/reports/agents",
        "agent_intervals",
        "Interval figures per agent",
        None,
        200,
        "IntervalReport",
    ),
    (
        "get",
        M + "/desk-settings",
        "get_desk_settings",
        "The agents' desk settings",
        None,
        200,
        "DeskSettings",
    ),
    (
        "put",
        M + "/desk-settings",
        "put_desk_settings",
        "Set the CRM link template and the wrap-up codes",
        "DeskSettingsUpdate",
        200,
        "DeskSettings",
    ),
    (
        "get",
        M + "/seats/{seat_id}/desk",
        "get_seat_desk",
        "What the seat's desk shows",
        None,
        200,
        "SeatDesk",
    ),
    (
        "put",
        M + "/contacts/{contact_id}/wrap-up",
        "put_wrap_up",
        "The wrap-up code of a contact (an agent: its own contacts only)",
        "WrapUp",
        200,
        "WrapUpDone",
    ),
    (
        "post",
        M + "/webhooks",
        "create_webhook",
        "Register a webhook URL (its signing secret is shown once)",
        "WebhookCreate",
        201,
        "WebhookCreated",
    ),
    (
        "put",
        M + "/prompts/{name}",
        "upload_prompt",
        f"Upload a prompt: a WAV body, mono, 8 or 16 kHz, 16-bit PCM or G.711, at most "
        f"{values.PROMPT_SECONDS_MAX} s and {values.PROMPT_BYTES_MAX} bytes (415: format, 413: size)",
        PROMPT_AUDIO,
        200,
        "Prompt",
    ),
    ("get", M + "/prompts", "list_prompts", "List the merchant's prompts", None, 200, "PromptList"),
    (
        "delete",
        M + "/prompts/{name}",
        "delete_prompt",
        "Delete a prompt (409 while a queue names it)",
        None,
        204,
        None,
    ),
    ("get", M + "/webhooks", "list_webhooks", "List webhooks", None, 200, "WebhookList"),
    ("delete", M + "/webhooks/{webhook_id}", "delete_webhook", "Delete a webhook", None, 204, None),
    (
        "get",
        M + "/webhooks/failures",
        "list_failed_deliveries",
        "Deliveries that failed for a day of retries",
        None,
        200,
        "DeliveryPage",
    ),
    (
        "post",
        M + "/webhooks/failures/{delivery_id}/replay",
        "replay_delivery",
        "POST a failed delivery again now",
        None,
        200,
        "Delivery",
    ),
    ("post", M + "/numbers", "create_number", "Claim a phone number", "NumberCreate", 201, "Number"),
    ("get", M + "/numbers", "list_numbers", "List phone numbers", None, 200, "NumberPage"),
    (
        "patch",
        M + "/numbers/{number}",
        "update_number",
        "Move a number: switchboard, legacy or split (from its next call)",
        "NumberModeChange",
        200,
        "NumberChange",
    ),
    (
        "post",
        M + "/number-changes",
        "change_numbers",
        "Move many numbers at once, all or nothing",
        "NumberChangeBatch",
        201,
        "NumberChanges",
    ),
    (
        "get",
        M + "/number-changes",
        "list_number_changes",
        "The audit log of number moves, newest first",
        None,
        200,
        "NumberAuditPage",
    ),
    ("delete", M + "/numbers/{number}", "delete_number", "Release a phone number", None, 204, None),
    (
        "put",
        M + "/numbers/{number}/menu",
        "set_number_menu",
        "Give a number a menu: a key chooses the queue (from its next call)",
        "Menu",
        200,
        "NumberMenu",
    ),
    ("delete", M + "/numbers/{number}/menu", "delete_number_menu", "Remove a number's menu", None, 204, None),
    ("post", M + "/seats", "create_seat", "Create a seat (one licence)", "SeatCreate", 201, "SeatCreated"),
    ("get", M + "/seats", "list_seats", "List seats", None, 200, "SeatPage"),
    ("get", M + "/seats/{seat_id}", "get_seat", "Read a seat", None, 200, "Seat"),
    ("patch", M + "/seats/{seat_id}", "update_seat", "Change a seat", "SeatUpdate", 200, "Seat"),
    ("delete", M + "/seats/{seat_id}", "delete_seat", "Delete a seat (frees its licence)", None, 204, None),
    (
        "post",
        M + "/seats/{seat_id}/credentials",
        "rotate_seat_credentials",
        "New SIP password",
        None,
        201,
        "SipCredentials",
    ),
    ("get", M + "/seats/{seat_id}/state", "get_seat_state", "The agent's state", None, 200, "SeatState"),
    (
        "put",
        M + "/seats/{seat_id}/state",
        "put_seat_state",
        "Go available or not ready",
        "SeatStateChange",
        200,
        "SeatState",
    ),
    (
        "post",
        M + "/seats/{seat_id}/release",
        "release_seat",
        "Free a seat stuck on a call: its contact ends as forced_release",
        "SeatRelease",
        200,
        "SeatState",
    ),
    ("get", M + "/home", "get_home", "Where a merchant lives (its home region)", None, 200, "Home"),
    (
        "put",
        M + "/home",
        "move_home",
        "Move a merchant's home to another region, or back (planned maintenance)",
        "HomeMove",
        200,
        "HomeMoved",
    ),
    ("post", "/trunks", "create_trunk", "Add a carrier trunk", "TrunkCreate", 201, "Trunk"),
    ("get", "/trunks", "list_trunks", "List every trunk", None, 200, "TrunkPage"),
    ("get", "/trunks/{trunk_id}", "get_trunk", "Read a trunk", None, 200, "Trunk"),
    ("patch", "/trunks/{trunk_id}", "update_trunk", "Change a trunk", "TrunkUpdate", 200, "Trunk"),
    ("delete", "/trunks/{trunk_id}", "delete_trunk", "Remove a trunk", None, 204, None),
    ("post", T, "create_merchant_trunk", "Add the merchant's own trunk", "TrunkCreate", 201, "Trunk"),
    ("get", T, "list_merchant_trunks", "List the merchant's trunks", None, 200, "TrunkPage"),
    ("get", T + "/{trunk_id}", "get_merchant_trunk", "Read a trunk", None, 200, "Trunk"),
    ("patch", T + "/{trunk_id}", "update_merchant_trunk", "Change a trunk", "TrunkUpdate", 200, "Trunk"),
    ("delete", T + "/{trunk_id}", "delete_merchant_trunk", "Remove a trunk", None, 204, None),
    (
        "post",
        M + "/contacts/{contact_id}/transfer",
        "transfer_contact",
        "Hand a live call on to a queue, a seat or a number (accepted by the edge holding it)",
        "TransferRequest",
        202,
        "TransferAccepted",
    ),
]

ERROR_RESPONSE: Schema = {"description": "Error", "content": {"application/json": {"schema": _ref("Error")}}}


def _operation(op: Operation) -> Schema:
    method, path, operation_id, summary, request, status, response = op
    roles = policy.roles_for(method, path) or frozenset()
    parameters: list[Schema] = [
        {"name": name, "in": "path", "required": True, "schema": PATH_PARAMETERS[name]}
        for name in PATH_PARAMETERS
        if "{" + name + "}" in path
    ]
    if method == "get" and response is not None and response.endswith("Page"):
        parameters += PAGE_PARAMETERS
    parameters += REPORT_PARAMETERS.get(response or "", [])
    if method == "post":
        parameters.append(IDEMPOTENCY_PARAMETER)
    body: Schema = {"description": "No content"}
    if status != 204:
        schema = _ref(response) if response else {"type": "object"}
        body = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    operation: Schema = {
        "operationId": operation_id,
        "summary": summary + (" (platform admin)" if roles == policy.PLATFORM else ""),
        "x-roles": sorted(role.value for role in roles),
        "parameters": parameters,
        "responses": {str(status): body, "default": ERROR_RESPONSE},
    }
    if request == PROMPT_AUDIO:  # the raw file, not JSON
        audio = {"schema": {"type": "string", "format": "binary"}}
        operation["requestBody"] = {
            "required": True,
            "content": dict.fromkeys(values.PROMPT_CONTENT_TYPES, audio),
        }
    elif request is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": _ref(request)}},
        }
    if roles == policy.PUBLIC:
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
            "schemas": {
                **SCHEMAS,
                **PEOPLE_SCHEMAS,
                **REPORT_SCHEMAS,
                **WALLBOARD_SCHEMAS,
                **TRANSFER_SCHEMAS,
                **DESK_SCHEMAS,
            },
        },
    }


if __name__ == "__main__":
    print(json.dumps(document(), indent=2, sort_keys=True))
