"""Call benchmark: carrier calls through the edge, ramped until the first failure, beside Kamailio.

One command (``make bench-calls`` or ``.venv/bin/python bench/call_bench.py``), three modes on the
same sipp call load (bench/scenarios/call_uac.xml: INVITE with SDP -> 180 -> 200 -> ACK -> hold
-> BYE -> 200), each ramping calls/s until a step has a failed call, sipp misses the rate by more
than 5 %, or the setup p99 passes --max-setup-p99-ms (callers wait: the stack fell behind):

1. ``kamailio``: Kamailio 5.6 as a stateful record-routing proxy (bench/kamailio/proxy.cfg, one UDP
   worker) in front of a sipp UAS (bench/scenarios/call_uas.xml): the reference SIP path.
2. ``edge``: the edge's B2BUA with routing and storage off (bench/edge_fixed_target.py): every
   call goes to the same UAS; no Lambda, no DynamoDB. Edge CPU / Kamailio CPU per call is the
   cost of the SIP path alone.
3. ``routed``: the whole local stack (``python -m local_stack``) on DynamoDB Local, behind a
   counting proxy (bench/dynamodb_counter.py). A merchant, a queue (no wrap-up), a number, a
   loopback trunk and N seats are onboarded over the HTTP API; the N seats register from one
   sipp socket and are made available; one sipp UAS answers every agent on that socket. The
   carrier dials the number: trunk check, routing Lambda, agent leg, bridge, teardown, agent
   released. Setup time, CPU per call of every process (edge, local Lambda endpoint, DynamoDB
   Local, API) and DynamoDB requests per call, counted by operation and by process.

CPU is the scheduler's run time of each process tree (/proc/<pid>/task/*/schedstat) over the
step, minus the tree's idle rate measured before the ramp, per successful call. Setup time is
sipp's response time from the INVITE sent to the 200 received, every call dumped (-trace_rtt),
resolution 1 ms. Full runs also profile the edge in CPU time, every thread, after a warm-up
(bench/profiling/sitecustomize.py): the fixed-target edge, and the stack's edge on a short routed
run. Prints a table, writes bench/out/calls-<time>.json and appends a dated section to
bench/RESULTS.md (full runs).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import register_bench
from measure import CpuMeter, descendants, free_port, loadavg, machine_facts
from register_bench import (
    Child,
    append_results,
    children_cpu_s,
    dynamodb_child,
    fmt,
    sip_options_status,
    stop_on_signals,
    wait_for_dynamodb,
    wait_until,
)
from sipp_load import SippRun, run_sipp, write_users_csv

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
SCENARIOS = BENCH / "scenarios"
KAMAILIO_CFG = BENCH / "kamailio" / "proxy.cfg"

SIP_RATES = (100, 250, 500, 750, 1000, 1250, 1500, 2000, 2500, 3000, 4000)
ROUTED_RATES = (5, 10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 150)
QUICK_SIP_RATES = (100, 300)
QUICK_ROUTED_RATES = (10, 25)
RATE_TOLERANCE = 0.95  # a step "sustains" its target when sipp started calls within 5 % of it
RATE_PERIOD_S = 0.1  # sipp's -rp in bench/sipp_load.py

# Targets (the issue): SIP path <= 2 ms edge CPU per call and <= 6x Kamailio; routed <= 4 ms edge
# CPU per call with its SDK calls; the stack sustains >= 50 calls/s; <= 8 DynamoDB requests a call
# of the routing function (the stream consumers' are reported beside it).
TARGET_SIP_CPU_US = 2000.0
TARGET_SIP_RATIO = 6.0
TARGET_ROUTED_CPU_US = 4000.0
TARGET_ROUTED_RATE = 50
TARGET_DB_REQUESTS = 8.0
TARGET_ROUTING_FUNCTION_CPU_US = 6000.0
KAMAILIO_REFERENCE = "260-420 us of CPU per call, 3,700 calls/s on one worker"

STREAMS_PREFIX = "DynamoDBStreams_"
PROCESS_NAMES = {
    "sip_edge": "edge",
    "local_stack.lambda_endpoint": "lambda",
    "local_stack.api_server": "api",
    "local_stack": "stack",
    "call_bench.py": "bench",
}
# Column order of the CPU figures: whichever of these a mode measures.
CPU_COLUMNS = ("kamailio", "edge", "lambda", "dynamodb", "api", "counter")

_started = time.monotonic()


def say(text: str) -> None:
    print(f"[call-bench {time.monotonic() - _started:6.1f}s] {text}", flush=True)


# The register benchmark's child processes report through its `say`; here they report through ours.
register_bench.say = say


# --- sipp --------------------------------------------------------------------------------------------


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (p50: fraction 0.5), None without values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, int(-(-fraction * len(ordered) // 1)))  # ceil(fraction * n), at least 1
    return ordered[min(rank, len(ordered)) - 1]


def read_rtts(directory: Path) -> list[tuple[float, float]]:
    """Every (time ms, response time ms) sipp dumped with -trace_rtt -rtt_freq 1
    (``date_ms;response_time_ms;rtd_no``): when each call's 200 arrived, and its setup time."""
    samples: list[tuple[float, float]] = []
    for path in directory.glob("*_rtt.csv"):
        for line in path.read_text(errors="replace").splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 3 and parts[2].strip() == "1":
                with contextlib.suppress(ValueError):
                    samples.append((float(parts[0]), float(parts[1])))
    return samples


def started_rate(samples: Sequence[tuple[float, float]]) -> float | None:
    """Calls started per second over the step: INVITEs / (first to last INVITE + one rate period).

    Each INVITE's time is its answer's time minus its setup time. sipp sends a step's calls in
    bursts every rate period (-rp 100 ms), so N calls at R/s span N/R - 0.1 s from the first
    burst to the last. (sipp's own CallRate(C) divides by the whole elapsed time, hold and
    hang-up of the last calls included, which undercounts short steps.) Whether the calls were
    also answered quickly is the setup time's business, and whether at all the failures'.
    """
    if len(samples) < 2:
        return None
    times = [answered - setup for answered, setup in samples]
    span_s = (max(times) - min(times)) / 1000 + RATE_PERIOD_S
    return len(samples) / span_s


@dataclass
class CallLoad:
    """Runs one bounded carrier load: ``calls`` calls at ``rate``/s to ``target``, dialling ``number``."""

    target: str
    number: str
    hold_ms: int
    out_dir: Path
    users_csv: Path
    domain: str = "bench.switchboard.test"

    def __call__(
        self, rate: float, calls: int, tag: str, trace: bool = False
    ) -> tuple[SippRun, list[tuple[float, float]]]:
        step_dir = self.out_dir / tag
        shutil.rmtree(step_dir, ignore_errors=True)
        step_dir.mkdir(parents=True)
        extra = ["-s", self.number, "-d", str(self.hold_ms), "-trace_rtt", "-rtt_freq", "1"]
        # sipp's default cap on open calls is 3 x rate x hold: slow set-ups would throttle the load.
        extra += ["-l", str(max(1000, int(rate * 60)))]
        if trace:
            extra += ["-trace_msg", "-message_file", str(step_dir / "messages.log")]
        # sipp writes its -trace_rtt file into the working directory.
        with contextlib.chdir(step_dir):
            run = run_sipp(
                self.target,
                "call_uac.xml",
                self.users_csv,
                rate,
                calls,
                self.domain,
                self.out_dir,
                tag,
                extra=extra,
            )
        return run, read_rtts(step_dir)


def uas_child(name: str, port: int, out_dir: Path, seconds: int) -> Child:
    """A sipp UAS answering every INVITE on 127.0.0.1:port, bounded by a global timeout."""
    nice = ["nice", "-n", "-10"] if os.geteuid() == 0 and shutil.which("nice") else []
    command = [
        *nice,
        "sipp",
        "-sf",
        str(SCENARIOS / "call_uas.xml"),
        "-i",
        "127.0.0.1",
        "-p",
        str(port),
        "-t",
        "u1",
        "-buff_size",
        "4194304",
        "-timer_resol",
        "1",
        "-max_recv_loops",
        "10000",
        "-max_sched_loops",
        "10000",
        "-timeout",
        f"{seconds}s",
        "-nostdin",
        "-trace_err",
        "-error_file",
        str(out_dir / f"{name}.errors.log"),
        "-trace_stat",
        "-stf",
        str(out_dir / f"{name}.stats.csv"),
        "-fd",
        "5",
    ]
    return Child(name, command, out_dir / f"{name}.log")


def probe_lines(messages: Path) -> list[str]:
    """Status lines (and methods) of a traced call, in order: what the probe saw."""
    if not messages.exists():
        return []
    seen: list[str] = []
    for block in messages.read_text(errors="replace").split("\n-----"):
        lines = [line.strip() for line in block.splitlines() if line.strip()]
        if len(lines) < 3:
            continue
        direction = "<-" if "received" in lines[1] else "->"
        seen.append(f"{direction} {lines[2]}")
    return seen


