"""Transfers of a live call from the web desk (``services.contact_transfers``)."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from chalicelib.schemas import STRING, Schema
from contact_center.services.contact_transfers import parse_transfer

routes = Routes()

TRANSFER = "/merchants/{merchant_id}/contacts/{contact_id}/transfer"

_TARGET_VALUE: Schema = {**STRING, "minLength": 1, "maxLength": 128}
SCHEMAS: dict[str, Schema] = {
    "TransferRequest": {
        "type": "object",
        "required": ["target"],
        "additionalProperties": False,
        "properties": {
            "target": {
                "type": "object",
                "description": "Exactly one of: a queue, a seat, or a number of the merchant",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": False,
                "properties": {"queue_id": _TARGET_VALUE, "seat_id": _TARGET_VALUE, "number": _TARGET_VALUE},
            }
        },
    },
    "TransferAccepted": {
        "type": "object",
        "required": ["contact_id", "target", "status"],
        "properties": {
            "contact_id": STRING,
            "target": {"type": "object"},
            "status": {"type": "string", "enum": ["accepted"]},
        },
    },
}


@routes.route(TRANSFER, methods=["POST"])
@endpoint(202)
def transfer_contact(call: Call, merchant_id: str, contact_id: str) -> dict[str, Any]:
    owner = call.merchant(merchant_id)
    target = parse_transfer(call.body())
    call.services.contact_transfers.transfer(call.principal, owner, contact_id, target)
    return {"contact_id": contact_id, "target": {target.kind: target.value}, "status": "accepted"}
