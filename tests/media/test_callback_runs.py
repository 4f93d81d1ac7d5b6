"""A callback run by the edge with a real rtpengine: the agent is rung first and hears the whisper,
then the customer is dialled over the merchant's trunk and the two talk through the relay; a busy
customer is reported and the agent let go; an agent who does not answer is a missed offer and the
customer is never dialled."""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import replace
from pathlib import Path

from contact_center.contracts import offer_push
from contact_center.services.routing.decisions import Acknowledged, CallbackDial, Connect, OfferOutcome
from local_stack.media_relay import RelayPorts
from sip_edge.app.calls.callback_run import WHISPER
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, RunningEdge, connect_to, running_edge
from tests.support.rtp import RtpEndpoint, best_match, envelope, sdp_media_address, sdp_offer, wav_samples

CUSTOMER = "+4915550001"
CALLER_ID = "+4930999"


def _callback_offer(agent: Phone, customer: Phone, ring: int = 5) -> Connect:
    offer = connect_to(agent, contact_id="cb-1", ring=ring)
    return replace(offer, callback=CallbackDial(CUSTOMER, "t1", f"{HOST}:{customer.port}", "udp", CALLER_ID))


async def _push(router: Phone, edge: RunningEdge, offer: Connect) -> None:
    """The router's signed push of the offer to the runner task; answered 202."""
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


def test_the_agent_is_rung_and_whispered_before_the_customer_is_dialled_and_they_talk_through_the_relay(
    relay: RelayPorts, prompts: Path
) -> None:
    agent_rtp, customer_rtp = RtpEndpoint(tone_hz=1000), RtpEndpoint(tone_hz=500)

    async def scenario() -> dict[str, object]:
        agent, customer, router = (
            await Phone.open("agent"),
            await Phone.open("customer"),
            await Phone.open("r"),
        )
        routing = FakeRouting()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                await _push(router, edge, _callback_offer(agent, customer))
                # The agent's phone rings first, with no SDP: its answer makes the offer
                rung, source = await agent.request("INVITE")
                agent_rung_at = time.monotonic()
                agent.answer(rung, source, 200, body=sdp_offer(HOST, agent_rtp.port))
                ack, _ = await agent.request("ACK")
                agent_rtp.remote = sdp_media_address(ack.body)
                agent_rtp.start()
                # Then the customer, over the trunk, showing the merchant's caller ID
                dialled, trunk_source = await customer.request("INVITE", timeout=15)
                customer_dialled_at = time.monotonic()
                heard_before_customer = agent_rtp.audio()
                customer.answer(dialled, trunk_source, 180)
                customer_ok = customer.answer(
                    dialled, trunk_source, 200, body=sdp_offer(HOST, customer_rtp.port)
                )
                await customer.request("ACK")
                customer_rtp.remote = sdp_media_address(dialled.body)
                customer_rtp.start()
                await asyncio.sleep(2.0)
                agent_heard_during_talk = len(agent_rtp.received)
                # The customer hangs up: the agent gets the BYE, the contact ends as any call
                customer.send(
                    customer.in_dialog("BYE", dialled, customer_ok, edge.address, uas=True), edge.address
                )
                bye, bye_source = await agent.request("BYE")
                agent.answer(bye, bye_source, 200)
                await asyncio.wait_for(routing.ended.wait(), 5)
                return {
                    "order": (agent_rung_at, customer_dialled_at),
                    "rung": rung,
                    "dialled": dialled,
                    "ack": ack,
                    "whisper": heard_before_customer,
                    "agent_heard": agent_heard_during_talk,
                    "log": [action for action, _ in routing.log],
                    "dials": routing.actions("callback_dialled"),
                    "answers": routing.actions("offer_result"),
                }
        finally:
            for phone in (agent, customer, router):
                phone.close()

    try:
        seen = asyncio.run(scenario())
    finally:
        agent_rtp.stop()
        customer_rtp.stop()
    rung_at, dialled_at = seen["order"]  # type: ignore[misc]
    assert rung_at < dialled_at
    rung, dialled, ack = seen["rung"], seen["dialled"], seen["ack"]
    assert rung.body == b"" and CUSTOMER in rung.headers.get("From")  # type: ignore[attr-defined]
    assert dialled.uri.startswith(f"sip:{CUSTOMER}@")  # type: ignore[attr-defined]
    assert CALLER_ID in dialled.headers.get("From")  # type: ignore[attr-defined]
    assert CALLER_ID in dialled.headers.get("P-Asserted-Identity")  # type: ignore[attr-defined]
    # Both sides were given the relay's address, never each other's
    for sdp in (ack.body, dialled.body):  # type: ignore[attr-defined]
        host, port = sdp_media_address(sdp)
        assert host == relay.host and relay.media_min <= port <= relay.media_max
    # The agent heard the whisper before the customer was dialled
    whisper = envelope(wav_samples(str(prompts / f"{WHISPER}.wav")))
    assert best_match(envelope(seen["whisper"]), whisper) > 0.9  # type: ignore[arg-type]
    # RTP both ways through the relay once bridged: 2 s at 50 packets/s
    assert len(customer_rtp.received) >= 80, len(customer_rtp.received)
    assert max(envelope(customer_rtp.audio()[-8000:])) > 2000  # the agent's 1 kHz tone
    assert seen["agent_heard"] >= 80  # type: ignore[operator]
    # The dial was reported answered before the answer connected the contact, then the end
    assert [(c, s, status) for c, s, status, _ in seen["dials"]] == [("cb-1", "seat-1", 200)]  # type: ignore[union-attr, misc]
    assert seen["answers"] == [("cb-1", "seat-1", OfferOutcome.ANSWERED)]
    log = seen["log"]
    assert log.index("callback_dialled") < log.index("offer_result") < log.index("contact_ended")  # type: ignore[attr-defined]


