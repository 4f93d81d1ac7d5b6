"""Seats read per routed call, and callers stranded, with thousands of free agents over many queues.

Runs the router over the in-memory routing fakes (no I/O: it counts what the router asks the
availability index for, not how fast the index answers). A contact centre of SEATS seats over QUEUES
queues, each seat serving 1 to 3 of them (queue sizes Zipf-distributed: a few large queues, a long
tail of small ones), all of them free at first; CALLS calls to queues drawn uniformly,
each answered at once and kept (the agent stays busy), so the free agents thin out as calls arrive.

Reported: seats read from the index per routed call (mean, p50, max), index reads per call, and
callers stranded (queued while an agent of their queue was free).

    .venv/bin/python bench/availability_bench.py [--seats 7000 --queues 50 --calls 2000]

Runs against whichever router is importable, so the same script measures an older tree too:
``PYTHONPATH=<old tree>/layers/core/python:<old tree> python bench/availability_bench.py``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
from typing import Any

from contact_center.domain.agent_state import AgentState, GoAvailable, LogIn, apply
from contact_center.domain.queueing import QueueConfig
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import Connect, OfferOutcome, Queue
from contact_center.services.routing.ports import AgentTarget, NumberRoute
from tests.support.routing_fakes import FakeRoutingPorts

MERCHANT = "m1"
NOW = 1_790_000_000_000
DOMAIN = "sip.test"


class CountingSeats:
    """The fake seats port, counting what each read of the availability index returns."""

    def __init__(self, seats: Any) -> None:
        self._seats = seats
        self.reads: list[int] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._seats, name)
        if name not in ("available", "available_for_queue"):
            return attribute

        def counted(*args: Any) -> Any:
            found = attribute(*args)
            self.reads.append(len(found))
            return found

        return counted


def build(
    seats: int, queues: int, rng: random.Random
) -> tuple[RoutingService, FakeRoutingPorts, CountingSeats]:
    ports = FakeRoutingPorts()
    # Queue sizes as in a real centre: a few large queues, a long tail of small ones (Zipf).
    weights = [1 / (rank + 1) for rank in range(queues)]
    for index in range(queues):
        ports.catalog.add_queue(
            MERCHANT, QueueConfig(f"q{index:02d}", f"q{index:02d}", max_wait_seconds=3600)
        )
        ports.catalog.add_number(NumberRoute(f"+1555{index:07d}", MERCHANT, f"q{index:02d}"))
    for index in range(seats):
        seat_id = f"s{index:05d}"
        served = set(rng.choices(range(queues), weights, k=rng.randint(1, 3)))
        ports.seats.add(
            MERCHANT, seat_id, NOW - 7_200_000, {}, {f"q{q:02d}": 1 for q in served}, f"u-{seat_id}"
        )
        agent = ports.seats.get(MERCHANT, seat_id).agent
        logged_in = apply(agent, LogIn(), NOW - 7_200_000).agent
        available = apply(logged_in, GoAvailable(), NOW - 3_600_000 + rng.randint(0, 3_000_000)).agent
        ports.seats.save_state(MERCHANT, seat_id, agent.version, available)
        ports.registrations.register(
            f"sip:u-{seat_id}@{DOMAIN}", AgentTarget(f"sip:u-{seat_id}@10.0.0.9:5062"), NOW // 1000 + 86_400
        )
    counting = CountingSeats(ports.seats)
    service = RoutingService(
        ports.catalog,
        counting,
        ports.contacts,
        ports.registrations,
        ports.events,
        RoutingPolicy(sip_domain=DOMAIN),
    )
    return service, ports, counting


def free_agent_of(ports: FakeRoutingPorts, queue_id: str) -> bool:
    return any(
        seat.agent.state is AgentState.AVAILABLE and seat.candidate.serves(queue_id)
        for seat in ports.seats.all_for_merchant(MERCHANT)
    )


def run(seats: int, queues: int, calls: int, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    service, ports, counting = build(seats, queues, rng)
    per_call: list[int] = []
    reads_per_call: list[int] = []
    stranded = connected = queued = 0
    for index in range(calls):
        queue = rng.randrange(queues)
        counting.reads.clear()
        now = NOW + index * 100
        decision = service.new_contact(f"+1555{queue:07d}", "+4930123", "edge-1", f"c{index}", now)
        per_call.append(sum(counting.reads))
        reads_per_call.append(len(counting.reads))
        if isinstance(decision, Connect):
            connected += 1
            service.offer_result(decision.contact_id, decision.seat_id, OfferOutcome.ANSWERED, now + 1)
        elif isinstance(decision, Queue):
            queued += 1
            stranded += free_agent_of(ports, f"q{queue:02d}")
    return {
        "seats": seats,
        "queues": queues,
        "calls": calls,
        "connected": connected,
        "queued": queued,
        "stranded": stranded,
        "seats_read_per_call": {
            "mean": round(statistics.fmean(per_call), 1),
            "p50": statistics.median(per_call),
            "max": max(per_call),
        },
        "index_reads_per_call": round(statistics.fmean(reads_per_call), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seats", type=int, default=7000)
    parser.add_argument("--queues", type=int, default=50)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()
    print(json.dumps(run(args.seats, args.queues, args.calls, args.seed), indent=2))


if __name__ == "__main__":
    main()
