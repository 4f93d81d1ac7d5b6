"""The calls this edge task holds now: those being set up and those bridged, and how to find them.

A call moves from one table to the other when it is answered; an in-dialog request finds it by
the dialog key in our Contact, or by its Call-ID when the sender did not use our Contact. The
counters (active calls, calls started) follow the tables.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from typing import Generic, Protocol, TypeVar

from sip_edge.app.calls.counters import CallCounters
from sip_edge.sip.decisions import Reply
from sip_edge.sip.dialog import CALLER, Leg
from sip_edge.sip.message import Request
from sip_edge.sip.transaction import ServerTransaction

__all__ = ["BeingSetUp", "Bridged", "LiveCalls", "Originated"]


class BeingSetUp(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def contact_id(self) -> str: ...

    @property
    def caller(self) -> Leg: ...


class Bridged(Protocol):
    @property
    def key(self) -> str: ...

    @property
    def contact_id(self) -> str: ...

    @property
    def legs(self) -> Mapping[str, Leg]: ...


class Originated(Protocol):
    """A call this task places itself before it is bridged (a callback's run): its agent's dialog
    is confirmed while the customer is still being dialled, so requests can arrive on it."""

    @property
    def key(self) -> str: ...

    @property
    def contact_id(self) -> str: ...

    def on_request(
        self, transaction: ServerTransaction, request: Request, side: str
    ) -> Reply | Awaitable[Reply | None] | None: ...


S = TypeVar("S", bound=BeingSetUp)
B = TypeVar("B", bound=Bridged)


class LiveCalls(Generic[S, B]):
    def __init__(self, counters: CallCounters | None = None) -> None:
        self.counters = counters or CallCounters()
        self.setups: dict[str, S] = {}
        self.bridges: dict[str, B] = {}
        self.originated: dict[str, Originated] = {}
        # Call-ID -> (dialog key, side), for in-dialog requests whose Request-URI is not our Contact.
        self.call_ids: dict[str, tuple[str, str]] = {}

    def setup_started(self, setup: S) -> None:
        self.setups[setup.key] = setup
        self.call_ids[setup.caller.call_id] = (setup.key, CALLER)

    def setup_ended(self, setup: S) -> bool:
        """Forget a set-up that did not become a bridge; True if it was still listed."""
        if self.setups.get(setup.key) is not setup:
            return False
        del self.setups[setup.key]
        self.call_ids.pop(setup.caller.call_id, None)
        return True

    def bridge_started(self, bridge: B, adopted: bool = False) -> None:
        self.setups.pop(bridge.key, None)
        self.bridges[bridge.key] = bridge
        for side, leg in bridge.legs.items():
            self.call_ids[leg.call_id] = (bridge.key, side)
        if adopted:
            self.counters.call_adopted()

    def bridge_ended(self, bridge: B) -> None:
        if self.bridges.get(bridge.key) is bridge:
            del self.bridges[bridge.key]
            for leg in bridge.legs.values():
                self.call_ids.pop(leg.call_id, None)
            self.counters.call_ended()

    def originated_started(self, call: Originated, call_id: str | None = None, side: str = CALLER) -> None:
        """``call_id``: a leg of it now in a dialog, whose requests may not name our Contact."""
        self.originated[call.key] = call
        if call_id is not None:
            self.call_ids[call_id] = (call.key, side)

    def originated_ended(self, call: Originated, call_id: str | None = None) -> None:
        if self.originated.get(call.key) is call:
            del self.originated[call.key]
        bridged = call.key in self.bridges  # the bridge maps its legs now
        if call_id is not None and not bridged and self.call_ids.get(call_id, ("", ""))[0] == call.key:
            del self.call_ids[call_id]

    @property
    def active(self) -> int:
        return self.counters.active

    def held_contacts(self) -> list[str]:
        """The contacts of the calls this task is setting up or bridging."""
        return [
            *(setup.contact_id for setup in self.setups.values()),
            *(bridge.contact_id for bridge in self.bridges.values()),
            *(call.contact_id for call in self.originated.values()),
        ]
