"""A number's menu through the edge and a real rtpengine: the caller is answered with the relay's
SDP and hears the menu; its RFC 4733 key (reported by the relay) or SIP INFO key routes the call
through ``new_contact`` with the chosen queue, whose agent is rung; an invalid key replays the menu,
measured as the prompt's audio reaching the caller again after the key; a caller hanging up in the
menu is reported as having left it (the router writes its record), and no agent rings."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from contact_center.domain.menus import LEFT, Menu, MenuChoice
from contact_center.services.routing.decisions import PlayMenu
from local_stack.media_relay import RelayPorts
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, RunningEdge, connect_to, running_edge
from tests.support.rtp import (
    RtpEndpoint,
    best_match_at,
    envelope,
    sdp_media_address,
    sdp_offer,
    ulaw_decode,
    wav_samples,
    wav_seconds,
)

MENU = Menu("menu", "general", {"1": "sales", "2": "support"}, timeout_seconds=2, retries=1)
LOUD = 300.0  # RMS of a 20 ms packet above which the caller hears speech (the prompt's pauses are ~0)


@dataclass
class Call:
    """One carrier call into the edge, answered by the menu, and the agents of the menu's queues."""

    edge: RunningEdge
    carrier: Phone
    agents: dict[str, Phone]
    caller_rtp: RtpEndpoint
    invite: Request | None = None
    ok: Response | None = None
    answered_at: float = 0.0
    pressed_at: list[float] = field(default_factory=list)

    def press(self, digit: str) -> None:
        self.pressed_at.append(time.monotonic())
        self.caller_rtp.press(digit)

    def info(self, digit: str) -> None:
        assert self.invite is not None and self.ok is not None
        body = f"Signal={digit}\r\nDuration=160\r\n".encode()
        request = self.carrier.in_dialog(
            "INFO", self.invite, self.ok, self.edge.address, body=body, content_type="application/dtmf-relay"
        )
        self.carrier.send(request, self.edge.address)

    async def rung(self, queue: str, timeout: float = 10) -> None:
        """The agent of ``queue`` rings, answers, and the call ends (the caller hangs up)."""
        assert self.invite is not None and self.ok is not None
        agent = self.agents[queue]
        offer, source = await agent.request("INVITE", timeout=timeout)
        agent.answer(offer, source, 200, body=sdp_offer(HOST, 49170, session=3))
        await agent.request("ACK", timeout=5)
        self.carrier.send(
            self.carrier.in_dialog("BYE", self.invite, self.ok, self.edge.address), self.edge.address
        )
        bye, source = await agent.request("BYE")
        agent.answer(bye, source, 200)
        await asyncio.wait_for(self.edge.routing.ended.wait(), 5)


Scenario = Callable[[Call], Awaitable[None]]


def _run(relay: tuple[RelayPorts, int], prompts: Path, scenario: Scenario) -> tuple[Call, FakeRouting]:
    ports, dtmf_port = relay
    caller_rtp = RtpEndpoint()

    async def run() -> tuple[Call, FakeRouting]:
        carrier = await Phone.open("carrier")
        agents = {queue: await Phone.open(f"agent-{queue}") for queue in ("general", "sales", "support")}
        routing = FakeRouting()
        routing.new_contact_answer = PlayMenu("?", MENU, int(time.time() * 1000))
        # As the router would answer the caller's choice: the chosen queue's own agent to ring.
        routing.menu_answers = {q: connect_to(phone, seat=f"seat-{q}") for q, phone in agents.items()}
        try:
            async with running_edge(
                routing,
                media_relays=((ports.host, ports.ng_port),),
                media_prompts=str(prompts),
                media_dtmf=(HOST, dtmf_port),
            ) as edge:
                call = Call(edge, carrier, agents, caller_rtp)
                call.invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, caller_rtp.port))
                call.ok = await carrier.response("INVITE", 200)
                call.answered_at = time.monotonic()
                carrier.send(
                    carrier.in_dialog("ACK", call.invite, call.ok, edge.address, cseq=1), edge.address
                )
                caller_rtp.remote = sdp_media_address(call.ok.body)
                caller_rtp.start()
                await scenario(call)
                return call, routing
        finally:
            carrier.close()
            for agent in agents.values():
                agent.close()

    try:
        return asyncio.run(run())
    finally:
        caller_rtp.stop()


def _choices(routing: FakeRouting) -> list[MenuChoice]:
    return [args[3] for args in routing.actions("new_contact") if len(args) == 4]


