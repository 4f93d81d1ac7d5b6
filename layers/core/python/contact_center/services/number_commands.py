"""Typed inputs of the number-mode use cases (the migration from the legacy call centre).

``PATCH /merchants/{id}/numbers/{number}`` takes ``mode`` (switchboard | legacy | split) with
``legacy_trunk_id`` (legacy, split), ``switchboard_percent`` (split, 0-100) and optionally
``queue_id``, and ``fallback_trunk_id`` (switchboard, split: where calls go when the queue cannot
take them; null removes it); a trunk or queue not given is the number's current one. The batch endpoint takes
``{"changes": [{"number": ..., <the same fields>}, ...]}``.

``PUT /merchants/{id}/numbers/{number}/menu`` takes the number's menu (``domain.menus``): ``prompt``
(default ``menu``), ``options`` (digit -> queue id), ``default_queue``, ``timeout_seconds``, ``retries``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from contact_center.domain.errors import ValidationError
from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberMode, parse_mode, parse_percent
from contact_center.domain.validation import validate_e164, validate_identifier

BATCH_MAX = 1000


@dataclass(frozen=True)
class SetNumberMode:
    number: str
    mode: NumberMode
    legacy_trunk_id: str | None = None
    switchboard_percent: int | None = None
    queue_id: str | None = None
    fallback_trunk_id: str | None = None
    fallback_given: bool = False  # False: the number keeps its fallback trunk


def parse_set_number_mode(number: str, body: object, prefix: str = "") -> SetNumberMode:
    data = _object(body, prefix or "body")
    percent = data.get("switchboard_percent")
    trunk = data.get("legacy_trunk_id")
    queue = data.get("queue_id")
    fallback = data.get("fallback_trunk_id")
    return SetNumberMode(
        number=number,
        mode=parse_mode(data.get("mode"), prefix + "mode"),
        legacy_trunk_id=None if trunk is None else validate_identifier(trunk, prefix + "legacy_trunk_id"),
        switchboard_percent=None
        if percent is None
        else parse_percent(percent, prefix + "switchboard_percent"),
        queue_id=None if queue is None else validate_identifier(queue, prefix + "queue_id"),
        fallback_trunk_id=None
        if fallback is None
        else validate_identifier(fallback, prefix + "fallback_trunk_id"),
        fallback_given="fallback_trunk_id" in data,
    )


def parse_set_number_modes(body: object) -> tuple[SetNumberMode, ...]:
    changes = _object(body, "body").get("changes")
    if not isinstance(changes, list) or not 1 <= len(changes) <= BATCH_MAX:
        raise ValidationError("changes", f"must be a list of 1 to {BATCH_MAX} changes")
    parsed: list[SetNumberMode] = []
    seen: set[str] = set()
    for index, change in enumerate(changes):
        prefix = f"changes[{index}]."
        number = validate_e164(_object(change, f"changes[{index}]").get("number"), prefix + "number")
        if number in seen:
            raise ValidationError(prefix + "number", f"{number} is given twice")
        seen.add(number)
        parsed.append(parse_set_number_mode(number, change, prefix))
    return tuple(parsed)


DEFAULT_MENU_PROMPT = "menu"  # the default prompts' menu (`make prompts`)


def parse_number_menu(body: object) -> Menu:
    """A number's menu from a request body; ValidationError naming the field (``menu.options.1``)."""
    data = _object(body, "body")
    menu = Menu.from_dict({"prompt": DEFAULT_MENU_PROMPT, **data})
    validate_identifier(menu.default_queue, "menu.default_queue")
    for digit, queue_id in menu.options.items():
        validate_identifier(queue_id, f"menu.options.{digit}")
    return menu


def _object(body: object, field: str) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationError(field, "must be a JSON object")
    return body
