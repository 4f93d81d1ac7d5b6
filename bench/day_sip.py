"""The phones and the carrier of ``center_day.py``: many seats and callers over a few UDP sockets, in
one asyncio loop.

Messages are parsed and digests answered with the topology phone's helpers
(``local_stack.topology.phone``); what is added here is the behaviour of a contact centre's people:
agents that answer after a short ring, talk until the caller hangs up, wrap up and come back
through the agent-state API, sometimes take a break, or never answer (RONA); callers that wait in
the queue and hang up once their talk time has run. Retransmissions follow RFC 3261 over UDP
(INVITE and BYE until a response, a 200 to an INVITE until its ACK), timers halved from T1 = 500 ms
upwards, so a datagram lost on a busy machine costs a retransmission, not a call.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import cast

from local_stack.topology.phone import Message, answer_challenges, parse, sdp

CRLF = "\r\n"
T1 = 0.5
RETRANSMISSIONS = 6  # 0.5 + 1 + 2 + 4 + 4 + 4 s: a peer that stays silent longer has gone
USER_AGENT = "switchboard-center-day"
NO_MEDIA_PORT = 40000  # the SDP's audio port: the day's phones and callers send no RTP
STATE_RETRIES = 10


def branch() -> str:
    return "z9hG4bK" + secrets.token_hex(8)


def uri_user(uri: str) -> str:
    """``sip:alice@host:port;x`` (or ``<sip:...>;tag``) -> ``alice``."""
    inner = uri.split("<", 1)[-1].split(">", 1)[0]
    return inner.split(":", 1)[-1].split("@", 1)[0]


def header_uri(value: str) -> str:
    return value.split("<", 1)[-1].split(">", 1)[0] if "<" in value else value.split(";", 1)[0]


def tag_of(value: str) -> str | None:
    for part in value.split(";")[1:]:
        name, _, tag = part.strip().partition("=")
        if name.lower() == "tag":
            return tag
    return None


class Endpoint(asyncio.DatagramProtocol):
    """One UDP socket; every datagram goes to ``handler`` parsed."""

    def __init__(self, handler: Callable[[Message, tuple[str, int]], None]) -> None:
        self.handler = handler
        self.transport: asyncio.DatagramTransport | None = None
        self.port = 0
        self.unparsable = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)
        self.port = transport.get_extra_info("sockname")[1]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip():
            return  # keep-alive
        try:
            message = parse(data)
            int((message.get("CSeq") or "").split()[0])
        except (ValueError, IndexError):
            self.unparsable += 1
            return
        self.handler(message, addr)

    def send(self, text: str, addr: tuple[str, int]) -> None:
        if self.transport is not None:
            self.transport.sendto(text.encode(), addr)


async def open_endpoint(handler: Callable[[Message, tuple[str, int]], None]) -> Endpoint:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_datagram_endpoint(lambda: Endpoint(handler), local_addr=("127.0.0.1", 0))
    sock = protocol.transport.get_extra_info("socket") if protocol.transport else None
    if sock is not None:
        import socket

        # Bursts of hundreds of datagrams a second on a busy machine: room to wait for the loop.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    return protocol


def reply(request: Message, status: int, reason: str, *, to_tag: str = "", extra: list[str] | None = None,
          body: str = "") -> str:  # fmt: skip
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {via}" for via in request.all("Via")]
    to = request.get("To") or ""
    if to_tag and tag_of(to) is None:
        to += f";tag={to_tag}"
    lines += [
        f"From: {request.get('From')}",
        f"To: {to}",
        f"Call-ID: {request.get('Call-ID')}",
        f"CSeq: {request.get('CSeq')}",
        *(extra or []),
    ]
    if body:
        lines.append("Content-Type: application/sdp")
    return CRLF.join([*lines, f"Content-Length: {len(body.encode())}", "", ""]) + body


async def retransmit(send: Callable[[], None], done: asyncio.Event, cap: float = 4.0) -> bool:
    """Sends until ``done`` is set (True) or the retransmissions run out (False)."""
    interval = T1
    for _ in range(RETRANSMISSIONS):
        send()
        try:
            await asyncio.wait_for(done.wait(), interval)
            return True
        except TimeoutError:
            interval = min(cap, interval * 2)
    return done.is_set()


class Sockets:
    """UDP sockets and the tasks running on them, all closed together."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []
        self.tasks: set[asyncio.Task[None]] = set()

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()
        for endpoint in self.endpoints:
            if endpoint.transport is not None:
                endpoint.transport.close()

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)