def _loud(call: Call, start: float, end: float) -> list[float]:
    """Arrival times of the loud audio packets the caller received in [start, end)."""
    return [
        p.at
        for p in call.caller_rtp.received
        if p.payload_type == 0 and start <= p.at < end and envelope(ulaw_decode(p.payload))[0] > LOUD
    ]


def test_an_rfc_4733_key_routes_the_caller_to_the_chosen_queue_whose_agent_rings(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    async def press_two(call: Call) -> None:
        await asyncio.sleep(1.5)
        call.press("2")
        await call.rung("support")

    call, routing = _run(dtmf_relay, prompts, press_two)
    # Answered with the relay's SDP: the menu's audio comes from the relay.
    host, port = sdp_media_address(call.ok.body if call.ok else b"")
    assert host == dtmf_relay[0].host and dtmf_relay[0].media_min <= port <= dtmf_relay[0].media_max
    assert _loud(call, call.answered_at, call.pressed_at[0]), "the caller heard no menu"
    (choice,) = _choices(routing)
    assert (choice.queue_id, choice.outcome, choice.digit) == ("support", "chosen", "2")
    # Only the chosen queue's agent rang.
    assert call.agents["sales"].inbox.empty() and call.agents["general"].inbox.empty()


def test_a_key_sent_as_sip_info_routes_the_caller_as_well(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    async def info_one(call: Call) -> None:
        await asyncio.sleep(1.0)
        call.info("1")
        assert (await call.carrier.response("INFO", final=True)).status == 200
        await call.rung("sales")

    _call, routing = _run(dtmf_relay, prompts, info_one)
    (choice,) = _choices(routing)
    assert (choice.queue_id, choice.outcome, choice.digit) == ("sales", "chosen", "1")


def test_an_invalid_key_replays_the_menu_and_a_valid_one_then_routes(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    length = wav_seconds(str(prompts / "menu.wav"))

    async def nine_then_one(call: Call) -> None:
        # The whole prompt, then into the menu's timeout: the caller hears nothing when it presses.
        await asyncio.sleep(length + 0.8)
        call.press("9")
        await asyncio.sleep(2.5)  # the prompt again
        call.press("1")
        await call.rung("sales")

    call, routing = _run(dtmf_relay, prompts, nine_then_one)
    nine, one = call.pressed_at
    (choice,) = _choices(routing)
    assert (choice.queue_id, choice.outcome, choice.digit) == ("sales", "chosen", "1")
    # Silence before the invalid key, the prompt's speech within a second after it.
    assert _loud(call, nine - 0.6, nine) == []
    replay = _loud(call, nine, one)
    assert replay and replay[0] - nine < 1.0, replay[:3]
    assert len(replay) > 1.0 / 0.02 * 0.5  # over half the packets of the prompt's first seconds
    # And it is the menu prompt: the loudness shape heard after the key matches the prompt's start.
    after = [p for p in call.caller_rtp.received if p.payload_type == 0 and nine <= p.at < one]
    heard = envelope([s for p in after for s in ulaw_decode(p.payload)])
    expected = envelope(wav_samples(str(prompts / "menu.wav")))[: int((one - nine - 0.8) / 0.02)]
    match, _ = best_match_at(heard, expected)
    print(
        f"invalid key to the replay's first speech: {(replay[0] - nine) * 1000:.0f} ms; "
        f"match with the prompt {match:.2f} over {len(expected) * 20} ms"
    )
    assert match > 0.8, match


def test_a_caller_hanging_up_in_the_menu_is_reported_as_left_and_no_agent_rings(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    async def hang_up(call: Call) -> None:
        assert call.invite is not None and call.ok is not None
        await asyncio.sleep(1.0)  # in the middle of the prompt
        call.carrier.send(
            call.carrier.in_dialog("BYE", call.invite, call.ok, call.edge.address), call.edge.address
        )
        assert (await call.carrier.response("BYE", final=True)).status == 200
        deadline = time.monotonic() + 5
        while not _choices(call.edge.routing) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    call, routing = _run(dtmf_relay, prompts, hang_up)
    # Reported with the menu's default queue named and no key: the router writes its record only.
    (choice,) = _choices(routing)
    assert (choice.queue_id, choice.outcome, choice.digit) == ("general", LEFT, None)
    assert all(agent.inbox.empty() for agent in call.agents.values())
