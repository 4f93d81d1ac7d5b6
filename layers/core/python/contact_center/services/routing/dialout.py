"""Agents calling out: a registered seat dials a number, the call leaves by the merchant's trunk.

``dial_out`` checks the number against the merchant's permissions, finds where the merchant's
outbound calls go (``OutboundTrunks``), makes the agent busy (DIAL_OUT: one conditional write on
the seat's from-state, so no offer rings it meanwhile) and creates the outbound contact (DIALING,
on that agent and trunk). The far end's answer connects it (``outbound_answered``); its end is an
ordinary ``contact_ended``, which records it with an "outbound" segment and lets the agent go.

Permissions: a number outside the merchant's allowed prefixes is refused with 403 and a reason
the edge passes on. Emergency numbers (the routing policy's list) are always dialled, whatever the
prefixes; when they cannot be (no trunk), the refusal says so: never a silent block.

The agent is made busy before the contact exists: a router that dies between the two writes leaves
the seat on a contact that never was, which ``release_orphaned_agents`` and a forced release free.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.agent_state import AgentCommand, AgentState
from contact_center.domain.agent_state import DialOut as AgentDialOut
from contact_center.domain.contact import (
    Channel,
    ConnectAgent,
    ContactSnapshot,
    ContactState,
    DialOut,
    apply_contact,
)

from ..errors import AlreadyExistsError, ConcurrentUpdateError
from .context import RoutingContext
from .decisions import Acknowledged, Reject
from .ports import AgentSeat, LiveContact

__all__ = [
    "Dial",
    "DialPermissions",
    "Dialers",
    "Outbound",
    "OutboundTrunk",
    "OutboundTrunks",
    "dialled_number",
]

# Where an agent may be when it dials: not while ringing or talking.
_CAN_DIAL = frozenset({AgentState.AVAILABLE, AgentState.NOT_READY, AgentState.AFTER_CONTACT_WORK})
_DIAL_CHARACTERS = str.maketrans("", "", " -.()")


@dataclass(frozen=True, slots=True)
class OutboundTrunk:
    """Where a merchant's outbound calls go: the trunk's signalling ``address`` ("host:port"),
    its ``transport`` (udp, tcp, tls), and the caller ID the called party is shown."""

    trunk_id: str
    address: str
    transport: str
    caller_id: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "trunk_id": self.trunk_id,
            "address": self.address,
            "transport": self.transport,
            "caller_id": self.caller_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OutboundTrunk:
        return cls(
            str(data["trunk_id"]), str(data["address"]), str(data["transport"]), str(data["caller_id"])
        )


@dataclass(frozen=True, slots=True)
class DialPermissions:
    """What a merchant's agents may dial: numbers starting with one of ``allowed_prefixes``."""

    allowed_prefixes: tuple[str, ...] = ("+",)


class OutboundTrunks(Protocol):
    def outbound_trunk(self, merchant_id: str, dialled: str) -> OutboundTrunk | None:
        """Where the merchant's call to ``dialled`` goes (and the caller ID it shows); None when it
        has nowhere to send it."""
        ...


class Dialers(Protocol):
    def seat_of(self, sip_username: str) -> tuple[str, str] | None:
        """The (merchant id, seat id) a phone's SIP username belongs to; None for no seat."""
        ...

    def permissions(self, merchant_id: str) -> DialPermissions: ...


@dataclass(frozen=True, slots=True)
class Dial:
    """Call ``number`` over ``trunk`` for the agent on ``seat_id`` (its contact ``contact_id``)."""

    contact_id: str
    seat_id: str
    merchant_id: str
    number: str
    trunk: OutboundTrunk
    emergency: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "dial",
            "contact_id": self.contact_id,
            "seat_id": self.seat_id,
            "merchant_id": self.merchant_id,
            "number": self.number,
            "trunk": self.trunk.to_dict(),
            "emergency": self.emergency,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Dial:
        return cls(
            contact_id=str(data["contact_id"]),
            seat_id=str(data["seat_id"]),
            merchant_id=str(data["merchant_id"]),
            number=str(data["number"]),
            trunk=OutboundTrunk.from_dict(data["trunk"]),
            emergency=bool(data.get("emergency", False)),
        )


def dialled_number(text: str) -> str | None:
    """The number a phone dialled, without the separators people type; None when it is not one
    (an optional leading + and 2 to 20 digits)."""
    number = text.translate(_DIAL_CHARACTERS)
    digits = number[1:] if number.startswith("+") else number
    if not digits.isascii() or not digits.isdigit() or not 2 <= len(digits) <= 20:
        return None
    return number


