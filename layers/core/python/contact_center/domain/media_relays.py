"""Which media relays are live, from their heartbeats, and what an edge's pool must change to match.

Each relay instance beats every few seconds with its ng address, its public (SDP) address, its
session count and whether it is draining (leaving the fleet). An edge task re-reads the beats of its
region and reconciles its relay pool with `pool_changes`:

- a relay that beat within ``live_seconds`` and is not draining takes new calls;
- a draining relay keeps the calls it has (the instance waits for them in its lifecycle hook) but
  takes no new one;
- a relay whose beats stopped takes no new call; it leaves the pool once this task holds none of its
  calls. Whether those calls are lost is the edge's ng pings' decision, not the registry's: an agent
  that stopped beating (a crashed agent, a throttled write) says nothing about rtpengine itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "Address",
    "PoolChanges",
    "RelayBeat",
    "accepting",
    "live_relays",
    "parse_ng_address",
    "pool_changes",
]

Address = tuple[str, int]


@dataclass(frozen=True, slots=True)
class RelayBeat:
    relay_id: str
    ng_address: Address
    public_address: str
    heartbeat_at: int
    sessions: int = 0
    draining: bool = False
    # Where the relay's agent joins prompts (None: an agent that does not, older than the joins).
    agent_address: Address | None = None


@dataclass(frozen=True, slots=True)
class PoolChanges:
    """What an edge's relay pool does to match the registry."""

    # New relays: added, taking calls.
    add: tuple[Address, ...] = ()
    # Known relays that may take new calls again (a beat came back).
    accept: tuple[Address, ...] = ()
    # Known relays that take no new call (draining, or silent); their calls go on.
    stop_accepting: tuple[Address, ...] = ()
    # Relays neither live nor holding any of this task's calls: dropped from the pool.
    remove: tuple[Address, ...] = ()


def parse_ng_address(text: str) -> Address:
    """``host:port`` (``[v6]:port``) as written by a relay; ValueError when it is not one."""
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"not host:port: {text!r}")
    return host, int(port)


def live_relays(beats: Iterable[RelayBeat], now: int, live_seconds: int) -> list[RelayBeat]:
    """The relays whose last beat is younger than ``live_seconds``, by relay id.

    A beat from the future (a relay's clock ahead of ours) counts as fresh rather than eternal: it is
    live until ``live_seconds`` after ``now``, when the next read judges it again.
    """
    live = [beat for beat in beats if now - beat.heartbeat_at < live_seconds]
    # Two beats for one ng address (an address reused by a new instance): the newest speaks for it.
    newest: dict[Address, RelayBeat] = {}
    for beat in sorted(live, key=lambda b: b.heartbeat_at):
        newest[beat.ng_address] = beat
    return sorted(newest.values(), key=lambda b: b.relay_id)


def accepting(beats: Iterable[RelayBeat], now: int, live_seconds: int) -> set[Address]:
    """The ng addresses of the relays that may take new calls: live and not draining."""
    return {beat.ng_address for beat in live_relays(beats, now, live_seconds) if not beat.draining}


def pool_changes(
    pool: Mapping[Address, tuple[bool, int]], beats: Iterable[RelayBeat], now: int, live_seconds: int
) -> PoolChanges:
    """``pool``: each known relay's (accepting new calls, calls this task holds on it)."""
    wanted = accepting(beats, now, live_seconds)
    add = sorted(wanted - set(pool))
    accept = sorted(address for address, (on, _) in pool.items() if address in wanted and not on)
    stop = sorted(address for address, (on, _) in pool.items() if address not in wanted and on)
    remove = sorted(address for address, (_, calls) in pool.items() if address not in wanted and calls == 0)
    return PoolChanges(tuple(add), tuple(accept), tuple(stop), tuple(remove))
