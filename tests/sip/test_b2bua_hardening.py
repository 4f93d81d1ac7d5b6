"""B2BUA corner cases on real loopback UDP: challenges across the bridge, CANCEL's To tag,
requests of dialogs that do not exist, and forged responses to the flow owner's relay."""

from __future__ import annotations

import asyncio
import secrets

from contact_center.services.routing.decisions import Queue
from sip_edge.app.fleet.routes import encode_flow
from sip_edge.sip.client_transaction import build_cancel
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from tests.sip.b2bua_support import (
    AUDIO_SDP,
    HOST,
    FakeRouting,
    Phone,
    StaticTrunks,
    connect_to,
    running_edge,
)
from tests.sip.test_b2bua_calls import NUMBER, answered_call, run

CHALLENGE = 'Digest realm="carrier.example", nonce="4d7a1b2c", algorithm=MD5, qop="auth"'
CREDENTIALS = (
    'Digest username="edge", realm="carrier.example", nonce="4d7a1b2c", uri="sip:x@carrier.example", '
    'response="6629fae49393a05397450978507c4ef1", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"'
)


def test_a_carriers_407_to_an_agents_reinvite_reaches_the_agent_with_its_challenge() -> None:
    async def scenario() -> None:
        caller, agent = await Phone.open("carrier"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = connect_to(agent)
        async with running_edge(routing) as edge:
            _invite, _ok, agent_invite, agent_ok = await answered_call(edge, caller, agent)
            # Given the agent puts the call on hold, and the carrier challenges the re-INVITE,
            agent.in_dialog("INVITE", agent_invite, agent_ok, edge.address, uas=True, body=AUDIO_SDP)
            reinvite, source = await caller.request("INVITE")
            caller.answer(reinvite, source, 407, headers=(("Proxy-Authenticate", CHALLENGE),))
            # When the 407 is relayed to the agent,
            relayed = await agent.response("INVITE", 407, final=True)
            # Then it carries the challenge the agent must answer,
            assert relayed.headers.get("Proxy-Authenticate") == CHALLENGE
            # and the agent's answer to it reaches the carrier.
            agent.in_dialog(
                "INVITE",
                agent_invite,
                agent_ok,
                edge.address,
                uas=True,
                body=AUDIO_SDP,
                headers=(("Proxy-Authorization", CREDENTIALS),),
            )
            again, _ = await caller.recv(
                lambda m: (
                    isinstance(m, Request)
                    and m.method == "INVITE"
                    and m is not reinvite
                    and m.cseq[0] > reinvite.cseq[0]
                )
            )
            assert isinstance(again, Request)
            assert again.headers.get("Proxy-Authorization") == CREDENTIALS
        caller.close()
        agent.close()

    run(scenario)


def test_the_200_to_a_cancel_carries_the_to_tag_of_the_182_and_the_487() -> None:
    async def scenario() -> None:
        caller = await Phone.open("carrier")
        routing = FakeRouting()
        routing.new_contact_answer = Queue("?", "q1", 60, deadline_ms=2**42)
        async with running_edge(routing) as edge:
            invite = caller.invite(edge.address, NUMBER)
            queued = await caller.response("INVITE", 182)
            caller.send(build_cancel(invite), edge.address)
            cancelled = await caller.response("CANCEL", final=True)
            terminated = await caller.response("INVITE", final=True)
            assert (cancelled.status, terminated.status) == (200, 487)
            assert queued.to.tag is not None
            assert cancelled.to.tag == queued.to.tag == terminated.to.tag
        caller.close()

    run(scenario)


def out_of_dialog(method: str, phone: Phone, edge: tuple[str, int]) -> bytes:
    return (
        f"{method} sip:{NUMBER}@{edge[0]}:{edge[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {HOST}:{phone.port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
        f"From: <sip:+4930123@{HOST}>;tag={phone.tag}\r\n"
        f"To: <sip:{NUMBER}@{edge[0]}>\r\n"
        f"Call-ID: {secrets.token_hex(8)}\r\n"
        f"CSeq: 1 {method}\r\n"
        "Max-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


def test_in_dialog_methods_outside_any_dialog_get_481_not_501() -> None:
    async def scenario() -> None:
        phone = await Phone.open("stranger")
        async with running_edge(FakeRouting()) as edge:
            statuses = {}
            for method in ("INFO", "UPDATE", "BYE", "PRACK"):
                phone.send(out_of_dialog(method, phone, edge.address), edge.address)
                statuses[method] = (await phone.response(method, final=True)).status
            assert statuses == {"INFO": 481, "UPDATE": 481, "BYE": 481, "PRACK": 481}
        phone.close()

    run(scenario)


def test_a_forged_response_cannot_make_the_relay_send_it_to_another_address() -> None:
    """The flow owner passes responses of requests it relayed back to the Via below its own; a
    response it never relayed, with a second Via naming a third party, goes nowhere."""

    async def scenario() -> None:
        attacker, third = await Phone.open("attacker"), await Phone.open("third-party")
        async with running_edge(FakeRouting()) as edge:
            forged = (
                "SIP/2.0 200 OK\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{edge.port};branch=z9hG4bKsbr{secrets.token_hex(10)}\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{third.port};branch=z9hG4bK{secrets.token_hex(8)}\r\n"
                f"From: <sip:a@{HOST}>;tag=1\r\nTo: <sip:b@{HOST}>;tag=2\r\n"
                f"Call-ID: {secrets.token_hex(8)}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
            ).encode()
            assert parse_message(forged)
            attacker.send(forged, edge.address)
            try:
                message, _ = await third.recv(timeout=0.5)
            except TimeoutError:
                message = None
            assert message is None
        attacker.close()
        third.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_response_to_a_relayed_request_still_travels_back_upstream() -> None:
    """The counterpart of the forged-response test: the relay's own branch is recognised."""

    async def scenario() -> None:
        upstream, phone = await Phone.open("other-task"), await Phone.open("phone")
        async with running_edge(FakeRouting()) as edge:
            request = (
                f"INFO sip:agent@{HOST}:{phone.port} SIP/2.0\r\n"
                f"Route: <sip:{HOST}:{edge.port};lr;flow={encode_flow('UDP', f'{HOST}:{phone.port}')}>\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{upstream.port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                f"From: <sip:edge-b@{HOST}>;tag=1\r\nTo: <sip:agent@{HOST}>;tag=2\r\n"
                f"Call-ID: {secrets.token_hex(8)}\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
            upstream.send(request, edge.address)
            relayed, source = await phone.request("INFO")
            assert len(relayed.vias) == 2
            phone.answer(relayed, source, 200)
            answer = await upstream.response("INFO", 200)
            assert len(answer.vias) == 1 and answer.top_via.port == upstream.port
        upstream.close()
        phone.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_a_malformed_invite_from_outside_the_trunks_gets_400_before_any_source_check() -> None:
    """RFC 4475 scalar02's overlarge CSeq, on an INVITE from an address that is no trunk: the
    message is validated first (400), the trunk check (403) never sees it."""

    async def scenario() -> None:
        routing = FakeRouting()
        loop = asyncio.get_running_loop()
        async with running_edge(routing, trunks=StaticTrunks(("10.0.0.0/8",))) as edge:
            received: asyncio.Queue[bytes] = asyncio.Queue()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Raw(received), local_addr=(HOST, 0), remote_addr=edge.address
            )
            port = transport.get_extra_info("sockname")[1]
            transport.sendto(
                (
                    f"INVITE sip:{NUMBER}@{HOST} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                    f"From: <sip:+4930123@{HOST}>;tag=1\r\nTo: <sip:{NUMBER}@{HOST}>\r\n"
                    f"Call-ID: {secrets.token_hex(8)}\r\nCSeq: 36893488147419103232 INVITE\r\n"
                    "Max-Forwards: 300\r\nContent-Length: 0\r\n\r\n"
                ).encode()
            )
            answer = await asyncio.wait_for(received.get(), 5)
            transport.close()
        assert answer.startswith(b"SIP/2.0 400 ")
        assert routing.log == []

    asyncio.run(asyncio.wait_for(scenario(), 30))


class _Raw(asyncio.DatagramProtocol):
    """Bytes as they come: the 400 echoes a CSeq no parser accepts."""

    def __init__(self, queue: asyncio.Queue[bytes]) -> None:
        self.queue = queue

    def datagram_received(self, data: bytes, addr: tuple[object, ...]) -> None:
        self.queue.put_nowait(data)


def test_a_route_with_a_forged_flow_token_is_not_relayed() -> None:
    """Anyone can name the edge in a Route; only a flow token signed with the fleet's key makes it
    relay, so the edge cannot be made to send SIP to an address of the sender's choosing."""

    async def scenario() -> None:
        sender, target = await Phone.open("sender"), await Phone.open("target")
        async with running_edge(FakeRouting()) as edge:
            for token in (f"udp~{HOST}~{target.port}", f"udp~{HOST}~{target.port}~{'0' * 20}"):
                request = (
                    f"INFO sip:agent@{HOST}:{target.port} SIP/2.0\r\n"
                    f"Route: <sip:{HOST}:{edge.port};lr;flow={token}>\r\n"
                    f"Via: SIP/2.0/UDP {HOST}:{sender.port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                    f"From: <sip:x@{HOST}>;tag=1\r\nTo: <sip:agent@{HOST}>;tag=2\r\n"
                    f"Call-ID: {secrets.token_hex(8)}\r\nCSeq: 1 INFO\r\nMax-Forwards: 70\r\n"
                    "Content-Length: 0\r\n\r\n"
                ).encode()
                sender.send(request, edge.address)
                answer = await sender.response("INFO", final=True)
                assert answer.status == 400
            try:
                message, _ = await target.recv(timeout=0.5)
            except TimeoutError:
                message = None
            assert message is None
        sender.close()
        target.close()

    asyncio.run(asyncio.wait_for(scenario(), 30))


def test_in_dialog_requests_with_a_non_utf8_call_id_get_481_not_500() -> None:
    """Found by the SIP fuzzer: the Call-ID alias of the stored dialog hashed the Call-ID as
    UTF-8, and a byte that is not raised inside the handler (500)."""

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        async with running_edge(FakeRouting()) as edge:
            received: asyncio.Queue[bytes] = asyncio.Queue()
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _Raw(received), local_addr=(HOST, 0), remote_addr=edge.address
            )
            port = transport.get_extra_info("sockname")[1]
            statuses = []
            for method in ("INVITE", "BYE", "INFO"):
                transport.sendto(
                    (
                        f"{method} sip:{NUMBER}@{HOST} SIP/2.0\r\n"
                        f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                        f"From: <sip:+4930123@{HOST}>;tag=1\r\nTo: <sip:{NUMBER}@{HOST}>;tag=2\r\n"
                    ).encode()
                    + b"Call-ID: w\x9d\xffinv@192.0.2.1\r\n"
                    + f"CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n".encode()
                )
                while True:
                    answer = await asyncio.wait_for(received.get(), 5)
                    if not answer.startswith(b"SIP/2.0 100 "):
                        break
                statuses.append(int(answer.split(b" ", 2)[1]))
            transport.close()
        assert statuses == [481, 481, 481]

    asyncio.run(asyncio.wait_for(scenario(), 30))
