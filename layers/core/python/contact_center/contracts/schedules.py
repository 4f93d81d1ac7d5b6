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

    def __post_init__(self) -> None:
        if self.every_seconds < 60 or self.every_seconds % 60:
            raise ValueError("a schedule's rate is a whole number of minutes (EventBridge's rate)")


# The routing function's safety net: wrap-ups past their deadline, reservations past their ring
# (``contact_center.services.routing.sweeps``).
ROUTING_SWEEP = Schedule("routing", 60, MappingProxyType({"action": "sweep"}))

# Webhook deliveries whose first POST failed, tried again with backoff for a day
# (``contact_center.services.webhooks``).
WEBHOOK_RETRY = Schedule("webhooks", 60, MappingProxyType({"action": "retry"}))

SCHEDULES: tuple[Schedule, ...] = (ROUTING_SWEEP, WEBHOOK_RETRY)
