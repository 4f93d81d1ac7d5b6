"""Queues and the order of the contacts waiting in them.

Priority runs from 1 (most urgent) to 10 (least urgent) for contacts and queues alike, so a lower
number is always served first and the natural ascending sort is the service order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from .agent_state import WRAP_UP_SECONDS_MAX
from .callbacks import CallbackPolicy
from .contact import (
    DEFAULT_CONTACT_PRIORITY,
    PRIORITY_LEAST_URGENT,
    PRIORITY_MOST_URGENT,
    Channel,
)
from .errors import ValidationError
from .prompts import PROMPT_NAME_RULE, is_prompt_name
from .recording import check_recording_percent
from .skills import SkillRequirement

DEFAULT_QUEUE_PRIORITY = 5
DEFAULT_MAX_WAIT_SECONDS = 300
MAX_WAIT_SECONDS_MAX = 7200
# A queue's service level counts contacts answered within this many seconds (the wallboard's figure).
DEFAULT_SERVICE_LEVEL_SECONDS = 20
SERVICE_LEVEL_SECONDS_MIN = 1
SERVICE_LEVEL_SECONDS_MAX = 3600

SORT_KEY_SEPARATOR = "#"
# Widths of the fixed fields of the sort key. 15 digits of epoch milliseconds last until the
# year 33658; priority needs two digits for 10.
_PRIORITY_WIDTH = 2
_MILLIS_WIDTH = 15
MAX_SORTABLE_MILLIS = 10**_MILLIS_WIDTH - 1


class RoutingStrategy(StrEnum):
    LONGEST_IDLE = "longest_idle"
    ROUND_ROBIN = "round_robin"
    MOST_SKILLED = "most_skilled"


class OverflowKind(StrEnum):
    QUEUE = "queue"  # move the contact to another queue of ours
    LEGACY_TRUNK = "legacy_trunk"  # hand it to the legacy call centre during cut-over


@dataclass(frozen=True, slots=True)
class Overflow:
    """Where a contact goes when it reaches the queue's max wait; no Overflow means reject it."""

    kind: OverflowKind
    target: str

    def __post_init__(self) -> None:
        if not self.target:
            raise ValidationError("overflow.target", "must not be empty")


class AnswerMode(StrEnum):
    """How a queued caller's INVITE is answered while it waits."""

    # 183 Session Progress with the relay's SDP: the caller hears the queue's media before any
    # answer, so the call is not billed (nor counted answered by the carrier) until an agent takes it.
    EARLY_MEDIA = "early_media"
    # 200 OK with the relay's SDP as the caller is queued: billing starts, and carriers that drop an
    # unanswered INVITE after 60-180 s keep the call through a long wait. The agent is bridged on
    # the relay (the caller's port does not change), with no second answer toward the caller.
    ANSWER = "200"


DEFAULT_GREETING = "greeting"
ANNOUNCE_EVERY_SECONDS_MIN = 10
ANNOUNCE_EVERY_SECONDS_MAX = 600


@dataclass(frozen=True, slots=True)
class QueueMedia:
    """What a queued caller hears: ``greeting`` (a prompt name, None for none) once, then its place
    and expected wait every ``announce_every_seconds`` (0: on entry only), music in between.

    ``greeting_prompt`` and ``music_prompt`` name prompts the merchant uploaded, played instead of
    the default greeting (when there is one) and the default music."""

    answer: AnswerMode = AnswerMode.EARLY_MEDIA
    greeting: str | None = DEFAULT_GREETING
    announce_every_seconds: int = 30
    greeting_prompt: str | None = None
    music_prompt: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.answer, AnswerMode):
            raise ValidationError("media.answer", f"must be one of {[mode.value for mode in AnswerMode]}")
        for name, value in (
            ("greeting", self.greeting),
            ("greeting_prompt", self.greeting_prompt),
            ("music_prompt", self.music_prompt),
        ):
            if value is not None and not is_prompt_name(value):
                raise ValidationError(f"media.{name}", f"must be {PROMPT_NAME_RULE}, or null")
        every = self.announce_every_seconds
        if (
            isinstance(every, bool)
            or not isinstance(every, int)
            or not (every == 0 or ANNOUNCE_EVERY_SECONDS_MIN <= every <= ANNOUNCE_EVERY_SECONDS_MAX)
        ):
            raise ValidationError(
                "media.announce_every_seconds",
                f"must be 0 (on entry only) or an integer from {ANNOUNCE_EVERY_SECONDS_MIN} "
                f"to {ANNOUNCE_EVERY_SECONDS_MAX}",
            )

    def as_dict(self) -> dict[str, object]:
        """The settings as the API shows them, the table stores them and a decision carries them."""
        return {
            "answer": self.answer.value,
            "greeting": self.greeting,
            "announce_every_seconds": self.announce_every_seconds,
            "greeting_prompt": self.greeting_prompt,
            "music_prompt": self.music_prompt,
        }


