"""The cost of a call: measured resources per call turned into dollars per 1,000 call-minutes.

Usage::

    .venv/bin/python bench/cost.py                      # the newest routed call benchmark in bench/out
    .venv/bin/python bench/cost.py --calls-json bench/out/calls-<time>.json
    .venv/bin/python bench/cost.py --json               # the table as JSON

What it prices, per call, and where each figure comes from:

- DynamoDB read and write request units: the counting proxy's units of every partition (table and
  indexes) over a routed step of ``call_bench.py`` (``read_units_per_call``,
  ``write_units_per_call`` of its ``busiest_partitions``: DynamoDB's unit rules applied to the
  requests it forwarded, see ``dynamodb_counter.PartitionUnits``), plus the replicated writes of
  the global table's second region (every write once more).
- Lambda: invocations per call (the call's path in docs/life-of-a-call.md: route, answered, ended,
  the agent-events stream batch; a parameter, not counted) and billed milliseconds: the measured
  CPU of the local Lambda endpoint per call plus the DynamoDB requests per call times a DynamoDB
  round trip (the function waits for each), at the routing function's memory (512 MB, arm64).
- The edge: Fargate tasks (1 vCPU, 2 GB, arm64; 2 at least) sized for the peak from the measured edge
  CPU per call and per registration refresh, kept at most 50 % busy, paid all day.
- The Network Load Balancer: its hour and its capacity units (UDP: active flows of 7,000 phones).
- Data transfer: SIP signalling out of AWS per call and per registration refresh.
- Media, reported apart from the signalling-and-routing total: RTP out of AWS through a relay
  (G.711), and the media fleet's instances (``MediaFleet``: rtpengine on c7g.large, each with a
  public IPv4 address and an 8 GB gp3 disk) sized for the peak's concurrent calls (peak calls/s x
  call length) at the sessions one relay carries, an assumption derived from the media benchmark
  (``RELAY_SIZING``), and paid all day like the edge (an upper bound: the fleet scales on sessions).

Loads: the seed (7,000 seats, 800,000 calls a day of 4 minutes, peak 28 calls/s) and 10x.

Prices: US East (N. Virginia), on-demand, from AWS's public pricing pages below as published since
DynamoDB's on-demand price reduction of 2024-11-01 (EC2 c7g.large, public IPv4 and EBS gp3 as
published for 2026); written into this file 2026-12-07 from those pages as the project knows them, without an online check from the benchmark machine (it has no
Internet access). Re-check them on the pages before quoting a figure outside the project.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"

PRICES_AS_OF = "2024-11-01 (DynamoDB on-demand reduction); EC2, IPv4 and EBS as of 2026; recorded 2026-12-07"
PRICES = {
    # https://aws.amazon.com/dynamodb/pricing/on-demand/
    "dynamodb_write_request_unit": 0.625 / 1e6,
    "dynamodb_read_request_unit": 0.125 / 1e6,
    "dynamodb_replicated_write_unit": 0.625 / 1e6,
    # https://aws.amazon.com/lambda/pricing/ (arm64)
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000133334,
    # https://aws.amazon.com/fargate/pricing/ (Linux/ARM)
    "fargate_vcpu_hour": 0.03238,
    "fargate_gb_hour": 0.00356,
    # https://aws.amazon.com/elasticloadbalancing/pricing/ (Network Load Balancer)
    "nlb_hour": 0.0225,
    "nlb_lcu_hour": 0.006,
    # https://aws.amazon.com/ec2/pricing/on-demand/ (data transfer out to the Internet, first 10 TB)
    "transfer_out_gb": 0.09,
    # https://aws.amazon.com/ec2/pricing/on-demand/ (Linux, c7g.large: 2 vCPU Graviton3, 4 GiB)
    "ec2_c7g_large_hour": 0.0725,
    # https://aws.amazon.com/vpc/pricing/ (each public IPv4 address, in use or not, since 2024-02-01)
    "public_ipv4_hour": 0.005,
    # https://aws.amazon.com/ebs/pricing/ (gp3 storage)
    "ebs_gp3_gb_month": 0.08,
}
SOURCES = [
    "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "https://aws.amazon.com/lambda/pricing/",
    "https://aws.amazon.com/fargate/pricing/",
    "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "https://aws.amazon.com/ec2/pricing/on-demand/ (Data Transfer; c7g.large)",
    "https://aws.amazon.com/vpc/pricing/ (public IPv4)",
    "https://aws.amazon.com/ebs/pricing/",
]


@dataclass(frozen=True)
class Load:
    name: str
    seats: int
    calls_per_day: int
    call_minutes: float
    peak_calls_s: float
    register_interval_s: float = 120.0  # phones re-register every 2 minutes (the customer case)


SEED = Load("seed", 7_000, 800_000, 4.0, 28.0)
TEN_X = Load("10x", 70_000, 8_000_000, 4.0, 280.0)


@dataclass(frozen=True)
class PerCall:
    """What one routed call uses, measured (``source`` says where each figure came from)."""

    read_units: float
    write_units: float
    dynamodb_requests: float
    lambda_cpu_ms: float
    edge_cpu_ms: float
    source: str
    lambda_invocations: float = 4.0  # route, answered, ended, agent-events batch share
    dynamodb_round_trip_ms: float = 5.0  # a request's wait inside the function (same region)
    lambda_memory_gb: float = 0.5
    register_cpu_ms: float = 0.3  # edge CPU per registration refresh (REGISTER benchmark)
    signalling_bytes: float = 24_000.0  # SIP out of AWS per call: ~12 messages to carrier and phone
    register_bytes: float = 2_000.0  # REGISTER answers (401 + 200) per refresh
    regions: int = 2  # the global table's replicas: each write is replicated once per other region


# The routed call benchmark of 2026-12-07 16:41 UTC (bench/RESULTS.md, "DynamoDB requests of a routed
# call"), 10 calls/s on a loaded machine: 13.2 table requests per call of every process (8.07 of the
# routing function: 3 TransactWriteItems, 2 GetItem, 3 Query; the rest the event socket's and
# webhooks' stream consumers), 45.1 write and 7.1 read units per call from the counting proxy,
# lambda 14.4 ms and edge 4.9 ms of CPU per call.
RECORDED = PerCall(
    read_units=7.1,
    write_units=45.1,
    dynamodb_requests=13.2,
    lambda_cpu_ms=14.4,
    edge_cpu_ms=4.89,
    source="bench/RESULTS.md, DynamoDB requests of a routed call 2026-12-07 16:41 UTC (routed, 10 calls/s)",
)


@dataclass(frozen=True)
class MediaFleet:
    """The relays anchoring calls' media (infra/switchboard_infra/constructs/media_fleet.py)."""

    sessions_per_instance: int
    source: str
    min_instances: int = 4  # two per region, one per availability zone
    disk_gb: float = 8.0
    hours_per_month: float = 730.0


