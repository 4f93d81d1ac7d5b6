"""The deployed failover controller's watch over the other region, one probe at a time.

In AWS the controller is a function invoked by a schedule (``contracts.schedules.FAILOVER_WATCH``):
each invocation probes a few times and ends, so what the watch knows between probes (the
hysteresis, how long the peer has been silent, a takeover decided but not done) is kept in this
region's replica (``WatchStore``), not in memory. Each probe runs the same decision as the local
harness's controller: ``SlowGrace`` then ``Hysteresis`` (``domain.ownership``) inside
``FailoverMonitor``, whose takeover is ``RegionControl.take_over`` (one conditional write per
merchant, in this region's replica): nothing needs the failed region's control plane or a deploy.

Timings (``DEPLOYED``), with a probe every 10 s: a peer that refuses (its routing function or its
table answers an error) is taken over at the second refusal, 10-20 s after it failed; one that is
silent (every probe times out) at the third timeout (silence counts once it has lasted 8 s, and two
failures are needed), 20-30 s after (plus the probe's 6 s of timeouts). The moved merchants' new
home decides ``handoff_ms`` later (``services.regions``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from contact_center.domain.ownership import HealthMemory, Hysteresis, ProbeOutcome, SlowGrace
from contact_center.services.regions import FailoverMonitor, Moved, RegionControl
from contact_center.services.routing.region_loss import AskRouting, request_region_lost

log = logging.getLogger("contact_center.peer_watch")


@dataclass(frozen=True, slots=True)
class WatchPolicy:
    """When a peer counts as failed: ``fall`` failed probes in a row over at least ``min_down_ms``
    (a probe that timed out counts only after ``slow_grace_ms`` of timeouts in a row); healthy
    again after ``rise`` good probes in a row."""

    fall: int
    rise: int
    min_down_ms: int
    slow_grace_ms: int


# The deployed controller's policy: a 30 s recovery target leaves room for two probes 10 s apart.
# The failures' span is measured between the ends of probes, which the schedule keeps a tick apart
# less a probe's longest budget (6 s of timeouts): a first probe that took longer must not push the
# decision a whole tick later. The silence is measured from the send of the first silent probe.
DEPLOYED = WatchPolicy(fall=2, rise=3, min_down_ms=4_000, slow_grace_ms=8_000)


@dataclass(frozen=True, slots=True)
class WatchState:
    """What the watch of one peer remembers between probes."""

    health: HealthMemory = field(default_factory=HealthMemory)
    slow_since_ms: int | None = None
    takeover_due: bool = False


class WatchStore(Protocol):
    def load(self, region: str, peer: str) -> WatchState | None: ...
    def save(self, region: str, peer: str, state: WatchState, now_ms: int) -> None: ...


class FailoverMetrics(Protocol):
    """What the alarms watch: every probe, and every takeover."""

    def probed(self, peer: str, failed: bool, at_ms: int) -> None: ...
    def taken_over(self, peer: str, merchants: int, at_ms: int) -> None: ...


# Merchants just taken over, to sweep once their new home decides (the routing function's sweep).
SweepRequest = Callable[[Sequence[str]], None]
# The peer's edge tasks silent since ``before_ms`` (their heartbeats as this replica has them).
SilentEdges = Callable[[int], Sequence[str]]

# A task beats every 10 s: one of a failed peer that missed a beat (and a replication delay) is lost
# with its region, well before its heartbeat's 30 s lapse.
PEER_TASK_SILENT_MS = 15_000
# The controller's region_lost pages: small enough for the invoke's 5 s read timeout, and a page is
# begun only with that much left before the run's end.
LOST_REGION_PAGE = 25
LOST_REGION_PAGE_BUDGET_MS = 6_000


@dataclass(frozen=True, slots=True)
class TickReport:
    outcome: ProbeOutcome
    # The probe counted as failed (a refusal, or a timeout past the grace).
    failed: bool
    peer_healthy: bool
    # This probe's tick took the peer's merchants over (``moved``: those that were homed there).
    took_over: bool = False
    moved: tuple[Moved, ...] = ()
    takeover_pending: bool = False  # decided, but not every merchant moved yet


class PeerWatch:
    """This region (``control.region``) watching ``peer``; ``probe`` asks the peer once."""

    def __init__(
        self,
        control: RegionControl,
        peer: str,
        store: WatchStore,
        probe: Callable[[], ProbeOutcome],
        clock: Callable[[], int],
        policy: WatchPolicy = DEPLOYED,
        metrics: FailoverMetrics | None = None,
        sweep: SweepRequest | None = None,
        handoff_ms: int = 3_000,
        silent_edges: SilentEdges | None = None,
        routing: AskRouting | None = None,
    ) -> None:
        if peer == control.region:
            raise ValueError("a region does not watch itself")
        self.region = control.region
        self.peer = peer
        self._control = control
        self._store = store
        self._probe = probe
        self._clock = clock
        self._policy = policy
        self._metrics = metrics
        self._sweep = sweep
        self._handoff_ms = handoff_ms
        self._silent_edges = silent_edges
        self._routing = routing

    def run(
        self,
        ticks: int,
        tick_ms: int,
        sleep: Callable[[float], None],
        deadline_ms: int,
        finish_by_ms: int | None = None,
    ) -> list[TickReport]:
        """``ticks`` probes ``tick_ms`` apart (one scheduled invocation), none started after
        ``deadline_ms``; merchants taken over are swept once their handoff is over, and the contacts
        the peer's lost edge tasks held are ended (pages begun before ``finish_by_ms``). While the
        peer stays failed, every run ends what is left of them (idempotent)."""
        finish_by = deadline_ms if finish_by_ms is None else finish_by_ms
        reports: list[TickReport] = []
        start = self._clock()
        to_sweep: list[str] = []
        sweep_from = 0
        lost_ended = False
        for index in range(ticks):
            due = start + index * tick_ms
            if due > deadline_ms:
                break
            if due > self._clock():
                sleep((due - self._clock()) / 1000)
            if to_sweep and self._clock() >= sweep_from:
                self._request_sweep(to_sweep)
                to_sweep = []
                lost_ended = self._end_lost_edges(finish_by)
            report = self.tick()
            reports.append(report)
            if report.moved:
                to_sweep += [change.merchant_id for change in report.moved]
                sweep_from = self._clock() + self._handoff_ms
        if to_sweep:
            sleep(max(0, sweep_from - self._clock()) / 1000)
            self._request_sweep(to_sweep)
            lost_ended = self._end_lost_edges(finish_by)
        if not lost_ended and reports and not reports[-1].peer_healthy and not reports[-1].takeover_pending:
            self._end_lost_edges(finish_by)
        return reports

    def _end_lost_edges(self, finish_by_ms: int) -> bool:
        """Ask this region's routing function to end every contact the peer's lost edge tasks held
        (``region_lost``), talking ones too: their legs died with the peer. True once asked."""
        if self._silent_edges is None or self._routing is None:
            return False
        try:
            edges = self._silent_edges(self._clock() - PEER_TASK_SILENT_MS)
            if not edges:
                return True
            ended, done = request_region_lost(
                self._routing,
                edges,
                lambda: self._clock() + LOST_REGION_PAGE_BUDGET_MS < finish_by_ms,
                LOST_REGION_PAGE,
            )
        except Exception:
            # The next run asks again while the peer stays failed.
            log.exception("ending the contacts of %s's lost edge tasks failed", self.peer)
            return True
        log.warning(
            "ended %d contacts of %d lost edge tasks of %s%s",
            ended,
            len(edges),
            self.peer,
            "" if done else "; the rest at the next run",
        )
        return True

    def _request_sweep(self, merchant_ids: list[str]) -> None:
        if self._sweep is None:
            return
        try:
            self._sweep(merchant_ids)
        except Exception:
            # The routing function's minute sweep covers them too, a little later.
            log.exception("asking for a sweep of %d merchants taken over failed", len(merchant_ids))

    def tick(self) -> TickReport:
        """One probe through the remembered state; the merchants taken over if it decided so."""
        policy = self._policy
        state = self._store.load(self.region, self.peer) or WatchState()
        hysteresis = Hysteresis.remembering(state.health, policy.fall, policy.rise, policy.min_down_ms)
        grace = SlowGrace(policy.slow_grace_ms, state.slow_since_ms)
        seen: list[tuple[ProbeOutcome, bool]] = []

        def probe() -> bool:
            sent = self._clock()
            try:
                outcome = self._probe()
            except Exception:
                log.exception("probing %s failed", self.peer)
                outcome = ProbeOutcome.REFUSED
            # Silent since the first unanswered probe was sent, not since it gave up.
            failed = grace.failed(outcome, sent)
            seen.append((outcome, failed))
            return not failed

        monitor = FailoverMonitor(
            self._control, self.peer, probe, self._clock, hysteresis, takeover_due=state.takeover_due
        )
        moved = monitor.tick()
        decided = state.takeover_due or (state.health.healthy and not monitor.peer_healthy)
        took_over = decided and not monitor.takeover_due
        outcome, failed = seen[0] if seen else (ProbeOutcome.REFUSED, True)
        kept = WatchState(hysteresis.memory(), grace.slow_since_ms, monitor.takeover_due)
        # Saved after the takeover: a run that dies in between probes again and finds it still due.
        now = self._clock()
        self._store.save(self.region, self.peer, kept, now)
        if self._metrics is not None:
            self._metrics.probed(self.peer, failed, now)
            if took_over:
                self._metrics.taken_over(self.peer, len(moved), now)
        return TickReport(
            outcome, failed, monitor.peer_healthy, took_over, tuple(moved), monitor.takeover_due
        )
