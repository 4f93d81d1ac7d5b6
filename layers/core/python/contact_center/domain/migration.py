"""Per-number migration from the legacy call centre: which side takes a number's next call.

A number is in one of three modes:

- ``switchboard``: every call goes to the number's queue;
- ``legacy``: every call is forwarded to the legacy trunk;
- ``split``: ``switchboard_percent`` of the callers go to the queue, the rest to the legacy trunk.

A split is sticky per caller: the caller's number hashes to a bucket 0-99 and the caller goes to
Switchboard when the bucket is below the percent, so a customer's repeated calls land on the same
side, and raising the percent only ever moves callers from legacy to Switchboard (never back and
forth during a ramp 10 -> 50 -> 100). The bucket is SHA-256 of the caller's digits: stable across
processes, regions and releases (Python's own ``hash`` is salted per process).

A mode is read when a call arrives and decides that call only: a change applies from the next call
and never touches a call in progress (its contact already has its side).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from .errors import ValidationError

BUCKETS = 100


class NumberMode(StrEnum):
    SWITCHBOARD = "switchboard"
    LEGACY = "legacy"
    SPLIT = "split"


class Side(StrEnum):
    """Which call centre handled a call: written on its contact record."""

    SWITCHBOARD = "switchboard"
    LEGACY = "legacy"


@dataclass(frozen=True, slots=True)
class NumberRouting:
    """A number's mode; ``legacy_trunk_id`` is set for legacy and split, ``queue_id`` for
    switchboard and split (and, in legacy mode, is where calls fall back when the legacy side fails).

    ``fallback_trunk_id`` is the other direction: a Switchboard-side call whose queue cannot take it
    (its max wait reached, or its RONA limit, with no overflow of the queue's own) is forwarded to
    that trunk instead of being refused, so a wave can start with Switchboard first and the legacy
    centre behind it."""

    mode: NumberMode
    queue_id: str | None = None
    legacy_trunk_id: str | None = None
    switchboard_percent: int = 100
    fallback_trunk_id: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.switchboard_percent <= 100:
            raise ValidationError("switchboard_percent", "must be an integer from 0 to 100")

    @classmethod
    def of(
        cls,
        mode: NumberMode,
        queue_id: str | None,
        legacy_trunk_id: str | None,
        percent: int | None,
        fallback_trunk_id: str | None = None,
    ) -> NumberRouting:
        """A new mode, checked: each side it may send calls to is named. The percent is the
        request's in a split, the mode's own otherwise."""
        if mode is NumberMode.LEGACY and fallback_trunk_id is not None:
            raise ValidationError(
                "fallback_trunk_id", "is for modes with a Switchboard side (switchboard, split)"
            )
        if mode is not NumberMode.SWITCHBOARD and legacy_trunk_id is None:
            raise ValidationError("legacy_trunk_id", f"is required with mode {mode.value}")
        if mode is not NumberMode.LEGACY and queue_id is None:
            raise ValidationError("queue_id", f"is required with mode {mode.value}")
        if mode is NumberMode.SPLIT:
            if percent is None:
                raise ValidationError("switchboard_percent", "is required with mode split")
            return cls(mode, queue_id, legacy_trunk_id, percent, fallback_trunk_id)
        percent = 100 if mode is NumberMode.SWITCHBOARD else 0
        return cls(mode, queue_id, legacy_trunk_id, percent, fallback_trunk_id)

    def side_for(self, caller: str) -> Side:
        if self.mode is NumberMode.SPLIT:
            return Side.SWITCHBOARD if bucket_of(caller) < self.switchboard_percent else Side.LEGACY
        return Side.SWITCHBOARD if self.mode is NumberMode.SWITCHBOARD else Side.LEGACY


def bucket_of(caller: str) -> int:
    """The caller's bucket, 0-99: the same for "+14155550100" and "14155550100"."""
    digits = "".join(ch for ch in caller if ch.isdigit()) or caller
    return int.from_bytes(hashlib.sha256(digits.encode()).digest()[:8], "big") % BUCKETS


def parse_mode(value: object, field: str = "mode") -> NumberMode:
    try:
        return NumberMode(value) if isinstance(value, str) else NumberMode("")
    except ValueError:
        raise ValidationError(field, f"must be one of {[m.value for m in NumberMode]}") from None


def parse_percent(value: object, field: str = "switchboard_percent") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ValidationError(field, "must be an integer from 0 to 100")
    return value
