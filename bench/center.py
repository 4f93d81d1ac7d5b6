"""A contact-center day in miniature, as far as one 2-core machine allows (``make bench-center``).

Three parts, each an existing benchmark run as a child, then one summary:

1. **Cold storm**: every seat registers at once onto one edge task (``register_bench.py --storm``:
   sipp phones that honour 503 Retry-After), against the targets: all registered within 15 s, none
   failed, <= 500 us of edge CPU per first registration.
2. **Calls**: the local stack (``python -m local_stack`` on DynamoDB Local behind the counting proxy)
   takes routed calls at the seed's peak rate, 28 calls/s (``call_bench.py --modes routed``): set-up
   p50/p99, CPU per call of each process, DynamoDB requests per call and the busiest partitions,
   scaled to 280 calls/s of one merchant.
3. **Cost**: ``cost.py`` on the calls' JSON: dollars per 1,000 call-minutes, seed and 10x.

Scaled down, and said so in the output: the storm registers ``--seats`` (default 7,000); the
calls go to one merchant with ``--agents`` sipp agents (default 150, from one sipp socket) in one
queue, at a constant rate (sipp has no Poisson arrivals), holding 1 s. Not covered here: three
merchants and 50 queues with overlapping skills, agents cycling through wrap-up and not-ready,
RONA, overflow, and the counts of stranded callers and double offers (the routing rules' tests
check those two invariants).

Bounded: the storm about 2-3 minutes (seeding DynamoDB Local included), the calls ``--call-seconds``
(default 60) plus about a minute of stack start, on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
SEED_PEAK = 28  # calls/s


def newest(pattern: str, after: float) -> Path | None:
    found = [p for p in OUT.glob(pattern) if p.stat().st_mtime >= after]
    return max(found, key=lambda p: p.stat().st_mtime) if found else None


def run(command: list[str], timeout: float) -> int:
    print("[bench-center] " + " ".join(command), flush=True)
    try:
        return subprocess.run(command, timeout=timeout, check=False).returncode
    except subprocess.TimeoutExpired:
        print(f"[bench-center] stopped after {timeout:.0f} s", flush=True)
        return 124


def storm_summary(path: Path | None) -> list[str]:
    if path is None:
        return ["storm: no result"]
    data: dict[str, Any] = json.loads(path.read_text())
    lines = []
    for name, server in data.get("servers", {}).items():
        first = next((s for s in server.get("steps", []) if s.get("phase") == "first"), None)
        if first is None:
            lines.append(f"storm, {name}: {server.get('error') or 'no first round'}")
            continue
        sipp = first.get("sipp", {})
        counters = first.get("edge_counters") or {}
        lines.append(
            f"storm, {name}: {sipp.get('successful')} registered, {sipp.get('failed')} failed, "
            f"in {sipp.get('wall_s', 0):.1f} s; {first.get('cpu_us_per_registration', 0):.0f} us CPU per "
            f"registration; shed with 503 {counters.get('shed', '-')}, batch reads of credentials "
            f"{counters.get('credential_reads', '-')} and bindings {counters.get('binding_reads', '-')}"
        )
    return lines


def calls_summary(path: Path | None) -> list[str]:
    if path is None:
        return ["calls: no result"]
    data: dict[str, Any] = json.loads(path.read_text())
    lines = []
    mode = data.get("modes", {}).get("routed") or {}
    for step in mode.get("steps", []):
        cpu = ", ".join(f"{k} {v:.0f} us" for k, v in step.get("cpu_us_per_call", {}).items())
        sipp = step.get("sipp", {})
        lines.append(
            f"calls at {step.get('rate')}/s: {sipp.get('successful')} ok, {sipp.get('failed')} failed; "
            f"setup p50 {step.get('setup_ms_p50')} ms, p99 {step.get('setup_ms_p99')} ms; "
            f"DynamoDB {step.get('dynamodb_table_requests_per_call')} requests per call; CPU per call: {cpu}"
        )
    for rate, found in mode.get("busiest_partitions", {}).items():
        for line in found.get("lines", [])[:3]:
            lines.append(f"busiest partition at {rate}/s, scaled to {found.get('hot_rate')}/s: {line}")
    if mode.get("error"):
        lines.append(f"calls: {mode['error']}")
    return lines or ["calls: no routed step"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seats", type=int, default=7000, help="seats in the cold storm (default 7000)")
    parser.add_argument("--agents", type=int, default=150, help="sipp agents taking calls (default 150)")
    parser.add_argument("--rate", type=int, default=SEED_PEAK, help="calls/s (default 28, the seed's peak)")
    parser.add_argument(
        "--call-seconds", type=float, default=60.0, help="length of the call step (default 60 s)"
    )
    args = parser.parse_args(argv)
    python = sys.executable
    started = time.time()
    run(
        [python, str(BENCH / "register_bench.py"), "--storm", "--servers", "kamailio,edge", "--no-calibration",
         "--memory-settle", "0", "--no-record", "--seats", str(args.seats)],
        timeout=420,
    )  # fmt: skip
    storm = newest("register-*.json", started)
    calls_started = time.time()
    run(
        [python, str(BENCH / "call_bench.py"), "--modes", "routed", "--no-record", "--no-profile",
         "--routed-rates", str(args.rate), "--routed-step-seconds", f"{args.call_seconds:g}",
         "--agents", str(args.agents)],
        timeout=args.call_seconds + 300,
    )  # fmt: skip
    calls = newest("calls-*.json", calls_started)
    print("\n=== contact-center day in miniature ===", flush=True)
    for line in [*storm_summary(storm), *calls_summary(calls)]:
        print(f"- {line}", flush=True)
    cost_command = [python, str(BENCH / "cost.py")] + (["--calls-json", str(calls)] if calls else [])
    run(cost_command, timeout=60)
    print(
        f"(scaled down: {args.agents} agents in one queue of one merchant at a constant {args.rate} calls/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
