"""Deep health of an edge task: what the load balancer's check on ``GET /health`` answers.

A task is worth sending new calls to only when it can do something with them: the table (bindings,
dialogs, credentials) and the routing function must answer, and its event loop must be running on
time. `HealthMonitor` checks all three every ``interval`` seconds (cheap probes, each under its own
deadline) and the health endpoint answers from its last verdict, so a probe never runs per check.

One slow round must not flap a task in and out of the rotation (each flap drops the flows the
balancer pinned to it): `Hysteresis` turns bad only after ``unhealthy_after`` bad rounds in a row
and good again only after ``healthy_after`` good ones. A verdict older than ``stale_after`` rounds
counts as bad: a monitor that stopped running proves nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["HealthMonitor", "HealthProbe", "HealthSettings", "Hysteresis", "Verdict"]

log = logging.getLogger("sip_edge.health")


class HealthProbe(Protocol):
    """One dependency the task needs: ``check`` returns when it answered and raises when not."""

    name: str

    async def check(self) -> None: ...


@dataclass(frozen=True, slots=True)
class HealthSettings:
    interval: float = 2.0
    # Each probe's deadline; below the interval so that rounds never overlap.
    probe_timeout: float = 1.5
    # The event loop woke this much later than asked: calls are waiting as long on every message.
    max_loop_lag: float = 1.0
    # With a 2 s interval: out of the rotation 4-6 s after a dependency is lost, back 2-4 s after.
    unhealthy_after: int = 3
    healthy_after: int = 2
    stale_after: int = 3


class Hysteresis:
    """A verdict that changes only after ``unhealthy_after`` bad or ``healthy_after`` good rounds in
    a row. A fresh task adopts its first round at once: there is no history to flap from."""

    def __init__(self, unhealthy_after: int, healthy_after: int) -> None:
        if unhealthy_after < 1 or healthy_after < 1:
            raise ValueError("thresholds are counts of rounds, at least 1")
        self.unhealthy_after = unhealthy_after
        self.healthy_after = healthy_after
        self.healthy: bool | None = None
        self._streak = 0

    def observe(self, ok: bool) -> bool:
        """Record one round; returns the verdict after it."""
        if self.healthy is None or ok == self.healthy:
            self.healthy = ok
            self._streak = 0
            return ok
        self._streak += 1
        if self._streak >= (self.healthy_after if ok else self.unhealthy_after):
            self.healthy = ok
            self._streak = 0
        return self.healthy


@dataclass(frozen=True, slots=True)
class Verdict:
    healthy: bool
    # What failed in the last round (empty when it passed), for the endpoint's body and the log.
    problems: tuple[str, ...]


class HealthMonitor:
    """Runs the rounds (`run`, a supervised worker) and answers `verdict` for the health endpoint."""

    def __init__(
        self,
        probes: Sequence[HealthProbe],
        clock: Callable[[], float],
        settings: HealthSettings | None = None,
    ) -> None:
        self.probes = tuple(probes)
        self.settings = settings or HealthSettings()
        self._clock = clock
        self._hysteresis = Hysteresis(self.settings.unhealthy_after, self.settings.healthy_after)
        self._problems: tuple[str, ...] = ("no check has run yet",)
        self._last_round: float | None = None

    def verdict(self) -> Verdict:
        healthy = bool(self._hysteresis.healthy)
        if self._last_round is not None:
            age = self._clock() - self._last_round
            if age > self.settings.stale_after * self.settings.interval:
                return Verdict(False, (f"no health check for {age:.1f} s",))
        return Verdict(healthy, () if healthy else self._problems)

    async def round(self, loop_lag: float) -> Verdict:
        """One check of every probe (concurrently, each under the deadline) and of ``loop_lag``."""
        problems = []
        if loop_lag > self.settings.max_loop_lag:
            problems.append(f"event loop lag {loop_lag:.2f} s over {self.settings.max_loop_lag:.2f} s")
        results = await asyncio.gather(*(self._check(probe) for probe in self.probes))
        problems += [problem for problem in results if problem is not None]
        was = self._hysteresis.healthy
        healthy = self._hysteresis.observe(not problems)
        if problems:
            self._problems = tuple(problems)
        self._last_round = self._clock()
        if healthy != was:
            log.warning("edge is %s: %s", "healthy" if healthy else "unhealthy", "; ".join(problems) or "ok")
        elif problems:
            log.info("health round failed (%s): %s", "still healthy" if healthy else "unhealthy", problems)
        return self.verdict()

    async def _check(self, probe: HealthProbe) -> str | None:
        try:
            await asyncio.wait_for(probe.check(), self.settings.probe_timeout)
        except TimeoutError:
            return f"{probe.name}: no answer within {self.settings.probe_timeout:.1f} s"
        except Exception as exc:  # any failure of a dependency is a failed probe, reported by name
            return f"{probe.name}: {type(exc).__name__}: {exc}"
        return None

    async def run(self) -> None:
        """Rounds at a fixed rate (a slow round does not push the next one back) until cancelled.
        The lag is how late the loop woke for a round: what every SIP message waits too."""
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            woke = loop.time()
            await self.round(max(0.0, woke - due))
            # Blocked for more than a round: the next one is due now, not in the past.
            due = max(due + self.settings.interval, woke)
            await asyncio.sleep(max(0.0, due - loop.time()))
