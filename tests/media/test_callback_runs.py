"""A callback run by the edge with a real rtpengine: the agent is rung first and hears the whisper,
then the customer is dialled over the merchant's trunk and the two talk through the relay; a busy
customer is reported and the agent let go; an agent who does not answer is a missed offer and the
customer is never dialled."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path

from contact_center.services.routing.decisions import Acknowledged, CallbackDial, Connect, OfferOutcome
from local_stack.media_relay import RelayPorts
from sip_edge.app.calls.callback_run import WHISPER
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import (
    HOST,
    FakeRouting,
    Phone,
    RunningEdge,
    connect_to,
    push_offer,
    running_edge,
)
from tests.support.rtp import RtpEndpoint, best_match, envelope, sdp_media_address, sdp_offer, wav_samples

CUSTOMER = "+4915550001"
CALLER_ID = "+4930999"
_NOT_RUNNING = 40_000  # an RTP port nobody listens on: the agent's audio is not looked at


@dataclass
class Callback:
    """An edge with a relay, the agent's phone, the customer behind the trunk, the router's fake."""

    edge: RunningEdge
    agent: Phone
    customer: Phone
    router: Phone
    routing: FakeRouting

    def offer(self, ring: int = 5, dial: CallbackDial | None = None) -> Connect:
        offer = connect_to(self.agent, contact_id="cb-1", ring=ring)
        trunk = f"{HOST}:{self.customer.port}"
        return replace(offer, callback=dial or CallbackDial(CUSTOMER, "t1", trunk, "udp", CALLER_ID))

    async def pushed(self, ring: int = 5, dial: CallbackDial | None = None) -> None:
        await push_offer(self.router, self.edge, self.offer(ring, dial))

    async def agent_answers(self, rtp_port: int = _NOT_RUNNING) -> tuple[Request, Response, Request, float]:
        """The agent's phone rings (no SDP: its answer makes the offer), answers and is acknowledged."""
        rung, source = await self.agent.request("INVITE")
        rung_at = time.monotonic()
        ok = self.agent.answer(rung, source, 200, body=sdp_offer(HOST, rtp_port))
        ack, _ = await self.agent.request("ACK")
        return rung, ok, ack, rung_at

    def agent_hangs_up(self, rung: Request, ok: Response) -> None:
        self.agent.send(self.agent.in_dialog("BYE", rung, ok, self.edge.address, uas=True), self.edge.address)

    async def missed_without_dialling(self, seconds: float = 0.3) -> list[tuple[object, ...]]:
        """The offer results reported, once sure the customer was never dialled."""
        dials, results = await self.settled(seconds)
        assert dials == [] and self.customer.inbox.qsize() == 0
        return results

    async def settled(
        self, seconds: float = 0.3
    ) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        """After a moment: the reported dials and offer results."""
        await asyncio.sleep(seconds)
        return self.routing.actions("callback_dialled"), self.routing.actions("offer_result")


@contextlib.asynccontextmanager
async def callback_edge(
    relay: RelayPorts, prompts: Path, routing: FakeRouting | None = None
) -> AsyncIterator[Callback]:
    agent, customer, router = (
        await Phone.open("agent"),
        await Phone.open("customer"),
        await Phone.open("router"),
    )
    if routing is None:
        routing = FakeRouting()
        routing.offer_answers = [Acknowledged("cb-1", "queued", merchant_id="m1")]  # a missed offer
    try:
        async with running_edge(
            routing, media_relays=((relay.host, relay.ng_port),), media_prompts=str(prompts)
        ) as edge:
            yield Callback(edge, agent, customer, router, routing)
    finally:
        for phone in (agent, customer, router):
            phone.close()


def _dials(reported: list[tuple[object, ...]]) -> list[tuple[object, ...]]:
    return [(contact, seat, status) for contact, seat, status, _ in reported]


def test_the_agent_is_rung_and_whispered_before_the_customer_is_dialled_and_they_talk_through_the_relay(
    relay: RelayPorts, prompts: Path
) -> None:
    agent_rtp, customer_rtp = RtpEndpoint(tone_hz=1000), RtpEndpoint(tone_hz=500)

    async def scenario() -> dict[str, object]:
        async with callback_edge(relay, prompts) as call:
            await call.pushed()
            rung, _, ack, agent_rung_at = await call.agent_answers(agent_rtp.port)
            agent_rtp.remote = sdp_media_address(ack.body)
            agent_rtp.start()
            # Then the customer, over the trunk, showing the merchant's caller ID
            dialled, trunk_source = await call.customer.request("INVITE", timeout=15)
            customer_dialled_at = time.monotonic()
            heard_before_customer = agent_rtp.audio()
            call.customer.answer(dialled, trunk_source, 180)
            customer_ok = call.customer.answer(
                dialled, trunk_source, 200, body=sdp_offer(HOST, customer_rtp.port)
            )
            await call.customer.request("ACK")
            customer_rtp.remote = sdp_media_address(dialled.body)
            customer_rtp.start()
            await asyncio.sleep(2.0)
            agent_heard_during_talk = len(agent_rtp.received)
            # The customer hangs up: the agent gets the BYE, the contact ends as any call
            edge = call.edge.address
            call.customer.send(call.customer.in_dialog("BYE", dialled, customer_ok, edge, uas=True), edge)
            bye, bye_source = await call.agent.request("BYE")
            call.agent.answer(bye, bye_source, 200)
            await asyncio.wait_for(call.routing.ended.wait(), 5)
            dials, answers = await call.settled(0)
            return {
                "order": (agent_rung_at, customer_dialled_at),
                "rung": rung,
                "dialled": dialled,
                "ack": ack,
                "whisper": heard_before_customer,
                "agent_heard": agent_heard_during_talk,
                "log": [action for action, _ in call.routing.log],
                "dials": dials,
                "answers": answers,
            }

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
    assert _dials(seen["dials"]) == [("cb-1", "seat-1", 200)]  # type: ignore[arg-type]
    assert seen["answers"] == [("cb-1", "seat-1", OfferOutcome.ANSWERED)]
    log = seen["log"]
    assert log.index("callback_dialled") < log.index("offer_result") < log.index("contact_ended")  # type: ignore[attr-defined]


