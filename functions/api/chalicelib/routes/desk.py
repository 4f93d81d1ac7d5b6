"""The agent desk: the merchant's desk settings (CRM link, wrap-up codes), a seat's desk, wrap-ups."""

from __future__ import annotations

from typing import Any

from chalicelib.http import Call, endpoint
from chalicelib.routes import Routes
from contact_center.domain.desk import DeskSettings
from contact_center.domain.errors import ValidationError

routes = Routes()

Json = dict[str, Any]
MERCHANT = "/merchants/{merchant_id}"


def settings_view(settings: DeskSettings) -> Json:
    return {
        "crm_link_template": settings.crm_link_template,
        "wrap_up_codes": list(settings.wrap_up_codes),
    }


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    return body


@routes.route(MERCHANT + "/desk-settings", methods=["GET"])
@endpoint()
def get_desk_settings(call: Call, merchant_id: str) -> Json:
    return settings_view(call.services.desk.settings(call.merchant(merchant_id)))


@routes.route(MERCHANT + "/desk-settings", methods=["PUT"])
@endpoint()
def put_desk_settings(call: Call, merchant_id: str) -> Json:
    owner = call.merchant(merchant_id)
    return settings_view(call.services.desk.update_settings(owner, _object(call.body())))


@routes.route(MERCHANT + "/seats/{seat_id}/desk", methods=["GET"])
@endpoint()
def get_seat_desk(call: Call, merchant_id: str, seat_id: str) -> Json:
    """What the seat's desk shows beside a call; the agent's only view of the merchant's settings."""
    settings = call.services.desk.settings(call.merchant(merchant_id))
    return {"seat_id": seat_id, **settings_view(settings)}


@routes.route(MERCHANT + "/contacts/{contact_id}/wrap-up", methods=["PUT"])
@endpoint()
def put_wrap_up(call: Call, merchant_id: str, contact_id: str) -> Json:
    owner = call.merchant(merchant_id)
    done = call.services.desk.wrap_up(call.principal, owner, contact_id, _object(call.body()))
    return {"contact_id": done.contact_id, "wrap_up_code": done.code}
