"""Work of calls that nobody awaits: a teardown, a dialog write, the end of an agent's wrap-up.

Each is kept referenced until done and its failure logged; on shutdown the work in flight gets a
moment to finish (a ``contact_ended`` must reach the router) and scheduled work is dropped.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any

from sip_edge.app.calls.clock import CallClock
from sip_edge.sip.timers import TimerHandle

__all__ = ["CallTasks"]

log = logging.getLogger("sip_edge.calls")


class CallTasks:
    def __init__(self, clock: CallClock) -> None:
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()
        self._timers: set[TimerHandle] = set()

    def spawn(self, coroutine: Coroutine[Any, Any, Any], name: str | None = None) -> asyncio.Task[Any]:
        """Run work nobody awaits, keeping a reference and logging failure."""
        task = asyncio.get_running_loop().create_task(coroutine, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def spawn_at_ms(
        self, epoch_ms: int, work: Callable[[], Coroutine[Any, Any, Any]], name: str | None = None
    ) -> None:
        """Spawn ``work()`` at a wall-clock deadline (dropped if the edge shuts down first)."""

        def fire() -> None:
            self._timers.discard(handle)
            self.spawn(work(), name=name)

        handle = self._clock.call_at_ms(epoch_ms, fire)
        self._timers.add(handle)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("call task %s failed", task.get_name(), exc_info=task.exception())

    async def close(self) -> None:
        for handle in self._timers:
            handle.cancel()
        self._timers.clear()
        tasks = list(self._tasks)
        if tasks:
            # Teardowns in flight (a contact_ended, a dialog delete) get a moment to finish.
            _, pending = await asyncio.wait(tasks, timeout=2.0)
            for task in pending:
                task.cancel()
