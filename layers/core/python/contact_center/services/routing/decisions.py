"""What the router tells the edge to do with a call: typed decisions and their JSON form.

The edge executes these and never decides itself (mechanism apart from policy). Each decision has a
``to_dict`` for the Lambda boundary, and ``decision_from_dict`` turns the JSON back into the class
on the edge's side. The ``"decision"`` key names the kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from contact_center.domain.menus import Menu
from contact_center.domain.prompts import QueuePrompts
from contact_center.domain.queueing import AnswerMode, QueueMedia

from .ports import AgentTarget


class OfferOutcome(StrEnum):
    """How the agent leg of an offer ended, as the edge saw it."""

    ANSWERED = "answered"  # 200 OK from the agent's phone
    BUSY = "busy"  # 486 Busy Here / 600 Busy Everywhere
    NO_ANSWER = "no_answer"  # the seat's ring timeout passed (RONA)
    REJECTED = "rejected"  # 603 Decline: the agent pressed "reject"
    UNREACHABLE = "unreachable"  # 408/480/5xx, no route, transport failure


@dataclass(frozen=True, slots=True)
class CallbackDial:
    """Whom a callback's runner dials once the agent answers: the customer's ``number`` over the
    merchant's outbound trunk (``trunk_id`` at ``address`` over ``transport``), showing
    ``caller_id``. No ``trunk_id``: the merchant has no outbound trunk or no number to show, and the
    dial fails without ringing anyone."""

    number: str
    trunk_id: str | None = None
    address: str | None = None
    transport: str = "udp"
    caller_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "trunk_id": self.trunk_id,
            "address": self.address,
            "transport": self.transport,
            "caller_id": self.caller_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CallbackDial:
        return cls(
            number=str(data["number"]),
            trunk_id=data.get("trunk_id"),
            address=data.get("address"),
            transport=str(data.get("transport") or "udp"),
            caller_id=data.get("caller_id"),
        )


@dataclass(frozen=True, slots=True)
class Connect:
    """Ring ``targets`` (every registered device of the seat, in parallel) for ``ring_timeout_seconds``.

    The seat is RESERVED for the contact; the edge must report the result with ``offer_result``.
    ``recording_key``: the queue records this call (``domain.recording``); once the agent answers,
    the edge asks the media relay to record it under this key. ``callback``: the contact is a
    callback nobody holds: the task the offer is pushed to rings the agent, then dials the customer
    (``domain.callbacks``) and reports that dial with ``callback_dialled``.
    """

    contact_id: str
    seat_id: str
    merchant_id: str
    aor: str
    targets: tuple[AgentTarget, ...]
    ring_timeout_seconds: int
    queue_id: str | None = None
    recording_key: str | None = None
    callback: CallbackDial | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "connect",
            "contact_id": self.contact_id,
            "seat_id": self.seat_id,
            "merchant_id": self.merchant_id,
            "aor": self.aor,
            "targets": [target.to_dict() for target in self.targets],
            "ring_timeout_seconds": self.ring_timeout_seconds,
            "queue_id": self.queue_id,
            "recording_key": self.recording_key,
            "callback": self.callback.to_dict() if self.callback is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Connect:
        callback = data.get("callback")
        return cls(
            contact_id=str(data["contact_id"]),
            seat_id=str(data["seat_id"]),
            merchant_id=str(data["merchant_id"]),
            aor=str(data["aor"]),
            targets=tuple(AgentTarget.from_dict(t) for t in data.get("targets") or ()),
            ring_timeout_seconds=int(data["ring_timeout_seconds"]),
            queue_id=data.get("queue_id"),
            recording_key=data.get("recording_key"),
            callback=CallbackDial.from_dict(callback) if callback else None,
        )


@dataclass(frozen=True, slots=True)
class Queue:
    """Hold the caller (182 Queued) until an offer appears or ``deadline_ms`` passes.

    At the deadline the edge calls ``queue_timeout``. ``max_wait_seconds`` is what is left of the
    wait at the time of the decision (a re-queued contact keeps its original deadline).
    """

    contact_id: str
    queue_id: str
    max_wait_seconds: int
    deadline_ms: int
    position: int | None = None
    # What the caller hears while it waits (the queue's settings) and its expected wait, if known.
    media: QueueMedia = field(default_factory=QueueMedia)
    wait_seconds: int | None = None
    # Where the edge fetches the merchant's prompts the media names (the defaults play without).
    prompts: QueuePrompts = field(default_factory=QueuePrompts)
    # The key that leaves a callback (the queue's ``callback`` policy); None: the queue takes none.
    callback_digit: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "queue",
            "contact_id": self.contact_id,
            "queue_id": self.queue_id,
            "max_wait_seconds": self.max_wait_seconds,
            "deadline_ms": self.deadline_ms,
            "position": self.position,
            "media": self.media.as_dict(),
            "wait_seconds": self.wait_seconds,
            "prompts": self.prompts.as_dict(),
            "callback_digit": self.callback_digit,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Queue:
        position = data.get("position")
        return cls(
            contact_id=str(data["contact_id"]),
            queue_id=str(data["queue_id"]),
            max_wait_seconds=int(data["max_wait_seconds"]),
            deadline_ms=int(data["deadline_ms"]),
            position=int(position) if position is not None else None,
            # A decision from a router older than queue media carries none: the defaults.
            media=_media(data.get("media")),
            wait_seconds=int(data["wait_seconds"]) if data.get("wait_seconds") is not None else None,
            prompts=QueuePrompts.from_dict(data.get("prompts")),
            callback_digit=data.get("callback_digit"),
        )


def _media(data: Any) -> QueueMedia:
    if not isinstance(data, Mapping):
        return QueueMedia()
    defaults = QueueMedia()
    return QueueMedia(
        answer=AnswerMode(data.get("answer", defaults.answer.value)),
        greeting=data.get("greeting", defaults.greeting),
        announce_every_seconds=int(data.get("announce_every_seconds", defaults.announce_every_seconds)),
        greeting_prompt=data.get("greeting_prompt"),
        music_prompt=data.get("music_prompt"),
    )


@dataclass(frozen=True, slots=True)
class Forward:
    """Relay the call to the legacy call centre over ``trunk_id``; report its end with ``contact_ended``.

    ``fallback``: when the legacy side is unreachable or answers 5xx, the edge asks for the
    number's Switchboard queue instead (``legacy_failed``) rather than failing the call."""

    contact_id: str
    trunk_id: str
    fallback: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "forward",
            "contact_id": self.contact_id,
            "trunk_id": self.trunk_id,
            "fallback": self.fallback,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Forward:
        return cls(
            contact_id=str(data["contact_id"]),
            trunk_id=str(data["trunk_id"]),
            fallback=bool(data.get("fallback")),
        )


