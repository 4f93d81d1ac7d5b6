"""OpenAPI schemas of the agent desk's routes (``routes/desk.py``)."""

from __future__ import annotations

from contact_center.domain import desk

from .schemas import STRING, Schema, _nullable, _obj

_TEMPLATE: Schema = {
    "type": "string",
    "maxLength": desk.MAX_TEMPLATE_LENGTH,
    "description": "https URL; {caller} is replaced by the caller's number, e.g. https://crm.example/c?phone={caller}",
}
_CODES: Schema = {
    "type": "array",
    "maxItems": desk.MAX_WRAP_UP_CODES,
    "items": {"type": "string", "minLength": 1, "maxLength": desk.MAX_WRAP_UP_CODE_LENGTH},
}

DESK_SCHEMAS: dict[str, Schema] = {
    "DeskSettings": _obj(
        {"crm_link_template": _nullable(_TEMPLATE), "wrap_up_codes": _CODES},
        ["crm_link_template", "wrap_up_codes"],
    ),
    "DeskSettingsUpdate": _obj({"crm_link_template": _nullable(_TEMPLATE), "wrap_up_codes": _CODES}),
    "SeatDesk": _obj(
        {"seat_id": STRING, "crm_link_template": _nullable(_TEMPLATE), "wrap_up_codes": _CODES},
        ["seat_id", "crm_link_template", "wrap_up_codes"],
    ),
    "WrapUp": _obj({"code": {"type": "string", "maxLength": desk.MAX_WRAP_UP_CODE_LENGTH}}, ["code"]),
    "WrapUpDone": _obj({"contact_id": STRING, "wrap_up_code": STRING}, ["contact_id", "wrap_up_code"]),
}
