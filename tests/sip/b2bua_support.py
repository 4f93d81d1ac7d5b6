"""In-process B2BUA fixtures: an edge with the contact-centre policy on fakes, and scripted phones.

The edge runs in the test's event loop on real loopback UDP sockets; the router, trunks and
stores are fakes, so a test scripts the routing decisions and reads back every call the edge made.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from contact_center.contracts import offer_push
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.menus import MenuChoice
from contact_center.domain.queue_address import QueueCall
from contact_center.services.routing.decisions import (
    Acknowledged,
    Arrival,
    Connect,
    OfferOutcome,
    PlayMenu,
    Reject,
    RoutingDecision,
)
from contact_center.services.routing.dialout import Dial
from contact_center.services.routing.ports import AgentTarget
from contact_center.services.routing.transfers import TransferOutcome
from sip_edge.app.calls.dialogs import MemoryDialogStore
from sip_edge.app.calls.ports import CallSettings, RoutingError
from sip_edge.app.calls.trunks import Trunk
from sip_edge.app.registration.credentials import CredentialSource
from sip_edge.app.registration.location import BindingStore
from sip_edge.config import EdgeConfig
from sip_edge.main import EdgePorts, EdgeTask, build
from sip_edge.sip.building import make_response
from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.registration import Binding, binding_key

HOST = "127.0.0.1"
AUDIO_SDP = (
    b"v=0\r\no=carrier 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    b"m=audio 40000 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\n"
)
AGENT_SDP = b"v=0\r\no=agent 2 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 42000 RTP/AVP 0\r\n"


class FakeRouting:
    """Answers from scripts; records every call as (action, args)."""

    def __init__(self) -> None:
        self.log: list[tuple[str, tuple[Any, ...]]] = []
        self.new_contact_answer: Arrival | None = None
        # new_contact's answer to a caller's menu choice, by the queue chosen (as the router's
        # would be: that queue's agent to ring, or the queue)
        self.menu_answers: dict[str, RoutingDecision] = {}
        self.offer_answers: list[RoutingDecision] = []
        self.queue_timeout_answer: RoutingDecision | None = None
        self.legacy_failed_answer: RoutingDecision | None = None
        self.transfer_answers: list[TransferOutcome] = []
        self.dial_answer: Dial | Reject | None = None
        self.consult_answer: Connect | Reject | None = None
        self.pending: list[Connect] = []
        self.ended = asyncio.Event()
        self.dialled = asyncio.Event()  # a callback's dial was reported
        self.wrap_up_deadline_ms: int | None = None
        self.delay = 0.0
        # Errors contact_ended raises first, one per call (the table timing out); new_contact's.
        self.end_errors: list[RoutingError] = []
        self.new_contact_error: RoutingError | None = None
        self.queue_calls: list[QueueCall | None] = []  # new_contact's, in order
        self.dialogs: MemoryDialogStore | None = None  # where answered calls' dialogs are stored
        # leave_callback's answers in order: None leaves it, a RoutingError refuses it.
        self.callback_answers: list[RoutingError | None] = []

    def actions(self, name: str) -> list[tuple[Any, ...]]:
        return [args for action, args in self.log if action == name]

    async def new_contact(
        self,
        called: str,
        caller: str,
        contact_id: str,
        menu: MenuChoice | None = None,
        queue_call: QueueCall | None = None,
    ) -> Arrival:
        self.queue_calls.append(queue_call)
        self.log.append(
            ("new_contact", (called, caller, contact_id, menu) if menu else (called, caller, contact_id))
        )
        await asyncio.sleep(self.delay)
        if self.new_contact_error is not None:
            raise self.new_contact_error
        if menu is not None:  # a number's menu played, the caller chose: where that queue leads
            return _with_contact(self.menu_answers[menu.queue_id], contact_id)
        assert self.new_contact_answer is not None
        if isinstance(self.new_contact_answer, PlayMenu):
            return replace(self.new_contact_answer, contact_id=contact_id)
        return _with_contact(self.new_contact_answer, contact_id)

    async def offer_result(
        self, contact_id: str, seat_id: str, outcome: OfferOutcome, dialog: Mapping[str, Any] | None = None
    ) -> RoutingDecision:
        self.log.append(("offer_result", (contact_id, seat_id, outcome)))
        if outcome is OfferOutcome.ANSWERED:
            # As the routing function does: the dialog is stored with the answer, under each key.
            if dialog is not None and self.dialogs is not None:
                for key in dialog["keys"]:
                    self.dialogs.items[key] = (dict(dialog["legs"]), contact_id, dialog["owner"])
            return Acknowledged(contact_id, "connected", seat_id, "m1")
        return _with_contact(self.offer_answers.pop(0), contact_id)

    async def contact_ended(
        self, contact_id: str, side: HangupSide, cause: HangupCause, dialog_keys: Sequence[str] = ()
    ) -> Acknowledged:
        self.log.append(("contact_ended", (contact_id, side, cause)))
        if self.end_errors:
            raise self.end_errors.pop(0)
        if self.dialogs is not None:
            for key in dialog_keys:
                self.dialogs.items.pop(key, None)
        self.ended.set()
        return Acknowledged(contact_id, "ended", "seat-1", "m1", wrap_up_deadline_ms=self.wrap_up_deadline_ms)

    async def queue_timeout(self, contact_id: str) -> RoutingDecision:
        self.log.append(("queue_timeout", (contact_id,)))
        assert self.queue_timeout_answer is not None
        return _with_contact(self.queue_timeout_answer, contact_id)

    async def legacy_failed(self, contact_id: str) -> RoutingDecision:
        self.log.append(("legacy_failed", (contact_id,)))
        assert self.legacy_failed_answer is not None
        return _with_contact(self.legacy_failed_answer, contact_id)

    async def transfer(
        self, contact_id: str, seat_id: str, target: str, consulted: bool = False
    ) -> TransferOutcome:
        self.log.append(
            (
                "transfer",
                (contact_id, seat_id, target, consulted) if consulted else (contact_id, seat_id, target),
            )
        )
        outcome = self.transfer_answers.pop(0)
        return TransferOutcome(
            _with_contact(outcome.decision, contact_id), seat_id, "m1", outcome.wrap_up_deadline_ms
        )

    async def consult(self, sip_username: str, dialled: str) -> Connect | Reject:
        self.log.append(("consult", (sip_username, dialled)))
        assert self.consult_answer is not None
        return self.consult_answer

    async def consult_result(self, merchant_id: str, seat_id: str, contact_id: str, answered: bool) -> None:
        self.log.append(("consult_result", (merchant_id, seat_id, contact_id, answered)))

    async def dial_out(self, sip_username: str, dialled: str, contact_id: str) -> Dial | Reject:
        self.log.append(("dial_out", (sip_username, dialled, contact_id)))
        answer = self.dial_answer
        assert answer is not None
        return replace(answer, contact_id=contact_id) if isinstance(answer, Dial) else answer

    async def outbound_answered(self, contact_id: str, seat_id: str) -> Acknowledged:
        self.log.append(("outbound_answered", (contact_id, seat_id)))
        return Acknowledged(contact_id, "connected", seat_id, "m1")

    async def callback_dialled(
        self, contact_id: str, seat_id: str, status: int | None, started_at_ms: int
    ) -> Acknowledged:
        self.log.append(("callback_dialled", (contact_id, seat_id, status, started_at_ms)))
        self.dialled.set()
        return Acknowledged(contact_id, "offered" if status == 200 else "queued", seat_id, "m1")

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]:
        self.log.append(("pending_offers", (retry_queued,)))
        return list(self.pending)

    async def leave_callback(self, contact_id: str, digit: str) -> Acknowledged:
        self.log.append(("leave_callback", (contact_id, digit)))
        refused = self.callback_answers.pop(0) if self.callback_answers else None
        if refused is not None:
            raise refused
        return Acknowledged(contact_id, "queued", merchant_id="m1")

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]:
        self.log.append(("edge_lost", (edge_task_id, tuple(held), initiated_before_ms)))
        return []

    async def finish_wrap_up(self, merchant_id: str, seat_id: str, contact_id: str | None = None) -> None:
        self.log.append(("finish_wrap_up", (merchant_id, seat_id, contact_id)))


def _with_contact(decision: RoutingDecision, contact_id: str) -> RoutingDecision:
    if hasattr(decision, "contact_id") and getattr(decision, "contact_id", None) in (None, "?"):
        from dataclasses import replace

        return replace(decision, contact_id=contact_id)  # type: ignore[type-var]
    return decision


async def push_offer(router: Phone, edge: RunningEdge, offer: Connect) -> None:
    """The router's signed push of ``offer`` to the edge (the fleet key `running_edge` gives it),
    sent from ``router`` and answered 202."""
    data = offer_push.message(
        [offer.to_dict()],
        offer_push.push_key("k" * 16),
        int(time.time()),
        task_address=f"{HOST}:{edge.port}",
        sender=f"{HOST}:{router.port}",
        branch=secrets.token_hex(8),
    )
    router.send(data, edge.address)
    assert (await router.response("MESSAGE", final=True)).status == 202


def connect_to(*phones: Phone, seat: str = "seat-1", ring: int = 5, contact_id: str = "?") -> Connect:
    return Connect(
        contact_id=contact_id,
        seat_id=seat,
        merchant_id="m1",
        aor=f"sip:{seat}@127.0.0.1",
        targets=tuple(
            AgentTarget(f"sip:{seat}@{HOST}:{p.port}", received=f"{HOST}:{p.port}", flow_owner="edge-a")
            for p in phones
        ),
        ring_timeout_seconds=ring,
    )


class StaticTrunks:
    def __init__(self, cidrs: Sequence[str] = ("127.0.0.0/8",), extra: Sequence[Trunk] = ()) -> None:
        self.cidrs = tuple(cidrs)
        self.extra = list(extra)

    def trunks(self) -> list[Trunk]:
        return [Trunk("carrier", self.cidrs), *self.extra]


class NoCredentials(CredentialSource):
    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, None]:
        return dict.fromkeys(usernames)


class NoBindings:
    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        pass

    def load(self, aor: str, now: float) -> list[Binding]:
        return []

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        return {aor: self.load(aor, now) for aor in aors}


class MemoryBindings:
    """The bindings table as the location service writes it: (aor, key) -> binding."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Binding] = {}

    def register(self, connect: Connect) -> None:
        """Store a binding for each target of ``connect`` (as the phones' REGISTERs would have)."""
        for target in connect.targets:
            key = binding_key(target.contact_uri, None)
            self.items[(connect.aor, key)] = Binding(
                connect.aor, key, target.contact_uri, time.time() + 3600, target.received or "",
                target.transport, target.flow_owner or "", "reg-" + key, 1,
            )  # fmt: skip

    def contacts(self, aor: str) -> set[str]:
        return {b.contact_uri for (a, _), b in self.items.items() if a == aor}

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        for binding in upserts:
            self.items[(binding.aor, binding.key)] = binding
        for key in removals:
            self.items.pop(key, None)

    def load(self, aor: str, now: float) -> list[Binding]:
        return [b for (a, _), b in self.items.items() if a == aor and b.expires_at > now]

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        return {aor: self.load(aor, now) for aor in aors}


