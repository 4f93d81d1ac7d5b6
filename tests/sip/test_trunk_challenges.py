"""A trunk that challenges our INVITE (401/407): the edge answers once with the trunk's stored HA1,
on the same dialog with the CSeq one higher; a challenge it cannot answer (another realm) fails the
legacy leg over to the number's queue as an unreachable trunk would, and the log names the realm."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable

import pytest

from contact_center.domain.trunks import outbound_auth, parse_address
from contact_center.services.routing.decisions import Forward
from sip_edge.app.calls.trunks import Trunk
from sip_edge.sip.digest_header import parse_authorization
from tests.sip.b2bua_support import (
    AGENT_SDP,
    HOST,
    FakeRouting,
    Phone,
    StaticTrunks,
    connect_to,
    running_edge,
)

NUMBER = "+14155550100"
REALM = "pbx.example"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


def trunk_with_credentials(port: int) -> StaticTrunks:
    auth = outbound_auth("switchboard", "s3cret", REALM)
    return StaticTrunks(extra=[Trunk("legacy", (), parse_address(f"{HOST}:{port}", None), auth)])


def md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.mark.parametrize(
    ("status", "asked", "answered"),
    [(407, "Proxy-Authenticate", "Proxy-Authorization"), (401, "WWW-Authenticate", "Authorization")],
)
def test_a_challenge_is_answered_once_with_the_stored_ha1_and_the_call_is_bridged(
    status: int, asked: str, answered: str
) -> None:
    async def scenario() -> None:
        caller, pbx = await Phone.open("carrier"), await Phone.open("pbx")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        async with running_edge(routing, trunks=trunk_with_credentials(pbx.port)) as edge:
            caller.invite(edge.address, NUMBER)
            first, source = await pbx.request("INVITE")
            challenge = f'Digest realm="{REALM}", nonce="n0nce", qop="auth", opaque="op4que"'
            pbx.answer(first, source, status, headers=((asked, challenge),))
            await pbx.request("ACK")
            retried, source = await pbx.request("INVITE")
            assert retried.call_id == first.call_id
            assert retried.cseq == (first.cseq[0] + 1, "INVITE")
            assert retried.headers.get("Via") != first.headers.get("Via")  # a new transaction
            credentials = parse_authorization(retried.headers.get(answered) or "").params
            assert credentials["username"] == "switchboard" and credentials["realm"] == REALM
            assert credentials["opaque"] == "op4que" and credentials["uri"] == retried.uri
            ha1 = md5(f"switchboard:{REALM}:s3cret")
            ha2 = md5(f"INVITE:{retried.uri}")
            expected = md5(f"{ha1}:n0nce:{credentials['nc']}:{credentials['cnonce']}:auth:{ha2}")
            assert credentials["response"] == expected
            pbx.answer(retried, source, 200, body=AGENT_SDP)
            ok = await caller.response("INVITE", 200)
            assert ok.body == AGENT_SDP
            assert routing.actions("legacy_failed") == []
        caller.close()
        pbx.close()

    run(scenario)


def test_a_second_challenge_is_not_answered_again_and_the_call_falls_back_to_the_queue() -> None:
    async def scenario() -> None:
        caller, pbx, agent = await Phone.open("carrier"), await Phone.open("pbx"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        routing.legacy_failed_answer = connect_to(agent)
        async with running_edge(routing, trunks=trunk_with_credentials(pbx.port)) as edge:
            caller.invite(edge.address, NUMBER)
            challenge = (("Proxy-Authenticate", f'Digest realm="{REALM}", nonce="n1"'),)
            for _ in range(2):
                invite, source = await pbx.request("INVITE")
                pbx.answer(invite, source, 407, headers=challenge)
            agent_invite, at = await agent.request("INVITE")
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            await caller.response("INVITE", 200)
            assert len(routing.actions("legacy_failed")) == 1
        for phone in (caller, pbx, agent):
            phone.close()

    run(scenario)


def test_a_challenge_for_another_realm_fails_over_like_an_unreachable_trunk_naming_the_realm(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def scenario() -> None:
        caller, pbx, agent = await Phone.open("carrier"), await Phone.open("pbx"), await Phone.open("agent")
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        routing.legacy_failed_answer = connect_to(agent)
        async with running_edge(routing, trunks=trunk_with_credentials(pbx.port)) as edge:
            caller.invite(edge.address, NUMBER)
            invite, source = await pbx.request("INVITE")
            pbx.answer(
                invite,
                source,
                407,
                headers=(("Proxy-Authenticate", 'Digest realm="other.example", nonce="x"'),),
            )
            agent_invite, at = await agent.request("INVITE")
            agent.answer(agent_invite, at, 200, body=AGENT_SDP)
            await caller.response("INVITE", 200)
            assert len(routing.actions("legacy_failed")) == 1
            with pytest.raises(asyncio.TimeoutError):
                await pbx.request("INVITE", timeout=0.3)  # never retried without an answerable realm
        for phone in (caller, pbx, agent):
            phone.close()

    with caplog.at_level(logging.WARNING, logger="sip_edge.trunks"):
        run(scenario)
    assert any("'other.example'" in r.getMessage() and REALM in r.getMessage() for r in caplog.records)
