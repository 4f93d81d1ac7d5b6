"""Queued callers: how soon an offer reaches the edge task holding the caller, pushed or polled.

The local mode's routing path end to end, on DynamoDB Local: the local Lambda service (its seat
stream poller runs agent_events), the edge's RoutingClient, and the task's queue hold. Each round
queues a caller, keeps it waiting ``--wait`` seconds (as callers wait for a free agent), then makes
the one agent available (a seat write, as the API does) and times how long until the held caller has
its offer. Two modes, alternated round by round so both see the same machine:

- ``poll``: the path before offer pushes: the routers do not push (no fleet key), and the task asks
  ``pending_offers`` every 50 ms while it holds callers.
- ``push``: the router pushes the claimed offer to the task (a signed SIP MESSAGE to the address its
  heartbeat advertises); the task's poll is a safety net every 2 s.

Reported per mode: offer latency p50 / p95 / max after the agent frees, routing Lambda invocations
per queued caller per second (the polls, over the time callers were held), and how each offer
arrived (push or poll).

    .venv/bin/python bench/queue_push_bench.py [--rounds 30 --wait 1.0]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "infra")]
# Only local services are reached: fixed credentials keep a developer's real ones out.
for _name, _value in (
    ("AWS_ACCESS_KEY_ID", "local"),
    ("AWS_SECRET_ACCESS_KEY", "local"),
    ("AWS_DEFAULT_REGION", "us-east-1"),
    ("AWS_REGION", "us-east-1"),
):
    os.environ[_name] = _value
os.environ.pop("AWS_SESSION_TOKEN", None)
os.environ.pop("AWS_PROFILE", None)

from measure import free_port, machine_facts  # noqa: E402

from contact_center.data import table  # noqa: E402
from contact_center.domain.agent_state import GoAvailable, GoNotReady  # noqa: E402
from contact_center.domain.contact import HangupCause, HangupSide  # noqa: E402
from contact_center.services.routing.decisions import OfferOutcome, Queue  # noqa: E402
from local_stack import dynamodb_local as local_engine  # noqa: E402
from sip_edge.app.adapters.routing_client import RoutingClient  # noqa: E402
from sip_edge.app.adapters.tables import TableEdgeDirectory  # noqa: E402
from sip_edge.app.calls.queue_hold import QueueHold  # noqa: E402
from sip_edge.config import EdgeConfig  # noqa: E402
from sip_edge.main import EdgePorts, build  # noqa: E402
from tests.functional.routing.conftest import DOMAIN, NOW, World  # noqa: E402
from tests.sip.b2bua_support import NoBindings, NoCredentials  # noqa: E402
from tests.support.dynamodb import wait_for_dynamodb  # noqa: E402

FLEET_KEY = "bench-fleet-key-0123456789"
TABLE = "queue-push-bench"


@dataclass
class Mode:
    name: str
    latencies: list[float] = field(default_factory=list)
    held_seconds: float = 0.0
    polls: int = 0
    by_push: int = 0
    by_poll: int = 0

    def report(self) -> dict[str, float | int | str]:
        ordered = sorted(self.latencies)
        return {
            "mode": self.name,
            "rounds": len(ordered),
            "p50_ms": round(statistics.median(ordered) * 1000, 1),
            "p95_ms": round(ordered[max(0, round(0.95 * len(ordered)) - 1)] * 1000, 1),
            "max_ms": round(ordered[-1] * 1000, 1),
            "invocations_per_queued_caller_s": round(self.polls / self.held_seconds, 2),
            "by_push": self.by_push,
            "by_poll": self.by_poll,
        }


@contextlib.contextmanager
def dynamodb_local() -> Iterator[str]:
    """AWS DynamoDB Local in memory, on a port the system picks (not a test worker's slice)."""
    jar_dir = local_engine.jar_dir()
    if jar_dir is None:
        raise RuntimeError(local_engine.MISSING)
    port = free_port()
    proc = subprocess.Popen(
        local_engine.command(port, heap_mb=256),
        cwd=jar_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_dynamodb(f"http://127.0.0.1:{port}", proc, timeout=120)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


@contextlib.contextmanager
def lambda_service(endpoint: str, push: bool) -> Iterator[str]:
    port = free_port()
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL_DYNAMODB=endpoint,
        AWS_ENDPOINT_URL_DYNAMODB_STREAMS=endpoint,
        SWITCHBOARD_TABLE=TABLE,
        SIP_DOMAIN=DOMAIN,
        LOG_LEVEL="WARNING",
        PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "infra"), os.environ.get("PYTHONPATH", "")]),
    )
    if push:
        env["SIP_NONCE_KEY"] = FLEET_KEY
    proc = subprocess.Popen(
        [sys.executable, "-m", "local_stack.lambda_endpoint", "--port", str(port)], env=env
    )
    try:
        deadline = time.monotonic() + 120  # a loaded machine starts Python slowly
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the local Lambda service did not start") from None
                time.sleep(0.1)
        time.sleep(1.5)  # the stream poller starts at the stream's end
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def run_mode(world: World, mode: Mode, rounds: int, wait: float, first: int) -> None:
    task_id = f"edge-{mode.name}"
    # A loaded machine makes the first invocations slow (the handlers' imports); what is timed here
    # is the offer's way to the held caller, not these calls.
    client = RoutingClient(task_id, timeout_seconds=60)
    await client.new_contact("+15550199", "+4930", f"warm-up-{mode.name}-{first}")
    edge = None
    if mode.name == "push":
        edge = build(
            EdgeConfig(host="127.0.0.1", port=free_port(), task_id=task_id, nonce_key=FLEET_KEY),
            EdgePorts(NoCredentials(), NoBindings(), routing=client, fleet=TableEdgeDirectory()),
        )
        await edge.start()
        assert edge.calls is not None
        hold = edge.calls.hold
        await asyncio.sleep(0.5)  # the first heartbeat is written
    else:
        hold = QueueHold(client, interval=0.05)  # the poll as it was before pushes
    try:
        for index in range(first, first + rounds):
            contact_id = f"{mode.name}-{index}"  # index: one sequence over both modes, the seat's clock
            queued = await client.new_contact("+15550100", "+4930", contact_id)
            assert isinstance(queued, Queue), queued
            delivered: asyncio.Future[float] = asyncio.get_running_loop().create_future()
            held_at = time.monotonic()
            polls = hold.polls
            hold.hold(contact_id, lambda offer, done=delivered: done.set_result(time.monotonic()))
            await asyncio.sleep(wait)
            started = time.monotonic()
            at_ms = NOW + index * 60_000
            await asyncio.to_thread(world.command, "a1", GoAvailable(), at_ms)
            at = await asyncio.wait_for(delivered, 10)
            mode.latencies.append(at - started)
            mode.held_seconds += at - held_at
            mode.polls += hold.polls - polls
            await client.offer_result(contact_id, "a1", OfferOutcome.ANSWERED)
            await client.contact_ended(contact_id, HangupSide.AGENT, HangupCause.NORMAL_CLEARING)
            await asyncio.to_thread(world.command, "a1", GoNotReady("break"), at_ms + 30_000)
        mode.by_push += hold.delivered_by_push
        mode.by_poll += hold.delivered_by_poll
    finally:
        if edge is not None:
            await edge.close()
        else:
            await hold.stop()
            client.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30, help="queued callers per mode")
    parser.add_argument(
        "--wait", type=float, default=1.0, help="seconds each caller waits before an agent frees"
    )
    parser.add_argument("--batch", type=int, default=5, help="rounds of one mode before switching")
    args = parser.parse_args()
    modes = {"poll": Mode("poll"), "push": Mode("push")}
    with dynamodb_local() as endpoint:
        table.bind(table_name=TABLE, host=endpoint, region="us-east-1")
        table.create_table(TABLE)
        world = World()
        world.queue(max_wait=600)
        world.number()
        world.seat("a1", available_at=None, registered=False)
        world.register("a1", expires_at=int(time.time()) + 86_400)
        done = rounds_run = 0
        while done < args.rounds:
            batch = min(args.batch, args.rounds - done)
            for name in ("poll", "push"):
                with lambda_service(endpoint, push=name == "push") as url:
                    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = url
                    asyncio.run(run_mode(world, modes[name], batch, args.wait, rounds_run))
                rounds_run += batch
            done += batch
    reports = [mode.report() for mode in modes.values()]
    print(json.dumps({"machine": machine_facts(), "args": vars(args), "modes": reports}, indent=2))


if __name__ == "__main__":
    main()