@dataclass
class RunningEdge:
    task: EdgeTask
    routing: FakeRouting
    dialogs: MemoryDialogStore

    @property
    def port(self) -> int:
        return self.task.edge.address("UDP")[1]

    @property
    def address(self) -> tuple[str, int]:
        return (HOST, self.port)


@contextlib.asynccontextmanager
async def running_edge(
    routing: FakeRouting | None = None,
    *,
    task_id: str = "edge-a",
    dialogs: MemoryDialogStore | None = None,
    trunks: StaticTrunks | None = None,
    trunk_slots: Any = None,
    trunk_dns: tuple[str, int] | None = None,
    fleet: Any = None,
    bindings: BindingStore | None = None,
    settings: CallSettings | None = None,
    media_relays: tuple[tuple[str, int], ...] = (),
    media_agents: tuple[tuple[str, int], ...] = (),
    media_prompts: str = "build/prompts",
    prompts_directory: str | None = None,
    media_dtmf: tuple[str, int] | None = None,
    credentials: CredentialSource | None = None,
    relay_registry: Any = None,
) -> AsyncIterator[RunningEdge]:
    """``relay_registry``: a `RelaySource` the edge follows instead of fixed ``media_relays``."""
    routing = routing or FakeRouting()
    dialogs = dialogs if dialogs is not None else MemoryDialogStore()
    if routing.dialogs is None:
        routing.dialogs = dialogs
    ports = EdgePorts(
        credentials=credentials or NoCredentials(),
        bindings=bindings or NoBindings(),
        routing=routing,
        trunks=trunks or StaticTrunks(),
        trunk_slots=trunk_slots,
        dialogs=dialogs,
        fleet=fleet,
        relay_source=relay_registry,
    )
    config = EdgeConfig(
        host=HOST,
        port=0,
        task_id=task_id,
        nonce_key="k" * 16,
        media_relays=media_relays,
        media_agents=media_agents,
        media_registry="us-east-1" if relay_registry is not None else None,
        media_prompts=media_prompts,
        prompts_directory=prompts_directory,
        media_dtmf=media_dtmf,
        trunk_dns=trunk_dns,
    )
    task = build(config, ports, settings)
    await task.start()
    try:
        yield RunningEdge(task, routing, dialogs)
    finally:
        await task.close()


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, inbox: asyncio.Queue[tuple[Request | Response, tuple[str, int]]]) -> None:
        self.inbox = inbox

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.inbox.put_nowait((parse_message(data), (addr[0], addr[1])))


