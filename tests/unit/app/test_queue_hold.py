"""An offer reaches its held caller exactly once, whether a push, a copy of it or the poll brings it."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from contact_center.services.routing.decisions import CallbackDial, Connect
from sip_edge.app.calls.queue_hold import QueueHold

OFFER = Connect("c1", "s1", "m1", "sip:s1@d", (), 20)


class NoOffers:
    def __init__(self) -> None:
        self.polls = 0

    async def pending_offers(self, retry_queued: bool = False) -> list[Connect]:
        self.polls += 1
        return []


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _held(clock: Clock) -> tuple[QueueHold, list[Connect]]:
    hold = QueueHold(NoOffers(), interval=3600, applied_memory=20, now=clock)
    got: list[Connect] = []
    return hold, got


def test_an_offer_is_applied_once_and_its_copies_are_news_for_nobody() -> None:
    async def scenario() -> None:
        clock = Clock()
        hold, got = _held(clock)
        hold.hold("c1", got.append)
        assert hold.deliver(OFFER, pushed=True) is True
        assert hold.deliver(OFFER) is False  # the poll brings it too
        assert hold.deliver(OFFER, pushed=True) is False  # a retransmitted push
        assert got == [OFFER] and len(hold) == 0
        assert (hold.delivered_by_push, hold.delivered_by_poll) == (1, 0)
        await hold.stop()

    asyncio.run(scenario())


def test_a_caller_held_again_ignores_a_late_copy_of_its_earlier_offer_but_takes_a_later_one() -> None:
    async def scenario() -> None:
        clock = Clock()
        hold, got = _held(clock)
        hold.hold("c1", got.append)
        hold.deliver(OFFER, pushed=True)
        # The agent did not answer: the caller waits again; a late copy of the first offer arrives.
        clock.now += 5
        hold.hold("c1", got.append)
        assert hold.deliver(OFFER) is False and len(hold) == 1
        another_agent = Connect("c1", "s2", "m1", "sip:s2@d", (), 20)
        assert hold.deliver(another_agent, pushed=True) is True
        # Past the memory (shorter than the router's re-offer cooldown) the same agent may come again.
        clock.now += 30
        hold.hold("c1", got.append)
        assert hold.deliver(OFFER, pushed=True) is True
        assert got == [OFFER, another_agent, OFFER]
        await hold.stop()

    asyncio.run(scenario())


def test_an_offer_for_a_caller_not_held_here_is_not_applied() -> None:
    async def scenario() -> None:
        hold, got = _held(Clock())
        hold.hold("c2", got.append)
        assert hold.deliver(OFFER, pushed=True) is False
        assert got == [] and len(hold) == 1
        await hold.stop()

    asyncio.run(scenario())


def test_the_safety_net_poll_runs_seconds_apart_by_default() -> None:
    async def scenario() -> None:
        source = NoOffers()
        hold = QueueHold(source)
        hold.hold("c1", lambda offer: None)
        await asyncio.sleep(0.3)
        assert source.polls == 0  # not every 50 ms any more: pushes bring the offers
        await hold.stop()

    asyncio.run(scenario())


def test_a_callback_offer_goes_to_the_task_s_runner_once_with_nobody_held() -> None:
    clock = Clock()
    hold, _ = _held(clock)
    runs: list[Connect] = []

    def run(offer: Connect) -> bool:
        runs.append(offer)
        return True

    callback = replace(OFFER, callback=CallbackDial("+4930123", "t1", "192.0.2.7:5060"))
    # No runner on this task: nobody takes it
    assert hold.deliver(callback, pushed=True) is False
    hold.callbacks = run
    assert hold.deliver(callback, pushed=True) is True
    assert hold.deliver(callback) is False  # the poll brings it too
    assert hold.deliver(OFFER) is False  # an ordinary offer still needs its held caller
    assert runs == [callback]
