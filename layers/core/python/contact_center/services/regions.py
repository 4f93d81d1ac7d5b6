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
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.errors import DomainError, ValidationError
from contact_center.domain.ownership import (
    FailbackPolicy,
    FailbackReadiness,
    Hysteresis,
    Ownership,
    ProbeOutcome,
    ReadinessVerdict,
    ReturnCheck,
    StaleEpochError,
    WitnessView,
    peer_failed,
)
from contact_center.services.errors import NotFoundError

log = logging.getLogger("contact_center.regions")

# How often a failback looks for its replication mark in the returning region.
MARK_POLL_SECONDS = 0.2


class OwnershipStore(Protocol):
    def get(self, merchant_id: str) -> Ownership | None: ...
    def all(self) -> list[Ownership]: ...
    def move(self, current: Ownership | None, moved: Ownership, now_ms: int) -> None:
        """Write ``moved`` over ``current`` only; StaleEpochError when the epoch moved meanwhile."""
        ...


class ReplicationMarks(Protocol):
    """A mark per region in this region's replica: when that region last wrote it. A mark this region
    wrote, read in the other region's replica, shows how far replication into it has come."""

    def mark(self, region: str, now_ms: int) -> None: ...
    def of(self, region: str) -> int | None: ...


class ReturningRegion(Protocol):
    """The returning region as a failback sees it: through its routing function, from here."""

    def canary(self, region: str) -> ProbeOutcome:
        """The failover controller's canary (``aws.failover.probe_region``)."""
        ...

    def mark_of(self, region: str, marking_region: str) -> int | None:
        """``marking_region``'s replication mark as ``region``'s replica has it."""
        ...


class ReturnNotReadyError(DomainError):
    """The returning region did not pass the failback's checks in time: nothing moved."""

    def __init__(self, region: str, verdict: ReadinessVerdict) -> None:
        super().__init__(
            f"region {region} is not ready for its merchants: {verdict.passes} rounds passed in a row,"
            f" last: {verdict.reason or 'passed'}"
        )
        self.region = region
        self.verdict = verdict


@dataclass(frozen=True, slots=True)
class Moved:
    merchant_id: str
    from_region: str
    to_region: str
    epoch: int


class RegionControl:
    """The ownership use cases of one region (``region``), against its own replica."""

    def __init__(
        self,
        region: str,
        ownerships: OwnershipStore,
        clock: Callable[[], int],
        handoff_ms: int = 3_000,
        regions: Sequence[str] = (),
        marks: ReplicationMarks | None = None,
    ) -> None:
        self.region = region
        self._ownerships = ownerships
        self._clock = clock
        self._handoff_ms = handoff_ms
        # The deployed regions a home may move to (empty: not checked, as in the rules' own tests).
        self.regions = tuple(regions)
        # Needed by a failback's check of replication (``fail_back_when_ready``) alone.
        self._marks = marks

    def ownership(self, merchant_id: str) -> Ownership:
        """Where the merchant lives now; NotFoundError when it has no home (not onboarded here)."""
        current = self._ownerships.get(merchant_id)
        if current is None:
            raise NotFoundError("merchant home", merchant_id)
        return current

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
        self._check_region(to_region)
        current = self.ownership(merchant_id)
        now = self._clock()
        moved = current.moved_to(to_region, now, self._handoff_ms)
        if preferred:
            moved = moved.preferring(to_region)
        self._ownerships.move(current, moved, now)
        log.info(
            "merchant %s moved %s -> %s (epoch %d)", merchant_id, current.home_region, to_region, moved.epoch
        )
        return Moved(merchant_id, current.home_region, to_region, moved.epoch)

    def _check_region(self, region: str) -> None:
        if not self.regions:
            return
        if len(self.regions) < 2:
            raise ValidationError(
                "region", "this deployment has a single region: there is nowhere to move to"
            )
        if region not in self.regions:
            raise ValidationError("region", f"must be one of the deployed regions: {', '.join(self.regions)}")

    def take_over(self, failed_region: str) -> list[Moved]:
        """Failover: every merchant homed in ``failed_region`` gets this region as home, one epoch up.
        Their preferred region stays, for the failback."""
        return self._move_all(lambda o: o.home_region == failed_region, self.region, preferred=False)

    def fail_back(self, region: str) -> list[Moved]:
        """Every merchant that prefers ``region`` and lives elsewhere goes home to it."""
        return self._move_all(
            lambda o: o.preferred == region and o.home_region != region, region, preferred=False
        )

    def fail_back_when_ready(
        self,
        region: str,
        returning: ReturningRegion,
        within_ms: int,
        policy: FailbackPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        every_ms: int = 1_000,
        on_round: Callable[[ReadinessVerdict], None] | None = None,
    ) -> list[Moved]:
        """``fail_back`` once ``region`` passes ``policy`` (``FailbackReadiness``): its canary, quick,
        and replication into it caught up, several rounds in a row, ``every_ms`` apart.
        ReturnNotReadyError when it has not within ``within_ms``; nothing moves then."""
        marks = self._marks
        if marks is None:
            raise RuntimeError("a failback's check needs this region's replication marks")
        readiness = FailbackReadiness(policy or FailbackPolicy(max_lag_ms=self._handoff_ms))
        deadline = self._clock() + within_ms
        while True:
            verdict = readiness.observe(self._return_check(region, returning, marks, readiness.policy, sleep))
            if on_round is not None:
                on_round(verdict)
            if verdict.ready:
                return self.fail_back(region)
            if self._clock() >= deadline:
                raise ReturnNotReadyError(region, verdict)
            sleep(every_ms / 1000)

    def _return_check(
        self,
        region: str,
        returning: ReturningRegion,
        marks: ReplicationMarks,
        policy: FailbackPolicy,
        sleep: Callable[[float], None],
    ) -> ReturnCheck:
        """One round: the canary, timed; then a fresh mark in this replica, looked for in the returning
        region's until ``policy.max_lag_ms`` have passed."""
        started = self._clock()
        canary = returning.canary(region)
        canary_ms = self._clock() - started
        marked = self._clock()
        try:
            marks.mark(self.region, marked)
        except Exception as error:
            # A busy replica here says nothing about the returning region, but nothing was measured.
            log.warning("writing the replication mark failed: %s", error)
            return ReturnCheck(canary, canary_ms, None)
        while True:
            try:
                seen = returning.mark_of(region, self.region)
            except Exception as error:
                log.warning("reading the replication mark in %s failed: %s", region, error)
                seen = None
            waited = self._clock() - marked
            if seen is not None and seen >= marked:
                return ReturnCheck(canary, canary_ms, waited)
            if waited > policy.max_lag_ms:
                return ReturnCheck(canary, canary_ms, None)
            sleep(MARK_POLL_SECONDS)

    def replication_mark(self, region: str) -> int | None:
        """``region``'s replication mark as this region's replica has it (the returning region's
        answer to a failback's check)."""
        return None if self._marks is None else self._marks.of(region)

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


