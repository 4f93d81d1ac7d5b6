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
    "LEFT",
    "NOT_PLAYED",
    "OUTCOMES",
    "Menu",
    "MenuChoice",
    "MenuStep",
    "StepKind",
    "menu_step",
]

DIGITS = "0123456789*#"
TIMEOUT_SECONDS_MIN, TIMEOUT_SECONDS_MAX = 1, 60
RETRIES_MAX = 5
# How a caller leaves a menu (`MenuStep.why`): a key of the menu, silence, too many invalid keys, or
# no menu at all (a call whose media is not anchored cannot be played to: the default queue); or
# by hanging up in it (`LEFT`: the call ends there, and only its record is written).
NOT_PLAYED = "not_played"
LEFT = "caller_left"
OUTCOMES = ("chosen", "timeout", "invalid", NOT_PLAYED, LEFT)


class StepKind(StrEnum):
    ROUTE = "route"  # to ``queue_id``
    REPLAY = "replay"  # the prompt again, waiting for a digit


@dataclass(frozen=True, slots=True)
class MenuStep:
    kind: StepKind
    queue_id: str | None = None
    invalid: int = 0  # invalid digits so far
    why: str = ""  # one of OUTCOMES: for the contact record and logs
    digit: str | None = None  # the key that chose (or the last invalid one); None: silence


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

    def field_of(self, queue_id: str) -> str:
        """The setting that names ``queue_id`` (the default first), for an error about that queue."""
        if queue_id == self.default_queue:
            return "menu.default_queue"
        digit = next((d for d, q in sorted(self.options.items()) if q == queue_id), None)
        return f"menu.options.{digit}" if digit is not None else "menu"

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
        return MenuStep(StepKind.ROUTE, chosen, invalid_so_far, "chosen", digit)
    invalid = invalid_so_far + 1
    if invalid > menu.retries:
        return MenuStep(StepKind.ROUTE, menu.default_queue, invalid, "invalid", digit)
    return MenuStep(StepKind.REPLAY, None, invalid, "invalid", digit)


@dataclass(frozen=True, slots=True)
class MenuChoice:
    """How a caller left the number's menu, as the edge reports it when it routes the call:
    ``queue_id`` the menu gave, ``outcome`` its `MenuStep.why`, ``started_at_ms`` when the menu
    began (the router's time, from its menu decision)."""

    queue_id: str
    outcome: str
    digit: str | None = None
    started_at_ms: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "queue_id": self.queue_id,
            "outcome": self.outcome,
            "digit": self.digit,
            "started_at_ms": self.started_at_ms,
        }

    def queue_in(self, menu: Menu) -> str:
        """The queue this choice routes to under ``menu`` as it stands now: the chosen one while the
        menu still offers it, else the menu's default (a menu changed while the caller chose, or an
        edge naming a queue the menu never had: the caller is answered, never misrouted)."""
        return self.queue_id if self.queue_id in menu.queue_ids() else menu.default_queue
