"""The SIP stack: transports + transactions + one request callback.

Mechanism only. The stack parses what the transports deliver, fixes the top Via (RFC 3581),
absorbs retransmissions in the transaction layer and calls the one `on_request` callback with
each new request and its server transaction. The callback (the policy) answers through the
transaction, or returns a `Reply` for the stack to send; it never sees a retransmission.

ACKs to 2xx responses have no transaction of their own (§17): they reach the callback with an
`AckContext` in place of a transaction, after stopping the 2xx retransmission of the INVITE
transaction they acknowledge.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Union

from .message import Request, Response, SipParseError, Via, generate_branch, make_response, parse_message
from .timers import DEFAULT_TIMERS, Clock, Timers
from .transaction import (
    ClientInviteTransaction,
    ClientNonInviteTransaction,
    ClientTransaction,
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    State,
    Transaction,
    TransactionError,
    build_cancel,
    cancel_target_key,
    client_key,
    server_key,
)
from .transport import Address, ErrorCallback, Flow, ResponseRoute, Transport, TransportError, default_port

__all__ = [
    "UDP_SIZE_LIMIT",
    "AckContext",
    "Destination",
    "HandlerResult",
    "Reply",
    "RequestHandler",
    "SipStack",
    "StackStats",
    "flow_of",
]

log = logging.getLogger(__name__)


# §18.1.1: the size above which a request must not go over UDP when the path MTU is unknown.
UDP_SIZE_LIMIT = 1300
# Room for the Via (and Max-Forwards) `prepare_request` adds.
_VIA_ALLOWANCE = 120


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
    edge answers and would otherwise each be kept 32 s for timer J over UDP. Ignored for INVITE,
    whose transaction must absorb the ACK.
    """

    status: int
    reason: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    to_tag: str | None = None
    stateless: bool = False


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


HandlerResult = Union[Reply, None, Awaitable[Reply | None]]  # noqa: UP007 - a runtime alias
RequestHandler = Callable[[ServerTransaction | AckContext, Request], HandlerResult]
StrayResponseHandler = Callable[[Response, Flow], None]


@dataclass(slots=True)
class StackStats:
    requests: int = 0
    responses: int = 0
    retransmissions_absorbed: int = 0
    parse_errors: int = 0
    stray_responses: int = 0
    handler_errors: int = 0


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


class _RateLimitedLog:
    """At most `per_second` debug lines per second, so a flood of junk cannot flood the log."""

    __slots__ = ("_count", "_per_second", "_window")

    def __init__(self, per_second: int = 5) -> None:
        self._per_second = per_second
        self._window = 0
        self._count = 0

    def debug(self, message: str, *args: object) -> None:
        if not log.isEnabledFor(logging.DEBUG):
            return
        now = int(time.monotonic())
        if now != self._window:
            self._window, self._count = now, 0
        self._count += 1
        if self._count <= self._per_second:
            log.debug(message, *args)


