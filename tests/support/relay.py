"""A real rtpengine on free loopback ports for a test, stopped by its PID at the end."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from local_stack.media_relay import RelayPorts, agent_argv, ng_answers, rtpengine_argv
from media_relay.agent import rtpengine_conf
from sip_edge.media.ng import NgClient, NgError
from tests.support.ports import HOST, free_port

# Media ports per pytest worker, below the free_port slices (20000+) and far from the ephemeral range.
_MEDIA_FIRST, _MEDIA_SLICE = 10000, 800


def rtpengine_installed() -> bool:
    return (shutil.which("rtpengine") or shutil.which("rtpengine", path="/usr/sbin:/sbin")) is not None


needs_rtpengine = pytest.mark.skipif(not rtpengine_installed(), reason="rtpengine-daemon not installed")

_used: set[int] = set()
_pids: dict[RelayPorts, int] = {}


def relay_pid(ports: RelayPorts) -> int:
    """The process id of the running relay at ``ports`` (a test kills it to see what survives)."""
    return _pids[ports]


def _media_range() -> tuple[int, int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    index = int(worker) % 12 if worker.isdigit() else 0
    base = _MEDIA_FIRST + index * _MEDIA_SLICE
    # Successive relays of one worker take successive quarters, so a relay just stopped (its sockets
    # closing) never shares ports with the next.
    quarter = len(_used) % 4
    _used.add(len(_used))
    low = base + quarter * (_MEDIA_SLICE // 4)
    return low, low + _MEDIA_SLICE // 4 - 1


async def _wait_ping(address: tuple[str, int], deadline: float) -> None:
    client = NgClient(address, timeout=0.5, retransmit=0.1)
    try:
        while True:
            try:
                await client.ping()
                return
            except NgError:
                if time.monotonic() > deadline:
                    raise
    finally:
        client.close()


@contextmanager
def running_relay(
    dtmf_dest: tuple[str, int] | None = None,
    argv: Callable[[RelayPorts], list[str]] | None = None,
    recording_dir: Path | None = None,
) -> Iterator[tuple[RelayPorts, subprocess.Popen[bytes]]]:
    """``argv``: the command line for the chosen ports, when not the local stack's."""
    low, high = _media_range()
    ports = RelayPorts(HOST, free_port(), low, high)
    command = argv(ports) if argv is not None else rtpengine_argv(ports, dtmf_dest, recording_dir)
    # Its log goes to a file: a pipe nobody reads would fill and stall the daemon.
    log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in the finally below, after the daemon
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
    try:
        try:
            asyncio.run(_wait_ping((ports.host, ports.ng_port), time.monotonic() + 10))
        except NgError:
            log.seek(0)
            text = log.read().decode(errors="replace")[-2000:]
            raise RuntimeError(f"rtpengine did not answer ping: {text}") from None
        _pids[ports] = process.pid
        yield ports, process
    finally:
        _pids.pop(ports, None)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log.close()


def as_the_agent_configures_it(
    conf: Path, public: str, cli: int, dtmf_log: int | None = None, spool: Path | None = None
) -> Callable[[RelayPorts], list[str]]:
    """``running_relay``'s ``argv``: rtpengine from the configuration the relay agent writes on a media
    fleet instance (``interface = <ports.host>!<public>``, its CLI at ``cli``, key reports to
    ``dtmf_log``, recordings into ``spool``)."""

    def argv(ports: RelayPorts) -> list[str]:
        numbers = {"ng": ports.ng_port, "cli": cli, "rtp_min": ports.media_min, "rtp_max": ports.media_max}
        if dtmf_log is not None:
            numbers["dtmf_log"] = dtmf_log
        conf.write_text(rtpengine_conf(ports.host, public, numbers, None if spool is None else str(spool)))
        return [
            rtpengine_argv(ports)[0],
            f"--config-file={conf}",
            "--foreground",
            "--log-stderr",
            "--no-fallback",
        ]

    return argv


@contextmanager
def running_agent(prompts: Path, uploads: Path | None = None) -> Iterator[tuple[str, int]]:
    """The relay's agent joining the prompts of ``prompts`` and copying the uploads of the prompt
    store's directory ``uploads`` (as ``make run`` runs it): its address, once it answers and its first
    sync has copied what ``uploads`` held (a relay that has run a while; the copy a join asks for
    at once: tests/unit/test_relay_agent_files.py)."""
    address = (HOST, free_port())
    process = subprocess.Popen(agent_argv(prompts, *address, uploads), stdout=subprocess.DEVNULL)
    stored = [] if uploads is None else [p.name for p in uploads.rglob("*.wav")]
    try:
        deadline = time.monotonic() + 20
        while not ng_answers(*address, timeout=0.2, as_json=True) or not all(
            (prompts / "uploaded" / name).exists() for name in stored
        ):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the relay's agent did not answer its ping or copy the uploads")
            time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=5)


@asynccontextmanager
async def edge_on_relay(
    routing: Any, relay: RelayPorts, prompts: Path, uploads: Path | None = None, **settings: Any
) -> AsyncIterator[Any]:
    """An edge (`tests.sip.b2bua_support.running_edge`, ``settings`` passed on) anchoring calls on
    ``relay``, whose agent joins the prompts of ``prompts`` and copies the uploads of ``uploads``:
    the relay as ``make run`` and the media fleet run it."""
    from tests.sip.b2bua_support import running_edge

    with running_agent(prompts, uploads) as agent:
        async with running_edge(
            routing,
            media_relays=((relay.host, relay.ng_port),),
            media_agents=(agent,),
            media_prompts=str(prompts),
            **settings,
        ) as edge:
            yield edge
