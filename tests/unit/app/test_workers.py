"""The supervisor of the edge's background workers: a crash is logged and the worker runs again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from sip_edge.app.workers import Supervisor, repeat


def test_a_crashed_worker_is_logged_and_restarted(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> tuple[int, int]:
        runs = 0
        again = asyncio.Event()

        async def flaky() -> None:
            nonlocal runs
            runs += 1
            if runs == 1:
                raise RuntimeError("boom")
            again.set()
            await asyncio.Event().wait()  # then runs until stopped

        supervisor = Supervisor(restart_delay=0.01)
        supervisor.add("flaky", flaky)
        supervisor.start()
        await asyncio.wait_for(again.wait(), 2)
        await supervisor.stop()
        return runs, supervisor.restarts("flaky")

    with caplog.at_level(logging.ERROR, logger="sip_edge.workers"):
        runs, restarts = asyncio.run(scenario())
    assert (runs, restarts) == (2, 1)
    assert any("worker flaky crashed" in record.getMessage() for record in caplog.records)


def test_stop_cancels_every_worker_and_none_restarts() -> None:
    async def scenario() -> list[str]:
        stopped: list[str] = []

        def forever(name: str) -> Callable[[], Awaitable[None]]:
            async def run() -> None:
                try:
                    await asyncio.Event().wait()
                finally:
                    stopped.append(name)

            return run

        supervisor = Supervisor(restart_delay=0.01)
        for name in ("first", "second"):
            supervisor.add(name, forever(name))
        supervisor.start()
        await asyncio.sleep(0.01)
        await supervisor.stop()
        await asyncio.sleep(0.05)
        assert supervisor.restarts("first") == supervisor.restarts("second") == 0
        return stopped

    assert asyncio.run(scenario()) == ["second", "first"]  # the reverse of the order added


def test_two_workers_cannot_share_a_name() -> None:
    supervisor = Supervisor()

    async def job() -> None:
        return None

    supervisor.add("heartbeat", job)
    with pytest.raises(ValueError, match="heartbeat"):
        supervisor.add("heartbeat", job)


def test_repeat_runs_the_next_round_after_a_failing_one() -> None:
    async def scenario() -> int:
        rounds = 0
        done = asyncio.Event()

        async def job() -> None:
            nonlocal rounds
            rounds += 1
            if rounds == 3:
                done.set()
            raise OSError("table unreachable")

        task = asyncio.ensure_future(repeat("job", 0.001, job, immediately=True))
        await asyncio.wait_for(done.wait(), 2)
        task.cancel()
        return rounds

    assert asyncio.run(scenario()) >= 3
