"""A number's menu on a real rtpengine: the caller's RFC 4733 key presses, detected by the relay
and reported to the edge's DTMF listener, choose the queue; an invalid key replays the menu;
silence goes to the default queue."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from contact_center.domain.menus import Menu, MenuStep, StepKind
from local_stack.media_relay import RelayPorts
from sip_edge.app.media.anchor import ANCHOR
from sip_edge.app.media.menu import MenuPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.media.dtmf import DtmfListener
from sip_edge.media.ng import NgClient
from sip_edge.media.sdp import parked_answer
from tests.support.ports import HOST
from tests.support.rtp import RtpEndpoint, sdp_media_address, sdp_offer, wav_seconds

MENU = Menu("menu", "general", {"1": "sales", "2": "support"}, timeout_seconds=1, retries=1)

Presses = Callable[[RtpEndpoint, MenuPlayer], Awaitable[None]]


def _run_menu(
    relay: RelayPorts, listen_port: int, prompts: Path, presses: Presses
) -> tuple[MenuStep, int, float]:
    caller = RtpEndpoint()

    async def scenario() -> tuple[MenuStep, int, float]:
        listener = DtmfListener()
        await listener.start(HOST, listen_port)
        client = NgClient((relay.host, relay.ng_port))
        call_id, caller_tag = f"menu-{uuid.uuid4()}", "caller"
        try:
            # The caller's leg on the relay as a queued caller's is: its offer, our parked answer.
            offered = await client.offer(call_id, caller_tag, sdp_offer(HOST, caller.port), ANCHOR)
            answered = await client.answer(call_id, caller_tag, "edge", parked_answer(offered.sdp), ANCHOR)
            caller.remote = sdp_media_address(answered.sdp)
            caller.start()
            player = MenuPlayer(
                client, call_id, caller_tag, PromptSet(str(prompts)), listener.digits(call_id)
            )
            started = time.monotonic()
            running = asyncio.get_running_loop().create_task(player.run(MENU))
            await presses(caller, player)
            step = await asyncio.wait_for(running, 20)
            return step, player.played, time.monotonic() - started
        finally:
            listener.forget(call_id)
            await client.delete(call_id, caller_tag)
            client.close()
            listener.close()

    try:
        return asyncio.run(scenario())
    finally:
        caller.stop()


def test_pressing_a_menu_digit_during_the_prompt_chooses_its_queue(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    async def press_two(caller: RtpEndpoint, _player: MenuPlayer) -> None:
        await asyncio.sleep(1.0)
        caller.press("2")

    step, played, took = _run_menu(*dtmf_relay, prompts, press_two)
    assert step == MenuStep(StepKind.ROUTE, "support", 0, "chosen", "2")
    assert played == 1
    # Barge-in: the digit ends the menu before the prompt would have.
    assert took < wav_seconds(str(prompts / "menu.wav"))


def test_an_invalid_digit_replays_the_menu_and_a_valid_one_then_chooses(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    async def press_nine_then_one(caller: RtpEndpoint, player: MenuPlayer) -> None:
        await asyncio.sleep(1.0)
        caller.press("9")
        for _ in range(100):
            if player.played == 2:
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)
        caller.press("1")

    step, played, _ = _run_menu(*dtmf_relay, prompts, press_nine_then_one)
    assert played == 2
    assert step == MenuStep(StepKind.ROUTE, "sales", 1, "chosen", "1")


def test_no_digit_before_the_timeout_goes_to_the_default_queue(
    dtmf_relay: tuple[RelayPorts, int], prompts: Path
) -> None:
    async def nothing(_caller: RtpEndpoint, _player: MenuPlayer) -> None:
        return None

    step, played, took = _run_menu(*dtmf_relay, prompts, nothing)
    assert step == MenuStep(StepKind.ROUTE, "general", 0, "timeout")
    assert played == 1
    # The whole prompt, then the menu's one second.
    prompt = wav_seconds(str(prompts / "menu.wav"))
    assert prompt + 0.8 < took < prompt + 3
