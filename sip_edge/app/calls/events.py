"""What happens to a call being set up from outside, as typed events on its one queue.

`CallSetup`'s driver is the only reader of its queue, so a CANCEL, an agent's response, a timer
and an offer found by the queue poll are seen in order, without locks. Events of an agent leg
name its transaction: one from an earlier leg (a late 180, a stray timer) is recognised and
skipped, and so is a timer of an earlier ring (they name the ring they belong to).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

from contact_center.services.routing.decisions import Connect
from sip_edge.sip.message import Request, Response
from sip_edge.sip.transaction import Transaction, TransactionError

__all__ = [
    "AgentLegFailed",
    "AgentResponded",
    "CallEvent",
    "CallbackKeyPressed",
    "CallerCancelled",
    "CancelGraceOver",
    "HoldRefreshDue",
    "OfferFound",
    "QueueDeadlinePassed",
    "RingTimedOut",
]


@dataclass(frozen=True, slots=True)
class CallerCancelled:
    """The caller gave up: a CANCEL, or a BYE on the early dialog (``request``)."""

    request: Request | None = None


@dataclass(frozen=True, slots=True)
class AgentResponded:
    leg: Transaction
    response: Response


@dataclass(frozen=True, slots=True)
class AgentLegFailed:
    """The agent leg's INVITE transaction failed (timeout, transport error)."""

    leg: Transaction
    error: TransactionError


@dataclass(frozen=True, slots=True)
class RingTimedOut:
    """The seat's ring timeout passed without an answer (``ring``: which ring, see `AgentRinger`)."""

    ring: object


@dataclass(frozen=True, slots=True)
class CancelGraceOver:
    """Agent legs we CANCELled did not all send their final response in the grace time."""

    ring: object


@dataclass(frozen=True, slots=True)
class OfferFound:
    """The queue poll found the offer made to this queued caller."""

    offer: Connect


@dataclass(frozen=True, slots=True)
class QueueDeadlinePassed:
    """The queue's deadline for this caller passed."""


@dataclass(frozen=True, slots=True)
class HoldRefreshDue:
    """Time to send the held caller another provisional."""


@dataclass(frozen=True, slots=True)
class CallbackKeyPressed:
    """The held caller, told of its queue's callback key, pressed it."""

    digit: str


CallEvent = Union[  # noqa: UP007 - a runtime alias
    CallerCancelled,
    AgentResponded,
    AgentLegFailed,
    RingTimedOut,
    CancelGraceOver,
    OfferFound,
    QueueDeadlinePassed,
    HoldRefreshDue,
    CallbackKeyPressed,
]