# An assumption, not a measurement of a relay instance: the media benchmark of 2026-12-07 03:54 UTC
# (bench/RESULTS.md) delivered every packet of 200 queued callers' music from one userspace rtpengine
# at 1,159 us of relay CPU per stream-second (23 % of a core, on the shared 2-vCPU x86 machine). A
# talking call is one rtpengine session forwarding two streams (caller to agent, agent to caller), and
# forwarding costs no more than playing a file, so 2 x 1.16 ms = 2.3 ms of CPU per call-second is an
# upper bound. A c7g.large (2 vCPU) kept 35 % busy (room for the survivors of a lost zone to carry
# twice their calls until new relays boot) carries 0.7 / 0.0023 = ~300 sessions: the fleet's scaling
# target (cdk.json media.sessionsPerInstance). 300 calls are 4 x 300 x 50 = 60,000 packets/s and
# 105 Mbit/s in each direction, far inside the instance's network baseline.
RELAY_SIZING = MediaFleet(
    sessions_per_instance=300,
    source="assumed from bench/RESULTS.md, media benchmark 2026-12-07 03:54 UTC (200 streams, 1,159 us "
    "CPU per stream-second): 2.3 ms per call-second, c7g.large at 35 % busy",
)


@dataclass
class Cost:
    load: Load
    lines: dict[str, float] = field(default_factory=dict)  # $ per 1,000 call-minutes
    apart: dict[str, float] = field(default_factory=dict)  # reported, not in the total
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.lines.values())


def call_minutes_per_hour(load: Load) -> float:
    return load.calls_per_day * load.call_minutes / 24.0


