"""The agent desk's use cases: the merchant's desk settings, what an agent's desk reads, wrap-up codes.

An agent may read its desk (its seat's state, the CRM link template, the wrap-up codes) but none of
the merchant's settings routes; the desk view is the one thing the settings are shown to it through.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.access import Principal, Role
from contact_center.domain.desk import (
    DeskSettings,
    check_wrap_up_code,
    validate_crm_link_template,
    validate_wrap_up_codes,
)
from contact_center.domain.errors import ValidationError

from .errors import ForbiddenError
from .ports import Clock


class DeskSettingsPort(Protocol):
    def get(self, merchant_id: str) -> DeskSettings: ...
    def put(self, merchant_id: str, settings: DeskSettings, now_ms: int) -> None: ...


class WrapUpPort(Protocol):
    def set_code(self, merchant_id: str, contact_id: str, seat_id: str | None, code: str) -> None: ...


@dataclass(frozen=True)
class WrapUp:
    contact_id: str
    code: str


def parse_desk_settings(body: Mapping[str, Any], current: DeskSettings) -> DeskSettings:
    """A PUT body: each field given replaces the current one; unknown fields are refused."""
    unknown = sorted(set(body) - {"crm_link_template", "wrap_up_codes"})
    if unknown:
        raise ValidationError(unknown[0], "is not a desk setting")
    template = current.crm_link_template
    if "crm_link_template" in body:
        template = validate_crm_link_template(body["crm_link_template"])
    codes = current.wrap_up_codes
    if "wrap_up_codes" in body:
        codes = validate_wrap_up_codes(body["wrap_up_codes"])
    return DeskSettings(template, codes)


class DeskService:
    def __init__(self, settings: DeskSettingsPort, wrap_ups: WrapUpPort, clock: Clock) -> None:
        self._settings = settings
        self._wrap_ups = wrap_ups
        self._clock = clock

    def settings(self, merchant_id: str) -> DeskSettings:
        return self._settings.get(merchant_id)

    def update_settings(self, merchant_id: str, body: Mapping[str, Any]) -> DeskSettings:
        updated = parse_desk_settings(body, self._settings.get(merchant_id))
        self._settings.put(merchant_id, updated, self._clock())
        return updated

    def wrap_up(
        self, principal: Principal, merchant_id: str, contact_id: str, body: Mapping[str, Any]
    ) -> WrapUp:
        """The code on the contact's record: an agent's own contacts only, the admins' any."""
        if principal.role is Role.SUPERVISOR:
            raise ForbiddenError("wrap-up codes are set by the agent who took the call", "contact_id")
        code = check_wrap_up_code(body.get("code"), self._settings.get(merchant_id).wrap_up_codes)
        seat = principal.seat_id if principal.role is Role.AGENT else None
        self._wrap_ups.set_code(merchant_id, contact_id, seat, code)
        return WrapUp(contact_id, code)