class Outbound:
    def __init__(
        self, context: RoutingContext, trunks: OutboundTrunks | None, dialers: Dialers | None
    ) -> None:
        self._ctx = context
        self._trunks = trunks
        self._dialers = dialers

    def dial_out(
        self, sip_username: str, dialled: str, contact_id: str, edge_task_id: str | None, now_ms: int
    ) -> Dial | Reject:
        """The seat of ``sip_username`` dials ``dialled``: where the call goes, or why not."""
        if self._trunks is None or self._dialers is None:
            return Reject(403, "this platform places no outbound calls")
        seat = self._dialers.seat_of(sip_username)
        if seat is None:
            return Reject(403, "only a seat's phone may call out")
        merchant_id, seat_id = seat
        number = dialled_number(dialled)
        if number is None:
            return Reject(484, f"{dialled!r} is not a phone number")
        emergency = number in self._ctx.policy.emergency_numbers
        allowed = self._dialers.permissions(merchant_id).allowed_prefixes
        if not emergency and not any(number.startswith(prefix) for prefix in allowed):
            return Reject(403, f"{number} is outside the numbers this merchant may call")
        trunk = self._trunks.outbound_trunk(merchant_id, number)
        if trunk is None:
            what = "emergency call" if emergency else "call"
            return Reject(
                503 if emergency else 403, f"{what} to {number}: the merchant has no outbound trunk"
            )
        existing = self._ctx.contacts.get(contact_id)
        if existing is not None:  # a retried request: the same answer
            return Dial(contact_id, seat_id, merchant_id, existing.called, trunk, emergency)
        agent = self._ctx.agents.change(
            merchant_id, seat_id, lambda current: _dial(current, contact_id), now_ms
        )
        if agent.state is not AgentState.ON_CONTACT or agent.contact_id != contact_id:
            return Reject(486, f"seat {seat_id} is {agent.state.value}: it cannot call out now")
        dialing = apply_contact(
            ContactSnapshot.new(contact_id, Channel.VOICE, now_ms), DialOut(seat_id, trunk.trunk_id), now_ms
        )
        contact = LiveContact(
            dialing.contact,
            called=number,
            caller=trunk.caller_id,
            merchant_id=merchant_id,
            edge_task_id=edge_task_id,
            offered_at_ms=now_ms,
            seat_version=agent.version,
        )
        try:
            self._ctx.contacts.create(contact)
        except AlreadyExistsError:
            pass  # a retry that raced the first attempt: that one's contact stands
        else:
            self._ctx.publish_contact(dialing.event, contact)
        return Dial(contact_id, seat_id, merchant_id, number, trunk, emergency)

    def outbound_answered(self, contact_id: str, seat_id: str, now_ms: int) -> Acknowledged:
        """The far end answered: the contact is connected (its record's answer time)."""
        contact = self._ctx.contacts.get(contact_id)
        if contact is None:
            return Acknowledged(contact_id, ContactState.ENDED.value, seat_id, stale=True)
        snapshot = contact.snapshot
        if snapshot.state is not ContactState.DIALING or snapshot.seat_id != seat_id:
            return Acknowledged(
                contact_id, snapshot.state.value, snapshot.seat_id, contact.merchant_id, stale=True
            )
        connected = apply_contact(snapshot, ConnectAgent(seat_id), now_ms)
        updated = LiveContact(
            connected.contact,
            contact.called,
            contact.caller,
            contact.merchant_id,
            contact.edge_task_id,
            contact.offered_at_ms,
            contact.segments,
            contact.seat_version,
        )
        try:
            self._ctx.contacts.save(contact.version, updated)
        except ConcurrentUpdateError:
            fresh = self._ctx.contacts.get(contact_id)
            state = fresh.snapshot.state.value if fresh is not None else ContactState.ENDED.value
            return Acknowledged(contact_id, state, seat_id, contact.merchant_id, stale=True)
        self._ctx.publish_contact(connected.event, updated)
        return Acknowledged(contact_id, ContactState.CONNECTED.value, seat_id, contact.merchant_id)


def _dial(seat: AgentSeat, contact_id: str) -> list[AgentCommand]:
    return [AgentDialOut(contact_id)] if seat.agent.state in _CAN_DIAL else []
