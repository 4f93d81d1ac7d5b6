"""A contact-center day in miniature, as far as one 2-core machine allows (``make bench-center``).

Three parts, each a benchmark of its own run as a child, then one summary:

1. **Cold storm**: every seat registers at once onto one edge task (``register_bench.py --storm``:
   sipp phones that honour 503 Retry-After), against the targets: all registered within 15 s, none
   failed, <= 500 us of edge CPU per first registration. ``--no-storm`` leaves it out.
2. **The day** (``center_day.py``): the local stack (``python -m local_stack --no-media`` on DynamoDB
   Local behind the counting proxy) with 3 merchants onboarded over the API (7,000 seats, one
   merchant with 2,000; 50 queues with overlapping skills, the understaffed ones overflowing), every
   seat registered from a few shared UDP sockets, agents that ring, answer, talk until the caller
   hangs up (5-30 s), wrap up 2-5 s and come back over the agent-state API, some not ready, some
   taking breaks, some never answering (RONA); Poisson callers at 28 calls/s with bursts to 50/s
   for 3 minutes. It reports set-up p50/p99 (INVITE to the agent's 180), queued wait p50/p95 and
   the wait beyond the unavoidable, stranded callers and double offers reckoned from the router's
   own records (``day_records.py`` documents how), DynamoDB requests per call, the busiest
   partitions per second, CPU per call of every process.
3. **Cost**: ``cost.py`` on the day's JSON: dollars per 1,000 call-minutes, seed and 10x.

Not covered here: media (the day runs without the relay; ``media_bench.py`` measures it), a
second region, several edge tasks. ``--quick`` runs the day at 300 seats, 5 queues, 5 calls/s for
30 s (what ``tests/integration/test_center_day.py`` runs) and no storm.

Bounded: the storm about 2-3 minutes, the day its onboarding (about 3 seats created per second per
API worker: several minutes at 7,000 seats on a busy machine), at most 3 minutes of arrivals and the
callers' end, on 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import center_day

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seats", type=int, default=7000, help="seats in the storm (default 7000)")
    parser.add_argument("--no-storm", dest="storm", action="store_false", help="the day and its cost only")
    parser.add_argument("--quick", action="store_true", help="the day's quick size, no storm")
    args, day_args = parser.parse_known_args(argv)
    python = sys.executable
    started = time.time()
    storm = None
    if args.storm and not args.quick:
        run(
            [python, str(BENCH / "register_bench.py"), "--storm", "--servers", "kamailio,edge", "--no-calibration",
             "--memory-settle", "0", "--no-record", "--seats", str(args.seats)],
            timeout=420,
        )  # fmt: skip
        storm = newest("register-*.json", started)
    day_started = time.time()
    quick = ["--quick"] if args.quick else []
    # The day's section of RESULTS.md is written here, with the cost of the day's JSON beside it.
    code = run([python, str(BENCH / "center_day.py"), *quick, "--no-record", *day_args], timeout=3600)
    day = newest("center-*.json", day_started)
    print("\n=== contact-center day in miniature ===", flush=True)
    for line in storm_summary(storm) if storm is not None else []:
        print(f"- {line}", flush=True)
    if day is None:
        print("- the day left no result", flush=True)
        return code or 1
    cost = subprocess.run(
        [python, str(BENCH / "cost.py"), "--calls-json", str(day)],
        capture_output=True,
        text=True,
        check=False,
    )
    print(cost.stdout or cost.stderr, flush=True)  # cost.py refuses a day where calls failed
    if not args.quick:
        summary = json.loads(day.read_text())
        center_day.append_results(
            center_day.results_section(
                summary,
                summary["machine"],
                cost.stdout.strip(),
                storm_summary(storm) if storm is not None else [],
            )
        )
    return code


if __name__ == "__main__":
    sys.exit(main())
