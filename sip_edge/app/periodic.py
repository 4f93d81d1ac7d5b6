"""A background job the edge runs every few seconds, started and stopped with the edge."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger("sip_edge.periodic")


class Periodic:
    """Runs ``job`` every ``interval`` seconds; a failing round is logged and the next one runs."""

    def __init__(
        self, name: str, interval: float, job: Callable[[], Awaitable[object]], *, immediately: bool = False
    ) -> None:
        self.name = name
        self.interval = interval
        self._job = job
        self._immediately = immediately
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=self.name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        if not self._immediately:
            await asyncio.sleep(self.interval)
        while True:
            try:
                await self._job()
            except Exception:
                log.exception("%s failed; trying again in %.0f s", self.name, self.interval)
            await asyncio.sleep(self.interval)