def cost_of(load: Load, call: PerCall) -> Cost:
    cost = Cost(load)
    calls_per_k_minutes = 1000.0 / load.call_minutes
    p = PRICES
    dynamodb = (
        call.write_units * p["dynamodb_write_request_unit"]
        + call.read_units * p["dynamodb_read_request_unit"]
    )
    cost.lines["DynamoDB requests"] = dynamodb * calls_per_k_minutes
    cost.lines["DynamoDB replicated writes"] = (
        call.write_units * (call.regions - 1) * p["dynamodb_replicated_write_unit"] * calls_per_k_minutes
    )
    billed_ms = call.lambda_cpu_ms + call.dynamodb_requests * call.dynamodb_round_trip_ms
    lambda_cost = (
        call.lambda_invocations * p["lambda_request"]
        + billed_ms / 1000 * call.lambda_memory_gb * p["lambda_gb_second"]
    )
    cost.lines["Lambda"] = lambda_cost * calls_per_k_minutes
    # The edge: tasks for the peak, each at most half busy, paid every hour of the day.
    registrations_s = load.seats / load.register_interval_s
    peak_vcpu = (load.peak_calls_s * call.edge_cpu_ms + registrations_s * call.register_cpu_ms) / 1000
    tasks = max(2, math.ceil(peak_vcpu / 0.5))
    task_hour = p["fargate_vcpu_hour"] * 1 + p["fargate_gb_hour"] * 2
    minutes_hour = call_minutes_per_hour(load)
    cost.lines["edge tasks (Fargate)"] = tasks * task_hour / minutes_hour * 1000
    cost.notes.append(
        f"edge: {tasks} tasks of 1 vCPU for a peak of {peak_vcpu:.2f} vCPU "
        f"({load.peak_calls_s:g} calls/s x {call.edge_cpu_ms:.2f} ms + {registrations_s:.0f} refreshes/s "
        f"x {call.register_cpu_ms:.2f} ms)"
    )
    # NLB: one UDP capacity unit is 50,000 active flows or 400 new flows/s or 1 GB/h processed.
    signalling_gb_hour = (
        load.calls_per_day / 24 * call.signalling_bytes + registrations_s * 3600 * call.register_bytes
    ) / 1e9
    lcus = max(load.seats / 50_000, load.peak_calls_s * 2 / 400, signalling_gb_hour * 2)
    cost.lines["load balancer (NLB)"] = (p["nlb_hour"] + lcus * p["nlb_lcu_hour"]) / minutes_hour * 1000
    cost.lines["signalling transfer out"] = signalling_gb_hour * p["transfer_out_gb"] / minutes_hour * 1000
    # Media apart: G.711 at 20 ms is 87.2 kbit/s per direction with IP/UDP/RTP headers; a relay
    # sends each party the other's audio: two streams out of AWS per call-minute.
    media_gb_per_k_minutes = 87_200 / 8 * 60 * 2 * 1000 / 1e9
    cost.apart["media transfer out (G.711, relay)"] = media_gb_per_k_minutes * p["transfer_out_gb"]
    relays, relay_notes = media_relays(load, RELAY_SIZING)
    relay_hour = (
        p["ec2_c7g_large_hour"]
        + p["public_ipv4_hour"]
        + RELAY_SIZING.disk_gb * p["ebs_gp3_gb_month"] / RELAY_SIZING.hours_per_month
    )
    cost.apart["media relays (EC2 c7g.large, sized for the peak)"] = relays * relay_hour / minutes_hour * 1000
    cost.notes.append(relay_notes)
    cost.notes.append(
        f"Lambda: {call.lambda_invocations:g} invocations and {billed_ms:.0f} billed ms per call "
        f"({call.lambda_cpu_ms:.1f} ms CPU + {call.dynamodb_requests:.1f} requests x "
        f"{call.dynamodb_round_trip_ms:g} ms) at {call.lambda_memory_gb * 1024:.0f} MB"
    )
    return cost


def media_relays(load: Load, fleet: MediaFleet) -> tuple[int, str]:
    """Relay instances for the peak's concurrent calls, and how they were counted."""
    peak_calls = load.peak_calls_s * load.call_minutes * 60
    instances = max(fleet.min_instances, math.ceil(peak_calls / fleet.sessions_per_instance))
    mean_calls = load.calls_per_day * load.call_minutes / (24 * 60)
    mean_instances = max(fleet.min_instances, math.ceil(mean_calls / fleet.sessions_per_instance))
    note = (
        f"media relays: {instances} c7g.large for {peak_calls:,.0f} concurrent calls at the peak "
        f"({load.peak_calls_s:g} calls/s x {load.call_minutes * 60:.0f} s), {fleet.sessions_per_instance} "
        f"sessions each; at the day's mean ({mean_calls:,.0f} calls) the scaling keeps {mean_instances}"
    )
    return instances, note


