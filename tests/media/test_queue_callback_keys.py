"""A queued caller leaving a callback with its queue's key, through the edge and a real rtpengine: the
RFC 4733 key the relay reports (or a SIP INFO key) asks the router to ``leave_callback``; left, the
caller hears the confirmation and the call ends (BYE to an answered caller, 603 to one in early
media) without its end being reported, so the contact keeps its place; refused, or another key, and
the caller waits on. A queue without callbacks ignores the key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from contact_center.domain.queueing import AnswerMode, QueueMedia
from contact_center.services.routing.decisions import Queue
from local_stack.media_relay import RelayPorts
from sip_edge.app.calls.ports import RoutingError
from sip_edge.sip.message import Request, Response
from tests.sip.b2bua_support import HOST, FakeRouting, Phone, RunningEdge
from tests.support.relay import edge_on_relay
from tests.support.rtp import RtpEndpoint, envelope, sdp_media_address, sdp_offer, ulaw_decode

LOUD = 300.0  # RMS of a 20 ms packet above which the caller hears speech


def _queue(key: str | None, answer: AnswerMode = AnswerMode.ANSWER) -> Queue:
    now_ms = int(time.time() * 1000)
    media = QueueMedia(answer=answer, greeting=None, announce_every_seconds=0)
    return Queue("?", "q1", 60, now_ms + 60_000, position=2, media=media, callback_digit=key)


@dataclass
class Held:
    edge: RunningEdge
    carrier: Phone
    rtp: RtpEndpoint
    invite: Request
    answer: Response  # the 200 of an answered caller, the 183 of one in early media
    pressed_at: list[float] = field(default_factory=list)

    def press(self, digit: str) -> None:
        self.pressed_at.append(time.monotonic())
        self.rtp.press(digit)

    def info(self, digit: str) -> None:
        body = f"Signal={digit}\r\nDuration=160\r\n".encode()
        request = self.carrier.in_dialog(
            "INFO",
            self.invite,
            self.answer,
            self.edge.address,
            body=body,
            content_type="application/dtmf-relay",
        )
        self.carrier.send(request, self.edge.address)

    def loud_after(self, start: float) -> list[float]:
        return [
            p.at
            for p in self.rtp.received
            if p.payload_type == 0 and p.at >= start and envelope(ulaw_decode(p.payload))[0] > LOUD
        ]


T = TypeVar("T")


async def _bye_within(held: Held, seconds: float) -> bool:
    try:
        await held.carrier.request("BYE", timeout=seconds)
    except TimeoutError:
        return False
    return True


def _run(
    relay: tuple[RelayPorts, int],
    prompts: Path,
    queue: Queue,
    scenario: Callable[[Held], Awaitable[T]],
    routing: FakeRouting,
) -> T:
    ports, dtmf_port = relay
    rtp = RtpEndpoint()
    routing.new_contact_answer = queue

    async def run() -> T:
        carrier = await Phone.open("carrier")
        try:
            # The relay's agent joins the announcement, so the key is told within the first second.
            async with edge_on_relay(routing, ports, prompts, media_dtmf=(HOST, dtmf_port)) as edge:
                invite = carrier.invite(edge.address, "100", body=sdp_offer(HOST, rtp.port))
                answered = queue.media.answer is AnswerMode.ANSWER
                answer = await carrier.response("INVITE", 200 if answered else 183)
                if answered:
                    carrier.send(carrier.in_dialog("ACK", invite, answer, edge.address, cseq=1), edge.address)
                rtp.remote = sdp_media_address(answer.body)
                rtp.start()
                await asyncio.sleep(1.0)  # told of the key: it is in the first announcement
                return await scenario(Held(edge, carrier, rtp, invite, answer))
        finally:
            carrier.close()

    try:
        return asyncio.run(run())
    finally:
        rtp.stop()


def test_the_key_leaves_a_callback_the_caller_hears_it_confirmed_and_gets_a_bye_with_the_reason(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    routing = FakeRouting()

    async def press_one(held: Held) -> tuple[Request, list[float], float]:
        held.press("1")
        bye, source = await held.carrier.request("BYE", timeout=15)
        bye_at = time.monotonic()
        held.carrier.answer(bye, source, 200)
        await asyncio.sleep(0.5)
        return bye, held.loud_after(held.pressed_at[0] + 0.5), bye_at

    bye, heard, bye_at = _run(dtmf_relay, prompts, _queue("1"), press_one, routing)
    contact_id = routing.actions("new_contact")[0][2]
    assert routing.actions("leave_callback") == [(contact_id, "1")]
    assert bye.headers.get("Reason") == 'SIP;cause=200;text="callback left: the caller keeps its place"'
    # The contact is not over: the edge reports no end (the router keeps it QUEUED at its place).
    assert routing.actions("contact_ended") == [] and routing.actions("queue_timeout") == []
    # The confirmation ("Thank you ... Goodbye.") is heard for seconds, and the BYE comes after it.
    assert heard and heard[-1] - heard[0] > 2.0 and heard[-1] <= bye_at + 0.1, heard


def test_a_refused_key_or_another_key_leaves_the_caller_waiting_and_a_sip_info_key_then_leaves_it(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    routing = FakeRouting()
    routing.callback_answers = [RoutingError("not_found", "callback key not found: #")]

    async def press_twice(held: Held) -> tuple[bool, Request]:
        held.press("2")  # not the queue's key: nothing asked
        await asyncio.sleep(0.8)
        held.press("#")  # refused by the router: the caller waits on
        no_bye = not await _bye_within(held, 1.5)
        held.info("#")
        bye, source = await held.carrier.request("BYE", timeout=15)
        held.carrier.answer(bye, source, 200)
        return no_bye, bye

    no_bye, bye = _run(dtmf_relay, prompts, _queue("#"), press_twice, routing)
    contact_id = routing.actions("new_contact")[0][2]
    assert no_bye, "a refused key ended the call"
    assert routing.actions("leave_callback") == [(contact_id, "#"), (contact_id, "#")]
    assert "callback left" in (bye.headers.get("Reason") or "")
    assert routing.actions("contact_ended") == []


def test_an_early_media_caller_hears_the_confirmation_then_gets_603_and_no_end_is_reported(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    routing = FakeRouting()

    async def press_star(held: Held) -> tuple[Response, list[float]]:
        held.press("*")
        final = await held.carrier.response("INVITE", final=True, timeout=15)
        return final, held.loud_after(held.pressed_at[0] + 0.5)

    final, heard = _run(dtmf_relay, prompts, _queue("*", AnswerMode.EARLY_MEDIA), press_star, routing)
    assert final.status == 603 and "callback left" in (final.headers.get("Warning") or "")
    # The confirmation ("Thank you ... Goodbye.") is heard for seconds before the call ends.
    assert heard and heard[-1] - heard[0] > 2.0, heard
    assert routing.actions("contact_ended") == []


def test_a_queue_without_callbacks_ignores_the_key(dtmf_relay: tuple[RelayPorts, int], prompts: Path) -> None:
    routing = FakeRouting()

    async def press(held: Held) -> bool:
        held.press("1")
        return await _bye_within(held, 2.0)

    assert _run(dtmf_relay, prompts, _queue(None), press, routing) is False
    assert routing.actions("leave_callback") == []
