"""Agents calling out in-process: a seat's phone (not a trunk) proves itself with digest, the router
says where the merchant's calls go, and the carrier sees the merchant's caller ID."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence

from contact_center.domain.contact import HangupSide
from contact_center.services.routing.decisions import Reject
from contact_center.services.routing.dialout import Dial, OutboundTrunk
from sip_edge.sip.digest import compute_ha1, compute_response
from sip_edge.sip.digest_header import parse_authorization
from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from tests.sip.b2bua_support import (
    AGENT_SDP,
    AUDIO_SDP,
    HOST,
    FakeRouting,
    Phone,
    RunningEdge,
    StaticTrunks,
    running_edge,
)

REALM = "sip.switchboard.local"
NUMBER = "+442079460000"
CALLER_ID = "+15550100"


class SeatCredentials:
    def ha1s(self, username: str) -> Mapping[str, str] | None:
        if username != "u-a1":
            return None
        return {
            "MD5": compute_ha1("u-a1", REALM, "secret"),
            "SHA-256": compute_ha1("u-a1", REALM, "secret", "SHA-256"),
        }

    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, Mapping[str, str] | None]:
        return {username: self.ha1s(username) for username in usernames}


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


class SeatPhone:
    """A seat's phone dialling out: INVITE, the 407, the INVITE again with credentials."""

    def __init__(self, phone: Phone, edge: RunningEdge) -> None:
        self.phone = phone
        self.edge = edge
        self.call_id = secrets.token_hex(8)
        self.cseq = 0

    def invite(self, number: str, authorization: str | None = None) -> Request:
        self.cseq += 1
        lines = [
            f"INVITE sip:{number}@{HOST}:{self.edge.port} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{self.phone.port};branch=z9hG4bK{secrets.token_hex(8)};rport",
            f"From: <sip:u-a1@{REALM}>;tag={self.phone.tag}",
            f"To: <sip:{number}@{REALM}>",
            f"Call-ID: {self.call_id}",
            f"CSeq: {self.cseq} INVITE",
            f"Contact: <sip:u-a1@{HOST}:{self.phone.port}>",
            "Max-Forwards: 70",
            "User-Agent: seat-phone",
            "Content-Type: application/sdp",
        ]
        if authorization:
            lines.append(f"Proxy-Authorization: {authorization}")
        data = ("\r\n".join(lines) + f"\r\nContent-Length: {len(AUDIO_SDP)}\r\n\r\n").encode() + AUDIO_SDP
        request = parse_message(data)
        assert isinstance(request, Request)
        self.phone.send(request, self.edge.address)
        return request

    def ack_failure(self, invite: Request, response: Response) -> None:
        """§17.1.1.3: the ACK of a non-2xx final response, in its INVITE's transaction."""
        lines = [
            f"ACK {invite.uri} SIP/2.0",
            f"Via: {invite.headers.get('Via')}",
            f"From: {invite.headers.get('From')}",
            f"To: {response.headers.get('To')}",
            f"Call-ID: {invite.call_id}",
            f"CSeq: {invite.cseq[0]} ACK",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
        self.phone.send(("\r\n".join(lines) + "\r\n\r\n").encode(), self.edge.address)

    async def dial(self, number: str, password: str = "secret") -> tuple[Request, Response]:
        """Dial with credentials after the challenge; the INVITE sent and the edge's final answer
        (or its first provisional above 100, for an answered call)."""
        first = self.invite(number)
        challenge = await self.phone.response("INVITE", 407)
        self.ack_failure(first, challenge)
        offered = [v for v in challenge.headers.get_lines("Proxy-Authenticate") if "MD5" in v]
        assert offered, challenge.headers.get_lines("Proxy-Authenticate")
        params = parse_authorization(offered[0])
        uri = f"sip:{number}@{HOST}:{self.edge.port}"
        ha1 = compute_ha1("u-a1", REALM, password)
        response = compute_response(
            ha1, nonce=params.nonce or "", method="INVITE", uri=uri, nc="00000001", cnonce="c0ffee"
        )
        authorization = (
            f'Digest username="u-a1", realm="{REALM}", nonce="{params.nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="c0ffee"'
        )
        second = self.invite(number, authorization)
        answer = await self.phone.response("INVITE", final=True)
        return second, answer


def dial_to(carrier: Phone) -> Dial:
    return Dial("?", "seat-1", "m1", NUMBER, OutboundTrunk("t1", f"{HOST}:{carrier.port}", "udp", CALLER_ID))


def test_a_seat_calls_out_through_the_trunk_and_the_carrier_sees_the_merchants_caller_id() -> None:
    async def scenario() -> None:
        seat, carrier = await Phone.open("u-a1"), await Phone.open("carrier")
        routing = FakeRouting()
        routing.dial_answer = dial_to(carrier)
        async with running_edge(
            routing, trunks=StaticTrunks(("10.0.0.0/8",)), credentials=SeatCredentials()
        ) as edge:
            phone = SeatPhone(seat, edge)
            dialling = asyncio.create_task(phone.dial(NUMBER))
            out, source = await carrier.request("INVITE")
            assert out.sip_uri.user == NUMBER and out.from_.sip_uri is not None
            assert out.from_.sip_uri.user == CALLER_ID
            assert CALLER_ID in (out.headers.get("P-Asserted-Identity") or "")
            assert out.body == AUDIO_SDP and out.headers.get("Proxy-Authorization") is None
            carrier.answer(out, source, 180)
            carrier.answer(out, source, 200, body=AGENT_SDP)
            invite, ok = await dialling
            assert ok.status == 200 and ok.body == AGENT_SDP
            contact_id = routing.actions("dial_out")[0][2]
            assert routing.actions("dial_out") == [("u-a1", NUMBER, contact_id)]
            await carrier.request("ACK")
            for _ in range(50):
                if routing.actions("outbound_answered"):
                    break
                await asyncio.sleep(0.02)
            assert routing.actions("outbound_answered") == [(contact_id, "seat-1")]

            seat.cseq = phone.cseq
            seat.in_dialog("ACK", invite, ok, edge.address, cseq=invite.cseq[0])
            seat.in_dialog("BYE", invite, ok, edge.address)
            assert (await seat.response("BYE", final=True)).status == 200
            bye, source = await carrier.request("BYE")
            carrier.answer(bye, source, 200)
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][:2] == (contact_id, HangupSide.AGENT)
        seat.close()
        carrier.close()

    run(scenario)