# --- agents --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Behaviour:
    """How the people at the seats behave; times in seconds, drawn uniformly from each range."""

    ring: tuple[float, float] = (0.3, 1.5)  # from the phone ringing to the agent picking up
    wrap_up: tuple[float, float] = (2.0, 5.0)
    break_share: float = 0.03  # after a call, go not ready for a break instead of available
    break_length: tuple[float, float] = (15.0, 30.0)
    rona_back: tuple[float, float] = (15.0, 30.0)  # a RONA seat's person sets itself available again


@dataclass
class Seat:
    merchant_id: str
    seat_id: str
    username: str
    password: str
    domain: str
    rona: bool = False  # never answers: every offer rings until the ring timeout
    call_id: str | None = None  # the offer or call the phone holds now
    registered: bool = False


@dataclass
class AgentCall:
    seat: Seat
    invite: Message
    addr: tuple[str, int]
    to_tag: str
    contact_id: str
    caller: str
    acked: asyncio.Event = field(default_factory=asyncio.Event)
    answered: bool = False
    ended: bool = False


@dataclass
class AgentTally:
    offers: int = 0
    answered: int = 0
    missed: int = 0  # CANCELled while ringing at a RONA seat
    cancelled: int = 0  # CANCELled while ringing at an answering seat (the caller left)
    double_offers: int = 0  # an INVITE for a seat whose phone already held another call
    unknown_seat: int = 0
    wrap_ups: int = 0
    breaks: int = 0
    state_errors: list[str] = field(default_factory=list)
    state_conflicts: int = 0  # 409 answers to a state change, each tried again a second later
    ringing_at: dict[str, float] = field(default_factory=dict)  # contact id -> 180 sent (monotonic)
    contact_of_caller: dict[str, str] = field(default_factory=dict)  # caller user -> contact id


SetState = Callable[[Seat, str], Awaitable[int]]


