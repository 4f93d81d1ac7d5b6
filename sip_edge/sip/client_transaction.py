"""Client transactions (RFC 3261 §17.1, with the RFC 6026 Accepted state): the requests we send.

Built on the shared machinery of `transaction` (the `Transaction` base, its `Channel` and keys);
the stack starts one per request it sends and matches responses to it with `client_key`. Also the
two requests the client side builds from an INVITE: its CANCEL (§9.1) and the ACK of a non-2xx
final response (§17.1.1.3).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

from .message import Headers, Request, Response
from .timers import DEFAULT_TIMERS, Clock, Timers
from .transaction import Channel, State, Transaction, TransactionError, TransactionTimeoutError

__all__ = [
    "ClientInviteTransaction",
    "ClientNonInviteTransaction",
    "ClientTransaction",
    "build_ack_for_non_2xx",
    "build_cancel",
]

log = logging.getLogger(__name__)


class ClientTransaction(Transaction):
    """A request we send; responses reach `on_response` and the async iterator."""

    __slots__ = ("_data", "_error", "_interval", "_responses", "_waiter", "on_response")

    def __init__(
        self,
        request: Request,
        channel: Channel,
        clock: Clock,
        *,
        key: tuple[str, ...] | None = None,
        timers: Timers = DEFAULT_TIMERS,
        on_terminated: Callable[[Transaction], None] | None = None,
    ) -> None:
        super().__init__(request, channel, clock, key=key, timers=timers, on_terminated=on_terminated)
        self.on_response: Callable[[ClientTransaction, Response], None] | None = None
        self._data = b""
        self._interval = 0.0
        self._responses: list[Response] = []
        self._error: TransactionError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def start(self) -> None:
        raise NotImplementedError

    def receive_response(self, response: Response) -> None:
        raise NotImplementedError

    def _send_request(self) -> None:
        self.channel.send(self._data, self._transport_error)

    def _deliver(self, response: Response) -> None:
        self._responses.append(response)
        self._wake()
        if self.on_response is not None:
            self.on_response(self, response)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _failed_hook(self, error: TransactionError) -> None:
        self._error = error
        self._wake()

    def _terminated_hook(self) -> None:
        self._wake()

    async def responses(self) -> AsyncIterator[Response]:
        """Every response up to and including the first final one; raises on timeout/failure."""
        index = 0
        while True:
            while index < len(self._responses):
                response = self._responses[index]
                index += 1
                yield response
                if response.status >= 200:
                    return
            if self._error is not None:
                raise self._error
            if self.state is State.TERMINATED:
                return
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter

    def __aiter__(self) -> AsyncIterator[Response]:
        return self.responses()

    async def final_response(self) -> Response:
        last: Response | None = None
        async for response in self.responses():
            last = response
        if last is None or last.status < 200:
            raise TransactionError("transaction ended without a final response")
        return last


class ClientNonInviteTransaction(ClientTransaction):
    """§17.1.2 (Figure 6)."""

    __slots__ = ()

    def start(self) -> None:
        self.state = State.TRYING
        self._data = self.request.to_bytes()
        self._send_request()
        if self.terminated:  # the send failed synchronously
            return
        if not self.channel.reliable:
            self._interval = self.timers.timer_e
            self._retransmit = self.clock.call_later(self._interval, self._on_timer_e)
        self._timeout = self.clock.call_later(self.timers.timer_f, self._on_timer_f)

    def receive_response(self, response: Response) -> None:
        state = self.state
        if state is not State.TRYING and state is not State.PROCEEDING:
            return
        if response.status < 200:
            self.state = State.PROCEEDING
            self._deliver(response)
            return
        for handle in (self._retransmit, self._timeout):
            if handle is not None:
                handle.cancel()
        self._retransmit = self._timeout = None
        self.state = State.COMPLETED
        self._deliver(response)
        if self.state is State.COMPLETED:
            self._enter_wait(State.COMPLETED, self.timers.timer_k(self.channel.reliable))

    def _on_timer_e(self) -> None:
        state = self.state
        if state is not State.TRYING and state is not State.PROCEEDING:
            self._retransmit = None
            return
        self._send_request()
        # In Proceeding the interval is T2 flat; in Trying it doubles up to T2.
        self._interval = (
            self.timers.t2 if state is State.PROCEEDING else min(2 * self._interval, self.timers.t2)
        )
        if not self.terminated:
            self._retransmit = self.clock.call_later(self._interval, self._on_timer_e)

    def _on_timer_f(self) -> None:
        self._timeout = None
        self._fail(TransactionTimeoutError("timer_f"))


class ClientInviteTransaction(ClientTransaction):
    """§17.1.1 (Figure 5) as updated by RFC 6026 (Accepted state, timer M)."""

    __slots__ = ("_ack_bytes", "_pending_cancel")

    def __init__(
        self,
        request: Request,
        channel: Channel,
        clock: Clock,
        *,
        key: tuple[str, ...] | None = None,
        timers: Timers = DEFAULT_TIMERS,
        on_terminated: Callable[[Transaction], None] | None = None,
    ) -> None:
        super().__init__(request, channel, clock, key=key, timers=timers, on_terminated=on_terminated)
        self._ack_bytes: bytes | None = None
        self._pending_cancel: Callable[[], None] | None = None

    def request_cancel(self, send_cancel: Callable[[], None]) -> bool:
        """Run `send_cancel` once cancelling is allowed; False if there is nothing to cancel.

        §9.1: a CANCEL must not be sent before a provisional response has arrived (it could
        overtake the INVITE), so in Calling it waits for the first 1xx; after a final response
        there is nothing left to cancel.
        """
        if self.state is State.PROCEEDING:
            send_cancel()
            return True
        if self.state is State.CALLING:
            self._pending_cancel = send_cancel
            return True
        return False

    def start(self) -> None:
        self.state = State.CALLING
        self._data = self.request.to_bytes()
        self._send_request()
        if self.terminated:
            return
        if not self.channel.reliable:
            self._interval = self.timers.timer_a
            self._retransmit = self.clock.call_later(self._interval, self._on_timer_a)
        self._timeout = self.clock.call_later(self.timers.timer_b, self._on_timer_b)

    def receive_response(self, response: Response) -> None:
        state = self.state
        status = response.status
        if state is State.CALLING or state is State.PROCEEDING:
            for handle in (self._retransmit, self._timeout):
                if handle is not None:
                    handle.cancel()
            self._retransmit = self._timeout = None
            pending_cancel, self._pending_cancel = self._pending_cancel, None
            if status < 200:
                self.state = State.PROCEEDING
                if pending_cancel is not None:
                    pending_cancel()
                self._deliver(response)
            elif status < 300:
                self.state = State.ACCEPTED
                self._wait = self.clock.call_later(self.timers.timer_m, self.terminate)
                self._deliver(response)
            else:
                self.state = State.COMPLETED
                self._ack_bytes = build_ack_for_non_2xx(self.request, response).to_bytes()
                self.channel.send(self._ack_bytes, self._transport_error)
                self._deliver(response)
                if self.state is State.COMPLETED:
                    self._enter_wait(State.COMPLETED, self.timers.timer_d(self.channel.reliable))
        elif state is State.COMPLETED:
            if status >= 300 and self._ack_bytes is not None:
                self.channel.send(self._ack_bytes, self._transport_error)
        elif state is State.ACCEPTED and 200 <= status < 300 and self.on_response is not None:
            # RFC 6026 §8.4: every 2xx (retransmission or another fork) goes to the TU, which
            # acknowledges each one; the iterator has ended, so only `on_response` sees these.
            self.on_response(self, response)

    def _on_timer_a(self) -> None:
        if self.state is not State.CALLING:
            self._retransmit = None
            return
        self._send_request()
        # Timer A doubles without the T2 cap of timers E and G (§17.1.1.2).
        self._interval *= 2
        if not self.terminated:
            self._retransmit = self.clock.call_later(self._interval, self._on_timer_a)

    def _on_timer_b(self) -> None:
        self._timeout = None
        self._fail(TransactionTimeoutError("timer_b"))


def build_cancel(invite: Request) -> Request:
    """§9.1: the CANCEL for a pending INVITE: same Request-URI, Call-ID, From, To, CSeq number and
    top Via (so the server matches it to the INVITE's transaction), and the same Route set."""
    headers = Headers()
    headers.add("Via", str(invite.top_via))
    for name in ("From", "To", "Call-ID"):
        value = invite.headers.get(name)
        if value is not None:
            headers.add(name, value)
    headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    return Request("CANCEL", invite.uri, "SIP/2.0", headers, b"")


def build_ack_for_non_2xx(invite: Request, response: Response) -> Request:
    """§17.1.1.3: the ACK the client transaction itself sends for a 300-699 response."""
    headers = Headers()
    # Only the top Via, with the INVITE's branch, so the server transaction matches it.
    headers.add("Via", str(invite.top_via))
    for name in ("From", "Call-ID"):
        value = invite.headers.get(name)
        if value is not None:
            headers.add(name, value)
    to = response.headers.get("To")
    if to is not None:
        headers.add("To", to)
    headers.add("CSeq", f"{invite.cseq[0]} ACK")
    for route in invite.headers.get_all("Route"):
        headers.add("Route", route)
    headers.add("Max-Forwards", "70")
    return Request("ACK", invite.uri, "SIP/2.0", headers, b"")