def test_a_number_outside_the_allowed_prefixes_is_refused_with_403_and_a_reason() -> None:
    async def scenario() -> None:
        seat = await Phone.open("u-a1")
        routing = FakeRouting()
        routing.dial_answer = Reject(403, "+33142270000 is outside the numbers this merchant may call")
        async with running_edge(
            routing, trunks=StaticTrunks(("10.0.0.0/8",)), credentials=SeatCredentials()
        ) as edge:
            _invite, refused = await SeatPhone(seat, edge).dial("+33142270000")
            assert refused.status == 403
            assert "outside the numbers" in (refused.headers.get("Warning") or "")
            assert (refused.headers.get("Reason") or "").startswith("SIP;cause=403")
            assert routing.actions("contact_ended") == []
        seat.close()

    run(scenario)


def test_a_phone_with_a_wrong_password_is_refused_before_the_router_hears_of_it() -> None:
    async def scenario() -> None:
        seat = await Phone.open("u-a1")
        routing = FakeRouting()
        async with running_edge(
            routing, trunks=StaticTrunks(("10.0.0.0/8",)), credentials=SeatCredentials()
        ) as edge:
            _invite, refused = await SeatPhone(seat, edge).dial(NUMBER, password="guess")
            assert refused.status == 403
            assert routing.actions("dial_out") == []
        seat.close()

    run(scenario)


def test_the_carrier_refusing_the_call_reaches_the_phone_and_ends_the_contact() -> None:
    async def scenario() -> None:
        seat, carrier = await Phone.open("u-a1"), await Phone.open("carrier")
        routing = FakeRouting()
        routing.dial_answer = dial_to(carrier)
        async with running_edge(
            routing, trunks=StaticTrunks(("10.0.0.0/8",)), credentials=SeatCredentials()
        ) as edge:
            dialling = asyncio.create_task(SeatPhone(seat, edge).dial(NUMBER))
            out, source = await carrier.request("INVITE")
            carrier.answer(out, source, 486)
            _invite, busy = await dialling
            assert busy.status == 486
            await asyncio.wait_for(routing.ended.wait(), 5)
            assert routing.actions("contact_ended")[0][1] is HangupSide.CUSTOMER
        seat.close()
        carrier.close()

    run(scenario)
