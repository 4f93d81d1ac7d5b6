"""Functions invoked on a timer: which, how often, with which event.

The CDK app makes an EventBridge rule of each; the local Lambda service runs the same timers. Stated
once here so that what runs every minute in AWS also runs every minute on one machine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Schedule:
    function: str  # the handler's folder under functions/
    every_seconds: int  # EventBridge's rate: whole minutes
    event: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # A finer cadence than EventBridge's minute: each invocation works ``ticks`` times,
    # ``tick_seconds`` apart, and returns before the next one is due.
    ticks: int = 1

    def __post_init__(self) -> None:
        if self.every_seconds < 60 or self.every_seconds % 60:
            raise ValueError("a schedule's rate is a whole number of minutes (EventBridge's rate)")
        if self.ticks < 1 or self.every_seconds % self.ticks:
            raise ValueError("a schedule's ticks divide its period into whole seconds")

    @property
    def tick_seconds(self) -> int:
        return self.every_seconds // self.ticks


# The routing function's safety net: wrap-ups past their deadline, reservations past their ring
# (``contact_center.services.routing.sweeps``).
ROUTING_SWEEP = Schedule("routing", 60, MappingProxyType({"action": "sweep"}))

# Webhook deliveries whose first POST failed, tried again with backoff for a day
# (``contact_center.services.webhooks``).
WEBHOOK_RETRY = Schedule("webhooks", 60, MappingProxyType({"action": "retry"}))

# The failover controller's watch over the other region: a probe every 10 s, six per invocation
# (``contact_center.services.peer_watch``).
FAILOVER_WATCH = Schedule("failover", 60, MappingProxyType({"action": "watch"}), ticks=6)

SCHEDULES: tuple[Schedule, ...] = (ROUTING_SWEEP, WEBHOOK_RETRY, FAILOVER_WATCH)
