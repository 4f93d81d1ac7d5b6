"""Which relays are live from their heartbeats, and how an edge's pool follows the registry."""

from __future__ import annotations

import pytest

from contact_center.domain.media_relays import (
    PoolChanges,
    RelayBeat,
    accepting,
    live_relays,
    parse_ng_address,
    pool_changes,
)

A = ("10.0.1.5", 2223)
B = ("10.0.2.7", 2223)
C = ("10.0.1.9", 2223)
LIVE = 15
NOW = 1_000


def beat(relay_id: str, address: tuple[str, int], age: int, *, draining: bool = False) -> RelayBeat:
    return RelayBeat(relay_id, address, f"203.0.113.{address[0][-1]}", NOW - age, draining=draining)


def test_a_relay_is_live_until_its_beat_is_live_seconds_old() -> None:
    beats = [beat("i-a", A, 0), beat("i-b", B, LIVE - 1), beat("i-c", C, LIVE)]
    assert [b.relay_id for b in live_relays(beats, NOW, LIVE)] == ["i-a", "i-b"]


def test_a_beat_from_a_clock_ahead_of_ours_counts_as_fresh() -> None:
    assert [b.relay_id for b in live_relays([beat("i-a", A, -30)], NOW, LIVE)] == ["i-a"]


def test_when_a_new_instance_reuses_an_address_its_newest_beat_speaks_for_it() -> None:
    old = beat("i-old", A, 10, draining=True)
    new = beat("i-new", A, 1)
    assert live_relays([new, old], NOW, LIVE) == [new]
    assert accepting([new, old], NOW, LIVE) == {A}


def test_a_draining_relay_is_live_but_takes_no_new_call() -> None:
    beats = [beat("i-a", A, 0), beat("i-b", B, 0, draining=True)]
    assert len(live_relays(beats, NOW, LIVE)) == 2
    assert accepting(beats, NOW, LIVE) == {A}


def test_a_relay_new_to_the_registry_is_added_to_the_pool() -> None:
    assert pool_changes({A: (True, 3)}, [beat("i-a", A, 0), beat("i-b", B, 0)], NOW, LIVE) == PoolChanges(
        add=(B,)
    )


def test_a_draining_relay_holding_calls_stops_taking_new_ones_and_keeps_its_calls() -> None:
    changes = pool_changes({A: (True, 2), B: (True, 0)}, [beat("i-a", A, 0, draining=True)], NOW, LIVE)
    # A keeps its two calls (not removed); B, silent and holding none of this task's calls, leaves.
    assert changes == PoolChanges(stop_accepting=(A, B), remove=(B,))


def test_a_relay_that_beats_again_takes_calls_again() -> None:
    assert pool_changes({A: (False, 1)}, [beat("i-a", A, 0)], NOW, LIVE) == PoolChanges(accept=(A,))


def test_a_silent_relay_leaves_the_pool_once_its_calls_have_ended() -> None:
    silent = [beat("i-a", A, LIVE + 5)]
    assert pool_changes({A: (False, 1)}, silent, NOW, LIVE) == PoolChanges()
    assert pool_changes({A: (False, 0)}, silent, NOW, LIVE) == PoolChanges(remove=(A,))


def test_an_empty_registry_adds_nothing_and_an_unchanged_one_changes_nothing() -> None:
    assert pool_changes({}, [], NOW, LIVE) == PoolChanges()
    assert pool_changes({A: (True, 0)}, [beat("i-a", A, 1)], NOW, LIVE) == PoolChanges()


@pytest.mark.parametrize(
    ("text", "address"),
    [("10.0.1.5:2223", ("10.0.1.5", 2223)), ("[fd00::5]:2223", ("fd00::5", 2223))],
)
def test_ng_addresses_are_host_and_port(text: str, address: tuple[str, int]) -> None:
    assert parse_ng_address(text) == address


@pytest.mark.parametrize("text", ["10.0.1.5", "10.0.1.5:0", ":2223", "10.0.1.5:http"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="host:port"):
        parse_ng_address(text)