def test_a_busy_customer_is_reported_busy_and_the_agent_is_let_go_with_a_reason(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], str | None, list[str]]:
        async with callback_edge(relay, prompts) as call:
            await call.pushed()
            await call.agent_answers()
            dialled, trunk_source = await call.customer.request("INVITE", timeout=15)
            call.customer.answer(dialled, trunk_source, 486)
            await call.customer.request("ACK")
            bye, bye_source = await call.agent.request("BYE")
            call.agent.answer(bye, bye_source, 200)
            await asyncio.wait_for(call.routing.dialled.wait(), 5)
            dials, _ = await call.settled()
            return dials, bye.headers.get("Reason"), [action for action, _ in call.routing.log]

    dials, reason, log = asyncio.run(scenario())
    assert _dials(dials) == [("cb-1", "seat-1", 486)]
    assert reason is not None and "cause=486" in reason
    # No answer was reported and no contact ended: the router puts the callback back at its place
    assert "offer_result" not in log and "contact_ended" not in log


def test_an_agent_who_does_not_answer_is_a_missed_offer_and_the_customer_is_never_dialled(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> list[tuple[object, ...]]:
        async with callback_edge(relay, prompts) as call:
            await call.pushed(ring=1)
            rung, source = await call.agent.request("INVITE")
            call.agent.answer(rung, source, 180)
            # Held while it rings: the task's own lost-contact check does not take it back
            assert call.edge.task.calls is not None
            assert "cb-1" in call.edge.task.calls.live.held_contacts()
            cancel, cancel_source = await call.agent.request("CANCEL", timeout=5)
            call.agent.answer(cancel, cancel_source, 200)
            call.agent.answer(rung, source, 487)
            deadline = time.monotonic() + 5
            while not call.routing.actions("offer_result") and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            missed = await call.missed_without_dialling()
            assert "cb-1" not in call.edge.task.calls.live.held_contacts()
            return missed

    assert asyncio.run(scenario()) == [("cb-1", "seat-1", OfferOutcome.NO_ANSWER)]


def test_an_agent_hanging_up_on_the_whisper_refuses_the_callback_and_the_customer_is_not_dialled(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> list[tuple[object, ...]]:
        async with callback_edge(relay, prompts) as call:
            await call.pushed()
            rung, ok, _, _ = await call.agent_answers()
            call.agent_hangs_up(rung, ok)
            assert (await call.agent.response("BYE", final=True)).status == 200
            return await call.missed_without_dialling(1.0)

    assert asyncio.run(scenario()) == [("cb-1", "seat-1", OfferOutcome.REJECTED)]


def test_an_agent_hanging_up_while_the_customer_rings_cancels_the_dial_and_reports_it(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], str | None]:
        async with callback_edge(relay, prompts) as call:
            await call.pushed()
            rung, ok, _, _ = await call.agent_answers()
            dialled, trunk_source = await call.customer.request("INVITE", timeout=15)
            call.customer.answer(dialled, trunk_source, 180)
            call.agent_hangs_up(rung, ok)
            cancel, cancel_source = await call.customer.request("CANCEL")
            call.customer.answer(cancel, cancel_source, 200)
            call.customer.answer(dialled, trunk_source, 487)
            await asyncio.wait_for(call.routing.dialled.wait(), 5)
            dials, _ = await call.settled(0)
            return dials, cancel.headers.get("Reason")

    dials, reason = asyncio.run(scenario())
    assert _dials(dials) == [("cb-1", "seat-1", 487)]
    assert reason is not None and "Agent hung up" in reason


def test_a_merchant_without_an_outbound_trunk_fails_the_dial_503_without_ringing_the_agent(
    relay: RelayPorts, prompts: Path
) -> None:
    async def scenario() -> tuple[list[tuple[object, ...]], int]:
        async with callback_edge(relay, prompts) as call:
            await call.pushed(dial=CallbackDial(CUSTOMER))
            await asyncio.wait_for(call.routing.dialled.wait(), 5)
            dials, _ = await call.settled()
            return dials, call.agent.inbox.qsize()

    dials, agent_heard = asyncio.run(scenario())
    assert _dials(dials) == [("cb-1", "seat-1", 503)]
    assert agent_heard == 0
