"""RFC 3261 §17 transaction state machines, with the RFC 6026 and RFC 4320 updates.

The four machines (client/server x INVITE/non-INVITE) know nothing about sockets: each sends
through a `Channel` (a route to the peer chosen by the transport layer) and schedules its timers on
a `Clock`. The owner (the stack) matches incoming messages to transactions with `server_key` /
`client_key` and removes a transaction from its tables when `on_terminated` is called.

RFC 6026 moves the 2xx-to-INVITE handling into the transaction layer: the server INVITE
transaction enters *Accepted* on a 2xx (timer L) and the client INVITE transaction enters
*Accepted* on a 2xx (timer M), so retransmitted INVITEs and 2xx are absorbed instead of being seen
as new requests or stray responses. The server transaction here also retransmits the 2xx over
unreliable transports until the ACK arrives (the UA core duty of RFC 3261 §13.3.1.4), so a
policy that answers 200 to an INVITE gets reliable delivery without writing timers of its own.

The client machines are in `client_transaction`; this module holds the shared base, the keys and
the server machines. RFC 4320 rules enforced for non-INVITE server transactions: no provisional responses except 100
over a reliable transport, never a 408 (the transaction completes silently instead), and a
response the application produces after the client has given up (64*T1) is dropped.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable
from typing import Protocol

from .building import generate_tag, make_response
from .message import Request, Response, Via
from .timers import DEFAULT_TIMERS, Clock, TimerHandle, Timers

__all__ = [
    "MAGIC_COOKIE",
    "Channel",
    "ServerInviteTransaction",
    "ServerNonInviteTransaction",
    "ServerTransaction",
    "State",
    "Transaction",
    "TransactionError",
    "TransactionTimeoutError",
    "TransactionTransportError",
    "client_key",
    "server_key",
]

log = logging.getLogger(__name__)

MAGIC_COOKIE = "z9hG4bK"

ClientKey = tuple[str, str]
ServerKey = tuple[str, ...]


class State(enum.Enum):
    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class TransactionError(Exception):
    """A transaction ended without the exchange completing."""


class TransactionTimeoutError(TransactionError):
    def __init__(self, timer: str) -> None:
        super().__init__(f"{timer} fired")
        self.timer = timer


class TransactionTransportError(TransactionError):
    pass


class Channel(Protocol):
    """The transport-layer route a transaction sends on."""

    @property
    def reliable(self) -> bool: ...

    def send(self, data: bytes, on_error: Callable[[Exception], None] | None = None) -> None: ...


# --- matching -----------------------------------------------------------------------------------


def server_key(request: Request, via: Via | None = None) -> ServerKey:
    """§17.2.3 server-side match key; ACK maps to its INVITE, CANCEL stays its own transaction."""
    top = via if via is not None else request.top_via
    method = request.method
    if method == "ACK":
        method = "INVITE"
    branch = top.branch
    if branch is not None and branch.startswith(MAGIC_COOKIE):
        return (branch, top.host.lower(), str(top.port), method)
    # RFC 2543 peers: no usable branch, so match on the request's identity instead.
    return (
        "",
        request.call_id,
        request.from_.tag or "",
        str(request.cseq[0]),
        request.uri,
        str(top),
        method,
    )


def cancel_target_key(cancel_key: ServerKey) -> ServerKey:
    """The key of the INVITE transaction a CANCEL (with `cancel_key`) refers to."""
    return (*cancel_key[:-1], "INVITE")


def client_key(message: Request | Response) -> ClientKey | None:
    """§17.1.3 client-side match key: top Via branch + CSeq method."""
    branch = message.top_via.branch
    if branch is None:
        return None
    return (branch, message.cseq[1])


# --- base ---------------------------------------------------------------------------------------


class Transaction:
    __slots__ = (
        "_on_terminated",
        "_retransmit",
        "_timeout",
        "_wait",
        "channel",
        "clock",
        "key",
        "on_error",
        "request",
        "state",
        "timers",
    )

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
        self.request = request
        self.channel = channel
        self.clock = clock
        self.timers = timers
        self.key = key
        self.state = State.TRYING
        # Called when the transaction fails (timeout or transport error); the stack's tables
        # are cleaned through `_on_terminated`, which the transaction user never sees.
        self.on_error: Callable[[Transaction, TransactionError], None] | None = None
        self._on_terminated = on_terminated
        # At most three timers run at once per machine: a retransmission timer (A/E/G), a
        # give-up timer (B/F/H) and a wait timer (D/I/J/K/L/M), so each has its own slot.
        self._retransmit: TimerHandle | None = None
        self._timeout: TimerHandle | None = None
        self._wait: TimerHandle | None = None

    @property
    def reliable(self) -> bool:
        return self.channel.reliable

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def terminated(self) -> bool:
        return self.state is State.TERMINATED

    def terminate(self) -> None:
        if self.state is State.TERMINATED:
            return
        self.state = State.TERMINATED
        for handle in (self._retransmit, self._timeout, self._wait):
            if handle is not None:
                handle.cancel()
        self._retransmit = self._timeout = self._wait = None
        if self._on_terminated is not None:
            self._on_terminated(self)
        self._terminated_hook()

    def _terminated_hook(self) -> None:
        pass

    def _fail(self, error: TransactionError) -> None:
        if self.state is State.TERMINATED:
            return
        self.terminate()
        if self.on_error is not None:
            self.on_error(self, error)
        self._failed_hook(error)

    def _failed_hook(self, error: TransactionError) -> None:
        pass

    def _transport_error(self, exc: Exception) -> None:
        log.debug("transport error on %s transaction: %s", self.request.method, exc)
        self._fail(TransactionTransportError(str(exc)))

    def _enter_wait(self, state: State, delay: float) -> None:
        """Enter a state whose only way out is a wait timer (0 means leave at once)."""
        self.state = state
        if delay <= 0:
            self.terminate()
        else:
            self._wait = self.clock.call_later_coarse(delay, self.terminate)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.request.method} {self.state.value} key={self.key}>"


# --- server side --------------------------------------------------------------------------------


class ServerTransaction(Transaction):
    """A request received from the network; the application answers through `respond`/`reply`."""

    __slots__ = ("_last_bytes", "_local_tag", "cancel_target", "cancelled", "context", "last_response")

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
        self.last_response: Response | None = None
        self._last_bytes: bytes | None = None
        self._local_tag: str | None = None
        # For a CANCEL: the INVITE server transaction it matches (§9.2), None if there is none.
        self.cancel_target: ServerInviteTransaction | None = None
        # For an INVITE: set when a matching CANCEL arrived.
        self.cancelled = False
        # Free slot for the owner (e.g. the inbound flow the request came on).
        self.context: object = None

    @property
    def local_tag(self) -> str:
        """Our To tag for this transaction's responses: one per transaction, so a 180 and the
        final response agree (§8.2.6.2), and stable across retransmissions."""
        if self._local_tag is None:
            target = self.cancel_target
            # §9.2: the To tag of the 200 to a CANCEL is the one of the INVITE's responses.
            self._local_tag = target.local_tag if target is not None else generate_tag()
        return self._local_tag

    @property
    def final_sent(self) -> bool:
        return self.last_response is not None and self.last_response.status >= 200

    def reply(
        self,
        status: int,
        reason: str | None = None,
        *,
        to_tag: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> Response:
        request = self.request
        # Our tag goes on every To without one but a 100's (8.2.6.2); To is parsed only if it may
        # hold a tag.
        tag = (to_tag or self.local_tag) if status > 100 and request.to_tag is None else None
        response = make_response(request, status, reason, to_tag=tag, headers=headers, body=body)
        self.respond(response)
        return response

    def respond(self, response: Response) -> bool:
        """Send `response` if the state machine allows it; returns whether it went out."""
        raise NotImplementedError

    def receive_request(self, request: Request) -> bool:
        """A retransmission (or ACK) matched this transaction; True means pass it to the TU."""
        raise NotImplementedError

    def _send_response(self, response: Response) -> None:
        data = response.to_bytes()
        self.last_response = response
        self._last_bytes = data
        self.channel.send(data, self._transport_error)

    @property
    def last_bytes(self) -> bytes | None:
        """The last response as it was sent."""
        return self._last_bytes

    def _resend_last(self) -> None:
        if self._last_bytes is not None:
            self.channel.send(self._last_bytes, self._transport_error)


class ServerNonInviteTransaction(ServerTransaction):
    """§17.2.2 (Figure 8) with RFC 4320."""

    __slots__ = ("stateless",)

    def __init__(
        self,
        request: Request,
        channel: Channel,
        clock: Clock,
        *,
        key: tuple[str, ...] | None = None,
        timers: Timers = DEFAULT_TIMERS,
        on_terminated: Callable[[Transaction], None] | None = None,
        lifetime: bool = True,
    ) -> None:
        super().__init__(request, channel, clock, key=key, timers=timers, on_terminated=on_terminated)
        self.state = State.TRYING
        # Set by a TU answering as a stateless UAS (RFC 3261 8.2.7): the final response ends the
        # transaction at once, so no timer J is started only to be cancelled.
        self.stateless = False
        if lifetime:
            self.start_lifetime()

    def start_lifetime(self) -> None:
        """Give up on the TU after 64*T1 if it has not answered by then.

        RFC 3261 has no timer in Trying; without one a TU that never answers leaks the
        transaction. The client gives up after timer F (64*T1), and RFC 4320 §4.2 forbids a late
        answer, so the server gives up at the same moment. The stack starts it only when the TU
        did not answer synchronously, which spares a timer on the common path.
        """
        if self._timeout is None and (self.state is State.TRYING or self.state is State.PROCEEDING):
            self._timeout = self.clock.call_later(self.timers.timer_f, self._on_lifetime)

    def respond(self, response: Response) -> bool:
        state = self.state
        if state is State.TERMINATED or state is State.COMPLETED:
            log.debug("late response %d to %s dropped", response.status, self.request.method)
            return False
        status = response.status
        if status < 200:
            # RFC 4320 §4.1: only 100, and only where it cannot race the client's timer E.
            if status != 100 or not self.channel.reliable:
                return False
            self.state = State.PROCEEDING
            self._send_response(response)
            return True
        if self._timeout is not None:
            self._timeout.cancel()
            self._timeout = None
        if status == 408:
            # RFC 4320 §4.2: a 408 to a non-INVITE is never sent; complete silently so that
            # retransmissions are still absorbed rather than replayed to the TU.
            self.last_response = response
            self._complete()
            return False
        self._send_response(response)
        self._complete()
        return True

    def _complete(self) -> None:
        # From here on the request is only matched by its key and retransmissions get the stored
        # bytes again (§17.2.2), so the parsed forms of its headers, built for the TU, need not
        # stay in memory for timer J (32 s over UDP); the TU may still read them, re-parsed.
        self.request.headers.forget_parsed()
        wait = 0.0 if self.stateless else self.timers.timer_j(self.channel.reliable)
        self._enter_wait(State.COMPLETED, wait)

    def receive_request(self, request: Request) -> bool:
        if self.state is not State.TRYING:
            self._resend_last()
        return False

    def _on_lifetime(self) -> None:
        self._timeout = None
        self._fail(TransactionTimeoutError("timer_f"))


class ServerInviteTransaction(ServerTransaction):
    """§17.2.1 (Figure 7) as updated by RFC 6026 (Figure 5: the Accepted state)."""

    __slots__ = ("_interval", "acked")

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
        self.state = State.PROCEEDING
        self._interval = timers.timer_g
        self.acked = False

    def send_trying(self) -> None:
        """100 Trying at once (§17.2.1), so the client stops retransmitting during app work."""
        self.respond(make_response(self.request, 100))

    def respond(self, response: Response) -> bool:
        state = self.state
        status = response.status
        if state is State.PROCEEDING:
            if status < 200:
                self._send_response(response)
                return True
            self._send_response(response)
            if status < 300:
                self.state = State.ACCEPTED
                if not self.channel.reliable:
                    self._interval = self.timers.timer_g
                    self._retransmit = self.clock.call_later(self._interval, self._on_timer_g)
                self._wait = self.clock.call_later(self.timers.timer_l, self._on_timer_l)
                return True
            self.state = State.COMPLETED
            if not self.channel.reliable:
                self._interval = self.timers.timer_g
                self._retransmit = self.clock.call_later(self._interval, self._on_timer_g)
            self._timeout = self.clock.call_later(self.timers.timer_h, self._on_timer_h)
            return True
        if state is State.ACCEPTED and 200 <= status < 300:
            # RFC 6026 §7.1: further 2xx from the TU (e.g. its own retransmission) go straight out.
            self._send_response(response)
            return True
        log.debug("response %d in state %s dropped", status, state.value)
        return False

    def receive_request(self, request: Request) -> bool:
        state = self.state
        if request.method == "ACK":
            if state is State.COMPLETED:
                self.acked = True
                self._cancel_retransmit()
                if self._timeout is not None:
                    self._timeout.cancel()
                    self._timeout = None
                self._enter_wait(State.CONFIRMED, self.timers.timer_i(self.channel.reliable))
                return False
            if state is State.ACCEPTED:
                # An ACK matching the 2xx (routed here by the stack, or an RFC 2543 ACK
                # sharing the INVITE's branch) ends 2xx retransmission and goes to the TU.
                first = not self.acked
                self.acked = True
                self._cancel_retransmit()
                return first
            return False
        # A retransmitted INVITE: replay the last response while one is useful.
        if state is State.PROCEEDING or state is State.COMPLETED:
            self._resend_last()
        return False

    def _cancel_retransmit(self) -> None:
        if self._retransmit is not None:
            self._retransmit.cancel()
            self._retransmit = None

    def _on_timer_g(self) -> None:
        if self.state is State.COMPLETED or (self.state is State.ACCEPTED and not self.acked):
            self._resend_last()
            self._interval = min(2 * self._interval, self.timers.t2)
            self._retransmit = self.clock.call_later(self._interval, self._on_timer_g)
        else:
            self._retransmit = None

    def _on_timer_h(self) -> None:
        self._timeout = None
        self._fail(TransactionTimeoutError("timer_h"))

    def _on_timer_l(self) -> None:
        self._wait = None
        if self.acked:
            self.terminate()
        else:
            # §13.3.1.4: a 2xx never acknowledged within 64*T1 means the call never got established;
            # the TU (which owns the dialog) decides what to do, typically a BYE.
            self._fail(TransactionTimeoutError("timer_l"))
