"""The SIP stack: transports + transactions + one request callback.

Mechanism only. The stack parses what the transports deliver, fixes the top Via (RFC 3581),
absorbs retransmissions in the transaction layer and calls the one `on_request` callback with
each new request and its server transaction. The callback (the policy) answers through the
transaction or returns a decision (`decisions`: `Reply`, `Relay`) that the stack executes; it
never sees a retransmission. ACKs to 2xx responses have no transaction of their own (§17): they
reach the callback with an `AckContext` in place of one.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from .building import make_response
from .decisions import AckContext, Destination, HandlerResult, Relay, Reply, RequestHandler, flow_of
from .errors import SipParseError
from .message import Request, Response, Via
from .outbound import Outbound
from .parsing import parse_message, partial_request
from .relay import forward_statelessly, send_upstream
from .timers import DEFAULT_TIMERS, Clock, Timers
from .transaction import (
    ServerInviteTransaction,
    ServerNonInviteTransaction,
    ServerTransaction,
    State,
    Transaction,
    cancel_target_key,
    server_key,
)
from .transport import Address, Flow, ResponseRoute, Transport, TransportError

__all__ = [
    "AckContext",
    "Destination",
    "HandlerResult",
    "Relay",
    "Reply",
    "RequestHandler",
    "SipStack",
    "StackStats",
    "flow_of",
]

log = logging.getLogger(__name__)


StrayResponseHandler = Callable[[Response, Flow], None]


@dataclass(slots=True)
class StackStats:
    requests: int = 0
    responses: int = 0
    retransmissions_absorbed: int = 0
    challenges_replayed: int = 0
    parse_errors: int = 0
    stray_responses: int = 0
    handler_errors: int = 0


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


# A stateless challenge is sent again, byte for byte, to a retransmission of the request it
# answered that arrives within one to two periods of this many seconds (a UDP client retransmits
# after 0.5, 1.5, 3.5 and 7.5 s): the same nonce is as good an answer (RFC 3261 8.2.7), and
# a storm's phones, their first REGISTERs queued behind the others, retransmit most of them.
CHALLENGE_REPLAY_PERIOD = 4.0
# Challenges kept per period, at most: a flood of distinct requests costs bounded memory.
CHALLENGE_REPLAY_LIMIT = 8192

_Sent = tuple[ResponseRoute, bytes]


class _Retransmissions:
    """What answers a UDP retransmission without parsing it again.

    A UDP client retransmits a request unchanged (RFC 3261 17.1.2.2), and identical bytes carry the
    branch, sent-by and method that match them to the same transaction (17.2.3): a live non-INVITE
    server transaction is found by the datagram that opened it. A stateless challenge is kept by
    (datagram, source) for one to two periods. In a registration storm the phones' retransmissions
    outnumber their REGISTERs, and parsing each again was most of their cost.
    """

    __slots__ = ("_by_datagram", "_clock", "_current", "_datagrams", "_previous", "_since")

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._by_datagram: dict[bytes, ServerNonInviteTransaction] = {}
        self._datagrams: dict[tuple[str, ...], bytes] = {}
        # Sent challenges, two generations of one period each.
        self._current: dict[tuple[bytes, Address], _Sent] = {}
        self._previous: dict[tuple[bytes, Address], _Sent] = {}
        self._since = clock.now()

    def answer(self, data: bytes, flow: Flow, stats: StackStats) -> bool:
        """Answer ``data`` if it repeats a request seen; False when it must be parsed."""
        transaction = self._by_datagram.get(data)
        if transaction is not None:
            stats.requests += 1
            stats.retransmissions_absorbed += 1
            transaction.receive_request(transaction.request)
            return True
        if not self._current and not self._previous:
            return False
        self._age()
        key = (data, flow.remote)
        sent = self._current.get(key) or self._previous.get(key)
        if sent is None:
            return False
        stats.requests += 1
        stats.challenges_replayed += 1
        sent[0].send(sent[1])
        return True

    def opened(self, key: tuple[str, ...], data: bytes) -> None:
        self._datagrams[key] = data

    def kept(self, transaction: ServerNonInviteTransaction) -> None:
        """``transaction`` outlives its request's handling: retransmissions go to it."""
        data = self._datagrams.get(transaction.key) if transaction.key is not None else None
        if data is not None:
            self._by_datagram[data] = transaction

    def datagram(self, transaction: ServerTransaction) -> bytes | None:
        return self._datagrams.get(transaction.key) if transaction.key is not None else None

    def ended(self, key: tuple[str, ...]) -> None:
        data = self._datagrams.pop(key, None)
        if data is not None:
            self._by_datagram.pop(data, None)

    def challenged(self, datagram: bytes, transaction: ServerNonInviteTransaction) -> None:
        """``transaction`` answered ``datagram`` with a stateless challenge, now sent."""
        route, sent = transaction.channel, transaction.last_bytes
        if sent is None or not isinstance(route, ResponseRoute):
            return
        self._age()
        if len(self._current) >= CHALLENGE_REPLAY_LIMIT:
            self._rotate(self._clock.now())
        self._current[(datagram, route.flow.remote)] = (route, sent)

    def _age(self) -> None:
        now = self._clock.now()
        age = now - self._since
        if age >= CHALLENGE_REPLAY_PERIOD:
            self._rotate(now)
            if age >= 2 * CHALLENGE_REPLAY_PERIOD:
                self._previous = {}

    def _rotate(self, now: float) -> None:
        self._previous, self._current = self._current, {}
        self._since = now


