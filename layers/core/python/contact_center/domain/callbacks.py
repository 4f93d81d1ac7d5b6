"""Callbacks that keep their place: a queued caller presses a key, hangs up, and is called back when
its turn comes.

- A queue offers callbacks when it has a ``CallbackPolicy`` (none by default): the key that leaves
  one, how many times the customer is dialled at most, and how long after a failed dial the next one
  may be made.
- The key counts only once the caller has been told of it (the queue's announcement names it), and
  only the queue's own key: a key pressed before (a number's menu key pressed twice, or late) or
  another key leaves the caller waiting as it was.
- Leaving a callback changes nothing about the contact's place: its priority and enqueue time stay,
  so it is served when it would have been had the caller held on.
- Each dial of the customer is one attempt with its result and SIP status. A failed one (busy, no
  answer, any other failure) puts the contact back in its queue at its original enqueue time, not
  eligible before ``retry_seconds`` after that attempt ended; it keeps its place rather than going
  to the back. After ``max_attempts`` failed dials the contact ends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from .errors import ValidationError

CALLBACK_KEYS = "0123456789*#"
MAX_ATTEMPTS_MAX = 10
RETRY_SECONDS_MIN = 10
RETRY_SECONDS_MAX = 3600
_FIELDS = ("digit", "max_attempts", "retry_seconds")


class DialResult(StrEnum):
    """How one dial of the customer ended."""

    ANSWERED = "answered"
    BUSY = "busy"  # 486 / 600
    NO_ANSWER = "no_answer"  # 408 / 480 / 487 (our own CANCEL at the dial timeout), or no final at all
    FAILED = "failed"  # any other final status, or no route to the trunk


def dial_result_of(status: int | None) -> DialResult:
    """A dial's result from its final status (None: the transaction timed out or never left)."""
    if status is None or status in (408, 480, 487):
        return DialResult.NO_ANSWER
    if 200 <= status < 300:
        return DialResult.ANSWERED
    if status in (486, 600):
        return DialResult.BUSY
    return DialResult.FAILED


def asks_for_callback(queue_key: str | None, pressed: str, told: bool) -> bool:
    """Whether a key a queued caller pressed asks for a callback: the queue's key (None: it takes no
    callbacks), pressed once the caller has heard that it may."""
    return told and queue_key is not None and pressed == queue_key


def _check_int(field: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"callback.{field}", f"must be an integer from {low} to {high}")
    return value


@dataclass(frozen=True, slots=True)
class CallbackPolicy:
    """A queue's callbacks: ``digit`` leaves one; the customer is dialled at most ``max_attempts``
    times, ``retry_seconds`` apart at the least."""

    digit: str = "1"
    max_attempts: int = 3
    retry_seconds: int = 120

    def __post_init__(self) -> None:
        if not isinstance(self.digit, str) or len(self.digit) != 1 or self.digit not in CALLBACK_KEYS:
            raise ValidationError("callback.digit", f"must be one key of {CALLBACK_KEYS!r}")
        _check_int("max_attempts", self.max_attempts, 1, MAX_ATTEMPTS_MAX)
        _check_int("retry_seconds", self.retry_seconds, RETRY_SECONDS_MIN, RETRY_SECONDS_MAX)

    def as_dict(self) -> dict[str, object]:
        return {"digit": self.digit, "max_attempts": self.max_attempts, "retry_seconds": self.retry_seconds}

    @classmethod
    def from_value(cls, value: object) -> CallbackPolicy | None:
        """A queue's ``callback`` as the API sends it and the table stores it: null (no callbacks) or
        an object whose left-out fields take their defaults."""
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise ValidationError("callback", "must be an object or null")
        for key in value:
            if key not in _FIELDS:
                raise ValidationError(
                    f"callback.{key}", f"is not a callback setting (one of {list(_FIELDS)})"
                )
        defaults = cls()
        return cls(
            digit=value.get("digit", defaults.digit),
            max_attempts=value.get("max_attempts", defaults.max_attempts),
            retry_seconds=value.get("retry_seconds", defaults.retry_seconds),
        )


@dataclass(frozen=True, slots=True)
class CallbackAttempt:
    """One dial of the customer: when it started and ended, its result and final SIP status."""

    started_at_ms: int
    ended_at_ms: int
    result: DialResult
    status: int | None = None


class CallbackVerdict(StrEnum):
    DIAL = "dial"  # the customer may be dialled now
    WAIT = "wait"  # a failed dial was too recent
    GIVE_UP = "give_up"  # every attempt is spent
    DONE = "done"  # the customer answered


@dataclass(frozen=True, slots=True)
class CallbackState:
    verdict: CallbackVerdict
    due_at_ms: int | None = None  # when WAIT ends


def callback_state(policy: CallbackPolicy, attempts: Sequence[CallbackAttempt], now_ms: int) -> CallbackState:
    """Whether a callback that made ``attempts`` (oldest first) may dial its customer at ``now_ms``."""
    if any(attempt.result is DialResult.ANSWERED for attempt in attempts):
        return CallbackState(CallbackVerdict.DONE)
    if len(attempts) >= policy.max_attempts:
        return CallbackState(CallbackVerdict.GIVE_UP)
    if not attempts:
        return CallbackState(CallbackVerdict.DIAL)
    due = attempts[-1].ended_at_ms + policy.retry_seconds * 1000
    if now_ms < due:
        return CallbackState(CallbackVerdict.WAIT, due)
    return CallbackState(CallbackVerdict.DIAL, due)
