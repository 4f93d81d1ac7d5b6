"""The routing function's requests about callbacks (``callbacks``): the edge holding a queued caller
reports its key, the task running a callback reports each dial of the customer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .command_fields import InvalidRoutingRequestError, epoch_ms, required
from .service import RoutingService

CALLBACK_ACTIONS = ("leave_callback", "callback_dialled")


@dataclass(frozen=True, slots=True)
class LeaveCallback:
    contact_id: str
    edge_task_id: str  # the task holding the caller
    digit: str


@dataclass(frozen=True, slots=True)
class ReportCallbackDial:
    contact_id: str
    seat_id: str
    status: int | None  # the dial's final SIP status; None: none came
    started_at_ms: int


CallbackCommand = LeaveCallback | ReportCallbackDial


def parse_callback(action: str, event: Mapping[str, Any]) -> CallbackCommand:
    if action == "leave_callback":
        return LeaveCallback(
            required(event, "contact_id"), required(event, "edge_task_id"), required(event, "digit")
        )
    status = event.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 699
    ):
        raise InvalidRoutingRequestError("status", "must be a SIP status (100-699) or null")
    started = epoch_ms(event, "started_at_ms")
    if started is None:
        raise InvalidRoutingRequestError("started_at_ms", "is required")
    return ReportCallbackDial(required(event, "contact_id"), required(event, "seat_id"), status, started)


def execute_callback(service: RoutingService, command: CallbackCommand, now_ms: int) -> dict[str, Any]:
    if isinstance(command, LeaveCallback):
        return service.leave_callback(
            command.contact_id, command.edge_task_id, command.digit, now_ms
        ).to_dict()
    return service.callback_dialled(
        command.contact_id, command.seat_id, command.status, command.started_at_ms, now_ms
    ).to_dict()
