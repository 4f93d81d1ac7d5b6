"""What a request handler decides, as types the stack executes: `Reply`, `Relay`, or nothing.

The policy's one callback returns one of these for each new request (or an awaitable of a
`Reply`), so the policy never builds or sends a response or a forwarded request itself.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Union

from .message import Request
from .transaction import ServerInviteTransaction, ServerTransaction
from .transport import Address, Flow, default_port

__all__ = [
    "AckContext",
    "Destination",
    "HandlerResult",
    "Relay",
    "Reply",
    "RequestHandler",
    "flow_of",
]


@dataclass(frozen=True, slots=True)
class Destination:
    """Where to send a request: transport name plus host (name or address) and port."""

    transport: str
    host: str
    port: int | None = None

    @property
    def address(self) -> Address:
        return (self.host, self.port or default_port(self.transport))


@dataclass(frozen=True, slots=True)
class Reply:
    """A typed decision "answer this request so": the stack builds and sends the response.

    ``stateless`` answers a non-INVITE request without keeping its transaction afterwards (RFC
    3261 8.2.7, stateless UAS behaviour): a retransmission of the request is handled as a new
    request instead of getting the stored response again. Meant for answers that are as good
    when given again, above all digest challenges (8.2.7 names them), which are most of what an
    edge answers and would otherwise each be kept 32 s for timer J over UDP; a challenge (401,
    407) is sent again byte for byte to a UDP retransmission arriving within a few seconds (see
    the stack). Ignored for INVITE, whose transaction must absorb the ACK.
    """

    status: int
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    to_tag: str | None = None
    stateless: bool = False


@dataclass(frozen=True, slots=True)
class Relay:
    """A typed decision "forward this request, statelessly, to ``destination``" (RFC 3261 §16.11).

    The stack pops the top Route (which named this task), decrements Max-Forwards, adds a Via
    whose branch derives from the incoming one and sends the request on; no transaction is kept
    (a retransmission is relayed again), and the responses, which match no transaction, go back
    up by the Via below ours (`relay`).
    """

    destination: Destination


class AckContext:
    """Stands in for a transaction when an ACK to a 2xx arrives (it is a transaction of its own)."""

    __slots__ = ("flow", "invite_transaction", "request")

    def __init__(
        self, request: Request, flow: Flow, invite_transaction: ServerInviteTransaction | None
    ) -> None:
        self.request = request
        self.flow = flow
        # The Accepted INVITE transaction whose 2xx this ACK acknowledges, if still alive.
        self.invite_transaction = invite_transaction


def flow_of(transaction: ServerTransaction | AckContext) -> Flow:
    """The flow (transport, remote address, connection) a request arrived on."""
    if isinstance(transaction, AckContext):
        return transaction.flow
    flow = transaction.context
    if not isinstance(flow, Flow):
        raise TypeError("transaction was not created by a SipStack")
    return flow


HandlerResult = Union[Reply, Relay, None, Awaitable[Reply | None]]  # noqa: UP007 - a runtime alias
RequestHandler = Callable[[ServerTransaction | AckContext, Request], HandlerResult]