class Agents(Sockets):
    """Every seat's phone, ``per_socket`` seats on each UDP socket, and its person."""

    def __init__(
        self,
        seats: list[Seat],
        registrar: tuple[str, int],
        set_state: SetState,
        behaviour: Behaviour,
        rng: random.Random,
        per_socket: int = 500,
    ) -> None:
        super().__init__()
        self.seats = seats
        self.by_user = {seat.username: seat for seat in seats}
        self.registrar = registrar
        self.set_state = set_state
        self.behaviour = behaviour
        self.rng = rng
        self.per_socket = per_socket
        self.socket_of: dict[str, Endpoint] = {}
        self.calls: dict[str, AgentCall] = {}
        self.registering: dict[str, asyncio.Future[Message]] = {}
        self.tally = AgentTally()

    async def open(self) -> None:
        for start in range(0, len(self.seats), self.per_socket):
            endpoint = await open_endpoint(self._received_on(len(self.endpoints)))
            self.endpoints.append(endpoint)
            for seat in self.seats[start : start + self.per_socket]:
                self.socket_of[seat.username] = endpoint

    # registration

    async def register_all(self, in_flight: int = 100) -> int:
        gate = asyncio.Semaphore(in_flight)

        async def one(seat: Seat) -> None:
            async with gate:
                seat.registered = await self._register(seat)

        await asyncio.gather(*(one(seat) for seat in self.seats))
        return sum(seat.registered for seat in self.seats)

    async def _register(self, seat: Seat) -> bool:
        endpoint = self.socket_of[seat.username]
        call_id = f"reg-{seat.username}-{secrets.token_hex(4)}"
        authorization: str | None = None
        for cseq in range(1, 4):
            answer = await self._register_once(endpoint, seat, call_id, cseq, authorization)
            if answer is None:
                return False
            if answer.status == 200:
                return True
            if answer.status not in (401, 407) or (authorization is not None and cseq > 2):
                return False
            authorization = answer_challenges(
                answer, "REGISTER", f"sip:{seat.domain}", seat.username, seat.password
            )
            if authorization is None:
                return False
        return False

    async def _register_once(
        self, endpoint: Endpoint, seat: Seat, call_id: str, cseq: int, authorization: str | None
    ) -> Message | None:
        lines = [
            f"REGISTER sip:{seat.domain} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{endpoint.port};branch={branch()};rport",
            f"From: <sip:{seat.username}@{seat.domain}>;tag={secrets.token_hex(4)}",
            f"To: <sip:{seat.username}@{seat.domain}>",
            f"Call-ID: {call_id}",
            f"CSeq: {cseq} REGISTER",
            f"Contact: <sip:{seat.username}@127.0.0.1:{endpoint.port}>",
            "Expires: 3600",
            "Max-Forwards: 70",
            f"User-Agent: {USER_AGENT}",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        text = CRLF.join([*lines, "Content-Length: 0", "", ""])
        future: asyncio.Future[Message] = asyncio.get_running_loop().create_future()
        self.registering[f"{call_id} {cseq}"] = future
        done = asyncio.Event()
        future.add_done_callback(lambda _: done.set())
        try:
            await retransmit(lambda: endpoint.send(text, self.registrar), done)
            return future.result() if future.done() else None
        finally:
            self.registering.pop(f"{call_id} {cseq}", None)

    # calls

    def _received_on(self, index: int) -> Callable[[Message, tuple[str, int]], None]:
        def received(message: Message, addr: tuple[str, int]) -> None:
            self._received(self.endpoints[index], message, addr)

        return received

    def _received(self, endpoint: Endpoint, message: Message, addr: tuple[str, int]) -> None:
        call_id = message.get("Call-ID") or ""
        if not message.is_request:
            if message.status >= 200:
                cseq = (message.get("CSeq") or "0").split()[0]
                future = self.registering.get(f"{call_id} {cseq}")
                if future is not None and not future.done():
                    future.set_result(message)
            return
        method = message.method
        call = self.calls.get(call_id)
        if method == "INVITE":
            if call is not None:  # a retransmission: say again where the call stands
                endpoint.send(self._ringing(call) if not call.answered else self._ok(call, endpoint), addr)
                return
            self._offered(endpoint, message, addr)
        elif method == "ACK":
            if call is not None:
                call.acked.set()
        elif method == "CANCEL":
            endpoint.send(reply(message, 200, "OK"), addr)
            if call is not None and not call.answered and not call.ended:
                call.ended = True
                endpoint.send(reply(call.invite, 487, "Request Terminated", to_tag=call.to_tag), call.addr)
                self._freed(call, missed=True)
        elif method == "BYE":
            endpoint.send(reply(message, 200, "OK"), addr)
            if call is not None and not call.ended:
                call.ended = True
                self._freed(call, missed=False)
        elif method in ("OPTIONS", "INFO", "UPDATE", "NOTIFY", "MESSAGE"):
            endpoint.send(reply(message, 200, "OK"), addr)
        else:
            endpoint.send(reply(message, 501, "Not Implemented"), addr)

    def _offered(self, endpoint: Endpoint, invite: Message, addr: tuple[str, int]) -> None:
        seat = self.by_user.get(uri_user(invite.start.split(" ")[1]))
        if seat is None:
            self.tally.unknown_seat += 1
            endpoint.send(reply(invite, 404, "Not Found"), addr)
            return
        self.tally.offers += 1
        if seat.call_id is not None:
            # Two contacts at one seat: the phone refuses the second, the router must never send it.
            self.tally.double_offers += 1
            endpoint.send(reply(invite, 486, "Busy Here", to_tag=secrets.token_hex(4)), addr)
            return
        call_id = invite.get("Call-ID") or ""
        call = AgentCall(
            seat,
            invite,
            addr,
            secrets.token_hex(5),
            invite.get("X-Switchboard-Contact-Id") or "",
            uri_user(invite.get("From") or ""),
        )
        seat.call_id = call_id
        self.calls[call_id] = call
        endpoint.send(self._ringing(call), addr)
        self.tally.ringing_at.setdefault(call.contact_id, time.monotonic())
        self.tally.contact_of_caller[call.caller] = call.contact_id
        if not seat.rona:
            self.spawn(self._answer(endpoint, call))

    def _ringing(self, call: AgentCall) -> str:
        return reply(call.invite, 180, "Ringing", to_tag=call.to_tag)

    def _ok(self, call: AgentCall, endpoint: Endpoint) -> str:
        contact = f"Contact: <sip:{call.seat.username}@127.0.0.1:{endpoint.port}>"
        return reply(
            call.invite, 200, "OK", to_tag=call.to_tag, extra=[contact], body=sdp("127.0.0.1", NO_MEDIA_PORT)
        )

    async def _answer(self, endpoint: Endpoint, call: AgentCall) -> None:
        await asyncio.sleep(self.rng.uniform(*self.behaviour.ring))
        if call.ended:
            return
        call.answered = True
        self.tally.answered += 1
        await retransmit(lambda: endpoint.send(self._ok(call, endpoint), call.addr), call.acked)

    def _freed(self, call: AgentCall, *, missed: bool) -> None:
        seat, call_id = call.seat, call.invite.get("Call-ID") or ""
        if seat.call_id == call_id:
            seat.call_id = None
        # Kept a while for retransmitted BYEs and CANCELs; forgotten after.
        asyncio.get_running_loop().call_later(40, self.calls.pop, call_id, None)
        if missed and seat.rona:
            self.tally.missed += 1
            self.spawn(self._back_after(seat, self.rng.uniform(*self.behaviour.rona_back)))
        elif missed:
            self.tally.cancelled += 1
        else:
            self.spawn(self._wrap_up(seat))

    async def _back_after(self, seat: Seat, seconds: float) -> None:
        await asyncio.sleep(seconds)
        await self._set(seat, "available")

    async def _wrap_up(self, seat: Seat) -> None:
        await asyncio.sleep(self.rng.uniform(*self.behaviour.wrap_up))
        if self.rng.random() < self.behaviour.break_share:
            self.tally.breaks += 1
            await self._set(seat, "not_ready")
            await asyncio.sleep(self.rng.uniform(*self.behaviour.break_length))
        self.tally.wrap_ups += 1
        await self._set(seat, "available")

    async def _set(self, seat: Seat, state: str) -> None:
        status = await self.set_state(seat, state)
        for _ in range(STATE_RETRIES):
            if status != 409:
                break
            # The phone heard the BYE before the router ended the contact (the seat is still on it),
            # as a person's click can come first: the desk says so, the person clicks again.
            self.tally.state_conflicts += 1
            await asyncio.sleep(1.0)
            status = await self.set_state(seat, state)
        if status != 200 and len(self.tally.state_errors) < 20:
            self.tally.state_errors.append(f"{seat.seat_id} -> {state}: {status}")


# --- callers -------------------------------------------------------------------------------------------


@dataclass
class Caller:
    user: str  # the caller's number, unique per call (the agent leg's From carries it)
    number: str  # the dialled number (one per queue)
    queue_id: str
    talk_s: float
    call_id: str = field(default_factory=lambda: secrets.token_hex(10) + "@center-day")
    from_tag: str = field(default_factory=lambda: secrets.token_hex(4))
    branch: str = field(default_factory=branch)
    invited_at: float = 0.0  # monotonic
    answered_at: float | None = None
    ended_at: float | None = None
    status: int | None = None  # the INVITE's final status
    outcome: str = "pending"  # talked, rejected <status>, ended by the edge, no answer
    provisional: asyncio.Event = field(default_factory=asyncio.Event)
    final: asyncio.Event = field(default_factory=asyncio.Event)
    bye_answered: asyncio.Event = field(default_factory=asyncio.Event)
    to: str = ""
    remote_target: str = ""
    ack: str = ""
    endpoint: Endpoint | None = None


class Callers(Sockets):
    """The carrier's side: callers on a few UDP sockets, each call one task."""

    def __init__(self, edge: tuple[str, int], sockets: int = 4) -> None:
        super().__init__()
        self.edge = edge
        self.sockets = sockets
        self.calls: dict[str, Caller] = {}
        self.finished: list[Caller] = []
        self.edge_byes = 0

    async def open(self) -> None:
        for _ in range(self.sockets):
            self.endpoints.append(await open_endpoint(self._received))

    def start(self, caller: Caller, max_life_s: float) -> None:
        endpoint = self.endpoints[len(self.calls) % len(self.endpoints)]
        caller.endpoint = endpoint
        self.calls[caller.call_id] = caller
        self.spawn(self._call(endpoint, caller, max_life_s))

    @property
    def live(self) -> int:
        return len(self.tasks)

    def _invite(self, endpoint: Endpoint, caller: Caller) -> str:
        body = sdp("127.0.0.1", NO_MEDIA_PORT)
        lines = [
            f"INVITE sip:{caller.number}@{self.edge[0]}:{self.edge[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{endpoint.port};branch={caller.branch};rport",
            f"From: <sip:{caller.user}@127.0.0.1>;tag={caller.from_tag}",
            f"To: <sip:{caller.number}@{self.edge[0]}>",
            f"Call-ID: {caller.call_id}",
            "CSeq: 1 INVITE",
            f"Contact: <sip:{caller.user}@127.0.0.1:{endpoint.port}>",
            "Max-Forwards: 70",
            f"User-Agent: {USER_AGENT}",
            "Content-Type: application/sdp",
        ]
        return CRLF.join([*lines, f"Content-Length: {len(body)}", "", ""]) + body

    def _in_dialog(self, endpoint: Endpoint, caller: Caller, method: str, cseq: int, via_branch: str) -> str:
        target = caller.remote_target or f"sip:{caller.number}@{self.edge[0]}:{self.edge[1]}"
        lines = [
            f"{method} {target} SIP/2.0",
            f"Via: SIP/2.0/UDP 127.0.0.1:{endpoint.port};branch={via_branch};rport",
            f"From: <sip:{caller.user}@127.0.0.1>;tag={caller.from_tag}",
            f"To: {caller.to}",
            f"Call-ID: {caller.call_id}",
            f"CSeq: {cseq} {method}",
            "Max-Forwards: 70",
        ]
        return CRLF.join([*lines, "Content-Length: 0", "", ""])

    async def _call(self, endpoint: Endpoint, caller: Caller, max_life_s: float) -> None:
        caller.invited_at = time.monotonic()
        invite = self._invite(endpoint, caller)
        try:
            answered = await retransmit(lambda: endpoint.send(invite, self.edge), caller.provisional)
            if not answered:
                caller.outcome = "no answer from the edge"
                return
            try:
                await asyncio.wait_for(caller.final.wait(), max_life_s)
            except TimeoutError:
                caller.outcome = "still ringing at the end"
                return
            if caller.status != 200:
                caller.outcome = f"rejected {caller.status}"
                return
            remaining = caller.talk_s
            try:
                await asyncio.wait_for(caller.bye_answered.wait(), remaining)
                caller.outcome = "ended by the edge"
                return
            except TimeoutError:
                pass
            bye = self._in_dialog(endpoint, caller, "BYE", 2, branch())
            done = asyncio.Event()
            caller.bye_answered = done
            await retransmit(lambda: endpoint.send(bye, self.edge), done)
            caller.outcome = "talked"
        finally:
            caller.ended_at = time.monotonic()
            self.finished.append(caller)
            asyncio.get_running_loop().call_later(40, self.calls.pop, caller.call_id, None)

    def _received(self, message: Message, addr: tuple[str, int]) -> None:
        caller = self.calls.get(message.get("Call-ID") or "")
        if caller is None or caller.endpoint is None:
            return
        endpoint = caller.endpoint
        if message.is_request:
            if message.method == "BYE":
                self.edge_byes += 1
                endpoint.send(reply(message, 200, "OK"), addr)
                caller.bye_answered.set()
            elif message.method != "ACK":
                endpoint.send(reply(message, 200, "OK"), addr)
            return
        method = message.cseq_method
        if method == "BYE":
            caller.bye_answered.set()
            return
        if method != "INVITE":
            return
        caller.provisional.set()
        if message.status < 200:
            return
        caller.to = message.get("To") or caller.to
        if message.status == 200:
            if caller.answered_at is None:
                caller.answered_at = time.monotonic()
                caller.remote_target = header_uri(message.get("Contact") or "")
                caller.ack = self._in_dialog(endpoint, caller, "ACK", 1, branch())
            endpoint.send(caller.ack, addr)  # every 200, retransmissions included
        else:
            # A non-2xx is acknowledged in its own transaction: the INVITE's branch and Request-URI.
            endpoint.send(self._in_dialog(endpoint, caller, "ACK", 1, caller.branch), addr)
        if caller.status is None:
            caller.status = message.status
            caller.final.set()
