"""Which region decides for a merchant: its home region and the epoch of that homing.

Global tables are last-writer-wins per item, replicate a transaction's items one by one and check a
condition only against the local replica, so two regions deciding for the same merchant could each
reserve the same agent. Every merchant therefore has ONE home region that alone writes its seats'
states and its contacts; each such write is conditioned on the merchant's ownership (this home, this
epoch). Moving the home (a failover, a planned move, a failback) is one conditional write on the
ownership that bumps the epoch: from then on a writer holding the old epoch fails.

A new home does not decide before ``active_from_ms``: the moments the replicas need to deliver
what the old home wrote just before the move (the handoff), so the new home never decides on a
seat state the old home had already changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contact_center.domain.errors import DomainError


class NotHomeRegionError(DomainError):
    """An owned write was attempted outside the merchant's home region, at a stale epoch, or during
    the handoff of a move: the caller sends the request to ``home_region`` instead (which decides from
    ``active_from_ms``, when the refusal's ownership says so)."""

    def __init__(
        self, merchant_id: str, region: str, home_region: str, epoch: int, active_from_ms: int = 0
    ) -> None:
        super().__init__(
            f"merchant {merchant_id!r} is decided in {home_region!r} (epoch {epoch}), not in {region!r}"
        )
        self.merchant_id = merchant_id
        self.region = region
        self.home_region = home_region
        self.epoch = epoch
        self.active_from_ms = active_from_ms


class StaleEpochError(DomainError):
    """A move was asked from an epoch that is no longer current (someone moved the home first)."""

    def __init__(self, merchant_id: str, expected: int, actual: int) -> None:
        super().__init__(f"merchant {merchant_id!r} is at epoch {actual}, not {expected}")
        self.merchant_id = merchant_id
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True, slots=True)
class Ownership:
    merchant_id: str
    home_region: str
    epoch: int
    active_from_ms: int = 0
    # Where the merchant lives when both regions are healthy: a failover moves ``home_region`` away
    # and a failback brings it back here. Empty: the home itself.
    preferred_region: str = ""

    @property
    def preferred(self) -> str:
        return self.preferred_region or self.home_region

    def decides_in(self, region: str, now_ms: int) -> bool:
        return self.home_region == region and now_ms >= self.active_from_ms

    def moved_to(self, region: str, now_ms: int, handoff_ms: int) -> Ownership:
        """The ownership after a move of the home to ``region`` (the same home re-asserted bumps too:
        it fences whatever still holds the old epoch)."""
        return Ownership(self.merchant_id, region, self.epoch + 1, now_ms + handoff_ms, self.preferred)

    def preferring(self, region: str) -> Ownership:
        return Ownership(self.merchant_id, self.home_region, self.epoch, self.active_from_ms, region)


@dataclass(frozen=True, slots=True)
class HealthVerdict:
    healthy: bool
    changed: bool


@dataclass(frozen=True, slots=True)
class HealthMemory:
    """What ``Hysteresis`` knows between probes, for a watch that lives longer than its process (a
    scheduled function keeps it in the table between runs)."""

    healthy: bool = True
    failures: int = 0
    first_failure_ms: int | None = None
    successes: int = 0


class Hysteresis:
    """A region's health from probe results: it turns unhealthy after ``fall`` failures in a row
    lasting at least ``min_down_ms``, healthy again after ``rise`` successes in a row. One lost probe
    (a GC pause, a dropped packet) never moves a merchant's home."""

    def __init__(self, fall: int = 3, rise: int = 3, min_down_ms: int = 2_000) -> None:
        self._fall = fall
        self._rise = rise
        self._min_down_ms = min_down_ms
        self._healthy = True
        self._failures = 0
        self._first_failure_ms: int | None = None
        self._successes = 0

    @classmethod
    def remembering(cls, memory: HealthMemory, fall: int, rise: int, min_down_ms: int) -> Hysteresis:
        """A hysteresis that goes on from ``memory`` (``memory()`` of an earlier one)."""
        resumed = cls(fall, rise, min_down_ms)
        resumed._healthy, resumed._failures = memory.healthy, memory.failures
        resumed._first_failure_ms, resumed._successes = memory.first_failure_ms, memory.successes
        return resumed

    def memory(self) -> HealthMemory:
        return HealthMemory(self._healthy, self._failures, self._first_failure_ms, self._successes)

    @property
    def healthy(self) -> bool:
        return self._healthy

    def observe(self, ok: bool, now_ms: int) -> HealthVerdict:
        before = self._healthy
        if ok:
            self._failures, self._first_failure_ms = 0, None
            self._successes += 1
            if not self._healthy and self._successes >= self._rise:
                self._healthy = True
        else:
            self._successes = 0
            self._failures += 1
            if self._first_failure_ms is None:
                self._first_failure_ms = now_ms
            lasted = now_ms - self._first_failure_ms
            if self._healthy and self._failures >= self._fall and lasted >= self._min_down_ms:
                self._healthy = False
        return HealthVerdict(self._healthy, self._healthy != before)


