"""Moving merchants' homes between regions: a planned move and back, a failover, a failback.

Each move is one conditional write on the merchant's ownership in THIS region's replica (see
``domain.ownership``): it needs neither the other region's control plane nor a deploy. Once written,
this region's own writes for the merchant are fenced on the new epoch; the other region's are
refused as soon as the move reaches its replica, and while it cannot (it is down, or cut off) it
takes no calls from the entry point, whose health checks follow the same path as the probes of
``FailoverMonitor``.

The new home starts deciding only after ``handoff_ms``: what the old home wrote just before the move
is still crossing the replication link, and a decision on a seat state it had already changed
could offer that agent twice. Size it above the replication lag (global tables: ``ReplicationLatency``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from contact_center.domain.ownership import Hysteresis, Ownership, StaleEpochError
from contact_center.services.errors import NotFoundError

log = logging.getLogger("contact_center.regions")


class OwnershipStore(Protocol):
    def get(self, merchant_id: str) -> Ownership | None: ...
    def all(self) -> list[Ownership]: ...
    def move(self, current: Ownership | None, moved: Ownership, now_ms: int) -> None:
        """Write ``moved`` over ``current`` only; StaleEpochError when the epoch moved meanwhile."""
        ...


@dataclass(frozen=True, slots=True)
class Moved:
    merchant_id: str
    from_region: str
    to_region: str
    epoch: int


class RegionControl:
    """The ownership use cases of one region (``region``), against its own replica."""

    def __init__(
        self, region: str, ownerships: OwnershipStore, clock: Callable[[], int], handoff_ms: int = 3_000
    ) -> None:
        self.region = region
        self._ownerships = ownerships
        self._clock = clock
        self._handoff_ms = handoff_ms

    def home(self, merchant_id: str, region: str) -> Ownership:
        """Give a new merchant its first home (onboarding); the existing ownership if it has one."""
        current = self._ownerships.get(merchant_id)
        if current is not None:
            return current
        first = Ownership(merchant_id, region, 1, 0, region)
        self._ownerships.move(None, first, self._clock())
        return first

    def move_home(self, merchant_id: str, to_region: str, preferred: bool = True) -> Moved:
        """The operator's planned move (and its way back). ``preferred``: the new home is also where
        a failback returns the merchant."""
        current = self._ownerships.get(merchant_id)
        if current is None:
            raise NotFoundError("ownership", merchant_id)
        now = self._clock()
        moved = current.moved_to(to_region, now, self._handoff_ms)
        if preferred:
            moved = moved.preferring(to_region)
        self._ownerships.move(current, moved, now)
        log.info(
            "merchant %s moved %s -> %s (epoch %d)", merchant_id, current.home_region, to_region, moved.epoch
        )
        return Moved(merchant_id, current.home_region, to_region, moved.epoch)

    def take_over(self, failed_region: str) -> list[Moved]:
        """Failover: every merchant homed in ``failed_region`` gets this region as home, one epoch up.
        Their preferred region stays, for the failback."""
        return self._move_all(lambda o: o.home_region == failed_region, self.region, preferred=False)

    def fail_back(self, region: str) -> list[Moved]:
        """Every merchant that prefers ``region`` and lives elsewhere goes home to it."""
        return self._move_all(
            lambda o: o.preferred == region and o.home_region != region, region, preferred=False
        )

    def _move_all(self, which: Callable[[Ownership], bool], to_region: str, preferred: bool) -> list[Moved]:
        moved: list[Moved] = []
        for ownership in self._ownerships.all():
            if not which(ownership):
                continue
            try:
                moved.append(self.move_home(ownership.merchant_id, to_region, preferred))
            except StaleEpochError:
                log.warning("merchant %s moved by someone else meanwhile; left as is", ownership.merchant_id)
        return moved


class FailoverMonitor:
    """The surviving region's watch over its peer: probe results through ``Hysteresis``; when the
    peer turns unhealthy, this region takes over the peer's merchants (``on_taken`` then runs, e.g.
    ending the contacts the peer's edge tasks held). A failback is the operator's (or the monitor's
    caller's) decision, once the peer is healthy and caught up on replication."""

    def __init__(
        self,
        control: RegionControl,
        peer: str,
        probe: Callable[[], bool],
        clock: Callable[[], int],
        hysteresis: Hysteresis | None = None,
        on_taken: Callable[[list[Moved]], None] | None = None,
    ) -> None:
        self._control = control
        self._peer = peer
        self._probe = probe
        self._clock = clock
        self._hysteresis = hysteresis or Hysteresis()
        self._on_taken = on_taken

    @property
    def peer_healthy(self) -> bool:
        return self._hysteresis.healthy

    def tick(self) -> list[Moved]:
        """One probe; the merchants taken over, if this probe made the peer unhealthy."""
        try:
            ok = self._probe()
        except Exception:
            ok = False
        verdict = self._hysteresis.observe(ok, self._clock())
        if not verdict.changed:
            return []
        if verdict.healthy:
            log.info("region %s is healthy again", self._peer)
            return []
        log.warning("region %s is unhealthy: taking over its merchants", self._peer)
        moved = self._control.take_over(self._peer)
        if self._on_taken is not None:
            self._on_taken(moved)
        return moved
