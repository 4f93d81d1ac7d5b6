"""The sending half of the SIP stack: client transactions, the CANCEL of an INVITE, stateless sends.

`SipStack` is an `Outbound` that also receives; this half chooses the transport (§18.1.1: large
requests over TCP), adds our Via, keeps the client transaction table that responses are matched
against, and builds the CANCEL of a pending INVITE.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from .building import generate_branch
from .client_transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
    build_cancel,
)
from .decisions import Destination
from .hostport import format_hostport
from .message import Request, Response
from .timers import Clock, Timers
from .transaction import Transaction, TransactionError, client_key
from .transport import Address, ErrorCallback, Transport, TransportError

__all__ = ["UDP_SIZE_LIMIT", "Outbound"]

# §18.1.1: the size above which a request must not go over UDP when the path MTU is unknown.
UDP_SIZE_LIMIT = 1300
# Room for the Via (and Max-Forwards) `prepare_request` adds.
_VIA_ALLOWANCE = 120


class _DestinationChannel:
    """The `Channel` of a client transaction: one transport, one destination."""

    __slots__ = ("address", "transport")

    def __init__(self, transport: Transport, address: Address) -> None:
        self.transport = transport
        self.address = address

    @property
    def reliable(self) -> bool:
        return self.transport.reliable

    def send(self, data: bytes, on_error: ErrorCallback | None = None) -> None:
        self.transport.send_to(data, self.address, on_error)


class Outbound:
    def __init__(self, clock: Clock, timers: Timers) -> None:
        self.clock = clock
        self.timers = timers
        self.transports: dict[str, Transport] = {}
        self._client: dict[tuple[str, ...], ClientTransaction] = {}

    @property
    def client_transactions(self) -> int:
        return len(self._client)

    def client_transaction_for(self, response: Response) -> ClientTransaction | None:
        """The client transaction a response belongs to (§17.1.3), if it is still alive."""
        key = client_key(response)
        return self._client.get(key) if key is not None else None

    def terminate_clients(self) -> None:
        for client in list(self._client.values()):
            client.terminate()

    def transport_for(self, name: str) -> Transport:
        transport = self.transports.get(name.upper())
        if transport is None:
            raise TransportError(f"no {name} transport configured")
        return transport

    def prepare_request(self, request: Request, transport: Transport) -> None:
        """Add our Via (new branch, rport asked for) and Max-Forwards when the request has none.

        A request that already carries a Via (e.g. a CANCEL built with its INVITE's branch)
        keeps it: the TU decided the transaction identity.
        """
        headers = request.headers
        if "Via" not in headers:
            sent_by = format_hostport(*transport.sent_by)
            headers.add(
                "Via", f"SIP/2.0/{transport.name} {sent_by};branch={generate_branch()};rport", first=True
            )
        if "Max-Forwards" not in headers:
            headers.add("Max-Forwards", "70")

    def send_request(
        self,
        request: Request,
        destination: Destination,
        *,
        on_response: Callable[[ClientTransaction, Response], None] | None = None,
        on_error: Callable[[Transaction, TransactionError], None] | None = None,
    ) -> ClientTransaction:
        """Start a client transaction; responses reach `on_response` and `async for ... in tx`."""
        if request.method == "ACK":
            raise ValueError("an ACK is not a transaction: use send_stateless")
        transport = self.transport_for(destination.transport)
        if self._too_big_for_udp(request, transport):
            transport = self.transports["TCP"]
        self.prepare_request(request, transport)
        key = client_key(request)
        if key is None:
            raise ValueError("request has no Via branch")
        channel = _DestinationChannel(transport, destination.address)
        factory = ClientInviteTransaction if request.method == "INVITE" else ClientNonInviteTransaction
        transaction = factory(
            request, channel, self.clock, key=key, timers=self.timers, on_terminated=self._forget_client
        )
        transaction.on_response = on_response
        transaction.on_error = on_error
        self._client[key] = transaction
        transaction.start()
        return transaction

    def _too_big_for_udp(self, request: Request, transport: Transport) -> bool:
        """§18.1.1: a request over 1300 bytes (our Via included) goes over a congestion-controlled
        transport; over UDP it would fragment, and fragments are what NATs drop first."""
        return (
            transport.name == "UDP"
            and "TCP" in self.transports
            and "Via" not in request.headers
            and len(request.to_bytes()) + _VIA_ALLOWANCE > UDP_SIZE_LIMIT
        )

    def cancel(self, invite: ClientTransaction, headers: Iterable[tuple[str, str]] = ()) -> bool:
        """Cancel a pending INVITE (§9.1): the CANCEL goes to the same destination over the same
        transport, as its own non-INVITE transaction, once a provisional response has arrived.
        Returns False when the INVITE already has a final response (nothing left to cancel).
        The INVITE transaction then receives the 487 (or the final response that won the race).
        `headers` are added to the CANCEL (e.g. a Reason, RFC 3326).
        """
        extra = tuple(headers)
        if not isinstance(invite, ClientInviteTransaction):
            raise ValueError("only an INVITE can be cancelled")

        def send_cancel() -> None:
            request = build_cancel(invite.request)
            for name, value in extra:
                request.headers.add(name, value)
            key = client_key(request)
            transaction = ClientNonInviteTransaction(
                request,
                invite.channel,
                self.clock,
                key=key,
                timers=self.timers,
                on_terminated=self._forget_client,
            )
            if key is not None:
                self._client[key] = transaction
            transaction.start()

        return invite.request_cancel(send_cancel)

    def send_stateless(
        self, request: Request, destination: Destination, on_error: ErrorCallback | None = None
    ) -> None:
        """Send a request outside any transaction (an ACK to a 2xx, §13.2.2.4)."""
        transport = self.transport_for(destination.transport)
        self.prepare_request(request, transport)
        transport.send_to(request.to_bytes(), destination.address, on_error)

    def _forget_client(self, transaction: Transaction) -> None:
        key = transaction.key
        if key is not None and self._client.get(key) is transaction:
            del self._client[key]
