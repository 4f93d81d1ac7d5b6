"""The edge's background workers and their supervisor.

A worker is a coroutine that runs as long as the edge does: the location service's write-behind,
the NAT keep-alives, the task's heartbeat, the lost-task sweep, the metrics publisher. The
composition root (``sip_edge.main``) hands each to one `Supervisor`, which starts them with the
edge, restarts one that crashes (logging why) and stops them all, in one place, on shutdown.
Most are a job repeated every few seconds: `repeat` runs one so that a failing round is logged
and the next round runs anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

__all__ = ["Supervisor", "repeat"]

log = logging.getLogger("sip_edge.workers")


async def repeat(
    name: str, interval: float, job: Callable[[], Awaitable[object]], *, immediately: bool = False
) -> None:
    """Run ``job`` every ``interval`` seconds until cancelled; a failing round is logged."""
    if not immediately:
        await asyncio.sleep(interval)
    while True:
        try:
            await job()
        except Exception:
            log.exception("%s failed; trying again in %.0f s", name, interval)
        await asyncio.sleep(interval)


@dataclass(slots=True)
class _Worker:
    name: str
    run: Callable[[], Awaitable[None]]
    task: asyncio.Task[None] | None = None
    restarts: int = 0


class Supervisor:
    """Starts, watches and stops named workers; one that ends or crashes is restarted after
    ``restart_delay`` seconds, so a bug in one never silently stops, say, the heartbeat."""

    def __init__(self, *, restart_delay: float = 1.0) -> None:
        self._restart_delay = restart_delay
        self._workers: dict[str, _Worker] = {}
        self._stopping = False

    def add(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        if name in self._workers:
            raise ValueError(f"a worker named {name} is already supervised")
        self._workers[name] = _Worker(name, run)

    @property
    def names(self) -> list[str]:
        return list(self._workers)

    def restarts(self, name: str) -> int:
        return self._workers[name].restarts

    def start(self) -> None:
        self._stopping = False
        for worker in self._workers.values():
            if worker.task is None:
                self._launch(worker)

    def _launch(self, worker: _Worker) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(worker), name=worker.name)
        worker.task = task

    async def _guarded(self, worker: _Worker) -> None:
        while True:
            try:
                await worker.run()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker %s crashed; restarting in %.1f s", worker.name, self._restart_delay)
            else:
                log.error(
                    "worker %s stopped on its own; restarting in %.1f s", worker.name, self._restart_delay
                )
            if self._stopping:
                return
            await asyncio.sleep(self._restart_delay)
            worker.restarts += 1

    async def stop(self) -> None:
        """Cancel every worker and wait for each to finish (in the reverse order of `add`)."""
        self._stopping = True
        for worker in reversed(list(self._workers.values())):
            task, worker.task = worker.task, None
            if task is None:
                continue
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