class ProbeOutcome(StrEnum):
    OK = "ok"
    REFUSED = "refused"  # an error answer, or no listener: the region (or its database) is down
    SLOW = "slow"  # no answer in time: down and black-holed, or only busy


class SlowGrace:
    """A probe that timed out is weaker evidence than a refusal: a dead region refuses at once (or,
    cut off, keeps timing out), a busy one answers late. Timeouts count as failures only once they
    have lasted ``grace_ms`` in a row, so a region that is merely slow for a while keeps its
    merchants, and one that stays silent still fails over (after the grace and the hysteresis)."""

    def __init__(self, grace_ms: int = 12_000, slow_since_ms: int | None = None) -> None:
        self._grace_ms = grace_ms
        self._slow_since = slow_since_ms

    @property
    def slow_since_ms(self) -> int | None:
        """Since when every probe timed out (None: the last one did not); kept between runs."""
        return self._slow_since

    def failed(self, outcome: ProbeOutcome, now_ms: int) -> bool:
        if outcome is not ProbeOutcome.SLOW:
            self._slow_since = None
            return outcome is ProbeOutcome.REFUSED
        if self._slow_since is None:
            self._slow_since = now_ms
        return now_ms - self._slow_since >= self._grace_ms


class WitnessView(StrEnum):
    """What a third vantage point (neither region) says of the peer's deep health."""

    REACHABLE = "reachable"
    UNREACHABLE = "unreachable"
    SILENT = "silent"  # the witness did not answer this region either


def peer_failed(own_probe_ok: bool, witness: WitnessView | None) -> bool:
    """Whether one round of probes counts as a failure of the peer.

    Without a witness (``None``) this region's own probe decides. With one, the peer has failed only
    when this region AND the witness both fail to reach it: a peer that only this region cannot
    reach (a partition between the two, or a peer too slow for this region's probes) keeps its
    merchants; and a region that reaches neither its peer nor the witness is the one cut off, so it
    must not take anything over (two of three vantage points must agree)."""
    if own_probe_ok:
        return False
    if witness is None:
        return True
    return witness is WitnessView.UNREACHABLE


@dataclass(frozen=True, slots=True)
class ReturnCheck:
    """One round of the checks a returning region passes before merchants move back to it."""

    canary: ProbeOutcome
    canary_ms: int  # how long its routing function took to answer the canary
    # How long a mark written in this region's replica took to appear in the returning region's
    # replica (its replication lag now); None: it did not appear within the round.
    replication_lag_ms: int | None


@dataclass(frozen=True, slots=True)
class FailbackPolicy:
    """When a region that came back may be home again: ``passes`` rounds in a row in which its canary
    answered OK within ``max_canary_ms`` and replication into it lagged at most ``max_lag_ms``.

    A region that has just started answers its first requests slowly (imports, connections, a cold
    database engine): one good answer says it is up, not that it can carry its merchants' calls, and
    calls forwarded to it meanwhile fail. The lag bound keeps the new home from deciding on a replica
    that still misses what the survivor wrote (the handoff covers only writes in flight, not a
    backlog)."""

    passes: int = 5
    max_canary_ms: int = 1_000
    max_lag_ms: int = 2_000


@dataclass(frozen=True, slots=True)
class ReadinessVerdict:
    ready: bool
    passes: int  # rounds passed in a row so far
    reason: str  # why the last round did not pass ("" when it did)


class FailbackReadiness:
    """``FailbackPolicy`` over the rounds as they come: one failed round starts the count again."""

    def __init__(self, policy: FailbackPolicy | None = None) -> None:
        self.policy = policy or FailbackPolicy()
        self._passes = 0

    def observe(self, check: ReturnCheck) -> ReadinessVerdict:
        reason = self._failure(check)
        self._passes = 0 if reason else self._passes + 1
        return ReadinessVerdict(self._passes >= self.policy.passes, self._passes, reason)

    def _failure(self, check: ReturnCheck) -> str:
        if check.canary is not ProbeOutcome.OK:
            return f"canary {check.canary.value}"
        if check.canary_ms > self.policy.max_canary_ms:
            return f"canary answered in {check.canary_ms} ms (more than {self.policy.max_canary_ms})"
        if check.replication_lag_ms is None:
            return f"replication lags more than {self.policy.max_lag_ms} ms"
        if check.replication_lag_ms > self.policy.max_lag_ms:
            return f"replication lags {check.replication_lag_ms} ms (more than {self.policy.max_lag_ms})"
        return ""


def forward_retry_wait_ms(active_from_ms: int, now_ms: int, handoff_ms: int) -> int:
    """How long a request sent to a merchant's home waits before its one retry, when the home did not
    take it (it did not answer, refused as not the home yet, or lacks the contact this region holds):
    until the move's handoff is over (by then the move, and every write of the old home, has reached
    the new home's replica), at least a quarter of the handoff (a home that is starting, or a
    replication lag, needs a moment even after it), at most the whole handoff."""
    floor = handoff_ms // 4
    return max(floor, min(handoff_ms, active_from_ms - now_ms))