def test_a_busy_customer_is_reported_busy_and_the_agent_is_let_go_with_a_reason(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], str | None, list[str]]:
        agent, customer, router = (
            await Phone.open("agent"),
            await Phone.open("customer"),
            await Phone.open("r"),
        )
        routing = FakeRouting()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                await _push(router, edge, _callback_offer(agent, customer))
                rung, source = await agent.request("INVITE")
                agent.answer(rung, source, 200, body=sdp_offer(HOST, 40_000))
                await agent.request("ACK")
                dialled, trunk_source = await customer.request("INVITE", timeout=15)
                customer.answer(dialled, trunk_source, 486)
                await customer.request("ACK")
                bye, bye_source = await agent.request("BYE")
                agent.answer(bye, bye_source, 200)
                await asyncio.wait_for(routing.dialled.wait(), 5)
                await asyncio.sleep(0.2)
                return (
                    routing.actions("callback_dialled"),
                    bye.headers.get("Reason"),
                    [a for a, _ in routing.log],
                )
        finally:
            for phone in (agent, customer, router):
                phone.close()

    dials, reason, log = asyncio.run(scenario())
    assert [(c, s, status) for c, s, status, _ in dials] == [("cb-1", "seat-1", 486)]
    assert reason is not None and "cause=486" in reason
    # No answer was reported and no contact ended: the router puts the callback back at its place
    assert "offer_result" not in log and "contact_ended" not in log


def test_an_agent_who_does_not_answer_is_a_missed_offer_and_the_customer_is_never_dialled(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
        agent, customer, router = (
            await Phone.open("agent"),
            await Phone.open("customer"),
            await Phone.open("r"),
        )
        routing = FakeRouting()
        routing.offer_answers = [Acknowledged("cb-1", "queued", merchant_id="m1")]
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                await _push(router, edge, _callback_offer(agent, customer, ring=1))
                rung, source = await agent.request("INVITE")
                agent.answer(rung, source, 180)
                cancel, cancel_source = await agent.request("CANCEL", timeout=5)
                agent.answer(cancel, cancel_source, 200)
                agent.answer(rung, source, 487)
                deadline = time.monotonic() + 5
                while not routing.actions("offer_result") and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.3)
                return (
                    routing.actions("offer_result"),
                    routing.actions("callback_dialled"),
                    customer.inbox.qsize(),
                )
        finally:
            for phone in (agent, customer, router):
                phone.close()

    missed, dials, customer_heard = asyncio.run(scenario())
    assert missed == [("cb-1", "seat-1", OfferOutcome.NO_ANSWER)]
    assert dials == [] and customer_heard == 0


