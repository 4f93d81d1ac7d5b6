"""Which relay a call gets, when a relay counts as dead, and what its calls are told; the order in
which a queued caller hears its prompts. The relay is a fake here (the real one: tests/media)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sip_edge.app.calls.media import Announcements
from sip_edge.app.media.hold import HoldPlayer
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.relays import RelayPool
from sip_edge.media.ng import NgClient, NgRefusedError, NgTimeoutError, PlayResult


class FakeRelay(NgClient):
    def __init__(self, name: str) -> None:
        super().__init__((name, 2223))
        self.up = True
        self.played: list[str] = []
        self.stopped = 0

    async def ping(self, timeout: float | None = None) -> None:
        if not self.up:
            raise NgTimeoutError("no reply")

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        self.played.append(file.rsplit("/", 1)[-1].removesuffix(".wav"))
        return PlayResult(1)  # 1 ms: the test does not wait for real lengths

    async def stop_media(self, call_id: str, from_tag: str) -> None:
        self.stopped += 1

    def close(self) -> None:
        pass


def test_a_new_call_goes_to_the_live_relay_with_fewest_calls() -> None:
    a, b = FakeRelay("a"), FakeRelay("b")
    pool = RelayPool([a, b])
    pool.relays[0].calls.update({lambda: None, lambda: None})
    picked = pool.pick()
    assert picked is not None and picked.client is b


def test_three_lost_pings_make_a_relay_dead_and_end_its_calls_once() -> None:
    a, b = FakeRelay("a"), FakeRelay("b")
    pool = RelayPool([a, b], failures=3)
    lost: list[str] = []
    pool.relays[0].calls.add(lambda: lost.append("call-1"))
    a.up = False

    async def rounds(n: int) -> None:
        for _ in range(n):
            await pool.check_once()

    asyncio.run(rounds(2))
    assert pool.relays[0].alive and lost == []
    asyncio.run(rounds(2))
    assert not pool.relays[0].alive and lost == ["call-1"]
    picked = pool.pick()
    assert picked is not None and picked.client is b  # new calls avoid the dead relay
    a.up = True
    asyncio.run(rounds(1))
    assert pool.relays[0].alive and lost == ["call-1"]


def test_with_every_relay_dead_there_is_none_to_pick() -> None:
    a = FakeRelay("a")
    pool = RelayPool([a], failures=1)
    a.up = False
    asyncio.run(pool.check_once())
    assert pool.pick() is None


class FakeAgent:
    """A relay's agent: joins whatever it is asked (``joins`` None: it cannot)."""

    def __init__(self, joins: bool = True) -> None:
        self.asked: list[list[str]] = []
        self.joins = joins

    async def joined(self, parts: list[str]) -> str | None:
        self.asked.append(parts)
        return f"/relay/said/{'+'.join(parts)}.wav" if self.joins else None


class RefusingJoined(FakeRelay):
    """A relay that no longer has the joined file the agent named (removed from its cache since)."""

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        if "/said/" in file:
            raise NgRefusedError("play media", "Failed to start media playback from file")
        return await super().play_media(call_id, from_tag, file, repeat_times=repeat_times)


def test_fixed_relays_are_given_their_agents() -> None:
    pool = RelayPool([FakeRelay("a"), FakeRelay("b")], agents={("a", 2223): ("a", 2226)})
    agent = pool.relays[0].agent
    assert agent is not None and agent.address == ("a", 2226)
    assert pool.relays[1].agent is None


def _hear(
    announcements: Announcements, seconds: float, relay: FakeRelay | None = None, **kw: Any
) -> tuple[list[str], int]:
    relay = relay or FakeRelay("a")

    async def scenario() -> None:
        player = HoldPlayer(relay, "call", "caller", PromptSet("/p"), **kw)
        player.start(announcements)
        await asyncio.sleep(seconds)
        await player.stop()

    asyncio.run(scenario())
    return relay.played, relay.stopped


def test_the_greeting_comes_first_then_the_place_and_wait_then_music() -> None:
    played, stopped = _hear(Announcements("greeting", 3, 90, 0), 0.2)
    assert played == ["greeting", "caller-number", "n3", "expected-wait", "n2", "minutes", "music"]
    assert stopped == 1  # the agent answered: the playback is stopped at once


def test_the_relays_agent_joins_the_words_and_the_relay_plays_its_file() -> None:
    agent = FakeAgent()
    played, _ = _hear(Announcements("greeting", 3, 90, 0), 0.2, agent=agent)
    words = ["greeting", "caller-number", "n3", "expected-wait", "n2", "minutes"]
    assert agent.asked == [words]
    assert played == ["+".join(words), "music"]  # one file from the relay's disk, then the music


@pytest.mark.parametrize("relay", [FakeRelay("a"), RefusingJoined("a")], ids=["no file", "refused"])
def test_words_the_agent_cannot_join_or_the_relay_cannot_play_joined_are_said_one_by_one(
    relay: FakeRelay,
) -> None:
    agent = FakeAgent(joins=isinstance(relay, RefusingJoined))
    played, _ = _hear(Announcements(None, 3, 90, 0), 0.2, relay=relay, agent=agent)
    assert played == ["caller-number", "n3", "expected-wait", "n2", "minutes", "music"]


def test_later_announcements_give_the_remaining_wait_without_the_stale_position() -> None:
    # Started at 0, first announced at 0, announced again 70 s later (the interval is shortened).
    clock = iter([0.0, 0.0])
    every = 0.05
    played, _ = _hear(Announcements(None, 3, 130, every), 0.2, now=lambda: next(clock, 70.0))  # type: ignore[arg-type]
    first = played.index("music")
    again = played[first + 1 : played.index("music", first + 1)]
    assert played[:first] == ["caller-number", "n3", "expected-wait", "n3", "minutes"]
    assert again == ["expected-wait", "n1", "minute"]