def sipp_errors(run: SippRun, limit: int = 3) -> list[str]:
    """sipp's own reasons for failed calls, most frequent first (Call-IDs and times left out)."""
    path = Path(run.error_file)
    if not path.exists():
        return []
    reasons: Counter[str] = Counter()
    for line in path.read_text(errors="replace").splitlines():
        if line[:4].isdigit() and ": " in line:
            text = line.split("\t")[-1].strip()
            text = re.sub(r"^\d+\.\d+: ", "", text)
            text = re.sub(r"Call-Id '[^']*'", "Call-Id '...'", text)
            reasons[text[:160]] += 1
    return [f"{count} x {text}" for text, count in reasons.most_common(limit)]


# --- measurement -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DbWindow:
    """What the counting proxy saw between two snapshots."""

    requests: dict[str, dict[str, int]]  # process -> operation (stream reads as ``Streams.<op>``) -> n
    connections: dict[str, int]  # process -> connections opened
    wait_ms: dict[str, float]  # operation -> mean ms DynamoDB Local took to start answering
    answered: dict[str, int]  # operation -> answers timed
    refused: dict[str, int]  # operation -> answers other than 200 (failed conditions)
    refusal_reasons: dict[str, int]  # "<operation> <reason codes>" -> refused answers
    # process -> request kind (``dynamodb_counter.request_kind``: operation and key kinds) -> n
    kinds: dict[str, dict[str, int]] = field(default_factory=dict)

    @property
    def mean_wait_ms(self) -> float | None:
        total = sum(self.answered.values())
        if not total:
            return None
        return sum(self.wait_ms[op] * n for op, n in self.answered.items() if op in self.wait_ms) / total

    def as_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "connections": self.connections,
            "mean_answer_ms": {op: round(ms, 2) for op, ms in self.wait_ms.items()},
            "refused": self.refused,
            "refusal_reasons": self.refusal_reasons,
            "kinds": self.kinds,
        }


class DbCounts:
    """Snapshots of bench/dynamodb_counter.py's running totals."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/__counts"

    def snapshot(self) -> dict[str, Any]:
        with urllib.request.urlopen(self.url, timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
        return data

    def set_faults(self, query: str = "") -> dict[str, Any]:
        """Faults the proxy injects into the table's requests from now on (``dynamodb_counter``'s
        ``/__faults``: ``latency_ms=300&drop=0.05``); none with an empty query. The faults in force."""
        url = self.url.replace("/__counts", "/__faults" + (f"?{query}" if query else ""))
        # Patient: a proxy busy with the clients' reconnections after lost requests answers late.
        with urllib.request.urlopen(url, timeout=30) as response:
            data: dict[str, Any] = json.loads(response.read())
        return data

    def busiest_partitions(self, *, reset: bool = False) -> dict[str, Any]:
        """The proxy's units per partition in each one's busiest second, since the last reset."""
        url = self.url.replace("/__counts", "/__keys" + ("?reset" if reset else ""))
        with urllib.request.urlopen(url, timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
        return data

    def recent(self, after: int) -> tuple[int, list[tuple[str, str, str]]]:
        """The requests numbered above `after` as (process, operation, keys), and the last number;
        a refused request's keys end with its reason."""
        url = self.url.replace("/__counts", "/__recent")
        with urllib.request.urlopen(url, timeout=5) as response:
            data: dict[str, Any] = json.loads(response.read())
        found = [
            (
                PROCESS_NAMES.get(label, label),
                _operation(op),
                f"{summary} -> refused {refused}" if refused else summary,
            )
            for number, _, label, op, summary, refused in data["requests"]
            if number > after
        ]
        return int(data["last"]), found

    @staticmethod
    def window(before: dict[str, Any], after: dict[str, Any]) -> DbWindow:
        requests: dict[str, dict[str, int]] = {}
        for label, operations in after.get("requests", {}).items():
            diff = Counter(operations) - Counter(before.get("requests", {}).get(label, {}))
            if diff:
                requests[PROCESS_NAMES.get(label, label)] = {_operation(op): n for op, n in diff.items()}
        kinds: dict[str, dict[str, int]] = {}
        for label, counted in after.get("kinds", {}).items():
            diff = Counter(counted) - Counter(before.get("kinds", {}).get(label, {}))
            if diff:
                kinds[PROCESS_NAMES.get(label, label)] = dict(diff)
        opened = Counter(after.get("connections", {})) - Counter(before.get("connections", {}))
        answered = Counter(after.get("answered", {})) - Counter(before.get("answered", {}))
        waited = after.get("answer_wait_s", {})
        wait_ms = {
            _operation(op): 1000 * (waited.get(op, 0.0) - before.get("answer_wait_s", {}).get(op, 0.0)) / n
            for op, n in answered.items()
            if n > 0
        }
        return DbWindow(
            requests,
            {PROCESS_NAMES.get(k, k): n for k, n in opened.items()},
            wait_ms,
            {_operation(op): n for op, n in answered.items()},
            {
                _operation(op): n
                for op, n in (Counter(after.get("refused", {})) - Counter(before.get("refused", {}))).items()
            },
            {
                _operation(reason): n
                for reason, n in (
                    Counter(after.get("refusal_reasons", {})) - Counter(before.get("refusal_reasons", {}))
                ).items()
            },
            kinds,
        )


def _operation(target: str) -> str:
    """``DynamoDB_20120810.PutItem`` -> ``PutItem``; ``DynamoDBStreams_20120810.GetRecords`` ->
    ``Streams.GetRecords``."""
    name = target.split(".", 1)[-1]
    return "Streams." + name if target.startswith(STREAMS_PREFIX) else name


@dataclass
class CallStep:
    mode: str
    rate: int
    sipp: SippRun
    setup_ms: list[float]
    achieved_rate: float  # calls started per second by sipp (see `started_rate`)
    cpu_us: dict[str, float]  # per process: busy CPU above idle, per successful call
    cpu_pct: dict[str, float]  # per process: busy CPU over the step's wall time, % of one core
    loop_us: float | None  # the edge's main thread (its event loop), raw, per successful call
    sipp_cpu_pct: float
    db: DbWindow | None = None  # DynamoDB requests by process and operation
    load: float = 0.0
    errors: list[str] = field(default_factory=list)
    max_setup_p99_ms: float = float("inf")  # above it the step is not sustained (callers wait)
    # The local Lambda service's handlers, each apart (its ``Usage``): CPU per successful call in
    # the handler's own thread, and invocations per call.
    function_cpu_us: dict[str, float] = field(default_factory=dict)
    function_invocations: dict[str, float] = field(default_factory=dict)

    @property
    def setup_p99(self) -> float | None:
        return percentile(self.setup_ms, 0.99)

    @property
    def slow(self) -> bool:
        """Calls waited for an answer because the stack fell behind (see --max-setup-p99-ms)."""
        p99 = self.setup_p99
        return p99 is not None and p99 > self.max_setup_p99_ms

    @property
    def sustained(self) -> bool:
        return self.sipp.clean and self.achieved_rate >= RATE_TOLERANCE * self.rate and not self.slow

    @property
    def calls_ok(self) -> int:
        return max(1, self.sipp.successful)

    def _requests(self, streams: bool) -> int | None:
        if self.db is None:
            return None
        return sum(
            n
            for ops in self.db.requests.values()
            for op, n in ops.items()
            if op.startswith("Streams.") == streams
        )

    def table_requests(self) -> int | None:
        return self._requests(streams=False)

    def stream_requests(self) -> int | None:
        """Reads of the local Lambda's stream poller: time-based, not per call."""
        return self._requests(streams=True)

    def per_call(self, count: int | None) -> float | None:
        return None if count is None else count / self.calls_ok

    def as_dict(self) -> dict[str, object]:
        return {
            "mode": self.mode,
            "rate": self.rate,
            "sustained": self.sustained,
            "started_per_s": round(self.achieved_rate, 1),
            "setup_ms_p50": percentile(self.setup_ms, 0.5),
            "setup_ms_p99": percentile(self.setup_ms, 0.99),
            "setup_ms_max": max(self.setup_ms) if self.setup_ms else None,
            "setup_samples": len(self.setup_ms),
            "cpu_us_per_call": {k: round(v, 1) for k, v in self.cpu_us.items()},
            "cpu_percent_of_a_core": {k: round(v, 1) for k, v in self.cpu_pct.items()},
            "edge_event_loop_us_per_call": round(self.loop_us, 1) if self.loop_us is not None else None,
            "sipp_cpu_percent": round(self.sipp_cpu_pct, 1),
            "dynamodb": self.db.as_dict() if self.db is not None else None,
            "dynamodb_table_requests_per_call": self.per_call(self.table_requests()),
            "dynamodb_stream_requests_per_call": self.per_call(self.stream_requests()),
            "function_cpu_us_per_call": {k: round(v, 1) for k, v in self.function_cpu_us.items()},
            "function_invocations_per_call": {k: round(v, 3) for k, v in self.function_invocations.items()},
            "dynamodb_requests_per_call_by_path": {
                path: {kind: round(n, 3) for kind, n in kinds.items()}
                for path, kinds in kinds_per_call(self).items()
            },
            "loadavg_1m": self.load,
            "errors": self.errors,
            "sipp": self.sipp.as_dict(),
        }