def test_an_agent_hanging_up_on_the_whisper_refuses_the_callback_and_the_customer_is_not_dialled(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]], int]:
        agent, customer, router = (
            await Phone.open("agent"),
            await Phone.open("customer"),
            await Phone.open("r"),
        )
        routing = FakeRouting()
        routing.offer_answers = [Acknowledged("cb-1", "queued", merchant_id="m1")]
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                await _push(router, edge, _callback_offer(agent, customer))
                rung, source = await agent.request("INVITE")
                ok = agent.answer(rung, source, 200, body=sdp_offer(HOST, 40_002))
                await agent.request("ACK")
                agent.send(agent.in_dialog("BYE", rung, ok, edge.address, uas=True), edge.address)
                assert (await agent.response("BYE", final=True)).status == 200
                await asyncio.sleep(1.0)
                return (
                    routing.actions("offer_result"),
                    routing.actions("callback_dialled"),
                    customer.inbox.qsize(),
                )
        finally:
            for phone in (agent, customer, router):
                phone.close()

    refused, dials, customer_heard = asyncio.run(scenario())
    assert refused == [("cb-1", "seat-1", OfferOutcome.REJECTED)]
    assert dials == [] and customer_heard == 0


def test_an_agent_hanging_up_while_the_customer_rings_cancels_the_dial_and_reports_it(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], str | None]:
        agent, customer, router = (
            await Phone.open("agent"),
            await Phone.open("customer"),
            await Phone.open("r"),
        )
        routing = FakeRouting()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                await _push(router, edge, _callback_offer(agent, customer))
                rung, source = await agent.request("INVITE")
                ok = agent.answer(rung, source, 200, body=sdp_offer(HOST, 40_004))
                await agent.request("ACK")
                dialled, trunk_source = await customer.request("INVITE", timeout=15)
                customer.answer(dialled, trunk_source, 180)
                agent.send(agent.in_dialog("BYE", rung, ok, edge.address, uas=True), edge.address)
                cancel, cancel_source = await customer.request("CANCEL")
                customer.answer(cancel, cancel_source, 200)
                customer.answer(dialled, trunk_source, 487)
                await asyncio.wait_for(routing.dialled.wait(), 5)
                return routing.actions("callback_dialled"), cancel.headers.get("Reason")
        finally:
            for phone in (agent, customer, router):
                phone.close()

    dials, reason = asyncio.run(scenario())
    assert [(c, s, status) for c, s, status, _ in dials] == [("cb-1", "seat-1", 487)]
    assert reason is not None and "Agent hung up" in reason


def test_a_merchant_without_an_outbound_trunk_fails_the_dial_503_without_ringing_the_agent(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], int]:
        agent, customer, router = (
            await Phone.open("agent"),
            await Phone.open("customer"),
            await Phone.open("r"),
        )
        routing = FakeRouting()
        try:
            async with running_edge(
                routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
            ) as edge:
                offer = replace(_callback_offer(agent, customer), callback=CallbackDial(CUSTOMER))
                await _push(router, edge, offer)
                await asyncio.wait_for(routing.dialled.wait(), 5)
                await asyncio.sleep(0.2)
                return routing.actions("callback_dialled"), agent.inbox.qsize()
        finally:
            for phone in (agent, customer, router):
                phone.close()

    dials, agent_heard = asyncio.run(scenario())
    assert [(c, s, status) for c, s, status, _ in dials] == [("cb-1", "seat-1", 503)]
    assert agent_heard == 0
