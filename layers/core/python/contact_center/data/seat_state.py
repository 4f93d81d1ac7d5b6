"""A seat's live state as the repositories write it (the seat and its availability entries read it)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SeatState"]


@dataclass(frozen=True)
class SeatState:
    """A seat's live state as the state machine produced it; written only over the version it read."""

    state: str
    version: int
    state_since: int
    reason: str | None = None
    idle_since: int | None = None
    contact_id: str | None = None
    wrap_up_until: int | None = None