class SipStack(Outbound):
    """Ties transports, the transaction tables and the request callback together (sending is
    `outbound.Outbound`)."""

    def __init__(
        self,
        clock: Clock,
        *transports: Transport,
        on_request: RequestHandler,
        timers: Timers = DEFAULT_TIMERS,
        on_stray_response: StrayResponseHandler | None = None,
        server_header: str | None = None,
    ) -> None:
        super().__init__(clock, timers)
        self.on_request = on_request
        self.on_stray_response = on_stray_response
        self.server_header = server_header
        self.stats = StackStats()
        self._server: dict[tuple[str, ...], ServerTransaction] = {}
        # INVITE server transactions by (Call-ID, CSeq number): an ACK to a 2xx carries a new
        # branch, so this is how it finds the transaction retransmitting that 2xx.
        self._invites: dict[tuple[str, int], ServerInviteTransaction] = {}
        self._tasks: set[asyncio.Future[Reply | None]] = set()
        self._retransmissions = _Retransmissions(clock)
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

    # --- inbound --------------------------------------------------------------------------------

    def on_message(self, data: bytes, flow: Flow) -> None:
        if self._retransmissions.answer(data, flow, self.stats):
            return
        try:
            message = parse_message(data)
        except SipParseError as exc:
            self._on_parse_error(exc, flow)
            return
        try:
            if isinstance(message, Request):
                self._on_request(message, flow, data)
            else:
                self._on_response(message, flow)
        except Exception:
            # One message must not take the transport down with it (on a stream, an exception
            # escaping here would close a connection that carries other calls).
            log.exception("failed to process a message from %r", flow)

    def _on_parse_error(self, exc: SipParseError, flow: Flow) -> None:
        self.stats.parse_errors += 1
        self._bad_log.debug("unparsable message from %r: %s", flow, exc.reason)
        partial = partial_request(exc)
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

    def _on_request(self, request: Request, flow: Flow, data: bytes) -> None:
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
        if not flow.reliable:
            self._retransmissions.opened(key, data)
        self._invoke(transaction, request)
        if transaction.terminated:
            return  # answered statelessly: a retransmission is a new request
        self._retransmissions.kept(transaction)
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
        if isinstance(result, Relay):
            self._relay(request, result)
        elif inspect.isawaitable(result):
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
        if isinstance(result, Relay):
            try:
                self._relay(request, result)
            except TransportError as exc:  # no transport of the flow's kind here
                self._handler_failed(transaction, exc)
                return
            # No state kept: the upstream task's retransmissions are relayed again as they come.
            transaction.terminate()
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
        challenged = None
        if stateless is not None:
            stateless.stateless = True
            if reply.status in (401, 407):
                challenged = self._retransmissions.datagram(stateless)  # (gone once it ends)
        transaction.reply(reply.status, reply.reason, to_tag=reply.to_tag, headers=headers, body=reply.body)
        if stateless is not None:
            if challenged is not None:
                self._retransmissions.challenged(challenged, stateless)
            # Also when nothing was sent (a provisional answer, or too late): it is done with.
            stateless.terminate()

    def _relay(self, request: Request, relay: Relay) -> None:
        forward_statelessly(
            request, self.transport_for(relay.destination.transport), relay.destination.address
        )

    def _forget_server(self, transaction: Transaction) -> None:
        key = transaction.key
        if key is not None and self._server.get(key) is transaction:
            del self._server[key]
            self._retransmissions.ended(key)
        if isinstance(transaction, ServerInviteTransaction):
            request = transaction.request
            index = (request.call_id, request.cseq[0])
            if self._invites.get(index) is transaction:
                del self._invites[index]

    # --- responses ------------------------------------------------------------------------------

    def _on_response(self, response: Response, flow: Flow) -> None:
        self.stats.responses += 1
        transaction = self.client_transaction_for(response)
        if transaction is not None:
            transaction.receive_response(response)
            return
        # §18.1.2: no matching transaction. A 2xx retransmission after timer M still needs an
        # ACK from the TU, so it is offered to the stray-response hook rather than dropped.
        self.stats.stray_responses += 1
        if send_upstream(response, self.transports):
            return  # a response to a request we relayed (`Relay`): back the way the request came
        if self.on_stray_response is not None:
            self.on_stray_response(response, flow)

    # --- lifecycle ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every timer and transport; pending handler tasks are cancelled."""
        for server in list(self._server.values()):
            server.terminate()
        self.terminate_clients()
        for task in list(self._tasks):
            task.cancel()
        for transport in self.transports.values():
            transport.close()


def _quote(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\r", " ").replace("\n", " ")