class SipStack:
    """Ties transports, the transaction tables and the request callback together."""

    def __init__(
        self,
        clock: Clock,
        *transports: Transport,
        on_request: RequestHandler,
        timers: Timers = DEFAULT_TIMERS,
        on_stray_response: StrayResponseHandler | None = None,
        server_header: str | None = None,
    ) -> None:
        self.clock = clock
        self.timers = timers
        self.on_request = on_request
        self.on_stray_response = on_stray_response
        self.server_header = server_header
        self.transports: dict[str, Transport] = {}
        self.stats = StackStats()
        self._server: dict[tuple[str, ...], ServerTransaction] = {}
        self._client: dict[tuple[str, ...], ClientTransaction] = {}
        # INVITE server transactions by (Call-ID, CSeq number): an ACK to a 2xx carries a new
        # branch, so this is how it finds the transaction retransmitting that 2xx.
        self._invites: dict[tuple[str, int], ServerInviteTransaction] = {}
        self._tasks: set[asyncio.Future[Reply | None]] = set()
        self._bad_log = _RateLimitedLog()
        # One bound method for every server transaction, rather than a new one kept by each for
        # as long as it lives (32 s over UDP).
        self._forget = self._forget_server
        for transport in transports:
            self.add_transport(transport)

    # --- wiring ---------------------------------------------------------------------------------

    def add_transport(self, transport: Transport) -> None:
        """Register a transport (one per name: UDP, TCP, TLS) and make the stack its sink."""
        transport.sink = self
        self.transports[transport.name] = transport

    @property
    def server_transactions(self) -> int:
        return len(self._server)

    @property
    def client_transactions(self) -> int:
        return len(self._client)

    # --- inbound --------------------------------------------------------------------------------

    def on_message(self, data: bytes, flow: Flow) -> None:
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._on_parse_error(exc, flow)
            return
        try:
            if isinstance(message, Request):
                self._on_request(message, flow)
            else:
                self._on_response(message, flow)
        except Exception:
            # One message must not take the transport down with it (on a stream, an exception
            # escaping here would close a connection that carries other calls).
            log.exception("failed to process a message from %r", flow)

    def _on_parse_error(self, exc: SipParseError, flow: Flow) -> None:
        self.stats.parse_errors += 1
        self._bad_log.debug("unparsable message from %r: %s", flow, exc.reason)
        partial = exc.partial
        if partial is None or partial.method == "ACK":
            return
        status = 505 if exc.status == 505 else 400
        try:
            via = partial.top_via
            # The answer to a broken request still goes where RFC 3581 says, so fix its Via too.
            self._fix_via(partial, via, flow)
            warning = f'399 {flow.transport.sent_by[0]} "{_quote(exc.reason)}"'
            response = make_response(partial, status, headers=(("Warning", warning),))
        except (SipParseError, ValueError) as again:
            self._bad_log.debug("cannot answer unparsable message from %r: %s", flow, again)
            return
        self._route_for(via, flow).send(response.to_bytes())

    @staticmethod
    def _route_for(via: Via, flow: Flow) -> ResponseRoute:
        # The flow decides where answers go; of the Via only the sent-by port is used, for a new
        # connection when a stream is gone (see ResponseRoute).
        return ResponseRoute(flow, via.port)

    @staticmethod
    def _fix_via(request: Request, via: Via, flow: Flow) -> None:
        """§18.2.1 + RFC 3581 §4: the server WRITES where the request came from into the top Via.

        A ``received`` the sender put there itself is a claim, not a fact: it is replaced by the
        source address, or removed when none is due, so neither our response routing nor any hop
        the request is relayed to can be steered by it (Kamailio likewise overwrites it).
        """
        source_host, source_port = flow.remote
        params = via.params
        if "rport" in params:
            # RFC 3581: received is added whenever rport is asked for, even if the host matches.
            params["received"] = source_host
            params["rport"] = str(source_port)
        elif via.host.strip("[]") != source_host:
            params["received"] = source_host
        elif "received" in params:
            del params["received"]
        else:
            return
        request.set_top_via(via)

    def _on_request(self, request: Request, flow: Flow) -> None:
        self.stats.requests += 1
        via = request.top_via
        self._fix_via(request, via, flow)
        key = server_key(request, via)
        transaction = self._server.get(key)
        method = request.method
        if transaction is not None:
            self.stats.retransmissions_absorbed += 1
            if transaction.receive_request(request) and isinstance(transaction, ServerInviteTransaction):
                self._dispatch_ack(request, flow, transaction)
            return
        if method == "ACK":
            self._on_ack_without_transaction(request, flow)
            return
        route = self._route_for(via, flow)
        if method == "INVITE":
            invite = ServerInviteTransaction(
                request, route, self.clock, key=key, timers=self.timers, on_terminated=self._forget
            )
            invite.context = flow
            self._server[key] = invite
            self._invites[(request.call_id, request.cseq[0])] = invite
            invite.send_trying()
            self._invoke(invite, request)
            return
        transaction = ServerNonInviteTransaction(
            request,
            route,
            self.clock,
            key=key,
            timers=self.timers,
            on_terminated=self._forget,
            lifetime=False,
        )
        transaction.context = flow
        self._server[key] = transaction
        if method == "CANCEL":
            target = self._server.get(cancel_target_key(key))
            if isinstance(target, ServerInviteTransaction):
                transaction.cancel_target = target
                target.cancelled = True
        self._invoke(transaction, request)
        if transaction.state is State.TRYING:
            transaction.start_lifetime()

    def _on_ack_without_transaction(self, request: Request, flow: Flow) -> None:
        invite = self._invites.get((request.call_id, request.cseq[0]))
        if invite is not None and invite.state is State.ACCEPTED:
            if not invite.receive_request(request):
                return  # a retransmitted ACK: the TU has seen it already
            self._dispatch_ack(request, flow, invite)
            return
        self._dispatch_ack(request, flow, None)

    def _dispatch_ack(self, request: Request, flow: Flow, invite: ServerInviteTransaction | None) -> None:
        try:
            result = self.on_request(AckContext(request, flow, invite), request)
        except Exception:
            self.stats.handler_errors += 1
            log.exception("request handler failed on ACK")
            return
        if inspect.isawaitable(result):
            task = asyncio.ensure_future(result)
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _invoke(self, transaction: ServerTransaction, request: Request) -> None:
        try:
            result = self.on_request(transaction, request)
        except Exception:
            self._handler_failed(transaction)
            return
        if result is None:
            return
        if isinstance(result, Reply):
            self._execute(transaction, result)
            return
        task = asyncio.ensure_future(result)
        self._tasks.add(task)
        task.add_done_callback(lambda done: self._handler_done(transaction, done))

    def _handler_done(self, transaction: ServerTransaction, task: asyncio.Future[Reply | None]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            self._handler_failed(transaction, error)
            return
        result = task.result()
        if result is not None:
            self._execute(transaction, result)

    def _handler_failed(self, transaction: ServerTransaction, error: BaseException | None = None) -> None:
        self.stats.handler_errors += 1
        log.error("request handler failed on %s", transaction.request.method, exc_info=error or True)
        if not transaction.final_sent and not transaction.terminated:
            transaction.reply(500, "Server Internal Error")

    def _execute(self, transaction: ServerTransaction, reply: Reply) -> None:
        headers = reply.headers
        if self.server_header is not None:
            headers = (*headers, ("Server", self.server_header))
        stateless = (
            transaction if reply.stateless and isinstance(transaction, ServerNonInviteTransaction) else None
        )
        if stateless is not None:
            stateless.stateless = True
        transaction.reply(reply.status, reply.reason, to_tag=reply.to_tag, headers=headers, body=reply.body)
        if stateless is not None:
            # Also when nothing was sent (a provisional answer, or too late): it is done with.
            stateless.terminate()

    def _forget_server(self, transaction: Transaction) -> None:
        key = transaction.key
        if key is not None and self._server.get(key) is transaction:
            del self._server[key]
        if isinstance(transaction, ServerInviteTransaction):
            request = transaction.request
            index = (request.call_id, request.cseq[0])
            if self._invites.get(index) is transaction:
                del self._invites[index]

    # --- responses ------------------------------------------------------------------------------

    def _on_response(self, response: Response, flow: Flow) -> None:
        self.stats.responses += 1
        key = client_key(response)
        transaction = self._client.get(key) if key is not None else None
        if transaction is not None:
            transaction.receive_response(response)
            return
        # §18.1.2: no matching transaction. A 2xx retransmission after timer M still needs an
        # ACK from the TU, so it is offered to the stray-response hook rather than dropped.
        self.stats.stray_responses += 1
        if self.on_stray_response is not None:
            self.on_stray_response(response, flow)

    # --- outbound -------------------------------------------------------------------------------

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
            host, port = transport.sent_by
            if ":" in host and not host.startswith("["):
                host = f"[{host}]"
            headers.add(
                "Via", f"SIP/2.0/{transport.name} {host}:{port};branch={generate_branch()};rport", first=True
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

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every timer and transport; pending handler tasks are cancelled."""
        for server in list(self._server.values()):
            server.terminate()
        for client in list(self._client.values()):
            client.terminate()
        for task in list(self._tasks):
            task.cancel()
        for transport in self.transports.values():
            transport.close()


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