def _check_int_range(field: str, value: int, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, f"must be an integer from {low} to {high}")


@dataclass(frozen=True, slots=True)
class QueueConfig:
    """A queue's routing settings, as an admin configures them."""

    queue_id: str
    name: str = ""
    required_skills: tuple[SkillRequirement, ...] = ()
    priority: int = DEFAULT_QUEUE_PRIORITY
    strategy: RoutingStrategy = RoutingStrategy.LONGEST_IDLE
    max_wait_seconds: int = DEFAULT_MAX_WAIT_SECONDS
    overflow: Overflow | None = None
    wrap_up_seconds: int = 0
    media: QueueMedia = field(default_factory=QueueMedia)
    # The share of answered calls recorded (``domain.recording``): 0 records none.
    recording_percent: int = 0
    # None: a queued caller's keys leave no callback (``domain.callbacks``).
    callback: CallbackPolicy | None = None

    def __post_init__(self) -> None:
        if not self.queue_id:
            raise ValidationError("queue_id", "must not be empty")
        _check_int_range("priority", self.priority, PRIORITY_MOST_URGENT, PRIORITY_LEAST_URGENT)
        _check_int_range("max_wait_seconds", self.max_wait_seconds, 1, MAX_WAIT_SECONDS_MAX)
        _check_int_range("wrap_up_seconds", self.wrap_up_seconds, 0, WRAP_UP_SECONDS_MAX)
        check_recording_percent(self.recording_percent)
        names = [requirement.name for requirement in self.required_skills]
        if len(names) != len(set(names)):
            raise ValidationError("required_skills", "a skill may be required only once")
        if (
            self.overflow is not None
            and self.overflow.kind is OverflowKind.QUEUE
            and self.overflow.target == self.queue_id
        ):
            raise ValidationError("overflow.target", "a queue cannot overflow into itself")

    def wait_deadline_ms(self, enqueued_at_ms: int) -> int:
        return enqueued_at_ms + self.max_wait_seconds * 1000

    def wait_expired(self, enqueued_at_ms: int, now_ms: int) -> bool:
        return now_ms >= self.wait_deadline_ms(enqueued_at_ms)


@dataclass(frozen=True, slots=True)
class QueuedContact:
    """A contact waiting in one queue: what the ACD needs to pick it, nothing more."""

    contact_id: str
    queue_id: str
    enqueued_at_ms: int
    priority: int = DEFAULT_CONTACT_PRIORITY
    channel: Channel = Channel.VOICE

    def __post_init__(self) -> None:
        _check_int_range("priority", self.priority, PRIORITY_MOST_URGENT, PRIORITY_LEAST_URGENT)

    @property
    def order_key(self) -> tuple[int, int, str]:
        """Service order within a queue: most urgent priority, then oldest, then id for determinism."""
        return (self.priority, self.enqueued_at_ms, self.contact_id)

    @property
    def sort_key(self) -> str:
        return queue_sort_key(self.priority, self.enqueued_at_ms, self.contact_id)


def queue_sort_key(priority: int, enqueued_at_ms: int, contact_id: str) -> str:
    """A string whose lexicographic order is the service order (priority ascending, then age).

    Priority 1 is the most urgent and sorts first; among equals the earliest ``enqueued_at_ms``
    sorts first; ``contact_id`` breaks exact ties and makes the key unique. Fixed-width zero-padded
    numbers make string order equal numeric order, and the id comes last so any characters in it
    are safe. DynamoDB compares strings as UTF-8 bytes, which orders like Python's code-point
    comparison, so a Query with ScanIndexForward=True returns the queue head first.
    """
    _check_int_range("priority", priority, PRIORITY_MOST_URGENT, PRIORITY_LEAST_URGENT)
    _check_int_range("enqueued_at_ms", enqueued_at_ms, 0, MAX_SORTABLE_MILLIS)
    if not contact_id:
        raise ValidationError("contact_id", "must not be empty")
    return (
        f"{priority:0{_PRIORITY_WIDTH}d}{SORT_KEY_SEPARATOR}"
        f"{enqueued_at_ms:0{_MILLIS_WIDTH}d}{SORT_KEY_SEPARATOR}{contact_id}"
    )


def parse_queue_sort_key(key: str) -> tuple[int, int, str]:
    """Inverse of ``queue_sort_key``: (priority, enqueued_at_ms, contact_id)."""
    parts = key.split(SORT_KEY_SEPARATOR, 2)
    if (
        len(parts) != 3
        or len(parts[0]) != _PRIORITY_WIDTH
        or len(parts[1]) != _MILLIS_WIDTH
        or not all(part.isascii() and part.isdigit() for part in parts[:2])
        or not parts[2]
    ):
        raise ValidationError("sort_key", f"not a queue sort key: {key!r}")
    return int(parts[0]), int(parts[1]), parts[2]
