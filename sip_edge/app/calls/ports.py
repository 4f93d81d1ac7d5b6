"""What a call on this edge needs from outside: the routing function (`RoutingPort`) and its error,
and the settings every call shares."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.contracts import values
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.menus import MenuChoice
from contact_center.domain.queue_address import QueueCall
from contact_center.services.routing.decisions import (
    Acknowledged,
    Arrival,
    Connect,
    OfferOutcome,
    Reject,
    RoutingDecision,
)
from contact_center.services.routing.dialout import Dial
from contact_center.services.routing.ports import AgentTarget
from contact_center.services.routing.transfers import TransferOutcome
from sip_edge.sip.session_timer import MIN_SE_FLOOR

__all__ = ["ALLOW", "CallSettings", "RoutingError", "RoutingPort", "StaleBindings"]

# What a bridged call accepts from either side (Allow in our INVITEs and 2xx).
ALLOW = "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, PRACK, OPTIONS"


class RoutingError(Exception):
    """The routing function answered with an error, failed, or did not answer in time."""

    def __init__(self, code: str, message: str, retryable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retryable = retryable


class RoutingPort(Protocol):
    """The routing function as the edge calls it (`RoutingClient`; a fake in tests). Every method
    raises `RoutingError` when the function fails or does not answer in time."""

    async def new_contact(
        self,
        called: str,
        caller: str,
        contact_id: str,
        menu: MenuChoice | None = None,
        queue_call: QueueCall | None = None,
    ) -> Arrival:
        """``menu``: the caller's way out of the number's menu, after the router answered `PlayMenu`;
        ``queue_call``: ``called`` is a queue address (`contact_center.domain.queue_address`)."""
        ...

    async def offer_result(
        self, contact_id: str, seat_id: str, outcome: OfferOutcome, dialog: Mapping[str, Any] | None = None
    ) -> RoutingDecision:
        """``dialog``: an answered call's stored form (`DialogBook.for_router`), written with the answer."""
        ...

    async def contact_ended(
        self, contact_id: str, side: HangupSide, cause: HangupCause, dialog_keys: Sequence[str] = ()
    ) -> Acknowledged:
        """``dialog_keys``: the call's stored dialog, deleted with the end."""
        ...

    async def queue_timeout(self, contact_id: str) -> RoutingDecision: ...

    async def legacy_failed(self, contact_id: str) -> RoutingDecision:
        """A forwarded call's legacy side was down, unreachable or answered 5xx: what next."""
        ...

    async def dial_out(self, sip_username: str, dialled: str, contact_id: str) -> Dial | Reject:
        """A seat's phone calls ``dialled``: where the call goes, or why not."""
        ...

    async def outbound_answered(self, contact_id: str, seat_id: str) -> Acknowledged: ...

    async def callback_dialled(
        self, contact_id: str, seat_id: str, status: int | None, started_at_ms: int
    ) -> Acknowledged:
        """A callback's customer was dialled for ``seat_id``: its final ``status`` (None: none came)."""
        ...

    async def transfer(
        self, contact_id: str, seat_id: str, target: str, consulted: bool = False
    ) -> TransferOutcome:
        """The agent on ``seat_id`` hands the caller to ``target`` (a queue, seat or number);
        ``consulted``: the seat it consulted (an attended transfer)."""
        ...

    async def consult(self, sip_username: str, dialled: str) -> Connect | Reject:
        """A seat's phone on a call dials another seat: that seat to ring (reserved), or why not."""
        ...

    async def consult_result(self, merchant_id: str, seat_id: str, contact_id: str, answered: bool) -> None:
        """The consulted seat answered, or the consult ended without a transfer."""
        ...

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]: ...

    async def leave_callback(self, contact_id: str, digit: str) -> Acknowledged:
        """The queued caller this task holds pressed its queue's callback ``digit``: the contact keeps
        its place, owned by no task from now on; `RoutingError` ``not_found`` when it is refused."""
        ...

    async def finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str | None = None) -> None: ...

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]: ...


class StaleBindings(Protocol):
    """Where a call reports a device that never answered its INVITE (the location service)."""

    def forget(self, aor: str, target: AgentTarget) -> None:
        """Remove the binding of ``target`` from ``aor`` so the next call does not ring it."""
        ...


@dataclass(frozen=True, slots=True)
class CallSettings:
    # After CANCELling an agent leg, how long to wait for its final response before giving up on it
    # (a phone that never answered anything would otherwise hold the caller for timer B, 32 s).
    cancel_grace_seconds: float = 4.0
    # A provisional to a held caller at least this often; RFC 3261 §13.3.1.1 asks for one a minute
    # so proxies on the way keep the transaction, half of that leaves room for one loss.
    provisional_refresh_seconds: float = 30.0
    # Refuse new calls while the trunk list cannot be read, and tell the carrier when to retry.
    unavailable_retry_after: int = 5
    # RFC 4028 on both legs: the interval we ask for and the smallest we accept (422 below it; the
    # RFC's floor is 90 s). The RFC suggests 1800 s; a seat held by a vanished call costs more than a
    # refresh every 5 minutes (about 30/s for 5,000 calls), so a vanished call frees its seat
    # within 10 minutes at worst.
    session_interval: int = 600
    session_min_se: int = MIN_SE_FLOOR
    # A leg without a session timer gets an in-dialog OPTIONS this often; 408/481/no answer ends
    # the call, so a call whose ends vanished is freed within about this plus timer F (32 s).
    probe_interval_seconds: float = 30.0
    # OPTIONS to every trunk with an address (``trunk_health``): this often, down after so many
    # failures in a row, up after so many answers.
    trunk_ping_seconds: float = values.TRUNK_OPTIONS_INTERVAL_SECONDS
    trunk_down_after: int = values.TRUNK_DOWN_AFTER_FAILURES
    trunk_up_after: int = values.TRUNK_UP_AFTER_SUCCESSES
