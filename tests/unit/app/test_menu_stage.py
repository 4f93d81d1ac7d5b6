"""The menu stage of a call's set-up, on fakes: answered on the relay, the menu run, the choice sent
back through new_contact; the caller leaving stops it; SIP INFO keys reach the menu."""

from __future__ import annotations

import asyncio
from typing import Any

from contact_center.domain.menus import LEFT, Menu, MenuChoice, MenuStep, StepKind
from contact_center.services.routing.decisions import PlayMenu, Queue, Reject
from sip_edge.app.calls.events import CallerCancelled, CallEvent
from sip_edge.app.calls.menu_stage import MenuStage
from sip_edge.sip.parsing import parse_message

MENU = Menu("menu", "general", {"1": "sales", "2": "support"})
PLAY = PlayMenu("c1", MENU, 1_000)
QUEUED = Queue("c1", "support", 60, 2**42)


class Media:
    """The call's media on a relay (``parked`` is its SDP); the menu ends with ``step`` once a key
    came, or never without one."""

    anchored = True

    def __init__(self, parked: tuple[bytes, str] | None, step: MenuStep | None) -> None:
        self._parked = parked
        self._step = step
        self.keys: list[str] = []
        self.media = self

    async def parked(self) -> tuple[bytes, str] | None:
        return self._parked

    async def run_menu(self, menu: Menu) -> MenuStep:
        if self._step is None:
            await asyncio.Event().wait()
        assert self._step is not None
        return self._step

    def pressed(self, digit: str) -> None:
        self.keys.append(digit)


class Answer:
    def __init__(self) -> None:
        self.answered: list[tuple[bytes, list[tuple[str, str]]]] = []

    def headers(self, content_type: str | None) -> list[tuple[str, str]]:
        return [("Content-Type", str(content_type))]

    def answer(self, sdp: bytes, headers: list[tuple[str, str]]) -> None:
        self.answered.append((sdp, headers))


class Routing:
    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    async def new_contact(
        self, called: str, caller: str, contact_id: str, menu: MenuChoice | None = None
    ) -> Queue:
        self.asked.append((called, caller, contact_id, menu))
        return QUEUED


def _stage(media: Media) -> tuple[MenuStage, Routing, Answer, asyncio.Queue[CallEvent]]:
    routing, answer, events = Routing(), Answer(), asyncio.Queue[CallEvent]()
    return MenuStage(routing, media, answer, events), routing, answer, events  # type: ignore[arg-type]


def test_the_caller_is_answered_with_the_relay_sdp_and_its_choice_routes_the_call() -> None:
    media = Media((b"v=0 relay", "application/sdp"), MenuStep(StepKind.ROUTE, "support", 0, "chosen", "2"))
    stage, routing, answer, _ = _stage(media)
    decision = asyncio.run(stage.route(PLAY, "+15550100", "+4930"))
    assert decision == QUEUED
    assert answer.answered == [(b"v=0 relay", [("Content-Type", "application/sdp")])]
    assert routing.asked == [("+15550100", "+4930", "c1", MenuChoice("support", "chosen", "2", 1_000))]


def test_an_unanchored_call_is_not_answered_and_still_routed() -> None:
    stage, routing, answer, _ = _stage(Media(None, MenuStep(StepKind.ROUTE, "general", 0, "not_played")))
    asyncio.run(stage.route(PLAY, "+15550100", "+4930"))
    assert answer.answered == []
    assert routing.asked[0][3] == MenuChoice("general", "not_played", None, 1_000)


def test_the_caller_leaving_during_the_menu_stops_it_and_only_its_record_is_asked_for() -> None:
    async def scenario() -> object:
        stage, routing, _, events = _stage(Media((b"sdp", "application/sdp"), None))
        running = asyncio.ensure_future(stage.route(PLAY, "+15550100", "+4930"))
        await asyncio.sleep(0.01)
        events.put_nowait(CallerCancelled(None))
        decision = await asyncio.wait_for(running, 1)
        # The menu's default queue named, not chosen: the router records the call as left in the menu.
        assert routing.asked == [
            ("+15550100", "+4930", "c1", MenuChoice(PLAY.menu.default_queue, LEFT, None, 1_000))
        ]
        return decision

    decision = asyncio.run(scenario())
    assert isinstance(decision, Reject) and decision.status == 487


def _info(content_type: str, body: bytes) -> Any:
    data = (
        "INFO sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bKx\r\n"
        "From: <sip:a@x>;tag=1\r\nTo: <sip:b@y>;tag=2\r\nCall-ID: k\r\nCSeq: 3 INFO\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    return parse_message(data)


def test_a_sip_info_key_reaches_the_menu_and_another_body_is_not_understood() -> None:
    media = Media(None, None)
    stage, *_ = _stage(media)
    assert stage.on_info(_info("application/dtmf-relay", b"Signal=2\r\nDuration=160\r\n")).status == 200
    assert media.keys == ["2"]
    refused = stage.on_info(_info("application/json", b"{}"))
    assert refused.status == 415 and ("Accept", "application/dtmf-relay") in refused.headers
