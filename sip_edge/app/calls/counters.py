"""Call counters of one edge task: the heartbeat reports them, CloudWatch gets them in AWS."""

from __future__ import annotations

__all__ = ["CallCounters"]


class CallCounters:
    def __init__(self) -> None:
        self.active = 0
        self.started = 0  # since the last publication
        self.started_total = 0

    def call_started(self) -> None:
        self.active += 1
        self.started += 1
        self.started_total += 1

    def call_adopted(self) -> None:
        """A call set up by another task, now held here (its start was counted there)."""
        self.active += 1

    def call_ended(self) -> None:
        self.active = max(0, self.active - 1)

    def take_started(self) -> int:
        started, self.started = self.started, 0
        return started
