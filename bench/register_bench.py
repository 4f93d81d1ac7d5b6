"""REGISTER benchmark: the Switchboard edge and Kamailio under the same sipp load.

One command (``make bench-register`` or ``.venv/bin/python bench/register_bench.py``):

1. writes N seats (default 7,000) with password ``pw-<username>``;
2. Kamailio (Debian package, bench/kamailio/registrar.cfg: one UDP worker, in-memory usrloc,
   digest auth MD5 + qop=auth): every seat registers once, then refresh rounds ramp the rate until
   a step has failures or misses its rate; a second Kamailio without auth gives the calibration
   figure (about 20-30 us per REGISTER on this kind of machine);
3. the edge: DynamoDB Local (in memory), the table and the seats' SIP credentials, one
   ``python -m sip_edge`` process (started through bench/edge_wrapper.py, which reports its
   counters on SIGUSR1); the same first round and the same ramp;
4. prints a table and the edge/Kamailio CPU ratio, writes bench/out/register-<time>.json and
   appends a dated section to bench/RESULTS.md (full runs only, unless --record).

Each registration is REGISTER -> 401 -> REGISTER with credentials -> 200 (bench/scenarios/
register_auth.xml). CPU is the scheduler's run time of the server's whole process tree (every
thread, every forked process) over the step, minus its idle rate, per successful registration.
Memory per contact is the growth of the server's memory over the first round divided by the
seats: VmRSS of the edge process; PSS summed over Kamailio's processes (its usrloc is in shared
memory, which RSS would count once per process).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from measure import CpuMeter, descendants, free_port, loadavg, machine_facts, pss_kb, rss_kb
from sipp_load import SippRun, run_sipp, write_users_csv

from local_stack import dynamodb_local

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
OUT = BENCH / "out"
RESULTS = BENCH / "RESULTS.md"
KAMAILIO_CFG = BENCH / "kamailio" / "registrar.cfg"

DEFAULT_RATES = (250, 500, 750, 1000, 1500, 2000, 3000, 5000, 10000, 15000, 20000, 25000, 30000)
QUICK_RATES = (500, 1000)
RATE_TOLERANCE = 0.95  # a step "sustains" its target when sipp's achieved rate is within 5 %
SETTLE_S = 1.0  # after sipp exits: write-behind flushes and late retransmissions still count
TARGET_RATE = 1000
TARGET_CPU_US = 300.0
STORM_RATE = 3500  # 7,000 seats in 2 s: as fast as sipp sends on the reference machine
STORM_TARGET_S = 15.0  # every seat registered within 15 s of the storm's start, none failed
STORM_TARGET_CPU_US = 500.0
STORM_MAX_S = 90.0

_started = time.monotonic()


def say(text: str) -> None:
    # Never let a closed stdout (`| head`) stop the clean-up that follows a progress line.
    with contextlib.suppress(OSError):
        print(f"[register-bench {time.monotonic() - _started:6.1f}s] {text}", flush=True)


# --- seats ----------------------------------------------------------------------------------------


def seat_users(count: int, prefix: str = "seat") -> list[tuple[str, str]]:
    """(username, password): the password derives from the name, as Kamailio's config computes it."""
    return [(f"{prefix}{n:05d}", f"pw-{prefix}{n:05d}") for n in range(1, count + 1)]


PROBE_USER = ("seat00000", "pw-seat00000")