@dataclass
class ModeResult:
    name: str
    description: str
    steps: list[CallStep] = field(default_factory=list)
    idle_pct: dict[str, float] = field(default_factory=dict)
    stopped_because: str = ""
    error: str = ""
    probe: list[str] = field(default_factory=list)
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def max_sustained_rate(self) -> int | None:
        rates = [s.rate for s in self.steps if s.sustained]
        return max(rates) if rates else None

    def step_at(self, rate: int) -> CallStep | None:
        return next((s for s in self.steps if s.rate == rate), None)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "description": self.description,
            "max_sustained_rate": self.max_sustained_rate,
            "idle_cpu_percent": {k: round(v, 2) for k, v in self.idle_pct.items()},
            "stopped_because": self.stopped_because,
            "error": self.error,
            "probe": self.probe,
            "steps": [s.as_dict() for s in self.steps],
            **self.extra,
        }


@dataclass
class Meters:
    """The CPU meters of one mode, by process name; ``main`` is the process whose main thread is
    reported apart (the edge's event loop)."""

    meters: dict[str, CpuMeter]
    main: str | None = None
    db: DbCounts | None = None
    # The local Lambda service's per-function usage (``lambda_endpoint.Usage``), when measured.
    functions: Callable[[], dict[str, dict[str, int]]] | None = None

    def calibrate(self, seconds: float) -> dict[str, float]:
        # All at once: one idle window for every process.
        before = {name: (m.sample(), time.monotonic()) for name, m in self.meters.items()}
        time.sleep(seconds)
        idle: dict[str, float] = {}
        for name, meter in self.meters.items():
            sample, at = before[name]
            meter.idle_ns_per_s = max(0.0, (meter.sample() - sample) / (time.monotonic() - at))
            idle[name] = meter.idle_ns_per_s / 1e7
        return idle


def measured_step(
    mode: str, rate: int, calls: int, meters: Meters, load: CallLoad, settle_s: float, max_setup_p99_ms: float
) -> CallStep:
    """One bounded call load with every process's CPU (and the DynamoDB requests) read around it."""
    db_before = meters.db.snapshot() if meters.db is not None else None
    functions_before = meters.functions() if meters.functions is not None else None
    for meter in meters.meters.values():
        meter.start()
    sipp_before = children_cpu_s()
    run, samples = load(rate, calls, f"{mode}-{rate}")
    sipp_cpu = children_cpu_s() - sipp_before
    time.sleep(settle_s)  # teardowns, contact records and released agents still count
    busy = {name: meter.stop()[0] for name, meter in meters.meters.items()}
    db_after = meters.db.snapshot() if meters.db is not None else None
    functions_after = meters.functions() if meters.functions is not None else None
    ok = max(1, run.successful)
    wall = max(run.wall_s, 1e-6)
    loop_us = None
    if meters.main is not None:
        loop_us = meters.meters[meters.main].main_thread_ns / 1000 / ok
    step = CallStep(
        mode=mode,
        rate=rate,
        sipp=run,
        setup_ms=[rt for _, rt in samples],
        achieved_rate=started_rate(samples) or run.achieved_rate,
        cpu_us={name: ns / 1000 / ok for name, ns in busy.items()},
        cpu_pct={name: 100 * ns / 1e9 / wall for name, ns in busy.items()},
        loop_us=loop_us,
        sipp_cpu_pct=100 * sipp_cpu / wall,
        db=DbCounts.window(db_before, db_after) if db_before is not None and db_after is not None else None,
        load=loadavg(),
        max_setup_p99_ms=max_setup_p99_ms,
    )
    if functions_before is not None and functions_after is not None:
        for name, ns in functions_after.get("cpu_ns", {}).items():
            step.function_cpu_us[name] = (ns - functions_before.get("cpu_ns", {}).get(name, 0)) / 1000 / ok
        for name, n in functions_after.get("invocations", {}).items():
            step.function_invocations[name] = (n - functions_before.get("invocations", {}).get(name, 0)) / ok
    if not step.sipp.clean:
        step.errors = sipp_errors(run)
    return step


def describe(step: CallStep) -> str:
    run = step.sipp
    cpu = ", ".join(f"{name} {us:.0f}" for name, us in step.cpu_us.items())
    if step.loop_us is not None:
        cpu += f" (event loop {step.loop_us:.0f})"
    pct = ", ".join(f"{name} {p:.0f} %" for name, p in step.cpu_pct.items())
    db = ""
    if step.db is not None:
        db = (
            f", DynamoDB {fmt(step.per_call(step.table_requests()), '.1f')} req/call"
            f" (+ {fmt(step.per_call(step.stream_requests()), '.1f')} stream reads), answered in "
            f"{fmt(step.db.mean_wait_ms, '.1f')} ms on average, {sum(step.db.connections.values())} "
            "new connections"
        )
    verdict = "ok" if step.sustained else "NOT SUSTAINED"
    return (
        f"{step.rate:>5}/s x {run.calls:>5}: ok {run.successful}, failed {run.failed}, "
        f"retrans {run.retransmissions}, started {step.achieved_rate:.0f}/s, setup p50 "
        f"{fmt(percentile(step.setup_ms, 0.5))} ms p99 {fmt(percentile(step.setup_ms, 0.99))} ms; "
        f"CPU us/call: {cpu}; busy: {pct}; sipp {step.sipp_cpu_pct:.0f} %{db} -> {verdict}"
    )


def ramp(
    result: ModeResult, meters: Meters, load: CallLoad, rates: Sequence[int], args: argparse.Namespace
) -> None:
    step_seconds = args.routed_step_seconds if result.name == "routed" else args.step_seconds
    min_calls = args.routed_min_calls if result.name == "routed" else args.min_calls
    settle = args.routed_settle if result.name == "routed" else args.settle
    for rate in rates:
        calls = max(min_calls, int(rate * step_seconds))
        say(f"{result.name}: {rate} calls/s, {calls} calls")
        if meters.db is not None:
            meters.db.busiest_partitions(reset=True)
        step = measured_step(result.name, rate, calls, meters, load, settle, args.max_setup_p99_ms)
        result.steps.append(step)
        say(f"{result.name}: {describe(step)}")
        if meters.db is not None:
            hot = hot_partitions(meters.db.busiest_partitions(), rate, step.sipp.successful)
            result.extra.setdefault("busiest_partitions", {})[str(rate)] = hot
            for line in hot["lines"][:4]:
                say(f"{result.name}:   partition {line}")
        for line in step.errors:
            say(f"{result.name}:   sipp: {line}")
        if not step.sustained:
            run = step.sipp
            if run.failed:
                why = (
                    f"{run.failed} of {run.calls} calls failed at {rate}/s (timeouts {run.timeouts}, "
                    f"unexpected messages {run.unexpected}, retransmissions {run.retransmissions})"
                )
                if step.errors:
                    why += "; sipp: " + "; ".join(step.errors)
            elif step.slow:
                why = (
                    f"setup p99 {_ms(step.setup_p99)} ms at {rate}/s, above {args.max_setup_p99_ms:.0f} ms: "
                    f"calls waited because the stack fell behind (zero failed calls; busiest "
                    + ", ".join(
                        f"{k} {v:.0f} %" for k, v in sorted(step.cpu_pct.items(), key=lambda i: -i[1])[:3]
                    )
                    + " of a core)"
                )
            else:
                busiest = max(step.cpu_pct.items(), key=lambda item: item[1], default=("-", 0.0))
                why = (
                    f"sipp started {step.achieved_rate:.0f}/s of {rate}/s (busiest: {busiest[0]} "
                    f"{busiest[1]:.0f} % of a core, sipp {step.sipp_cpu_pct:.0f} %)"
                )
            result.stopped_because = why
            break
        time.sleep(1.0)
    else:
        result.stopped_because = f"every step up to {rates[-1]}/s sustained (the ramp's last step)"


HOT_RATE = 280  # new calls/s of one large merchant at 10x the seed load (the key design's target)


def hot_partitions(report: dict[str, Any], rate: int, calls: int) -> dict[str, Any]:
    """Each busy partition's units per call, and scaled linearly to HOT_RATE calls/s of one
    merchant: per call x HOT_RATE (the mean) and the busiest second / rate x HOT_RATE (bursts kept).
    The scaling holds for a partition the calls share (a merchant's seats, a queue's index, a task's
    contacts); a partition of one contact or dialog takes what one call writes at any rate. A
    family split over shards (``...#SEATS#07``) is scaled shard by shard: the shards' sum is the
    family's."""
    rows = []
    for entry in report.get("busiest", []):
        read_per_call = entry["read_units"] / max(1, calls)
        write_per_call = entry["write_units"] / max(1, calls)
        peak_write = entry["peak_write_units_s"] / rate * HOT_RATE
        peak_read = entry["peak_read_units_s"] / rate * HOT_RATE
        rows.append(
            {
                **entry,
                "read_units_per_call": round(read_per_call, 3),
                "write_units_per_call": round(write_per_call, 3),
                "write_units_s_at_hot_rate": round(write_per_call * HOT_RATE, 1),
                "read_units_s_at_hot_rate": round(read_per_call * HOT_RATE, 1),
                "busiest_second_share_at_hot_rate": round(max(peak_write / 1000.0, peak_read / 3000.0), 3),
            }
        )
    rows.sort(key=lambda r: -r["busiest_second_share_at_hot_rate"])
    lines = [
        f"{r['partition']}: {r['write_units_per_call']} WCU + {r['read_units_per_call']} RCU per call; "
        f"at {HOT_RATE} calls/s {r['write_units_s_at_hot_rate']:.0f} WCU/s, {r['read_units_s_at_hot_rate']:.0f} "
        f"RCU/s; busiest second scaled: {100 * r['busiest_second_share_at_hot_rate']:.0f} % of its limit"
        for r in rows
    ]
    return {
        "rate": rate,
        "calls": calls,
        "hot_rate": HOT_RATE,
        # every partition's units per call: bench/cost.py prices these
        "read_units_per_call": round(report.get("read_units", 0.0) / max(1, calls), 3),
        "write_units_per_call": round(report.get("write_units", 0.0) / max(1, calls), 3),
        "partitions": rows,
        "lines": lines,
    }