def measured(path: Path | None) -> PerCall:
    """Per-call figures from a routed call benchmark's JSON (its last step with unit counts and no
    failed call), else the recorded run."""
    candidates = [path] if path is not None else sorted(OUT.glob("calls-*.json"), reverse=True)
    for candidate in candidates:
        try:
            data = json.loads(candidate.read_text())
        except (OSError, ValueError):
            continue
        found = _from_calls_json(data, candidate)
        if found is not None:
            return found
        if path is not None:
            raise SystemExit(f"cost: {path} has no routed step with DynamoDB units per call")
    return RECORDED


def _from_calls_json(data: dict[str, Any], path: Path) -> PerCall | None:
    mode = data.get("modes", {}).get("routed")
    if isinstance(mode, dict):
        hot = mode.get("busiest_partitions", {})
        # Units per call hold whatever the set-up times were, as long as no call failed.
        steps = [
            s
            for s in mode.get("steps", [])
            if str(s.get("rate")) in hot
            and s.get("sipp", {}).get("successful")
            and not s["sipp"].get("failed")
        ]
        if not steps:
            return None
        step = steps[-1]
        units = hot[str(step["rate"])]
        cpu = step.get("cpu_us_per_call", {})
        return PerCall(
            read_units=units["read_units_per_call"],
            write_units=units["write_units_per_call"],
            dynamodb_requests=float(step.get("dynamodb_table_requests_per_call") or 0.0),
            lambda_cpu_ms=float(cpu.get("lambda", 0.0)) / 1000,
            edge_cpu_ms=float(cpu.get("edge", 0.0)) / 1000,
            source=f"{path.relative_to(BENCH.parent) if path.is_relative_to(BENCH.parent) else path}, "
            f"routed step at {step['rate']} calls/s",
        )
    return None


def report(call: PerCall) -> tuple[str, list[Cost]]:
    costs = [cost_of(load, call) for load in (SEED, TEN_X)]
    out = [
        f"Per call, measured: {call.write_units:.1f} write units, {call.read_units:.1f} read units, "
        f"{call.dynamodb_requests:.1f} DynamoDB requests, Lambda {call.lambda_cpu_ms:.1f} ms CPU, "
        f"edge {call.edge_cpu_ms:.2f} ms CPU ({call.source})",
        f"Media relays: {RELAY_SIZING.sessions_per_instance} sessions per c7g.large, {RELAY_SIZING.source}",
        f"Prices: us-east-1 on-demand, {PRICES_AS_OF}; {', '.join(SOURCES)}",
        "",
        "| $ per 1,000 call-minutes | " + " | ".join(c.load.name for c in costs) + " |",
        "|---|" + "---|" * len(costs),
    ]
    for name in costs[0].lines:
        out.append(f"| {name} | " + " | ".join(f"{c.lines[name]:.5f}" for c in costs) + " |")
    out.append("| **signalling and routing** | " + " | ".join(f"**{c.total:.4f}**" for c in costs) + " |")
    for name in costs[0].apart:
        out.append(f"| {name} (apart) | " + " | ".join(f"{c.apart[name]:.4f}" for c in costs) + " |")
    out.append("")
    for c in costs:
        verdict = "MET" if c.total <= 0.05 else "MISSED"
        out.append(f"- {c.load.name}: {'; '.join(c.notes)}; target <= $0.05: {verdict}")
    return "\n".join(out), costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--calls-json", type=Path, help="a call benchmark's JSON (default: the newest in bench/out)"
    )
    parser.add_argument("--json", action="store_true", help="print the costs as JSON")
    args = parser.parse_args(argv)
    call = measured(args.calls_json)
    text, costs = report(call)
    if args.json:
        print(
            json.dumps(
                {
                    "per_call": call.__dict__,
                    "prices": PRICES,
                    "prices_as_of": PRICES_AS_OF,
                    "costs": {c.load.name: {**c.lines, "total": c.total, "apart": c.apart} for c in costs},
                },
                indent=2,
            )
        )
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