@dataclass(frozen=True, slots=True)
class Reject:
    """Answer the caller with ``status`` (404, 480...) and ``reason``; Retry-After when given.

    The contact, if one was created, is already ended and recorded.
    """

    status: int
    reason: str
    retry_after: int | None = None
    contact_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "reject",
            "status": self.status,
            "reason": self.reason,
            "retry_after": self.retry_after,
            "contact_id": self.contact_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reject:
        retry_after = data.get("retry_after")
        return cls(
            status=int(data["status"]),
            reason=str(data["reason"]),
            retry_after=int(retry_after) if retry_after is not None else None,
            contact_id=data.get("contact_id"),
        )


@dataclass(frozen=True, slots=True)
class PlayMenu:
    """Answer the caller and run the number's ``menu`` on its leg; then ask ``new_contact`` again
    with the caller's choice (the contact is created then, in the queue chosen).
    ``started_at_ms``: the router's time now, sent back with the choice for the contact record."""

    contact_id: str
    menu: Menu
    started_at_ms: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "menu",
            "contact_id": self.contact_id,
            "menu": self.menu.to_dict(),
            "started_at_ms": self.started_at_ms,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlayMenu:
        return cls(str(data["contact_id"]), Menu.from_dict(data["menu"]), int(data["started_at_ms"]))


@dataclass(frozen=True, slots=True)
class Acknowledged:
    """Nothing for the edge to do: the event was applied, or was stale and ignored.

    ``state`` is the contact's state after the call ("connected", "ended", ...). After
    ``contact_ended`` with wrap-up, ``wrap_up_deadline_ms`` tells the edge when to call
    ``finish_wrap_up`` for ``seat_id``.
    """

    contact_id: str
    state: str
    seat_id: str | None = None
    merchant_id: str | None = None
    wrap_up_deadline_ms: int | None = None
    stale: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": "ack",
            "contact_id": self.contact_id,
            "state": self.state,
            "seat_id": self.seat_id,
            "merchant_id": self.merchant_id,
            "wrap_up_deadline_ms": self.wrap_up_deadline_ms,
            "stale": self.stale,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Acknowledged:
        deadline = data.get("wrap_up_deadline_ms")
        return cls(
            contact_id=str(data["contact_id"]),
            state=str(data["state"]),
            seat_id=data.get("seat_id"),
            merchant_id=data.get("merchant_id"),
            wrap_up_deadline_ms=int(deadline) if deadline is not None else None,
            stale=bool(data.get("stale", False)),
        )


RoutingDecision = Connect | Queue | Forward | Reject | Acknowledged
# What ``new_contact`` may answer: a number with a menu is answered with the menu first.
Arrival = RoutingDecision | PlayMenu

_KINDS: dict[str, Any] = {
    "connect": Connect,
    "queue": Queue,
    "forward": Forward,
    "reject": Reject,
    "ack": Acknowledged,
}


class UnknownDecisionError(ValueError):
    """The JSON names no decision this version knows (a newer router, a corrupted payload)."""


def decision_from_dict(data: Mapping[str, Any]) -> RoutingDecision:
    kind = _KINDS.get(str(data.get("decision")))
    if kind is None:
        raise UnknownDecisionError(f"unknown routing decision {data.get('decision')!r}")
    decision: RoutingDecision = kind.from_dict(data)
    return decision


def arrival_from_dict(data: Mapping[str, Any]) -> Arrival:
    """``new_contact``'s answer: a menu to play, or any decision."""
    if data.get("decision") == "menu":
        return PlayMenu.from_dict(data)
    return decision_from_dict(data)