def parse_move_home(body: object) -> str:
    """The operator's move request ``{"region": "<region>"}``: the region, or ValidationError naming it."""
    if not isinstance(body, dict):
        raise ValidationError("body", "must be a JSON object")
    unknown = sorted(set(body) - {"region"})
    if unknown:
        raise ValidationError(unknown[0], "is not a field of a move")
    region = body.get("region")
    if not isinstance(region, str) or not region.strip():
        raise ValidationError("region", "is required: the region the merchant moves to")
    return region.strip()


# The routing function's read of a region's replication mark: ``{"action": "replication_mark",
# "region": <the region that wrote it>}`` -> ``{"region": ..., "mark_ms": <epoch ms or null>}``.
REPLICATION_MARK_ACTION = "replication_mark"


def parse_replication_mark(event: Mapping[str, Any]) -> str:
    """The region whose replication mark is asked for; ValidationError naming ``region``."""
    region = event.get("region")
    if not isinstance(region, str) or not region.strip():
        raise ValidationError("region", "is required: the region whose replication mark to read")
    return region.strip()


class FailoverMonitor:
    """The surviving region's watch over its peer: probe results through ``Hysteresis``; when the
    peer turns unhealthy, this region takes over the peer's merchants (``on_taken`` then runs, e.g.
    ending the contacts the peer's edge tasks held). A failback is the operator's (or the monitor's
    caller's) decision, once the peer is healthy and caught up on replication.

    ``witness``: a third vantage point's view of the peer, asked when this region's own probe fails;
    the probe then counts as failed only if the witness cannot reach the peer either (``peer_failed``).
    """

    def __init__(
        self,
        control: RegionControl,
        peer: str,
        probe: Callable[[], bool],
        clock: Callable[[], int],
        hysteresis: Hysteresis | None = None,
        on_taken: Callable[[list[Moved]], None] | None = None,
        witness: Callable[[], WitnessView] | None = None,
        takeover_due: bool = False,
    ) -> None:
        self._control = control
        self._witness = witness
        self._peer = peer
        self._probe = probe
        self._clock = clock
        self._hysteresis = hysteresis or Hysteresis()
        self._on_taken = on_taken
        # The peer turned unhealthy but the takeover failed (this region's own table slow or
        # throttled): every tick tries again until it is done or the peer is healthy again.
        self._takeover_due = takeover_due

    @property
    def peer_healthy(self) -> bool:
        return self._hysteresis.healthy

    @property
    def takeover_due(self) -> bool:
        """A takeover decided and not done yet (a watch that outlives its process keeps it)."""
        return self._takeover_due

    def tick(self) -> list[Moved]:
        """One probe; the merchants taken over, if this probe made the peer unhealthy."""
        try:
            ok = self._probe()
        except Exception:
            ok = False
        view: WitnessView | None = None
        if not ok and self._witness is not None:
            try:
                view = self._witness()
            except Exception:
                view = WitnessView.SILENT
        failed = peer_failed(ok, view)
        if not ok and not failed:
            log.info(
                "region %s did not answer here, but the witness says %s: not a failure", self._peer, view
            )
        verdict = self._hysteresis.observe(not failed, self._clock())
        if verdict.changed and verdict.healthy:
            log.info("region %s is healthy again", self._peer)
            self._takeover_due = False
        elif verdict.changed:
            log.warning("region %s is unhealthy: taking over its merchants", self._peer)
            self._takeover_due = True
        if not self._takeover_due:
            return []
        try:
            moved = self._control.take_over(self._peer)
        except Exception:
            log.exception("taking over the merchants of %s failed; trying again", self._peer)
            return []
        self._takeover_due = False
        if self._on_taken is not None:
            self._on_taken(moved)
        return moved