def warm_up_and_probe(result: ModeResult, load: CallLoad, warm_rate: int, warm_calls: int) -> bool:
    """One traced call (the probe), then a short warm-up load; False (with the reason) if the probe fails."""
    run, _ = load(1, 1, f"{result.name}-probe", trace=True)
    result.probe = probe_lines(load.out_dir / f"{result.name}-probe" / "messages.log")
    say(f"{result.name}: probe call: " + " | ".join(result.probe))
    if not run.clean:
        result.error = "the probe call failed: " + ("; ".join(sipp_errors(run)) or " | ".join(result.probe))
        say(f"{result.name}: {result.error}")
        return False
    if warm_calls:
        warm, _ = load(warm_rate, warm_calls, f"{result.name}-warmup")
        say(
            f"{result.name}: warm-up {warm_calls} calls at {warm_rate}/s: ok {warm.successful}, failed {warm.failed}"
        )
    time.sleep(1.0)
    return True


# --- Kamailio ------------------------------------------------------------------------------------------


def bench_kamailio(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> ModeResult:
    result = ModeResult(
        "kamailio",
        "Kamailio 5.6 stateful record-routing proxy (tm, rr; one UDP worker) to a sipp UAS",
    )
    port, uas_port = free_port(), free_port()
    kamailio = Child(
        "kamailio",
        [
            "kamailio",
            "-f",
            str(KAMAILIO_CFG),
            "-DD",
            "-E",
            # 1 GiB of shared memory: tm keeps every transaction (a cloned request and its
            # replies) for its wait timer, 5 s after the final response; at 2,000 calls/s
            # (two transactions a call) 256 MiB runs out ("could not allocate shared memory").
            "-m",
            "1024",
            "-M",
            "32",
            "-A",
            f"BENCH_LISTEN=udp:127.0.0.1:{port}",
            "-A",
            f'BENCH_TARGET="sip:127.0.0.1:{uas_port}"',
        ],
        out_dir / "kamailio.log",
    )
    uas = uas_child("kamailio-uas", uas_port, out_dir, args.mode_budget_s)
    try:
        uas.start()
        kamailio.start()
        wait_until(lambda: sip_options_status(port) == 200, "Kamailio", kamailio, 20)
        tree = descendants(kamailio.pid)
        say(f"kamailio: udp:127.0.0.1:{port} -> UAS 127.0.0.1:{uas_port}, {len(tree)} processes")
        load = CallLoad(f"127.0.0.1:{port}", "100", args.hold_ms, out_dir, users_csv)
        if not warm_up_and_probe(result, load, args.sip_warm_rate, args.sip_warm_calls):
            return result
        meters = Meters({"kamailio": CpuMeter(kamailio.pid)})
        result.idle_pct = meters.calibrate(args.idle_seconds)
        ramp(result, meters, load, args.sip_rates, args)
    except Exception as exc:
        result.error = str(exc)
        say(f"kamailio: ERROR {exc}")
    finally:
        kamailio.stop()
        uas.stop()
    return result


# --- the edge, SIP path alone --------------------------------------------------------------------------


def fixed_edge_child(
    port: int, uas_port: int, out_dir: Path, name: str, profile: Path | None = None
) -> Child:
    command = [
        sys.executable,
        str(BENCH / "edge_fixed_target.py"),
        "--target",
        f"127.0.0.1:{uas_port}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--task-id",
        "bench-fixed-1",
    ]
    env = {**os.environ, "SIP_NONCE_KEY": secrets.token_hex(32)}
    if profile is not None:
        env.update(profiling_env("edge_fixed_target", profile, env))
    return Child(name, command, out_dir / f"{name}.log", env=env, cwd=ROOT)


def profiling_env(name: str, profile: Path, env: dict[str, str]) -> dict[str, str]:
    """What makes the process running `name` profile itself (bench/profiling/sitecustomize.py)."""
    paths = [str(BENCH / "profiling"), *filter(None, [env.get("PYTHONPATH")])]
    return {
        "PYTHONPATH": os.pathsep.join(paths),
        "BENCH_PROFILE_MODULE": name,
        "BENCH_PROFILE_OUT": str(profile),
    }


def start_profiling(pid: int) -> None:
    """Drop what the profiled process collected so far (start-up, warm-up): SIGUSR1 to it."""
    os.kill(pid, signal.SIGUSR1)
    time.sleep(0.2)


def bench_edge(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> ModeResult:
    result = ModeResult(
        "edge",
        "the edge's B2BUA (bench/edge_fixed_target.py): routing answers Connect to a fixed sipp UAS, "
        "stores keep nothing, no Lambda, no DynamoDB",
    )
    port, uas_port = free_port(), free_port()
    edge = fixed_edge_child(port, uas_port, out_dir, "edge-fixed")
    uas = uas_child("edge-uas", uas_port, out_dir, args.mode_budget_s)
    try:
        uas.start()
        edge.start()
        wait_until(lambda: sip_options_status(port) == 200, "the edge", edge, 60)
        say(f"edge: udp:127.0.0.1:{port} -> UAS 127.0.0.1:{uas_port}")
        load = CallLoad(f"127.0.0.1:{port}", "100", args.hold_ms, out_dir, users_csv)
        if not warm_up_and_probe(result, load, args.sip_warm_rate, args.sip_warm_calls):
            return result
        meters = Meters({"edge": CpuMeter(edge.pid)}, main="edge")
        result.idle_pct = meters.calibrate(args.idle_seconds)
        ramp(result, meters, load, args.sip_rates, args)
        if not edge.alive():
            result.error = f"the edge exited during the run:\n{edge.log_tail()}"
    except Exception as exc:
        result.error = str(exc)
        say(f"edge: ERROR {exc}")
    finally:
        edge.stop()
        uas.stop()
    return result


def profile_edge(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> dict[str, object]:
    """A short run of the fixed-target edge under cProfile: where its CPU per call goes."""
    port, uas_port = free_port(), free_port()
    profile = out_dir / "edge-fixed.prof"
    rate, calls = args.profile_rate, args.profile_calls
    edge = fixed_edge_child(port, uas_port, out_dir, "edge-profiled", profile)
    uas = uas_child("profile-uas", uas_port, out_dir, args.mode_budget_s)
    found: dict[str, object] = {"file": str(profile.relative_to(ROOT)), "rate": rate, "calls": calls}
    try:
        uas.start()
        edge.start()
        wait_until(lambda: sip_options_status(port) == 200, "the profiled edge", edge, 60)
        load = CallLoad(f"127.0.0.1:{port}", "100", args.hold_ms, out_dir, users_csv)
        load(args.sip_warm_rate, args.sip_warm_calls, "edge-profiled-warmup")
        start_profiling(edge.pid)
        say(f"profile: the fixed-target edge under cProfile (CPU time), {calls} calls at {rate}/s")
        run, _ = load(rate, calls, "edge-profiled")
        found["ok"], found["failed"] = run.successful, run.failed
        time.sleep(1.0)
    except Exception as exc:
        found["error"] = str(exc)
        say(f"profile: ERROR {exc}")
    finally:
        edge.stop()  # SIGTERM: the edge returns from run() and writes its profile at exit
        uas.stop()
    return report_profile(profile, found, args.profile_top, "the fixed-target edge")


def report_profile(profile: Path, found: dict[str, object], top: int, what: str) -> dict[str, object]:
    if not profile.exists():
        found.setdefault("error", f"{profile.name} was not written")
        say(f"profile: {what}: no profile ({found['error']})")
        return found
    lines = top_functions(profile, top)
    cumulative = top_functions(profile, top, by="cumulative")
    areas = profile_areas(profile)
    found["top"], found["top_cumulative"], found["by_area"] = lines, cumulative, areas
    say(f"profile: {what}, top {top} functions by own time ({profile.relative_to(ROOT)}):")
    for line in lines:
        print(f"    {line}")
    say(f"profile: {what}, top {top} by time including callees:")
    for line in cumulative:
        print(f"    {line}")
    say(f"profile: {what}, own time by area: " + ", ".join(f"{k} {v:.0f} %" for k, v in areas.items()))
    return found


def _short_path(filename: str) -> str:
    for marker in ("/sip_edge/", "/contact_center/", "/site-packages/", "/lib/python3.11/"):
        if marker in filename:
            return marker.strip("/") + "/" + filename.split(marker, 1)[1]
    return filename


def top_functions(path: Path, top: int, by: str = "own") -> list[str]:
    """The profile's top functions by own time (``by="own"``) or by time including callees
    (``"cumulative"``), each in % of the CPU time profiled."""
    import pstats

    stats = pstats.Stats(str(path))
    entries = stats.stats  # type: ignore[attr-defined]
    total = sum(own for (_, _, own, _, _) in entries.values()) or 1e-9
    column = 2 if by == "own" else 3
    rows = sorted(entries.items(), key=lambda item: item[1][column], reverse=True)[:top]
    lines = []
    for (filename, line, name), (_, calls, own, cumulative, _) in rows:
        lines.append(
            f"{100 * own / total:5.1f} % own {100 * cumulative / total:5.1f} % cum {calls:>7} calls  "
            f"{name} ({_short_path(filename)}:{line})"
        )
    return lines


# Where the code lives -> the area its own time is counted in (first match wins).
_SDK = "AWS SDK and its HTTP (botocore, boto3, PynamoDB, urllib3, http.client, SigV4)"
_AREAS = (
    ("/sip_edge/sip/", "sip_edge.sip (stack)"),
    ("/sip_edge/app/", "sip_edge.app (B2BUA, policy)"),
    ("/contact_center/", "contact_center (data layer)"),
    ("/botocore/", _SDK),
    ("/boto3/", _SDK),
    ("/urllib3/", _SDK),
    ("/pynamodb/", _SDK),
    # The standard library the SDK's HTTP runs on (the edge uses none of it for SIP).
    ("/http/client.py", _SDK),
    ("/email/", _SDK),
    ("/urllib/parse.py", _SDK),
    ("/hmac.py", _SDK),
    ("/asyncio/", "asyncio/uvloop"),
    ("uvloop", "asyncio/uvloop"),
    ("/threading.py", "threads, pools, queues"),
    ("/concurrent/", "threads, pools, queues"),
    ("/queue.py", "threads, pools, queues"),
    ("/logging/", "logging"),
)


def _area(filename: str) -> str | None:
    return next((label for marker, label in _AREAS if marker in filename), None)


def profile_areas(path: Path) -> dict[str, float]:
    """Share of the profiled CPU time by where the code lives. Builtins (C functions: str and
    dict methods, regular expressions, socket calls) count for the code that called them."""
    import pstats

    stats = pstats.Stats(str(path))
    areas: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, callers) in stats.stats.items():  # type: ignore[attr-defined]
        area = _area(filename)
        if area is not None or filename != "~" or not callers:
            areas[area or "other Python"] += own
            continue
        # Split a builtin's own time between its callers, by the time each call path took.
        by_caller = {caller: timing[2] for caller, timing in callers.items()}
        spent = sum(by_caller.values()) or 1e-12
        for caller, share in by_caller.items():
            areas[_area(caller[0]) or ("other builtins" if caller[0] == "~" else "other Python")] += (
                own * share / spent
            )
    total = sum(areas.values()) or 1e-9
    return {area: 100 * own / total for area, own in areas.most_common()}


# --- the routed stack ----------------------------------------------------------------------------------


@dataclass
class Api:
    base: str
    key: str

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {key or self.key}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None

    def expect(self, status: int, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        code, answer = self.call(method, path, body, key)
        if code != status:
            raise RuntimeError(f"{method} {path} answered {code}: {answer}")
        return answer


@dataclass
class Onboarded:
    merchant_id: str
    key: str
    queue_id: str
    number: str
    seats: list[tuple[str, str, str]]  # (seat id, SIP username, password)
    domain: str


def onboard(api: Api, agents: int, number: str) -> Onboarded:
    """A loopback trunk, a merchant with `agents` licences, a queue without wrap-up, a number, the seats."""
    api.expect(201, "POST", "/trunks", {"name": "Bench carrier", "source_cidrs": ["127.0.0.0/8"]})
    merchant = api.expect(
        201,
        "POST",
        "/merchants",
        {"name": "Bench", "seat_licenses": agents, "contact_email": "ops@bench.test"},
    )
    mid, key = merchant["merchant_id"], merchant["api_key"]
    queue = api.expect(
        201,
        "POST",
        f"/merchants/{mid}/queues",
        {"name": "Bench", "max_wait_seconds": 60, "wrap_up_seconds": 0},
        key,
    )
    api.expect(
        201, "POST", f"/merchants/{mid}/numbers", {"number": number, "queue_id": queue["queue_id"]}, key
    )

    def seat(index: int) -> dict[str, Any]:
        body = {"display_name": f"Agent {index}", "queue_ids": [queue["queue_id"]]}
        answer: dict[str, Any] = api.expect(201, "POST", f"/merchants/{mid}/seats", body, key)
        return answer

    with ThreadPoolExecutor(max_workers=8) as pool:
        made = list(pool.map(seat, range(agents)))
    seats = [(s["seat_id"], s["sip"]["username"], s["sip"]["password"]) for s in made]
    return Onboarded(mid, key, queue["queue_id"], number, seats, made[0]["sip"]["domain"])


def make_available(api: Api, onboarded: Onboarded) -> None:
    def available(seat: tuple[str, str, str]) -> None:
        path = f"/merchants/{onboarded.merchant_id}/seats/{seat[0]}/state"
        api.expect(200, "PUT", path, {"state": "available"}, onboarded.key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(available, onboarded.seats))


def proxy_ready(port: int) -> bool:
    try:
        DbCounts(port).snapshot()
    except OSError:
        return False
    return True


def one_call_requests(load: CallLoad, db: DbCounts | None, hold_ms: int) -> list[str]:
    """Every DynamoDB request of one routed call, in order (the stream poller's reads left out)."""
    if db is None:
        return []
    last, _ = db.recent(0)
    run, _ = load(1, 1, "routed-one-call")
    time.sleep(2.0 + hold_ms / 1000)  # the hang-up's contact record and the agent's release
    _, requests = db.recent(last)
    lines = [f"{name} {op} {keys}".rstrip() for name, op, keys in requests if not op.startswith("Streams.")]
    say(f"routed: one call (ok {run.successful}) made {len(lines)} DynamoDB requests:")
    for number, line in enumerate(lines, 1):
        print(f"    {number:2d}. {line}")
    return lines


def stack_processes(root: int) -> dict[str, int]:
    """The local stack's children by role (edge, lambda, api), from their command lines."""
    from dynamodb_counter import process_label

    found: dict[str, int] = {}
    for pid in descendants(root):
        if pid == root:
            continue
        name = PROCESS_NAMES.get(process_label(pid))
        if name in ("edge", "lambda", "api") and name not in found:
            found[name] = pid
    return found


def wait_for_text(child: Child, text: str, timeout: float) -> None:
    def ready() -> bool:
        try:
            return text in child.log_path.read_text(errors="replace")
        except OSError:
            return False

    wait_until(ready, f"{child.name} ({text!r})", child, timeout)


@dataclass
class CountedStack:
    """``python -m local_stack`` on DynamoDB Local behind the counting proxy, nothing onboarded yet."""

    roles: dict[str, int]  # edge, lambda, api -> pid
    db_pid: int
    counter_pid: int
    counts: DbCounts
    stack: Child
    sip_port: int
    api: Api
    db_endpoint: str  # DynamoDB Local itself, past the proxy (reads that must not be counted)
    lambda_url: str  # the local Lambda service (its per-function usage)


@contextlib.contextmanager
def counted_stack(
    out_dir: Path, tag: str = "", profile: Path | None = None, stack_args: Sequence[str] = ()
) -> Iterator[CountedStack]:
    """DynamoDB Local behind the counting proxy and ``python -m local_stack`` on it (``stack_args``
    added to its command line). With `profile`, the stack's edge profiles itself (every thread) into
    that file (bench/profiling/sitecustomize.py). Everything is stopped on the way out."""
    children: list[Child] = []
    try:
        db_port, proxy_port = free_port(), free_port()
        db = dynamodb_child(db_port, out_dir)
        children.append(db)
        db.start()
        counter = Child(
            f"{tag}dynamodb-counter",
            [
                sys.executable,
                str(BENCH / "dynamodb_counter.py"),
                "--port",
                str(proxy_port),
                "--upstream",
                f"http://127.0.0.1:{db_port}",
            ],
            out_dir / f"{tag}dynamodb-counter.log",
        )
        children.append(counter)
        counter.start()
        endpoint = f"http://127.0.0.1:{proxy_port}"
        os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"})
        # DynamoDB Local itself first (its JVM may take a while), then the proxy in front of it.
        wait_for_dynamodb(f"http://127.0.0.1:{db_port}", db)
        wait_until(lambda: proxy_ready(proxy_port), "the counting proxy", counter, 30)
        say(f"DynamoDB Local on :{db_port}, counted through {endpoint}")

        sip_port, api_port, lambda_port = free_port(), free_port(), free_port()
        admin_key = "sb_admin_bench_" + secrets.token_hex(8)
        env = {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "SIP_PORT": str(sip_port),
            "API_PORT": str(api_port),
            "LAMBDA_PORT": str(lambda_port),
            # Every port of the stack from this machine's free ones: it may be shared.
            **{
                name: str(free_port())
                for name in ("WEB_PORT", "WS_PORT", "WS_MANAGEMENT_PORT", "MEDIA_NG_PORT", "MEDIA_DTMF_PORT")
            },
            "SWITCHBOARD_ADMIN_KEY": admin_key,
            "SWITCHBOARD_TABLE": f"switchboard-bench-{uuid.uuid4().hex[:6]}",
            "PYTHONUNBUFFERED": "1",
        }
        for stale in (
            "AWS_ENDPOINT_URL",
            "AWS_ENDPOINT_URL_DYNAMODB",
            "AWS_ENDPOINT_URL_LAMBDA",
            "AWS_PROFILE",
        ):
            env.pop(stale, None)
        if profile is not None:
            env.update(profiling_env("sip_edge", profile, env))
        stack = Child(
            f"{tag}local-stack",
            [sys.executable, "-m", "local_stack", "--dynamodb-endpoint", endpoint, *stack_args],
            out_dir / f"{tag}local-stack.log",
            env=env,
            cwd=ROOT,
        )
        children.append(stack)
        stack.start()
        wait_for_text(stack, "Switchboard is up", 120)
        roles = stack_processes(stack.pid)
        missing = {"edge", "lambda", "api"} - set(roles)
        if missing:
            raise RuntimeError(f"the local stack has no {', '.join(sorted(missing))} process: {roles}")
        say(
            f"local stack up: SIP udp:127.0.0.1:{sip_port}, API :{api_port}, Lambda :{lambda_port}; "
            + ", ".join(f"{name} pid {pid}" for name, pid in roles.items())
        )
        yield CountedStack(
            roles,
            db.pid,
            counter.pid,
            DbCounts(proxy_port),
            stack,
            sip_port,
            Api(f"http://127.0.0.1:{api_port}", admin_key),
            f"http://127.0.0.1:{db_port}",
            f"http://127.0.0.1:{lambda_port}/",
        )
    finally:
        for child in reversed(children):
            child.stop()


@dataclass
class RoutedStack:
    """A running local stack with onboarded, registered, available agents, ready for carrier calls."""

    load: CallLoad
    roles: dict[str, int]  # edge, lambda, api -> pid
    db_pid: int
    counter_pid: int
    counts: DbCounts
    stack: Child
    lambda_url: str = ""

    def function_usage(self) -> dict[str, dict[str, int]]:
        """The local Lambda service's CPU and invocations per function so far (empty from a stack
        that does not report them)."""
        with urllib.request.urlopen(self.lambda_url, timeout=5) as response:
            data: dict[str, dict[str, int]] = json.loads(response.read())
        return {key: data.get(key, {}) for key in ("cpu_ns", "invocations")}


@contextlib.contextmanager
def routed_stack(
    args: argparse.Namespace, out_dir: Path, users_csv: Path, agents: int, profile: Path | None = None
) -> Iterator[RoutedStack]:
    """The counted stack (`counted_stack`) with a merchant of `agents` seats onboarded over the API,
    registered from one sipp socket and made available, and the sipp UAS answering them."""
    tag = "profiled-" if profile is not None else ""
    with counted_stack(out_dir, tag, profile) as counted, contextlib.ExitStack() as children:
        api, sip_port = counted.api, counted.sip_port
        number = "+14155550100"
        started = time.monotonic()
        onboarded = onboard(api, agents, number)
        say(
            f"onboarded merchant {onboarded.merchant_id}: queue, number {number}, {agents} seats "
            f"(domain {onboarded.domain}) in {time.monotonic() - started:.1f} s"
        )
        agent_port = free_port()
        agents_csv = write_users_csv(out_dir / f"{tag}agents.csv", [(u, p) for _, u, p in onboarded.seats])
        registered = run_sipp(
            f"127.0.0.1:{sip_port}",
            "register_auth.xml",
            agents_csv,
            args.register_rate,
            agents,
            onboarded.domain,
            out_dir,
            f"{tag}agents-register",
            extra=["-p", str(agent_port)],
        )
        say(f"agents: {registered.successful} of {agents} registered from udp:127.0.0.1:{agent_port}")
        if not registered.clean:
            errors = sipp_errors(registered)
            raise RuntimeError(f"agents did not register: {registered.failed} failed; {'; '.join(errors)}")
        make_available(api, onboarded)
        say(f"agents: {agents} seats available")
        phones = uas_child(f"{tag}agents", agent_port, out_dir, args.mode_budget_s)
        children.callback(phones.stop)
        phones.start()
        time.sleep(0.5)
        yield RoutedStack(
            CallLoad(f"127.0.0.1:{sip_port}", number, args.routed_hold_ms, out_dir, users_csv),
            counted.roles,
            counted.db_pid,
            counted.counter_pid,
            counted.counts,
            counted.stack,
            counted.lambda_url,
        )


def bench_routed(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> ModeResult:
    result = ModeResult(
        "routed",
        "python -m local_stack on DynamoDB Local (behind a counting proxy): trunk check, routing "
        f"Lambda, {args.agents} registered sipp agents, wrap-up 0",
    )
    try:
        with routed_stack(args, out_dir, users_csv, args.agents) as running:
            load = running.load
            if not warm_up_and_probe(result, load, args.routed_warm_rate, args.routed_warm_calls):
                result.extra["stack_log_tail"] = running.stack.log_tail(20)
                return result
            meters = Meters(
                {
                    "edge": CpuMeter(running.roles["edge"]),
                    "lambda": CpuMeter(running.roles["lambda"], with_exited_threads=True),
                    "dynamodb": CpuMeter(running.db_pid),
                    "api": CpuMeter(running.roles["api"], with_exited_threads=True),
                    "counter": CpuMeter(running.counter_pid),
                },
                main="edge",
                db=running.counts,
                functions=running.function_usage,
            )
            result.idle_pct = meters.calibrate(args.idle_seconds)
            idle_before = running.counts.snapshot()
            time.sleep(args.idle_seconds)
            idle = DbCounts.window(idle_before, running.counts.snapshot())
            result.extra["idle_dynamodb_requests_per_s"] = {
                name: {op: n / args.idle_seconds for op, n in ops.items()}
                for name, ops in idle.requests.items()
            }
            say(
                "routed: idle CPU % of a core: "
                + ", ".join(f"{k} {v:.1f}" for k, v in result.idle_pct.items())
                + f"; idle DynamoDB requests/s: {result.extra['idle_dynamodb_requests_per_s']}"
            )
            result.extra["agents"] = args.agents
            result.extra["one_call_requests"] = one_call_requests(load, running.counts, args.routed_hold_ms)
            ramp(result, meters, load, args.routed_rates, args)
            for name, pid in running.roles.items():
                if not Path(f"/proc/{pid}").exists():
                    result.error = f"the stack's {name} process exited during the run"
            if result.steps and not result.steps[-1].sustained:
                result.extra["stack_log_tail"] = running.stack.log_tail(15)
    except Exception as exc:
        result.error = str(exc)
        say(f"routed: ERROR {exc}")
    return result


def profile_routed(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> dict[str, object]:
    """A short routed run with the stack's edge profiling every thread: where a routed call's
    edge CPU goes (event loop and SDK worker threads)."""
    profile = out_dir / "edge-routed.prof"
    rate, calls = args.profile_routed_rate, args.profile_routed_calls
    found: dict[str, object] = {"file": str(profile.relative_to(ROOT)), "rate": rate, "calls": calls}
    try:
        with routed_stack(args, out_dir, users_csv, args.profile_routed_agents, profile) as running:
            running.load(args.routed_warm_rate, args.routed_warm_calls, "routed-profiled-warmup")
            start_profiling(running.roles["edge"])
            say(f"profile: routed edge under cProfile (CPU time, every thread), {calls} calls at {rate}/s")
            run, _ = running.load(rate, calls, "routed-profiled")
            found["ok"], found["failed"] = run.successful, run.failed
            time.sleep(2.0)
    except Exception as exc:
        found["error"] = str(exc)
        say(f"profile: ERROR {exc}")
    return report_profile(profile, found, args.profile_top, "the routed edge")


# --- report -------------------------------------------------------------------------------------------

HEADER = [
    "mode",
    "target/s",
    "calls",
    "ok",
    "failed",
    "retrans",
    "started/s",
    "setup p50 ms",
    "setup p99 ms",
    "kamailio us/call",
    "edge us/call",
    "edge loop us/call",
    "lambda us/call",
    "DynamoDB Local us/call",
    "api us/call",
    "counter us/call",
    "busiest CPU %",
    "DynamoDB req/call",
    "stream reads/call",
    "sustained",
]


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return "<1" if value < 1 else f"{value:.0f}"


def table_rows(results: Sequence[ModeResult]) -> list[list[str]]:
    rows = []
    for result in results:
        for step in result.steps:
            run = step.sipp
            busiest = max(step.cpu_pct.items(), key=lambda item: item[1], default=("-", 0.0))
            rows.append(
                [
                    result.name,
                    str(step.rate),
                    str(run.calls),
                    str(run.successful),
                    str(run.failed),
                    str(run.retransmissions),
                    fmt(step.achieved_rate),
                    _ms(percentile(step.setup_ms, 0.5)),
                    _ms(percentile(step.setup_ms, 0.99)),
                    *[fmt(step.cpu_us.get(name)) for name in ("kamailio", "edge")],
                    fmt(step.loop_us),
                    *[fmt(step.cpu_us.get(name)) for name in ("lambda", "dynamodb", "api", "counter")],
                    f"{busiest[0]} {busiest[1]:.0f}",
                    fmt(step.per_call(step.table_requests()), ".2f"),
                    fmt(step.per_call(step.stream_requests()), ".2f"),
                    "yes" if step.sustained else "NO",
                ]
            )
    return rows


def text_table(rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(HEADER)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(HEADER, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def ratios(edge: ModeResult, kamailio: ModeResult) -> dict[int, float]:
    """Edge CPU per call / Kamailio's, at every rate both sustained."""
    found: dict[int, float] = {}
    for step in edge.steps:
        other = kamailio.step_at(step.rate)
        if step.sustained and other and other.sustained and other.cpu_us.get("kamailio"):
            found[step.rate] = step.cpu_us["edge"] / other.cpu_us["kamailio"]
    return found


def reference_step(result: ModeResult, preferred: int) -> CallStep | None:
    """The sustained step at `preferred` calls/s, else the highest sustained one, else None."""
    sustained = [s for s in result.steps if s.sustained]
    at = next((s for s in sustained if s.rate == preferred), None)
    return at or (sustained[-1] if sustained else None)


def code_path(process: str, kind: str) -> str:
    """Which part of the system made a request of ``kind`` (``dynamodb_counter.request_kind``)."""
    if process != "lambda":
        return process
    if "LISTENERS" in kind:
        return "stream: events_socket"
    if "WEBHOOK" in kind:
        return "stream: webhooks"
    return "routing"


def kinds_per_call(step: CallStep) -> dict[str, dict[str, float]]:
    """Table requests per call by code path, then by kind (stream reads left out)."""
    if step.db is None or not step.calls_ok:
        return {}
    found: dict[str, dict[str, float]] = {}
    for process, kinds in step.db.kinds.items():
        for kind, n in kinds.items():
            if kind.startswith(("GetRecords", "DescribeStream", "GetShardIterator", "ListStreams")):
                continue
            path = found.setdefault(code_path(process, kind), {})
            path[kind] = path.get(kind, 0.0) + n / step.calls_ok
    return found


def db_breakdown(step: CallStep) -> str:
    if step.db is None or not step.db.requests:
        return "-"
    parts = []
    for name, operations in sorted(step.db.requests.items()):
        table_ops = {op: n for op, n in operations.items() if not op.startswith("Streams.")}
        if not table_ops:
            continue
        ops = ", ".join(
            f"{op} {n / step.calls_ok:.2f}" for op, n in sorted(table_ops.items(), key=lambda i: -i[1])
        )
        parts.append(f"{name}: {ops}")
    return "; ".join(parts) or "-"


def verdict(ok: bool) -> str:
    return "MET" if ok else "MISSED"


def summary_lines(results: dict[str, ModeResult], profiles: dict[str, dict[str, object]]) -> list[str]:
    lines: list[str] = []
    for result in results.values():
        if result.error and not result.steps:
            lines.append(f"{result.name}: no measurement - {result.error.splitlines()[0]}")
            continue
        lines.append(
            f"{result.name}: max calls/s with zero failures {fmt(result.max_sustained_rate)} "
            f"(ramp stopped: {result.stopped_because or result.error or '-'})"
        )
    kamailio, edge, routed = results.get("kamailio"), results.get("edge"), results.get("routed")
    if kamailio and kamailio.steps:
        sustained = [s.cpu_us["kamailio"] for s in kamailio.steps if s.sustained]
        if sustained:
            lines.append(
                f"kamailio CPU per call {min(sustained):.0f}-{max(sustained):.0f} us over its sustained "
                f"steps (reference on this kind of machine: {KAMAILIO_REFERENCE})"
            )
    if edge and kamailio:
        found = ratios(edge, kamailio)
        if found:
            lines.append(
                "CPU ratio edge (SIP path) / Kamailio per call: "
                + ", ".join(f"{rate}/s {ratio:.1f}x" for rate, ratio in found.items())
            )
    if edge and edge.steps:
        sustained = [s for s in edge.steps if s.sustained]
        worst = max(sustained, key=lambda s: s.cpu_us["edge"], default=None)
        found = ratios(edge, kamailio) if kamailio else {}
        worst_ratio = max(found.values(), default=None)
        cpu_ok = worst is not None and worst.cpu_us["edge"] <= TARGET_SIP_CPU_US
        lines.append(
            f"target SIP path <= {TARGET_SIP_CPU_US / 1000:.0f} ms edge CPU per call: {verdict(cpu_ok)} "
            f"(worst sustained step {fmt(worst.cpu_us['edge'] if worst else None)} us at "
            f"{worst.rate if worst else '-'}/s); <= {TARGET_SIP_RATIO:.0f}x Kamailio: "
            f"{verdict(worst_ratio is not None and worst_ratio <= TARGET_SIP_RATIO)} "
            f"(worst {fmt(worst_ratio, '.1f')}x)"
        )
    if routed and routed.steps:
        at = reference_step(routed, TARGET_ROUTED_RATE)
        rate_ok = (routed.max_sustained_rate or 0) >= TARGET_ROUTED_RATE
        lines.append(
            f"target whole stack >= {TARGET_ROUTED_RATE} calls/s with zero failures on "
            f"{os.cpu_count()} cores: {verdict(rate_ok)} ({fmt(routed.max_sustained_rate)}/s)"
        )
        if at is not None:
            edge_us = at.cpu_us.get("edge", 0.0)
            db_per_call = at.per_call(at.table_requests()) or 0.0
            lines.append(
                f"target <= {TARGET_ROUTED_CPU_US / 1000:.0f} ms edge CPU per routed call: "
                f"{verdict(edge_us <= TARGET_ROUTED_CPU_US)} ({edge_us:.0f} us at {at.rate}/s, of which "
                f"event loop {fmt(at.loop_us)} us, SDK worker threads "
                f"{fmt(edge_us - (at.loop_us or 0.0))} us); that is {1e6 / max(edge_us, 1):.0f} routed "
                f"calls/s per core of edge"
            )
            total = sum(at.cpu_us.values())
            lines.append(
                f"CPU per routed call at {at.rate}/s, every process: "
                + ", ".join(f"{k} {v:.0f} us" for k, v in at.cpu_us.items())
                + f" = {total:.0f} us ({1e6 / max(total, 1):.0f} calls/s per core of the whole stack)"
            )
            if at.function_cpu_us:
                routing_ms = at.function_cpu_us.get("routing", 0.0) / 1000
                lines.append(
                    f"target <= {TARGET_ROUTING_FUNCTION_CPU_US / 1000:.0f} ms of the routing function's "
                    f"CPU per routed call: {verdict(routing_ms * 1000 <= TARGET_ROUTING_FUNCTION_CPU_US)} "
                    f"({routing_ms:.2f} ms in its handler's thread at {at.rate}/s); every function, "
                    "CPU per call (invocations per call): "
                    + ", ".join(
                        f"{name} {us / 1000:.2f} ms ({at.function_invocations.get(name, 0.0):.2f})"
                        for name, us in sorted(at.function_cpu_us.items(), key=lambda item: -item[1])
                    )
                )
            paths = kinds_per_call(at)
            routing = sum(paths.get("routing", {}).values())
            lines.append(
                f"target <= {TARGET_DB_REQUESTS:.0f} DynamoDB requests per routed call (the routing "
                f"function's): {verdict(routing <= TARGET_DB_REQUESTS)} ({routing:.2f} at {at.rate}/s; "
                f"every process {db_per_call:.2f}, counted by the proxy; stream reads of the local "
                f"Lambda's poller {fmt(at.per_call(at.stream_requests()), '.2f')} per call on top, "
                f"time-based, not per call); by process and operation per call: {db_breakdown(at)}"
            )
            for path, kinds in sorted(paths.items()):
                lines.append(f"  {path}: {sum(kinds.values()):.2f} requests per call")
                for kind, n in sorted(kinds.items(), key=lambda item: -item[1]):
                    lines.append(f"    {n:5.2f}  {kind}")
            setup = (percentile(at.setup_ms, 0.5), percentile(at.setup_ms, 0.99))
            lines.append(f"routed setup time at {at.rate}/s: p50 {_ms(setup[0])} ms, p99 {_ms(setup[1])} ms")
    for name, found in profiles.items():
        areas = found.get("by_area")
        if isinstance(areas, dict) and areas:
            what = "fixed target" if name == "edge" else "routed"
            lines.append(
                f"edge profile ({what}; cProfile, {found['calls']} calls at {found['rate']}/s), own time "
                "by area: " + ", ".join(f"{k} {v:.0f} %" for k, v in areas.items())
            )
    return lines


def results_section(
    facts: dict[str, object],
    args: argparse.Namespace,
    results: dict[str, ModeResult],
    profiles: dict[str, dict[str, object]],
    json_path: Path,
) -> str:
    rows = table_rows(list(results.values()))
    parts = [
        f"## Call benchmark, {facts['date']}",
        "",
        f"Machine: {facts['nproc']} vCPU {facts['cpu_model']}, {facts['memory_gib']} GiB, kernel "
        f"{facts['kernel']}; Python {facts['python']} ({facts['event_loop']}); {facts['sipp']}; "
        f"{facts['kamailio']}; load average at start {facts['loadavg_at_start']} (shared machine).",
        "",
        f"Command: `.venv/bin/python bench/call_bench.py {' '.join(args.argv)}`".rstrip()
        + f" — hold {args.hold_ms} ms (routed {args.routed_hold_ms} ms); SIP-path steps of max({args.min_calls}, rate x "
        f"{args.step_seconds:g} s) calls, routed steps of max({args.routed_min_calls}, rate x "
        f"{args.routed_step_seconds:g} s) calls with {args.agents} agents; each ramp stops at its first "
        f"step with a failed call, sipp below 95 % of the rate, or a setup p99 above "
        f"{args.max_setup_p99_ms / 1000:g} s. Raw data: `{json_path.relative_to(ROOT)}`.",
        "",
        "CPU is us per successful call above each process's idle rate (schedstat); edge loop = the "
        "edge's main thread (event loop), the rest of the edge's CPU is its worker threads; DynamoDB "
        "req/call = table requests counted by the proxy; stream reads = the local Lambda's stream "
        "poller (time-based).",
        "",
        markdown_table(rows),
        "",
        *[f"- {line}" for line in summary_lines(results, profiles)],
    ]
    for result in results.values():
        if result.probe:
            parts.append(f"- {result.name} probe call: " + " / ".join(f"`{p}`" for p in result.probe))
        if result.error:
            parts.append(f"- {result.name} error: {result.error.splitlines()[0]}")
    one_call = results["routed"].extra.get("one_call_requests") if "routed" in results else None
    if isinstance(one_call, list) and one_call:
        parts += [
            "",
            f"One routed call, its {len(one_call)} DynamoDB requests in order (process, operation, keys):",
        ]
        parts += ["", "```", *[f"{n:2d}. {line}" for n, line in enumerate(one_call, 1)], "```"]
    for name, found in profiles.items():
        top = found.get("top")
        if isinstance(top, list) and top:
            what = "fixed-target edge" if name == "edge" else "routed edge"
            parts += [
                "",
                f"Profile of the {what} ({found['file']}; CPU time of every thread, {found['calls']} calls "
                f"at {found['rate']}/s after a warm-up), top functions by own time:",
                "",
                "```",
            ]
            parts += [str(line) for line in top[:15]]
            parts += ["```"]
            cumulative = found.get("top_cumulative")
            if isinstance(cumulative, list) and cumulative:
                parts += ["", "The same, by time including callees:", "", "```"]
                parts += [str(line) for line in cumulative[:20]]
                parts += ["```"]
    return "\n".join(parts) + "\n"


# --- command line -------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="call_bench.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="two short steps per mode: checks the script")
    parser.add_argument("--modes", default="kamailio,edge,routed", help="which modes, in order")
    parser.add_argument("--sip-rates", help="calls/s of the kamailio and edge ramps, ascending")
    parser.add_argument("--routed-rates", help="calls/s of the routed ramp, ascending")
    parser.add_argument("--step-seconds", type=float, help="SIP-path step length (default 5 s)")
    parser.add_argument("--routed-step-seconds", type=float, help="routed step length (default 10 s)")
    parser.add_argument(
        "--hold-ms", type=int, default=100, help="SIP-path modes: hold before the caller's BYE (100 ms)"
    )
    parser.add_argument(
        "--routed-hold-ms",
        type=int,
        default=1000,
        help="routed mode: hold before the caller's BYE (1000 ms: the answer is reported and the dialog "
        "stored before the hang-up, as in any real call)",
    )
    parser.add_argument(
        "--max-setup-p99-ms",
        type=float,
        default=3000.0,
        help="a step whose setup p99 exceeds this is not sustained even without failed calls: the "
        "stack fell behind and callers wait (default 3000 ms)",
    )
    parser.add_argument("--agents", type=int, help="registered agents in the routed mode (default 150)")
    record = parser.add_mutually_exclusive_group()
    record.add_argument("--record", dest="record", action="store_true", default=None)
    record.add_argument("--no-record", dest="record", action="store_false", help="do not touch RESULTS.md")
    profile = parser.add_mutually_exclusive_group()
    profile.add_argument("--profile", dest="profile", action="store_true", default=None)
    profile.add_argument(
        "--no-profile", dest="profile", action="store_false", help="skip the cProfile runs of the edge"
    )
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    quick = args.quick

    def rates(text: str | None, default: Sequence[int]) -> list[int]:
        return sorted(int(r) for r in text.split(",")) if text else list(default)

    args.sip_rates = rates(args.sip_rates, QUICK_SIP_RATES if quick else SIP_RATES)
    args.routed_rates = rates(args.routed_rates, QUICK_ROUTED_RATES if quick else ROUTED_RATES)
    args.step_seconds = args.step_seconds or (2.0 if quick else 5.0)
    args.routed_step_seconds = args.routed_step_seconds or (3.0 if quick else 10.0)
    args.min_calls = 200 if quick else 500
    args.routed_min_calls = 30 if quick else 100
    args.agents = args.agents or (30 if quick else 150)
    args.settle = 1.0
    args.routed_settle = 2.0
    args.idle_seconds = 1.0 if quick else 2.0
    args.sip_warm_rate, args.sip_warm_calls = (100, 100) if quick else (100, 300)
    args.routed_warm_rate, args.routed_warm_calls = (5, 10) if quick else (10, 40)
    args.register_rate = 50
    args.profile_rate, args.profile_calls = (100, 300) if quick else (200, 2000)
    args.profile_routed_rate, args.profile_routed_calls = (5, 20) if quick else (10, 150)
    args.profile_routed_agents = 30
    args.profile_top = 25
    # Every sipp UAS and server of a mode is bounded by this, whatever happens to the script.
    args.mode_budget_s = 900
    args.modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = set(args.modes) - {"kamailio", "edge", "routed"}
    if unknown:
        parser.error(f"unknown modes: {', '.join(sorted(unknown))}")
    if args.record is None:
        args.record = not quick
    if args.profile is None:
        args.profile = not quick
    return args


def check_tools(modes: Sequence[str]) -> None:
    missing = [tool for tool in ("sipp",) if shutil.which(tool) is None]
    if "kamailio" in modes and shutil.which("kamailio") is None:
        missing.append("kamailio")
    if "routed" in modes and shutil.which("java") is None:
        missing.append("java")
    if missing:
        raise SystemExit(f"call-bench: missing {', '.join(missing)} (Debian: sip-tester, kamailio, java)")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools(args.modes)
    facts = machine_facts()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = OUT / f"calls-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    say(
        f"{facts['nproc']} x {facts['cpu_model']}, kernel {facts['kernel']}, Python {facts['python']}, "
        f"load {facts['loadavg_at_start']}; output in {out_dir.relative_to(ROOT)}"
    )
    say(
        f"modes {', '.join(args.modes)}; SIP-path rates {', '.join(map(str, args.sip_rates))}/s; routed "
        f"rates {', '.join(map(str, args.routed_rates))}/s; hold {args.hold_ms} ms"
    )
    # The carrier's injection file: sipp needs one, the call scenario reads nothing from it.
    users_csv = write_users_csv(out_dir / "carrier.csv", [("carrier", "unused")])
    results: dict[str, ModeResult] = {}
    profiles: dict[str, dict[str, object]] = {}
    benches: dict[str, Callable[[argparse.Namespace, Path, Path], ModeResult]] = {
        "kamailio": bench_kamailio,
        "edge": bench_edge,
        "routed": bench_routed,
    }
    with stop_on_signals():
        for mode in args.modes:
            say(f"--- {mode} ---")
            results[mode] = benches[mode](args, out_dir, users_csv)
            if mode == "edge" and args.profile:
                profiles["edge"] = profile_edge(args, out_dir, users_csv)
            if mode == "routed" and args.profile:
                profiles["routed"] = profile_routed(args, out_dir, users_csv)

    rows = table_rows(list(results.values()))
    print()
    print(text_table(rows))
    print()
    lines = summary_lines(results, profiles)
    for line in lines:
        print(line)
    json_path = OUT / f"calls-{stamp}.json"
    json_path.write_text(
        json.dumps(
            {
                "benchmark": "calls",
                "machine": facts,
                "settings": {
                    "hold_ms": args.hold_ms,
                    "routed_hold_ms": args.routed_hold_ms,
                    "sip_rates": args.sip_rates,
                    "routed_rates": args.routed_rates,
                    "step_seconds": args.step_seconds,
                    "routed_step_seconds": args.routed_step_seconds,
                    "agents": args.agents,
                    "rate_tolerance": RATE_TOLERANCE,
                },
                "modes": {name: r.as_dict() for name, r in results.items()},
                "cpu_ratio_edge_over_kamailio": (
                    {str(k): v for k, v in ratios(results["edge"], results["kamailio"]).items()}
                    if "edge" in results and "kamailio" in results
                    else {}
                ),
                "profiles": profiles,
                "summary": lines,
            },
            indent=2,
        )
    )
    print(f"\nresults: {json_path.relative_to(ROOT)}")
    if args.record:
        append_results(results_section(facts, args, results, profiles, json_path))
        print(f"recorded in {(BENCH / 'RESULTS.md').relative_to(ROOT)}")
    say("done")
    return 0 if all(not r.error for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