@dataclass
class Phone:
    """A scripted UDP user agent (a carrier trunk or an agent's softphone)."""

    name: str
    transport: asyncio.DatagramTransport | None = None
    inbox: asyncio.Queue[tuple[Request | Response, tuple[str, int]]] = field(default_factory=asyncio.Queue)
    port: int = 0
    tag: str = field(default_factory=lambda: secrets.token_hex(4))
    cseq: int = 1
    seen: list[Request | Response] = field(default_factory=list)

    @classmethod
    async def open(cls, name: str, port: int = 0) -> Phone:
        """``port``: a given one (a seat's phone where it registered), else any free one."""
        phone = cls(name)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(phone.inbox), local_addr=(HOST, port)
        )
        phone.transport = transport
        phone.port = transport.get_extra_info("sockname")[1]
        return phone

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def send(self, message: Request | Response | bytes, to: tuple[str, int]) -> None:
        assert self.transport is not None
        data = message if isinstance(message, bytes) else message.to_bytes()
        self.transport.sendto(data, to)

    async def recv(
        self, match: Callable[[Request | Response], bool] | None = None, timeout: float = 5.0
    ) -> tuple[Request | Response, tuple[str, int]]:
        """The next message that matches (others are kept in `seen` and dropped)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError(f"{self.name}: nothing matching within {timeout} s; saw {self.seen[-5:]}")
            message, source = await asyncio.wait_for(self.inbox.get(), left)
            self.seen.append(message)
            if match is None or match(message):
                return message, source

    async def request(self, method: str, timeout: float = 5.0) -> tuple[Request, tuple[str, int]]:
        message, source = await self.recv(lambda m: isinstance(m, Request) and m.method == method, timeout)
        assert isinstance(message, Request)
        return message, source

    async def response(
        self, method: str, status: int | None = None, *, final: bool = False, timeout: float = 5.0
    ) -> Response:
        def wanted(m: Request | Response) -> bool:
            return (
                isinstance(m, Response)
                and m.cseq[1] == method
                and (status is None or m.status == status)
                and (not final or m.status >= 200)
            )

        message, _ = await self.recv(wanted, timeout)
        assert isinstance(message, Response)
        return message

    def answer(
        self,
        request: Request,
        source: tuple[str, int],
        status: int,
        *,
        body: bytes = b"",
        to_tag: str | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> Response:
        extra = [("Contact", f"<sip:{self.name}@{HOST}:{self.port}>"), *headers]
        if body:
            extra.append(("Content-Type", "application/sdp"))
        response = make_response(
            request, status, to_tag=to_tag or (self.tag if status > 100 else None), headers=extra, body=body
        )
        self.send(response, source)
        return response

    def invite(
        self,
        edge: tuple[str, int],
        number: str,
        *,
        body: bytes = AUDIO_SDP,
        headers: Sequence[tuple[str, str]] = (),
        max_forwards: int = 70,
    ) -> Request:
        call_id = secrets.token_hex(8)
        branch = "z9hG4bK" + secrets.token_hex(8)
        lines = [
            f"INVITE sip:{number}@{edge[0]}:{edge[1]} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch={branch};rport",
            f"From: <sip:+4930123@{HOST}>;tag={self.tag}",
            f"To: <sip:{number}@{edge[0]}>",
            f"Call-ID: {call_id}",
            "CSeq: 1 INVITE",
            f"Contact: <sip:{self.name}@{HOST}:{self.port}>",
            f"Max-Forwards: {max_forwards}",
            *(f"{name}: {value}" for name, value in headers),
        ]
        if body:
            lines.append("Content-Type: application/sdp")
        data = ("\r\n".join(lines) + f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        request = parse_message(data)
        assert isinstance(request, Request)
        self.send(request, edge)
        return request

    def in_dialog(
        self,
        method: str,
        invite: Request,
        response: Response,
        to: tuple[str, int],
        *,
        uas: bool = False,
        cseq: int | None = None,
        body: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        content_type: str = "application/sdp",
    ) -> Request:
        """A request inside the dialog of `invite`/`response`, to the peer's Contact (§12.2.1.1)."""
        contact = (response if not uas else invite).contacts[0]
        if uas:  # we answered `invite`: our From is its To (tagged in our response)
            from_, to_ = response.headers.get("To"), invite.headers.get("From")
        else:
            from_, to_ = invite.headers.get("From"), response.headers.get("To")
        if cseq is None:
            self.cseq += 1
            cseq = self.cseq
        branch = "z9hG4bK" + secrets.token_hex(8)
        lines = [
            f"{method} {contact.uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.port};branch={branch};rport",
            f"From: {from_}",
            f"To: {to_}",
            f"Call-ID: {invite.call_id}",
            f"CSeq: {cseq} {method}",
            "Max-Forwards: 70",
            *(f"{name}: {value}" for name, value in headers),
        ]
        if method in ("INVITE", "UPDATE"):
            lines.append(f"Contact: <sip:{self.name}@{HOST}:{self.port}>")
        if body:
            lines.append(f"Content-Type: {content_type}")
        data = ("\r\n".join(lines) + f"\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
        request = parse_message(data)
        assert isinstance(request, Request)
        self.send(request, to)
        return request
