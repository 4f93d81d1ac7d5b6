"""The edge's relay pool follows the region's relay registry: relays join, drain and leave without
ending a talking call. The registry and the relays are fakes (the table adapter: tests/functional)."""

from __future__ import annotations

import asyncio

import pytest

from contact_center.domain.media_relays import RelayBeat
from sip_edge.app.media.registry import RelayRegistry
from sip_edge.app.media.relays import Relay, RelayPool
from tests.unit.test_media_relays import FakeRelay

NOW = 10_000.0


class FakeRegistry:
    def __init__(self) -> None:
        self.beats_now: list[RelayBeat] = []
        self.failing = False
        self.reads = 0

    def beat(self, name: str, *, age: int = 0, draining: bool = False, agent: bool = False) -> None:
        self.beats_now = [b for b in self.beats_now if b.relay_id != f"i-{name}"]
        self.beats_now.append(
            RelayBeat(
                f"i-{name}",
                (name, 2223),
                f"203.0.113.{len(name)}",
                int(NOW) - age,
                draining=draining,
                agent_address=(name, 2226) if agent else None,
            )
        )

    def beats(self) -> list[RelayBeat]:
        self.reads += 1
        if self.failing:
            raise ConnectionError("the table is unreachable")
        return list(self.beats_now)


class Fleet:
    """A pool made by the registry, with a FakeRelay per address it asks for."""

    def __init__(self) -> None:
        self.clients: dict[str, FakeRelay] = {}
        self.closed: list[str] = []
        self.pool = RelayPool((), failures=1, connect=self._client)
        self.registry_source = FakeRegistry()
        self.registry = RelayRegistry(self.registry_source, self.pool, now=lambda: NOW)

    def _client(self, address: tuple[str, int]) -> FakeRelay:
        client = FakeRelay(address[0])
        client.close = lambda: self.closed.append(address[0])  # type: ignore[method-assign]
        self.clients[address[0]] = client
        return client

    def refresh(self) -> None:
        asyncio.run(self.registry.refresh())

    def names(self) -> list[str]:
        return [relay.client.address[0] for relay in self.pool.relays]

    def call_on(self, relay: Relay, lost: list[str], name: str) -> None:
        relay.calls.add(lambda: lost.append(name))


def test_a_relay_that_registers_takes_the_next_call() -> None:
    fleet = Fleet()
    fleet.refresh()
    assert fleet.pool.pick() is None  # nothing registered yet: calls go unanchored
    fleet.registry_source.beat("a")
    fleet.refresh()
    picked = fleet.pool.pick()
    assert picked is not None and picked.client is fleet.clients["a"]


def test_a_draining_relay_keeps_its_talking_calls_and_takes_no_new_one() -> None:
    fleet = Fleet()
    fleet.registry_source.beat("a")
    fleet.registry_source.beat("b")
    fleet.refresh()
    a = next(r for r in fleet.pool.relays if r.client.address[0] == "a")
    lost: list[str] = []
    fleet.call_on(a, lost, "talking")
    # Given relay a's instance is being scaled in, when the edge reads the registry:
    fleet.registry_source.beat("a", draining=True)
    fleet.refresh()
    # Then its call goes on, new calls go to b, and it stays in the pool (still pinged).
    asyncio.run(fleet.pool.check_once())
    assert lost == [] and a.alive and not a.accepting
    for _ in range(3):
        picked = fleet.pool.pick()
        assert picked is not None and picked.client is fleet.clients["b"]
    assert fleet.names() == ["a", "b"]
    # When the call ends, the next read lets the relay go.
    a.calls.clear()
    fleet.refresh()
    assert fleet.names() == ["b"] and fleet.closed == ["a"]


def test_a_silent_relay_takes_no_new_call_but_its_calls_end_only_if_it_stops_answering() -> None:
    fleet = Fleet()
    fleet.registry_source.beat("a")
    fleet.refresh()
    (a,) = fleet.pool.relays
    lost: list[str] = []
    fleet.call_on(a, lost, "talking")
    fleet.registry_source.beat("a", age=60)  # the agent stopped beating; rtpengine still answers
    fleet.refresh()
    asyncio.run(fleet.pool.check_once())
    assert fleet.pool.pick() is None and lost == []
    fleet.clients["a"].up = False  # now rtpengine itself is gone: the pings decide
    asyncio.run(fleet.pool.check_once())
    assert lost == ["talking"]


def test_a_relay_beating_again_takes_calls_again() -> None:
    fleet = Fleet()
    fleet.registry_source.beat("a")
    fleet.refresh()
    fleet.pool.relays[0].calls.add(lambda: None)
    fleet.registry_source.beat("a", age=60)
    fleet.refresh()
    assert fleet.pool.pick() is None
    fleet.registry_source.beat("a")
    fleet.refresh()
    assert fleet.pool.pick() is fleet.pool.relays[0]


def test_a_failed_read_of_the_registry_changes_nothing() -> None:
    fleet = Fleet()
    fleet.registry_source.beat("a")
    fleet.refresh()
    fleet.registry_source.failing = True
    with pytest.raises(ConnectionError):
        fleet.refresh()
    assert fleet.names() == ["a"] and fleet.pool.pick() is not None


def test_the_registry_is_read_at_once_and_then_every_interval_through_failures() -> None:
    source = FakeRegistry()
    source.failing = True
    pool = RelayPool((), connect=lambda address: FakeRelay(address[0]))
    registry = RelayRegistry(source, pool, interval=0.01, now=lambda: NOW)

    async def scenario() -> None:
        task = asyncio.create_task(registry.run())
        await asyncio.sleep(0.005)
        assert source.reads == 1  # the first read does not wait for the interval
        source.failing = False
        source.beat("a")
        # The next reads come every interval; a loaded machine may run them late, not never.
        for _ in range(500):
            if pool.relays:
                break
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(scenario())
    assert [relay.client.address for relay in pool.relays] == [("a", 2223)]


def test_a_relay_is_given_the_agent_its_beat_names_even_when_the_agent_came_later() -> None:
    fleet = Fleet()
    fleet.registry_source.beat("a")
    fleet.refresh()
    (relay,) = fleet.pool.relays
    assert relay.agent is None  # an agent older than the joins: words are said one by one
    fleet.registry_source.beat("a", agent=True)
    fleet.refresh()
    assert relay.agent is not None and relay.agent.address == ("a", 2226)
    assert fleet.pool.relays == [relay]  # the same relay, its calls untouched
