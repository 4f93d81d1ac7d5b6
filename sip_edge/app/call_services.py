"""What every call on an edge task shares: the stack, the router, the stores, timers and counters.

`CallSetup` (ringing, queueing) and `Bridge` (talking) get one `CallServices`; the `B2bua` owns it
and keeps the tables of live calls in it, so a call can move itself from one table to the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Acknowledged, Connect, OfferOutcome, RoutingDecision
from sip_edge.app.dialogs import DialogBook
from sip_edge.app.edge_registry import OwnerAddresses
from sip_edge.app.legs import CALLER, contact_user
from sip_edge.app.metrics import CallCounters
from sip_edge.app.queue_hold import QueueHold
from sip_edge.app.trunks import TrunkDirectory
from sip_edge.sip.stack import SipStack

if TYPE_CHECKING:
    from sip_edge.app.bridge import Bridge
    from sip_edge.app.calls import CallSetup

__all__ = ["ALLOW", "CallServices", "CallSettings", "RoutingPort"]

log = logging.getLogger("sip_edge.calls")

# What a bridged call accepts from either side (Allow in our INVITEs and 2xx).
ALLOW = "INVITE, ACK, CANCEL, BYE, UPDATE, INFO, PRACK, OPTIONS"


class RoutingPort(Protocol):
    """The routing function as the edge calls it (`RoutingClient`; a fake in unit tests)."""

    async def new_contact(self, called: str, caller: str, contact_id: str) -> RoutingDecision: ...

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

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]: ...

    async def finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str | None = None) -> None: ...

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]: ...


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


class CallServices:
    def __init__(
        self,
        stack: SipStack,
        routing: RoutingPort,
        task_id: str,
        *,
        dialogs: DialogBook,
        trunks: TrunkDirectory,
        hold: QueueHold,
        owners: OwnerAddresses | None = None,
        counters: CallCounters | None = None,
        settings: CallSettings | None = None,
        now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.stack = stack
        self.routing = routing
        self.task_id = task_id
        self.dialogs = dialogs
        self.trunks = trunks
        self.hold = hold
        self.owners = owners
        self.counters = counters or CallCounters()
        self.settings = settings or CallSettings()
        self.now_ms = now_ms
        self.setups: dict[str, CallSetup] = {}
        self.bridges: dict[str, Bridge] = {}
        # Call-ID -> (dialog key, side), for in-dialog requests whose Request-URI is not our Contact.
        self.call_ids: dict[str, tuple[str, str]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[asyncio.TimerHandle] = set()

    # --- addresses ------------------------------------------------------------------------------

    def contact_uri(self, dialog_key: str, side: str, transport: str) -> str:
        """Our Contact on one leg: the advertised address of the leg's transport plus the dialog key."""
        host, port = self.stack.transport_for(transport).sent_by
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        suffix = "" if transport.upper() == "UDP" else f";transport={transport.lower()}"
        return f"sip:{contact_user(dialog_key, side)}@{host}:{port}{suffix}"

    async def owner_address(self, task_id: str | None) -> str | None:
        if not task_id or task_id == self.task_id or self.owners is None:
            return None
        return await self.owners.address_of(task_id)

    # --- the tables of live calls ---------------------------------------------------------------

    def setup_started(self, setup: CallSetup) -> None:
        self.setups[setup.key] = setup
        self.call_ids[setup.caller.call_id] = (setup.key, CALLER)

    def setup_ended(self, setup: CallSetup) -> bool:
        """Forget a set-up that did not become a bridge; True if it was still listed."""
        if self.setups.get(setup.key) is not setup:
            return False
        del self.setups[setup.key]
        self.call_ids.pop(setup.caller.call_id, None)
        return True

    def bridge_started(self, bridge: Bridge, adopted: bool = False) -> None:
        self.setups.pop(bridge.key, None)
        self.bridges[bridge.key] = bridge
        for side, leg in bridge.legs.items():
            self.call_ids[leg.call_id] = (bridge.key, side)
        if adopted:
            self.counters.call_adopted()

    def bridge_ended(self, bridge: Bridge) -> None:
        if self.bridges.get(bridge.key) is bridge:
            del self.bridges[bridge.key]
            for leg in bridge.legs.values():
                self.call_ids.pop(leg.call_id, None)
            self.counters.call_ended()

    @property
    def active_calls(self) -> int:
        return self.counters.active

    def held_contacts(self) -> list[str]:
        """The contacts of the calls this task is setting up or bridging."""
        return [setup.contact_id for setup in self.setups.values()] + [
            bridge.contact_id for bridge in self.bridges.values()
        ]

    # --- background work -------------------------------------------------------------------------

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run work nobody awaits (a teardown, a store write), keeping a reference and logging failure."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task %s failed", task.get_name(), exc_info=task.exception())

    def schedule_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str, deadline_ms: int) -> None:
        """End the agent's wrap-up at its deadline (the router's sweep is the safety net)."""
        delay = max(0.0, (deadline_ms - self.now_ms()) / 1000)

        def fire() -> None:
            self._timers.discard(handle)
            self.spawn(self._finish_wrap_up(merchant_id, seat_id, contact_id), name="finish-wrap-up")

        handle = asyncio.get_running_loop().call_later(delay, fire)
        self._timers.add(handle)

    async def _finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str) -> None:
        try:
            await self.routing.finish_wrap_up(merchant_id, seat_id, contact_id)
        except Exception as exc:
            log.warning("finish_wrap_up for seat %s failed: %s", seat_id, exc)

    async def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        if tasks:
            # Teardowns in flight (a contact_ended, a dialog delete) get a moment to finish.
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
