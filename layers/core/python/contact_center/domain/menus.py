"""A number's menu: a prompt, the digits that choose a queue, and what happens when the caller
presses nothing or a digit the menu does not have.

Pure: the edge plays the prompt and reports what the caller did (a digit, or the timeout after the
prompt), and `menu_step` says what comes next. An invalid digit replays the menu, up to ``retries``
times; one more sends the caller to ``default_queue``, as silence until the timeout does, so a
caller who cannot or will not choose is still answered rather than dropped.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from .errors import ValidationError
from .prompts import is_prompt_name

__all__ = [
    "DIGITS",
    "Menu",
    "MenuStep",
    "StepKind",
    "menu_step",
]

DIGITS = "0123456789*#"
TIMEOUT_SECONDS_MIN, TIMEOUT_SECONDS_MAX = 1, 60
RETRIES_MAX = 5


class StepKind(StrEnum):
    ROUTE = "route"  # to ``queue_id``
    REPLAY = "replay"  # the prompt again, waiting for a digit


@dataclass(frozen=True, slots=True)
class MenuStep:
    kind: StepKind
    queue_id: str | None = None
    invalid: int = 0  # invalid digits so far
    why: str = ""  # "chosen", "timeout", "invalid": for the contact record and logs


def _int_in(value: object, field_name: str, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field_name, f"must be an integer from {low} to {high}")


@dataclass(frozen=True, slots=True)
class Menu:
    """``options``: digit -> queue id of the same merchant (checked by the service, which knows the
    queues); ``timeout_seconds`` counts from the end of the prompt."""

    prompt: str
    default_queue: str
    options: Mapping[str, str] = field(default_factory=dict)
    timeout_seconds: int = 5
    retries: int = 2

    def __post_init__(self) -> None:
        if not is_prompt_name(self.prompt):
            raise ValidationError(
                "menu.prompt", "must be a prompt name (lower-case letters, digits, - and _)"
            )
        if not isinstance(self.default_queue, str) or not self.default_queue:
            raise ValidationError("menu.default_queue", "must be a queue id")
        if not isinstance(self.options, Mapping) or not self.options:
            raise ValidationError("menu.options", "must map at least one digit to a queue id")
        for digit, queue_id in self.options.items():
            if not isinstance(digit, str) or len(digit) != 1 or digit not in DIGITS:
                raise ValidationError("menu.options", f"{digit!r} is not one key of {DIGITS}")
            if not isinstance(queue_id, str) or not queue_id:
                raise ValidationError(f"menu.options.{digit}", "must be a queue id")
        _int_in(self.timeout_seconds, "menu.timeout_seconds", TIMEOUT_SECONDS_MIN, TIMEOUT_SECONDS_MAX)
        _int_in(self.retries, "menu.retries", 0, RETRIES_MAX)

    def queue_ids(self) -> set[str]:
        return {self.default_queue, *self.options.values()}

    def to_dict(self) -> dict[str, object]:
        return {
            "prompt": self.prompt,
            "options": dict(self.options),
            "default_queue": self.default_queue,
            "timeout_seconds": self.timeout_seconds,
            "retries": self.retries,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Menu:
        """A menu from the API or the table; ValidationError naming the field otherwise."""
        known = {"prompt", "options", "default_queue", "timeout_seconds", "retries"}
        for key in data:
            if key not in known:
                raise ValidationError(f"menu.{key}", f"is not a menu setting (one of {sorted(known)})")
        options = data.get("options")
        return cls(
            prompt=data.get("prompt"),  # type: ignore[arg-type]  # checked in __post_init__
            default_queue=data.get("default_queue"),  # type: ignore[arg-type]
            options=options if isinstance(options, Mapping) else {},
            timeout_seconds=data.get("timeout_seconds", 5),  # type: ignore[arg-type]
            retries=data.get("retries", 2),  # type: ignore[arg-type]
        )


def menu_step(menu: Menu, invalid_so_far: int, digit: str | None) -> MenuStep:
    """What follows the caller's ``digit`` (None: the timeout passed with no digit)."""
    if digit is None:
        return MenuStep(StepKind.ROUTE, menu.default_queue, invalid_so_far, "timeout")
    chosen = menu.options.get(digit)
    if chosen is not None:
        return MenuStep(StepKind.ROUTE, chosen, invalid_so_far, "chosen")
    invalid = invalid_so_far + 1
    if invalid > menu.retries:
        return MenuStep(StepKind.ROUTE, menu.default_queue, invalid, "invalid")
    return MenuStep(StepKind.REPLAY, None, invalid, "invalid")