def md5_hex(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# --- child processes --------------------------------------------------------------------------------


@dataclass
class Child:
    """A server this script started; stopped by its own PID (and its leftover descendants by theirs)."""

    name: str
    command: list[str]
    log_path: Path
    env: dict[str, str] | None = None
    cwd: Path | None = None
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        say(f"started {self.name} (pid {self.proc.pid})")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        family = [pid for pid in descendants(self.proc.pid) if pid != self.proc.pid]
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in family:  # forked processes that outlived their parent, by PID only
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        say(f"stopped {self.name} (pid {self.proc.pid}, exit {self.proc.returncode})")


def sip_options_status(port: int, timeout: float = 0.5) -> int | None:
    """Send one OPTIONS over UDP to 127.0.0.1:port; the status code of the answer, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        local = sock.getsockname()[1]
        tag = uuid.uuid4().hex[:10]
        message = (
            f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bK{tag};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:probe@127.0.0.1>;tag={tag}\r\n"
            f"To: <sip:127.0.0.1:{port}>\r\n"
            f"Call-ID: {tag}@127.0.0.1\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        sock.settimeout(timeout)
        try:
            sock.sendto(message.encode(), ("127.0.0.1", port))
            data = sock.recv(65535)
        except OSError:
            return None
    first = data.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) >= 2 and first[1].isdigit() else None


def wait_until(check: Callable[[], bool], what: str, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if not child.alive():
            raise RuntimeError(f"{child.name} exited while starting:\n{child.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready after {timeout:.0f} s:\n{child.log_tail()}")
        time.sleep(0.2)


# --- measurement ----------------------------------------------------------------------------------


Counters = Callable[[], dict[str, int]]


class Loader(Protocol):
    """Runs one bounded sipp load: ``calls`` registrations at ``rate``/s, seats from ``users``."""

    def __call__(self, rate: int, calls: int, tag: str, users: Path | None = None) -> SippRun: ...


@dataclass
class Step:
    phase: str  # "first" (every seat once, nothing cached) or "refresh"
    rate: int
    sipp: SippRun
    cpu_us_per_reg: float
    server_cpu_pct: float  # busy CPU over the step's wall time, in % of one core
    sipp_cpu_pct: float
    server_wait_pct: float = 0.0  # run-queue wait over the step, in % of wall: CPU contention
    db_cpu_us_per_reg: float | None = None
    loop_cpu_us_per_reg: float | None = None  # the edge's main thread alone: its event loop
    counters: dict[str, int] | None = None  # the edge's own counters over the step
    load: float = 0.0

    @property
    def sustained(self) -> bool:
        return self.sipp.clean and self.sipp.achieved_rate >= RATE_TOLERANCE * self.rate

    def as_dict(self) -> dict[str, object]:
        return {
            "phase": self.phase,
            "rate": self.rate,
            "sustained": self.sustained,
            "cpu_us_per_registration": round(self.cpu_us_per_reg, 1),
            "event_loop_cpu_us_per_registration": (
                round(self.loop_cpu_us_per_reg, 1) if self.loop_cpu_us_per_reg is not None else None
            ),
            "server_cpu_percent": round(self.server_cpu_pct, 1),
            "sipp_cpu_percent": round(self.sipp_cpu_pct, 1),
            "server_runqueue_wait_percent": round(self.server_wait_pct, 1),
            "dynamodb_cpu_us_per_registration": (
                round(self.db_cpu_us_per_reg, 1) if self.db_cpu_us_per_reg is not None else None
            ),
            "loadavg_1m": self.load,
            "edge_counters": self.counters,
            "sipp": self.sipp.as_dict(),
        }


@dataclass
class ServerResult:
    name: str
    auth: str
    steps: list[Step] = field(default_factory=list)
    memory_kb_before: int = 0
    memory_kb_round_end: int = 0  # 1 s after the first round: with its transactions still alive
    memory_kb_after: int = 0  # once they are gone (memory_settle_s later): what the contacts keep
    memory_settle_s: float = 0.0
    memory_metric: str = ""
    seats: int = 0
    idle_cpu_pct: float = 0.0
    stopped_because: str = ""
    error: str = ""
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def memory_per_contact_bytes(self) -> float | None:
        if not self.seats or not self.memory_kb_after:
            return None
        return (self.memory_kb_after - self.memory_kb_before) * 1024 / self.seats

    @property
    def max_sustained_rate(self) -> int | None:
        rates = [s.rate for s in self.steps if s.phase == "refresh" and s.sustained]
        return max(rates) if rates else None

    def step_at(self, rate: int) -> Step | None:
        for step in self.steps:
            if step.phase == "refresh" and step.rate == rate:
                return step
        return None

    def first(self) -> Step | None:
        return next((s for s in self.steps if s.phase == "first"), None)

    def as_dict(self) -> dict[str, object]:
        per_contact = self.memory_per_contact_bytes
        return {
            "name": self.name,
            "auth": self.auth,
            "seats": self.seats,
            "max_sustained_rate": self.max_sustained_rate,
            "memory_metric": self.memory_metric,
            "memory_kb_before_first_round": self.memory_kb_before,
            "memory_kb_1s_after_first_round": self.memory_kb_round_end,
            "memory_settle_seconds": self.memory_settle_s,
            "memory_kb_after_first_round_settled": self.memory_kb_after,
            "memory_bytes_per_contact": round(per_contact) if per_contact is not None else None,
            "idle_cpu_percent": round(self.idle_cpu_pct, 2),
            "stopped_because": self.stopped_because,
            "error": self.error,
            "steps": [s.as_dict() for s in self.steps],
            **self.extra,
        }


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measured_step(
    phase: str,
    rate: int,
    calls: int,
    server: CpuMeter,
    db: CpuMeter | None,
    load: Loader,
    tag: str,
    counters: Counters | None = None,
) -> Step:
    """One bounded sipp load with the server's (and the database's) CPU read around it."""
    before = counters() if counters is not None else None
    server.start()
    if db is not None:
        db.start()
    sipp_before = children_cpu_s()
    run = load(rate, calls, tag)
    sipp_cpu = children_cpu_s() - sipp_before
    time.sleep(SETTLE_S)
    busy_ns, _ = server.stop()
    db_ns = db.stop()[0] if db is not None else None
    after = counters() if counters is not None else None
    delta = {k: v - before.get(k, 0) for k, v in after.items()} if before and after else None
    ok = max(1, run.successful)
    if not run.successful and delta and delta.get("registrations"):
        # sipp was stopped before it wrote its statistics (a storm past its time limit): the edge's
        # own count of registrations done is what CPU is divided by.
        ok = int(delta["registrations"])
        say(f"{tag}: sipp wrote no final statistics; the edge registered {ok} seats in the step")
    return Step(
        phase=phase,
        rate=rate,
        sipp=run,
        cpu_us_per_reg=busy_ns / 1000 / ok,
        server_cpu_pct=100 * busy_ns / 1e9 / max(run.wall_s, 1e-6),
        sipp_cpu_pct=100 * sipp_cpu / max(run.wall_s, 1e-6),
        server_wait_pct=100 * server.wait_ns / 1e9 / max(run.wall_s, 1e-6),
        db_cpu_us_per_reg=(db_ns / 1000 / ok) if db_ns is not None else None,
        # With a database beside it, the server is the edge: its main thread runs the event loop,
        # the other threads are asyncio.to_thread workers calling DynamoDB.
        loop_cpu_us_per_reg=server.main_thread_ns / 1000 / ok if db is not None else None,
        load=loadavg(),
        counters=delta,
    )


def describe(step: Step) -> str:
    run = step.sipp
    db = f", DynamoDB {step.db_cpu_us_per_reg:.0f} us/reg" if step.db_cpu_us_per_reg is not None else ""
    if step.loop_cpu_us_per_reg is not None:
        db = f", event loop {step.loop_cpu_us_per_reg:.0f} us/reg" + db
    if step.counters:
        c = step.counters
        db += (
            f"; credential loads {c.get('credential_loads', 0)}, binding loads {c.get('binding_loads', 0)}, "
            f"bindings written {c.get('bindings_written', 0)} in {c.get('binding_write_requests', 0)} requests, "
            f"answered before written {c.get('answered_before_written', 0)}, refused as unwritten "
            f"{c.get('refused_unwritten', 0)}, retransmissions absorbed "
            f"{c.get('retransmissions_absorbed', 0)}, challenges sent again "
            f"{c.get('challenges_replayed', 0)}; batch reads: credentials {c.get('credential_reads', 0)}, "
            f"bindings {c.get('binding_reads', 0)}; shed with 503 {c.get('shed', 0)}, admitted on their "
            f"return {c.get('readmitted', 0)}, address lockouts {c.get('lockouts', 0)}"
        )
    verdict = "ok" if step.sustained else "NOT SUSTAINED"
    return (
        f"{step.phase:7s} {step.rate:>6}/s x {run.calls:>6}: ok {run.successful}, failed {run.failed} "
        f"in {run.wall_s:.1f} s, "
        f"retrans {run.retransmissions}, achieved {run.achieved_rate:.0f}/s, "
        f"mean {run.mean_response_ms:.0f} ms, CPU {step.cpu_us_per_reg:.1f} us/reg "
        f"({step.server_cpu_pct:.0f} % of a core, waited for a CPU {step.server_wait_pct:.0f} %{db}), "
        f"sipp {step.sipp_cpu_pct:.0f} % -> {verdict}"
    )


def ramp(
    result: ServerResult,
    args: argparse.Namespace,
    server: CpuMeter,
    db: CpuMeter | None,
    load: Loader,
    memory: Callable[[], int],
    rates: Sequence[int],
    counters: Counters | None = None,
    memory_settle_s: float = 0.0,
) -> None:
    """Warm-up, first round (every seat once) for memory and cold CPU, then refresh rounds up the rates.

    The warm-up registers a few other seats first, so what the first use of anything costs (SDK
    loading, connection pools, worker threads) is not counted as memory per contact.
    """
    seats = args.seats
    result.seats = seats
    warm = load(args.initial_rate, args.warmup_seats, f"{result.name}-warmup", args.warmup_csv)
    say(
        f"{result.name}: warm-up, {args.warmup_seats} other seats at {args.initial_rate}/s: "
        f"ok {warm.successful}, failed {warm.failed}, mean {warm.mean_response_ms:.0f} ms"
    )
    time.sleep(1.0)
    idle = server.calibrate(args.idle_seconds)
    result.idle_cpu_pct = idle / 1e7
    if db is not None:
        db.calibrate(args.idle_seconds)
    result.memory_kb_before = memory()
    say(f"{result.name}: first round, {seats} seats once at {args.initial_rate}/s")
    first = measured_step(
        "first", args.initial_rate, seats, server, db, load, f"{result.name}-first", counters
    )
    result.steps.append(first)
    time.sleep(1.0)
    result.memory_kb_round_end = result.memory_kb_after = memory()
    say(f"{result.name}: {describe(first)}")
    if memory_settle_s > 0:
        say(f"{result.name}: waiting {memory_settle_s:.0f} s for the round's transactions to end")
        time.sleep(memory_settle_s)
        result.memory_kb_after = memory()
        result.memory_settle_s = memory_settle_s
    per_contact = result.memory_per_contact_bytes or 0.0
    say(
        f"{result.name}: {result.memory_metric} {result.memory_kb_before} -> {result.memory_kb_round_end}"
        f" KiB at the round's end, {result.memory_kb_after} KiB settled"
        f" = {per_contact:.0f} bytes per registered contact"
    )
    for rate in rates:
        calls = max(seats, int(rate * args.step_seconds))
        say(f"{result.name}: refresh round at {rate}/s, {calls} registrations")
        step = measured_step("refresh", rate, calls, server, db, load, f"{result.name}-{rate}", counters)
        result.steps.append(step)
        say(f"{result.name}: {describe(step)}")
        if not step.sustained:
            if step.sipp.failed:
                result.stopped_because = f"{step.sipp.failed} failed registrations at {rate}/s"
            else:
                result.stopped_because = (
                    f"achieved {step.sipp.achieved_rate:.0f}/s of {rate}/s "
                    f"(server {step.server_cpu_pct:.0f} % of a core and waited for a CPU "
                    f"{step.server_wait_pct:.0f} % of the time, sipp {step.sipp_cpu_pct:.0f} %)"
                )
            break
        time.sleep(1.0)
    else:
        result.stopped_because = (
            f"every step up to {rates[-1]}/s sustained (the ramp's last step)"
            if rates
            else "no refresh rounds"
        )


def sipp_loader(
    target: str, scenario: str, users_csv: Path, domain: str, out_dir: Path, first_scenario: str | None = None
) -> Loader:
    """``first_scenario``: the first round's scenario when not ``scenario`` (the storm's)."""

    def load(rate: int, calls: int, tag: str, users: Path | None = None) -> SippRun:
        storm = bool(first_scenario) and tag.endswith("-first")
        chosen = first_scenario if storm and first_scenario else scenario
        # A storm's phones wait out their Retry-After: room past the target to see how long it took.
        limit = STORM_MAX_S if storm else None
        return run_sipp(
            target, chosen, users or users_csv, rate, calls, domain, out_dir, tag, max_seconds=limit
        )

    return load


# --- Kamailio ---------------------------------------------------------------------------------------


def kamailio_child(port: int, out_dir: Path, *, auth: bool) -> Child:
    command = [
        "kamailio",
        "-f",
        str(KAMAILIO_CFG),
        "-DD",
        "-E",
        "-m",
        "256",
        "-M",
        "32",
        "-A",
        f"BENCH_LISTEN=udp:127.0.0.1:{port}",
    ]
    if auth:
        command += ["-A", "WITH_AUTH"]
    name = "kamailio" if auth else "kamailio-noauth"
    return Child(name, command, out_dir / f"{name}.log")


def bench_kamailio(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> ServerResult:
    result = ServerResult(
        "kamailio",
        auth="digest MD5, qop=auth, one challenge (auth module pv_www_authenticate, password 'pw-'+$tU)",
        memory_metric="PSS summed over Kamailio's processes",
    )
    port = free_port()
    child = kamailio_child(port, out_dir, auth=True)
    try:
        child.start()
        wait_until(lambda: sip_options_status(port) == 200, "Kamailio", child, 20)
        tree = descendants(child.pid)
        say(f"kamailio: listening on udp:127.0.0.1:{port}, {len(tree)} processes {tree}")
        result.extra["processes"] = len(tree)
        ramp(
            result,
            args,
            CpuMeter(child.pid),
            None,
            sipp_loader(
                f"127.0.0.1:{port}", "register_auth.xml", users_csv, args.domain, out_dir, args.first_scenario
            ),
            lambda: pss_kb(descendants(child.pid)),
            args.rates,
        )
    except Exception as exc:
        result.error = str(exc)
        say(f"kamailio: ERROR {exc}")
    finally:
        child.stop()
    return result


def calibrate_kamailio(args: argparse.Namespace, out_dir: Path, users_csv: Path) -> dict[str, object]:
    """Kamailio without auth: CPU per plain REGISTER -> 200, to compare with the reference figure."""
    port = free_port()
    child = kamailio_child(port, out_dir, auth=False)
    rate, calls = args.calibration_rate, int(args.calibration_rate * args.calibration_seconds)
    try:
        child.start()
        wait_until(lambda: sip_options_status(port) == 200, "Kamailio (no auth)", child, 20)
        meter = CpuMeter(child.pid)
        meter.calibrate(1.0)
        load = sipp_loader(f"127.0.0.1:{port}", "register_noauth.xml", users_csv, args.domain, out_dir)
        step = measured_step("refresh", rate, calls, meter, None, load, "kamailio-noauth")
        say(f"kamailio without auth: {describe(step)}")
        return {"rate": rate, "registrations": calls, **step.as_dict()}
    except Exception as exc:
        say(f"kamailio without auth: ERROR {exc}")
        return {"error": str(exc)}
    finally:
        child.stop()


# --- the edge ---------------------------------------------------------------------------------------


def dynamodb_child(port: int, out_dir: Path) -> Child:
    jars = dynamodb_local.jar_dir()
    if jars is None:
        raise RuntimeError(dynamodb_local.MISSING)
    return Child("dynamodb-local", dynamodb_local.command(port), out_dir / "dynamodb-local.log", cwd=jars)


def aws_env(endpoint: str, table_name: str) -> dict[str, str]:
    return {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
        "SWITCHBOARD_TABLE": table_name,
    }


def wait_for_dynamodb(endpoint: str, child: Child) -> None:
    import boto3

    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")

    def ready() -> bool:
        try:
            client.list_tables()
        except Exception:
            return False
        return True

    wait_until(ready, "DynamoDB Local", child, 60)


def seed_seats(endpoint: str, table_name: str, domain: str, users: Sequence[tuple[str, str]]) -> float:
    """Create the table and one SIP user item per seat (HA1 for MD5 and SHA-256); seconds taken."""
    os.environ.update(aws_env(endpoint, table_name))
    from contact_center.data import table
    from contact_center.data.models import SipUserItem
    from contact_center.data.seats import new_sip_user

    started = time.monotonic()
    table.bind(table_name=table_name, host=endpoint, region="us-east-1")
    table.create_table(table_name)

    def write(chunk: Sequence[tuple[int, str, str]]) -> None:
        with SipUserItem.batch_write() as batch:
            for n, username, password in chunk:
                secret = f"{username}:{domain}:{password}"
                batch.save(
                    new_sip_user(
                        username,
                        "bench-merchant",
                        f"bench-seat-{n}",
                        realm=domain,
                        ha1={"MD5": md5_hex(secret), "SHA-256": sha256_hex(secret)},
                    )
                )

    numbered = [(n, u, p) for n, (u, p) in enumerate(users)]
    chunks = [numbered[i : i + 500] for i in range(0, len(numbered), 500)]
    # A few writers at once: DynamoDB Local answers each batch in a few milliseconds.
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(write, chunks))
    return time.monotonic() - started


def edge_child(
    port: int,
    out_dir: Path,
    env: dict[str, str],
    *,
    profile: Path | None,
    module: str,
) -> Child:
    command = [sys.executable]
    if profile is not None:
        command += ["-m", "cProfile", "-o", str(profile)]
    # The edge's own counters on SIGUSR1: see bench/edge_wrapper.py.
    command += [str(BENCH / "edge_wrapper.py"), module]
    command += ["--host", "127.0.0.1", "--port", str(port), "--task-id", "bench-edge-1"]
    return Child("sip-edge", command, out_dir / "sip-edge.log", env=env, cwd=ROOT)


def probe_register(port: int, domain: str, out_dir: Path) -> tuple[bool, list[str]]:
    """One registration of the probe seat with every message traced: (registered, status lines)."""
    probe_csv = write_users_csv(out_dir / "probe.csv", [PROBE_USER])
    messages = out_dir / "probe.messages.log"
    messages.unlink(missing_ok=True)
    run = run_sipp(
        f"127.0.0.1:{port}",
        "register_auth.xml",
        probe_csv,
        1,
        1,
        domain,
        out_dir,
        "probe",
        extra=["-trace_msg", "-message_file", str(messages)],
    )
    statuses: list[str] = []
    challenges: list[str] = []
    authorization = ""
    if messages.exists():
        # The trace is blocks separated by "-----... <time>" lines; keep what was received, and
        # the Authorization sipp sent.
        blocks = messages.read_text(errors="replace").split("\n-----")
        for block in blocks:
            lines = [line.strip() for line in block.splitlines() if line.strip()]
            if len(lines) < 2:
                continue
            if lines[1].startswith("UDP message received"):
                statuses += [line for line in lines if line.startswith("SIP/2.0 ")]
                challenges += [line for line in lines if line.lower().startswith("www-authenticate:")]
            elif lines[1].startswith("UDP message sent"):
                authorization = next(
                    (line for line in lines if line.lower().startswith("authorization:")), authorization
                )
    events: list[str] = []
    errors = Path(run.error_file)
    if not run.clean and errors.exists():
        # sipp's own reason, e.g. "createAuthHeader: authentication must use MD5 or AKAv1-MD5".
        events = [
            "sipp: " + line.split(": ", 1)[-1].strip()
            for line in errors.read_text(errors="replace").splitlines()
            if line[:4].isdigit() and ": " in line
        ][:2]
    return run.clean, statuses + challenges + ([authorization] if authorization else []) + events


def bench_edge(args: argparse.Namespace, out_dir: Path, users: list[tuple[str, str]]) -> ServerResult:
    result = ServerResult(
        "edge",
        auth="digest MD5, qop=auth (the edge offers sipp's User-Agent MD5 only; others SHA-256 then MD5)",
        memory_metric="VmRSS of the edge process",
    )
    children: list[Child] = []
    try:
        db_port = free_port()
        db = dynamodb_child(db_port, out_dir)
        children.append(db)
        db.start()
        endpoint = f"http://127.0.0.1:{db_port}"
        table_name = f"switchboard-bench-{uuid.uuid4().hex[:8]}"
        os.environ.update(aws_env(endpoint, table_name))  # fake credentials for this process too
        wait_for_dynamodb(endpoint, db)
        seeded = [PROBE_USER, *args.warmup_users, *users]
        took = seed_seats(endpoint, table_name, args.domain, seeded)
        say(f"DynamoDB Local on {endpoint}: table {table_name}, {len(seeded)} seats written in {took:.1f} s")
        result.extra["seed_seconds"] = round(took, 1)

        port = free_port()
        env = {
            **os.environ,
            **aws_env(endpoint, table_name),
            "SIP_DOMAIN": args.domain,
            # A fleet shares one nonce key; set it as production does (the edge warns without it).
            "SIP_NONCE_KEY": secrets.token_hex(32),
        }
        env.pop("AWS_ENDPOINT_URL", None)
        profile = Path(args.profile_edge).resolve() if args.profile_edge else None
        edge = edge_child(
            port,
            out_dir,
            env,
            profile=profile,
            module=args.edge_module,
        )
        children.append(edge)
        edge.start()
        wait_until(lambda: sip_options_status(port) == 200, "the edge", edge, 60)
        say(f"edge: answering OPTIONS on udp:127.0.0.1:{port}")
        registered, seen = probe_register(port, args.domain, out_dir)
        result.extra["probe"] = seen
        for line in seen:
            say(f"edge probe: {line}")
        if not registered:
            result.error = "the edge did not register the probe seat: " + "; ".join(seen or ["no answer"])
            say(f"edge: {result.error}")
            return result
        ramp(
            result,
            args,
            CpuMeter(edge.pid),
            CpuMeter(db.pid),
            sipp_loader(
                f"127.0.0.1:{port}",
                "register_auth.xml",
                args.users_csv,
                args.domain,
                out_dir,
                args.first_scenario,
            ),
            lambda: rss_kb(edge.pid),
            args.rates,
            counters=lambda: edge_counters(edge),
            # A UDP non-INVITE server transaction lives Timer J (64 x T1 = 32 s) after its answer.
            memory_settle_s=args.memory_settle_seconds,
        )
        if not edge.alive():
            result.error = f"the edge exited during the run:\n{edge.log_tail()}"
    except Exception as exc:
        result.error = str(exc)
        say(f"edge: ERROR {exc}")
    finally:
        for child in reversed(children):
            try:
                child.stop()
            except Exception as exc:  # keep stopping the others
                say(f"stopping {child.name} (pid {child.pid}) failed: {exc}")
    if args.profile_edge and Path(args.profile_edge).exists():
        result.extra["profile"] = str(Path(args.profile_edge).resolve())
        print_profile(Path(args.profile_edge))
    return result


def edge_counters(edge: Child, timeout: float = 3.0) -> dict[str, int]:
    """Ask the edge for its counters (SIGUSR1, see bench/edge_wrapper.py) and read the answer."""
    marker = "BENCH-COUNTERS "

    def answers() -> list[str]:
        text = edge.log_path.read_text(errors="replace")
        return [line for line in text.splitlines() if line.startswith(marker)]

    seen = len(answers())
    os.kill(edge.pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = answers()
        if len(lines) > seen:
            return {k: int(v) for k, v in json.loads(lines[-1][len(marker) :]).items()}
        time.sleep(0.05)
    return {}


def print_profile(path: Path, top: int = 30) -> None:
    import pstats

    say(f"edge profile ({path}), top {top} by own time:")
    pstats.Stats(str(path)).sort_stats("tottime").print_stats(top)


# --- report -----------------------------------------------------------------------------------------


def fmt(value: float | None, spec: str = ".0f") -> str:
    return "-" if value is None else format(value, spec)


def table_rows(results: Sequence[ServerResult]) -> list[list[str]]:
    rows = []
    for result in results:
        for step in result.steps:
            run = step.sipp
            rows.append(
                [
                    result.name,
                    step.phase,
                    str(step.rate),
                    str(run.calls),
                    str(run.successful),
                    str(run.failed),
                    str(run.retransmissions),
                    fmt(run.achieved_rate),
                    fmt(run.mean_response_ms, ".0f") if run.mean_response_ms >= 1 else "<1",
                    fmt(step.cpu_us_per_reg, ".1f"),
                    fmt(step.loop_cpu_us_per_reg, ".1f"),
                    fmt(step.server_cpu_pct),
                    fmt(step.db_cpu_us_per_reg, ".0f"),
                    str(step.counters.get("credential_loads", "-")) if step.counters else "-",
                    str(step.counters.get("binding_loads", "-")) if step.counters else "-",
                    "yes" if step.sustained else "NO",
                ]
            )
    return rows


HEADER = [
    "server",
    "round",
    "target/s",
    "sent",
    "ok",
    "failed",
    "retrans",
    "achieved/s",
    "mean ms",
    "CPU us/reg",
    "event loop us/reg",
    "server CPU %",
    "DynamoDB us/reg",
    "credential reads",
    "binding reads",
    "sustained",
]


def text_table(rows: list[list[str]]) -> str:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(HEADER)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(HEADER, widths, strict=True))]
    lines += ["  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(lines)


def markdown_table(rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "|".join("---" for _ in HEADER) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def ratios(edge: ServerResult, kamailio: ServerResult) -> dict[str, float]:
    """Edge CPU per registration / Kamailio's, at every rate (and the first round) where both servers
    answered every registration."""
    found: dict[str, float] = {}
    first_e, first_k = edge.first(), kamailio.first()
    if first_e and first_k and first_e.sipp.clean and first_k.sipp.clean and first_k.cpu_us_per_reg:
        found["first"] = first_e.cpu_us_per_reg / first_k.cpu_us_per_reg
    for step in edge.steps:
        other = kamailio.step_at(step.rate)
        # CPU per registration compares wherever both servers answered every registration.
        if (
            step.phase == "refresh"
            and step.sipp.clean
            and other
            and other.sipp.clean
            and other.cpu_us_per_reg
        ):
            found[str(step.rate)] = step.cpu_us_per_reg / other.cpu_us_per_reg
    return found


def summary_lines(results: dict[str, ServerResult], calibration: dict[str, object] | None) -> list[str]:
    lines: list[str] = []
    for result in results.values():
        per_contact = result.memory_per_contact_bytes
        if result.error and not result.steps:
            lines.append(f"{result.name}: no measurement - {result.error}")
            continue
        first = result.first()
        lines.append(
            f"{result.name}: max sustained rate with zero failures {fmt(result.max_sustained_rate)}/s "
            f"(ramp stopped: {result.stopped_because or result.error or '-'}); "
            f"first registration {fmt(first.cpu_us_per_reg if first else None, '.1f')} us CPU; "
            f"{fmt(per_contact)} bytes per registered contact ({result.memory_metric})"
        )
    if calibration and "cpu_us_per_registration" in calibration:
        lines.append(
            f"kamailio without auth (calibration): {calibration['cpu_us_per_registration']} us per "
            f"REGISTER at {calibration['rate']}/s (reference on this kind of machine: 20-30 us)"
        )
    edge, kamailio = results.get("edge"), results.get("kamailio")
    if edge and kamailio:
        found = ratios(edge, kamailio)
        if found:
            lines.append(
                "CPU ratio edge/Kamailio per registration: "
                + ", ".join(f"{k if k == 'first' else k + '/s'} {v:.1f}x" for k, v in found.items())
            )
    if edge and edge.steps:
        at = edge.step_at(TARGET_RATE)
        rate_ok = (edge.max_sustained_rate or 0) >= TARGET_RATE
        cpu_ok = at is not None and at.sustained and at.cpu_us_per_reg <= TARGET_CPU_US
        if at is not None:
            cpu_seen = f"{at.cpu_us_per_reg:.1f} us at {TARGET_RATE}/s"
        else:
            best = edge.step_at(edge.max_sustained_rate) if edge.max_sustained_rate else None
            cpu_seen = f"the ramp stopped before {TARGET_RATE}/s" + (
                f"; {best.cpu_us_per_reg:.1f} us at {best.rate}/s, its highest sustained step" if best else ""
            )
        lines.append(
            f"targets: >= {TARGET_RATE}/s with zero failures: {'MET' if rate_ok else 'MISSED'} "
            f"({fmt(edge.max_sustained_rate)}/s); <= {TARGET_CPU_US:.0f} us edge CPU per registration at "
            f"{TARGET_RATE}/s: {'MET' if cpu_ok else 'MISSED'} ({cpu_seen})"
        )
    return lines


def results_section(
    facts: Mapping[str, object],
    args: argparse.Namespace,
    results: dict[str, ServerResult],
    calibration: dict[str, object] | None,
    json_path: Path,
) -> str:
    rows = table_rows(list(results.values()))
    edge = results.get("edge")
    probe = edge.extra.get("probe") if edge else None
    parts = [
        f"## REGISTER benchmark, {facts['date']}",
        "",
        f"Machine: {facts['nproc']} vCPU {facts['cpu_model']}, {facts['memory_gib']} GiB, kernel "
        f"{facts['kernel']}; Python {facts['python']} ({facts['event_loop']}); {facts['sipp']}; "
        f"{facts['kamailio']}; load average at start {facts['loadavg_at_start']} (shared machine).",
        "",
        f"Command: `{' '.join(['.venv/bin/python', 'bench/register_bench.py', *args.argv])}` — "
        f"{args.seats} seats, first round at {args.initial_rate}/s, refresh rounds of "
        f"max({args.seats}, rate x {args.step_seconds:g} s) registrations. Raw data: `{json_path.relative_to(ROOT)}`.",
        "",
        markdown_table(rows),
        "",
        *[f"- {line}" for line in summary_lines(results, calibration)],
    ]
    if isinstance(probe, list) and probe:
        parts += ["- edge probe (one traced registration): " + " / ".join(f"`{p}`" for p in probe)]
    for result in results.values():
        if result.error:
            parts.append(f"- {result.name} error: {result.error.splitlines()[0]}")
    return "\n".join(parts) + "\n"


def append_results(section: str) -> None:
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nRecorded by the scripts in bench/; newest last.\n")
    with RESULTS.open("a") as handle:
        handle.write("\n" + section)


# --- command line -----------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="register_bench.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 seats and two rates: checks the script")
    parser.add_argument(
        "--storm",
        action="store_true",
        help="first round as a storm: every seat at once (sipp at --initial-rate, default "
        f"{STORM_RATE}/s), phones honouring 503 Retry-After; no refresh rounds unless --rates",
    )
    parser.add_argument("--seats", type=int, help="distinct seats (default 7000, quick 1000)")
    parser.add_argument("--rates", help="comma-separated refresh rates per second, ascending")
    parser.add_argument("--initial-rate", type=int, help="rate of the first round (default 250/s)")
    parser.add_argument(
        "--step-seconds", type=float, help="a refresh step lasts at least this long (default 10 s)"
    )
    parser.add_argument(
        "--servers", default="kamailio,edge", help="which servers to measure (default kamailio,edge)"
    )
    parser.add_argument("--domain", default="bench.switchboard.test", help="registrar domain and realm")
    parser.add_argument(
        "--memory-settle",
        dest="memory_settle_seconds",
        type=float,
        help="edge: seconds to wait after the first round before reading memory again (default 33: "
        "Timer J); the credential cache keeps entries 30 s, so a wait also empties it",
    )
    parser.add_argument("--no-calibration", action="store_true", help="skip Kamailio without auth")
    parser.add_argument("--edge-module", default="sip_edge", help="module run as the edge (python -m)")
    parser.add_argument("--profile-edge", metavar="FILE", help="run the edge under cProfile, stats to FILE")
    record = parser.add_mutually_exclusive_group()
    record.add_argument("--record", dest="record", action="store_true", default=None)
    record.add_argument("--no-record", dest="record", action="store_false", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    args.argv = list(argv if argv is not None else sys.argv[1:])
    quick = args.quick
    args.seats = args.seats or (1000 if quick else 7000)
    rates = (
        [int(r) for r in args.rates.split(",")]
        if args.rates
        else list(QUICK_RATES if quick else DEFAULT_RATES)
    )
    args.rates = [] if args.storm and not args.rates else sorted(rates)
    # A storm: every seat at once, as phones re-register after a failover (sipp's rate, not a ramp).
    args.initial_rate = args.initial_rate or (STORM_RATE if args.storm else 500 if quick else 250)
    args.first_scenario = "register_storm.xml" if args.storm else None
    args.step_seconds = args.step_seconds or (3.0 if quick else 10.0)
    args.idle_seconds = 1.0 if quick else 2.0
    args.warmup_seats = 100 if quick else 250
    if args.memory_settle_seconds is None:
        args.memory_settle_seconds = 0.0 if quick else 33.0
    args.calibration_rate = 5000
    args.calibration_seconds = 1.0 if quick else 4.0
    args.servers = [s.strip() for s in args.servers.split(",") if s.strip()]
    if args.record is None:
        args.record = not quick
    return args


def check_tools(servers: Sequence[str]) -> None:
    missing = [tool for tool in ("sipp",) if shutil.which(tool) is None]
    if "kamailio" in servers and shutil.which("kamailio") is None:
        missing.append("kamailio")
    if "edge" in servers and shutil.which("java") is None:
        missing.append("java")
    if missing:
        raise SystemExit(f"register-bench: missing {', '.join(missing)} (Debian: sip-tester, kamailio, java)")


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """SIGTERM behaves like Ctrl-C, so every child is stopped by the `finally` blocks."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    check_tools(args.servers)
    facts = machine_facts()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out_dir = OUT / f"register-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    say(
        f"{facts['nproc']} x {facts['cpu_model']}, kernel {facts['kernel']}, Python {facts['python']}, "
        f"load {facts['loadavg_at_start']}; output in {out_dir.relative_to(ROOT)}"
    )
    users = seat_users(args.seats)
    args.users_csv = write_users_csv(out_dir / "users.csv", users)
    args.warmup_users = seat_users(args.warmup_seats, prefix="warm")
    args.warmup_csv = write_users_csv(out_dir / "warmup.csv", args.warmup_users)
    say(
        f"{args.seats} seats; first round at {args.initial_rate}/s, then refresh rounds at "
        f"{', '.join(map(str, args.rates))}/s until a step fails"
    )
    results: dict[str, ServerResult] = {}
    calibration: dict[str, object] | None = None
    with stop_on_signals():
        if "kamailio" in args.servers:
            if not args.no_calibration:
                calibration = calibrate_kamailio(args, out_dir, args.users_csv)
            results["kamailio"] = bench_kamailio(args, out_dir, args.users_csv)
        if "edge" in args.servers:
            results["edge"] = bench_edge(args, out_dir, users)

    rows = table_rows(list(results.values()))
    print()
    print(text_table(rows))
    print()
    lines = summary_lines(results, calibration)
    for line in lines:
        print(line)
    json_path = OUT / f"register-{stamp}.json"
    json_path.write_text(
        json.dumps(
            {
                "benchmark": "register",
                "machine": facts,
                "settings": {
                    "seats": args.seats,
                    "initial_rate": args.initial_rate,
                    "rates": args.rates,
                    "step_seconds": args.step_seconds,
                    "domain": args.domain,
                    "rate_tolerance": RATE_TOLERANCE,
                },
                "kamailio_without_auth": calibration,
                "servers": {name: r.as_dict() for name, r in results.items()},
                "cpu_ratio_edge_over_kamailio": (
                    ratios(results["edge"], results["kamailio"])
                    if "edge" in results and "kamailio" in results
                    else {}
                ),
                "summary": lines,
            },
            indent=2,
        )
    )
    print(f"\nresults: {json_path.relative_to(ROOT)}")
    if args.record:
        append_results(results_section(facts, args, results, calibration, json_path))
        print(f"recorded in {RESULTS.relative_to(ROOT)}")
    say("done")
    return 0 if all(not r.error for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
