"""A contact-centre day in miniature on the local stack: people, queues and callers, not one hold time.

Usage::

    .venv/bin/python bench/center_day.py            # 7,000 seats, 50 queues, 28 calls/s for 3 minutes
    .venv/bin/python bench/center_day.py --quick    # 300 seats, 5 queues, 5 calls/s for 30 s (~1 min)

What runs (everything on 127.0.0.1, bounded):

1. **The stack**: ``python -m local_stack --no-media`` on DynamoDB Local behind the counting proxy
   (``call_bench.counted_stack``). No media relay: signalling and routing are measured here, the
   relay apart (``media_bench.py``); queued callers are held with 182.
2. **Onboarding over the HTTP API**: a loopback trunk; 3 merchants (2/7, 2.5/7, 2.5/7 of the
   seats: 2,000, 2,500, 2,500 at full size); each merchant's queues (50 in all) want skills that
   overlap: queue 0 a general topic, queue j a topic of its own plus a language, the last third of
   them an expert level (proficiency 3). A seat knows the general topic (6 in 10), one to three
   topics drawn with weights 1/j^1.5 (a few common, a long tail of rare ones), English and maybe
   Spanish or French, and serves every queue of its merchant whose skills it meets. A queue whose
   ready seats cannot carry twice its expected load overflows into queue 0 after ``overflow_wait``
   seconds; the others reject at ``max_wait``. One number per queue. Ring timeout 8 s everywhere.
3. **Seats**: every seat registers (REGISTER with digest) from a few shared UDP sockets
   (``day_sip.Agents``); 8 % are set not ready and stay so, the rest available. 2 % never answer
   (RONA: the router takes the offer back after the ring timeout; the person sets itself available
   again 15-30 s later). The others ring 0.3-1.5 s, answer, talk until the caller hangs up, wrap up
   2-5 s (the queue's wrap-up is 10 s, the agent ends it first) and set themselves available over the
   agent-state API (``PUT .../state``), or, 3 times in 100, go not ready for a 15-30 s break first.
4. **Callers**: Poisson arrivals at ``rate`` calls/s, ``burst_rate`` for ``burst_length`` seconds at
   the end of every ``burst_every``; merchant by seat share, queue uniform within it (so rare-skill
   queues overflow); each caller hangs up ``talk`` seconds (uniform) after it is connected. Arrivals
   stop after ``seconds``; the run then waits for every caller to finish.

What it reports (``bench/out/center-<time>.json``, and a RESULTS.md section with ``--record``):

- **set-up**: caller INVITE sent to the agent phone's 180, p50/p99, for calls the router could
  offer at once (their first offer's seat was free before they arrived), and over all offered calls;
- **queued wait**: per caller that waited, time in queue (ringing excluded), p50/p95; and the wait
  beyond the unavoidable, the router's hand-off delays (``day_records``), p50/p95;
- **stranded callers** and **double offers**, from the router's own contact records and the seats'
  states on the table's stream (``day_records`` says exactly how); the agents' phones also count
  INVITEs for a seat already holding a call;
- **DynamoDB** table requests per call and the busiest partitions per second (the counting proxy);
- **CPU per call** of the edge, the local Lambda, the API, DynamoDB Local, the proxy and this driver
  (schedstat, above each process tree's idle rate);
- a JSON in the routed call benchmark's shape, so ``cost.py --calls-json`` prices it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import call_bench
import register_bench
from boto3.dynamodb.types import TypeDeserializer
from call_bench import Api, CountedStack, DbCounts, Meters, counted_stack, hot_partitions
from day_records import Reckoning, SeatVersion, percentile, reckon
from day_sip import Agents, Behaviour, Caller, Callers, Seat
from measure import CpuMeter, loadavg, machine_facts
from register_bench import append_results, stop_on_signals

from contact_center.domain.skills import SkillRequirement, meets_requirements

BENCH = Path(__file__).resolve().parent
OUT = BENCH / "out"
MERCHANT_SHARES = (2 / 7, 2.5 / 7, 2.5 / 7)
LANGUAGES = ("en", "es", "fr")
RING_TIMEOUT_S = 8
QUEUE_WRAP_UP_S = 10  # the agents end wrap-up themselves after 2-5 s; this only bounds a lost PUT
SETTLE_S = 2.0
IDLE_SETTLE_S = 5.0
_started = time.monotonic()


def say(text: str) -> None:
    print(f"[center-day {time.monotonic() - _started:6.1f}s] {text}", flush=True)


# The stack's start-up (call_bench, register_bench) reports through ours.
call_bench.say = register_bench.say = say


@dataclass(frozen=True)
class DaySize:
    seats: int
    queues: int
    rate: float
    burst_rate: float
    seconds: float
    talk: tuple[float, float] = (5.0, 30.0)
    burst_every: float = 60.0
    burst_length: float = 10.0
    not_ready_share: float = 0.08
    rona_share: float = 0.02
    overflow_wait: int = 20
    max_wait: int = 120


FULL = DaySize(7000, 50, 28.0, 50.0, 180.0)
QUICK = DaySize(
    300, 5, 5.0, 10.0, 30.0, talk=(4.0, 8.0), burst_every=15.0, burst_length=4.0, overflow_wait=8, max_wait=40
)


@dataclass
class QueuePlan:
    name: str
    skills: list[tuple[str, int]]
    max_wait: int
    overflow_to: int | None = None
    queue_id: str = ""
    number: str = ""


@dataclass
class SeatPlan:
    skills: dict[str, int]
    queues: list[int]
    not_ready: bool
    rona: bool


@dataclass
class MerchantPlan:
    name: str
    share: float
    queues: list[QueuePlan]
    seats: list[SeatPlan]
    merchant_id: str = ""
    key: str = ""


def split(total: int, shares: Sequence[float], least: int = 1) -> list[int]:
    counts = [max(least, round(total * share)) for share in shares[:-1]]
    return [*counts, max(least, total - sum(counts))]


def plan_day(size: DaySize, rng: random.Random) -> list[MerchantPlan]:
    """Merchants, queues with overlapping skill requirements and seats with skills (pure, seeded)."""
    handle_s = sum(size.talk) / 2 + 1.0 + 3.5  # talk + ring + wrap-up, on average
    merchants = []
    for index, (seats, queues, share) in enumerate(
        zip(
            split(size.seats, MERCHANT_SHARES),
            split(size.queues, MERCHANT_SHARES),
            MERCHANT_SHARES,
            strict=True,
        )
    ):
        plans = [QueuePlan("general", [("topic0", 1)], size.max_wait)]
        for j in range(1, queues):
            level = 3 if j >= 2 * queues / 3 else 1
            plans.append(QueuePlan(f"topic{j}", [(f"topic{j}", level), (LANGUAGES[j % 3], 1)], size.max_wait))
        weights = [1 / j**1.5 for j in range(1, queues)]
        people = []
        for _ in range(seats):
            skills = {"en": rng.randint(2, 5)}
            for language, chance in (("es", 0.4), ("fr", 0.3)):
                if rng.random() < chance:
                    skills[language] = rng.randint(1, 5)
            if rng.random() < 0.6:
                skills["topic0"] = rng.randint(1, 5)
            if queues > 1:
                for j in set(rng.choices(range(1, queues), weights, k=rng.randint(1, 3))):
                    skills[f"topic{j}"] = rng.randint(1, 5)
            served = [q for q, plan in enumerate(plans) if meets_requirements(skills, requirements(plan))]
            if not served:
                skills["topic0"], served = 3, [0]
            not_ready = rng.random() < size.not_ready_share
            people.append(
                SeatPlan(skills, served, not_ready, not not_ready and rng.random() < size.rona_share)
            )
        # A queue its ready people cannot carry at twice its expected load overflows to the general one.
        expected_busy = size.rate * share / queues * handle_s
        for q, plan in enumerate(plans[1:], 1):
            ready = sum(1 for p in people if q in p.queues and not p.not_ready and not p.rona)
            if ready < 2 * expected_busy:
                plan.overflow_to, plan.max_wait = 0, size.overflow_wait
        merchants.append(MerchantPlan(f"Merchant {index + 1}", share, plans, people))
    return merchants


def requirements(plan: QueuePlan) -> list[SkillRequirement]:
    return [SkillRequirement(name, level) for name, level in plan.skills]


# --- onboarding over the API --------------------------------------------------------------------------


def onboard(api: Api, merchants: list[MerchantPlan], workers: int = 8) -> list[Seat]:
    api.expect(201, "POST", "/trunks", {"name": "Day carrier", "source_cidrs": ["127.0.0.0/8"]})
    number = 14155550000
    for merchant in merchants:
        made = api.expect(
            201,
            "POST",
            "/merchants",
            {"name": merchant.name, "seat_licenses": len(merchant.seats), "contact_email": "ops@day.test"},
        )
        merchant.merchant_id, merchant.key = made["merchant_id"], made["api_key"]
        base = f"/merchants/{merchant.merchant_id}"
        # Overflow targets first: a queue names only a queue that exists.
        for queue in sorted(merchant.queues, key=lambda q: q.overflow_to is not None):
            body: dict[str, Any] = {
                "name": queue.name,
                "skills": [{"name": n, "min_proficiency": level} for n, level in queue.skills],
                "max_wait_seconds": queue.max_wait,
                "wrap_up_seconds": QUEUE_WRAP_UP_S,
            }
            if queue.overflow_to is not None:
                body["overflow"] = {"type": "queue", "target": merchant.queues[queue.overflow_to].queue_id}
            queue.queue_id = api.expect(201, "POST", f"{base}/queues", body, merchant.key)["queue_id"]
            number += 1
            queue.number = f"+{number}"
            api.expect(
                201,
                "POST",
                f"{base}/numbers",
                {"number": queue.number, "queue_id": queue.queue_id},
                merchant.key,
            )
    jobs = [(merchant, index, seat) for merchant in merchants for index, seat in enumerate(merchant.seats)]

    def create(job: tuple[MerchantPlan, int, SeatPlan]) -> Seat:
        merchant, index, plan = job
        body = {
            "display_name": f"Agent {index}",
            "skills": [{"name": n, "proficiency": level} for n, level in sorted(plan.skills.items())],
            "queue_ids": [merchant.queues[q].queue_id for q in plan.queues],
            "ring_timeout_seconds": RING_TIMEOUT_S,
        }
        made = api.expect(201, "POST", f"/merchants/{merchant.merchant_id}/seats", body, merchant.key)
        sip = made["sip"]
        return Seat(
            merchant.merchant_id, made["seat_id"], sip["username"], sip["password"], sip["domain"], plan.rona
        )

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        return list(pool.map(create, jobs))
    finally:
        pool.shutdown(cancel_futures=True)  # stopped (Ctrl-C, SIGTERM): the queued seats are not made


# --- the day --------------------------------------------------------------------------------------------


def patient(read: Callable[[], dict[str, Any]], attempts: int = 12) -> dict[str, Any]:
    """A read of the counting proxy, tried again while it works through a backlog (a loaded machine)."""
    for attempt in range(1, attempts + 1):
        try:
            return read()
        except OSError:
            if attempt == attempts:
                raise
            time.sleep(5)
    raise AssertionError("unreachable")


@dataclass
class Window:
    """What is read around the calls: CPU of every process, the proxy's counts and partitions."""

    meters: dict[str, CpuMeter]
    counts: DbCounts
    before: dict[str, Any] = field(default_factory=dict)
    started: float = 0.0
    driver_started: float = 0.0
    cpu_ns: dict[str, int] = field(default_factory=dict)
    idle_pct: dict[str, float] = field(default_factory=dict)
    db: Any = None
    partitions: dict[str, Any] = field(default_factory=dict)
    wall_s: float = 0.0

    def start(self) -> None:
        # Idle rates read with every seat registered and set and no call yet, once the stream's
        # handler has worked through the seats just made available (else their work is "idle").
        time.sleep(IDLE_SETTLE_S)
        self.idle_pct = Meters(self.meters).calibrate(2.0)
        patient(lambda: self.counts.busiest_partitions(reset=True))
        self.before = patient(self.counts.snapshot)
        for meter in self.meters.values():
            meter.start()
        self.started = time.monotonic()
        self.driver_started = time.process_time()  # this process alone, every thread

    def stop(self) -> None:
        self.cpu_ns = {name: meter.stop()[0] for name, meter in self.meters.items()}
        self.cpu_ns["driver"] = int(1e9 * (time.process_time() - self.driver_started))
        self.wall_s = time.monotonic() - self.started
        self.db = DbCounts.window(self.before, patient(self.counts.snapshot))
        self.partitions = patient(self.counts.busiest_partitions)


@dataclass
class DayRun:
    registered: int
    callers: list[Caller]
    agents: Agents
    arrivals_s: float
    started_ms: int
    ended_ms: int
    drained: bool


def rate_at(size: DaySize, elapsed: float) -> float:
    in_period = elapsed % size.burst_every
    return size.burst_rate if in_period >= size.burst_every - size.burst_length else size.rate


async def run_day(
    stack: CountedStack,
    merchants: list[MerchantPlan],
    seats: list[Seat],
    plans: dict[str, SeatPlan],
    size: DaySize,
    window: Window,
    rng: random.Random,
    faults: str = "",
) -> DayRun:
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=8)
    keys = {m.merchant_id: m.key for m in merchants}

    async def set_state(seat: Seat, state: str) -> int:
        body = {"state": state, **({"reason": "break"} if state == "not_ready" else {})}
        path = f"/merchants/{seat.merchant_id}/seats/{seat.seat_id}/state"
        for attempt in range(3):
            try:
                status, _ = await loop.run_in_executor(
                    pool, stack.api.call, "PUT", path, body, keys[seat.merchant_id]
                )
                return int(status)
            except OSError:  # the API's listen queue overflowed on a busy machine: as a desk, try again
                await asyncio.sleep(0.5 * (attempt + 1))
        return 0

    edge = ("127.0.0.1", stack.sip_port)
    agents = Agents(seats, edge, set_state, Behaviour(), rng)
    callers = Callers(edge)
    try:
        await agents.open()
        started = time.monotonic()
        registered = await agents.register_all()
        say(f"day: {registered} of {len(seats)} seats registered in {time.monotonic() - started:.1f} s")
        gate = asyncio.Semaphore(8)

        async def first_state(seat: Seat) -> None:
            async with gate:
                await agents._set(seat, "not_ready" if plans[seat.seat_id].not_ready else "available")

        started = time.monotonic()
        await asyncio.gather(*(first_state(seat) for seat in seats))
        say(f"day: seats ready or not ready in {time.monotonic() - started:.1f} s")
        await callers.open()
        queues = [(m, q) for m in merchants for q in m.queues]
        weights = [m.share / len(m.queues) for m, _ in queues]
        max_life = size.max_wait + size.overflow_wait + 4 * RING_TIMEOUT_S + 30
        await loop.run_in_executor(pool, window.start)
        if faults:
            # Off by themselves once the callers are done (arrivals, the longest wait and talk).
            lasting = f"{faults}&for_s={size.seconds + size.max_wait + size.talk[1]:.0f}"
            say(f"day: faults in the table's requests: {stack.counts.set_faults(lasting)}")
        started_ms = int(time.time() * 1000)
        t0 = time.monotonic()
        sequence, due = 0, 0.0
        # Arrival times are drawn on the clock, not after each sleep: a loop late on a busy machine
        # catches up instead of lowering the rate.
        while (due := due + rng.expovariate(rate_at(size, due))) < size.seconds:
            await asyncio.sleep(max(0.0, due - (time.monotonic() - t0)))
            _, queue = rng.choices(queues, weights)[0]
            sequence += 1
            callers.start(
                Caller(f"+1999{sequence:07d}", queue.number, queue.queue_id, rng.uniform(*size.talk)),
                max_life,
            )
        arrivals_s = time.monotonic() - t0
        say(f"day: {sequence} calls placed in {arrivals_s:.1f} s; waiting for every caller to finish")
        deadline = time.monotonic() + max_life + size.talk[1] + 10
        while callers.live and time.monotonic() < deadline:
            await asyncio.sleep(0.5)
        drained = not callers.live
        if faults:
            try:
                say(f"day: faults off: {stack.counts.set_faults()}")
            except OSError as exc:  # they end by themselves (for_s)
                say(f"day: the proxy did not answer the faults' end ({exc}); they end by themselves")
        await asyncio.sleep(SETTLE_S)  # hang-ups' records and released agents still count
        await loop.run_in_executor(pool, window.stop)
        ended_ms = int(time.time() * 1000)
        return DayRun(registered, callers.finished, agents, arrivals_s, started_ms, ended_ms, drained)
    finally:
        callers.close()
        agents.close()
        pool.shutdown(wait=False, cancel_futures=True)


# --- the records ---------------------------------------------------------------------------------------


def local_client(service: str, stack: CountedStack) -> Any:
    # DynamoDB Local keeps tables per access key and region: the stack's processes use "local".
    return boto3.client(
        service,
        endpoint_url=stack.db_endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def the_table(client: Any) -> str:
    """The stack's one table (it names it from its own settings) in this run's DynamoDB Local."""
    names: list[str] = client.list_tables()["TableNames"]
    if len(names) != 1:
        raise RuntimeError(f"expected the stack's one table in DynamoDB Local, found {names}")
    return names[0]


def read_records(stack: CountedStack) -> list[dict[str, Any]]:
    """Every contact record, read from DynamoDB Local itself (past the proxy: not counted)."""
    client = local_client("dynamodb", stack)
    plain = TypeDeserializer()
    found = []
    for page in client.get_paginator("scan").paginate(
        TableName=the_table(client),
        FilterExpression="entity = :record",
        ExpressionAttributeValues={":record": {"S": "record"}},
    ):
        found += [{k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
    return found


def read_seat_versions(stack: CountedStack) -> list[SeatVersion]:
    """Every version of every seat, from the table's stream (NEW images)."""
    client = local_client("dynamodb", stack)
    streams = local_client("dynamodbstreams", stack)
    arn = client.describe_table(TableName=the_table(client))["Table"]["LatestStreamArn"]
    plain = TypeDeserializer()
    shards, start = [], None
    while True:
        described = streams.describe_stream(
            StreamArn=arn, **({"ExclusiveStartShardId": start} if start else {})
        )
        shards += described["StreamDescription"]["Shards"]
        start = described["StreamDescription"].get("LastEvaluatedShardId")
        if not start:
            break
    versions = []
    for shard in shards:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        ).get("ShardIterator")
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            for record in page["Records"]:
                image = record["dynamodb"].get("NewImage")
                if not image or image.get("entity", {}).get("S") != "seat":
                    continue
                item = {k: plain.deserialize(v) for k, v in image.items()}
                versions.append(
                    SeatVersion(
                        str(item["seat_id"]),
                        int(item.get("version", 0)),
                        str(item.get("state", "offline")),
                        int(item.get("state_since", 0)),
                        frozenset((item.get("queues") or {}).keys()),
                    )
                )
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return versions


# --- the report -----------------------------------------------------------------------------------------


def ms(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def summarize(
    size: DaySize,
    merchants: list[MerchantPlan],
    run: DayRun,
    window: Window,
    reckoning: Reckoning,
    records: list[dict[str, Any]],
    versions_read: int,
) -> dict[str, Any]:
    placed = len(run.callers)
    calls = max(1, placed)
    tally = run.agents.tally
    # Set-up: INVITE to the agent's 180, for the first offer of each call.
    setup_all, setup_at_once = [], []
    direct = {r["contact_id"] for r in records if _offered_at_once(r, reckoning)}
    for caller in run.callers:
        contact = tally.contact_of_caller.get(caller.user)
        ringing = tally.ringing_at.get(contact or "")
        if ringing is None:
            continue
        value = 1000 * (ringing - caller.invited_at)
        setup_all.append(value)
        if contact in direct:
            setup_at_once.append(value)
    waited: Counter[str] = Counter()
    for wait in reckoning.waits:
        waited[wait.owner] += wait.end - wait.start
    waits = [v for v in waited.values() if v > 0]
    outcomes = Counter(c.outcome for c in run.callers)
    segments = [s for r in records for s in r.get("segments") or []]
    overflowed = sum(1 for s in segments if s.get("kind") == "queue" and s.get("outcome") == "overflow")
    missed = sum(
        1 for s in segments if s.get("kind") == "agent" and s.get("outcome") in ("no_answer", "timeout")
    )
    table_requests = sum(
        n for ops in window.db.requests.values() for op, n in ops.items() if not op.startswith("Streams.")
    )
    cpu_us = {name: round(ns / 1000 / calls, 1) for name, ns in window.cpu_ns.items()}
    cpu_pct = {
        name: round(100 * ns / 1e9 / max(window.wall_s, 1e-6), 1) for name, ns in window.cpu_ns.items()
    }
    rate = round(placed / max(run.arrivals_s, 1e-6), 2)
    hot = hot_partitions(window.partitions, max(1, round(rate)), calls)
    busiest = sorted(
        window.partitions.get("busiest", []),
        key=lambda e: -max(e["peak_write_units_s"], e["peak_read_units_s"]),
    )[:5]
    return {
        "size": size.__dict__,
        "merchants": [
            {
                "seats": len(m.seats),
                "queues": len(m.queues),
                "overflowing_queues": sum(1 for q in m.queues if q.overflow_to is not None),
                "not_ready": sum(1 for s in m.seats if s.not_ready),
                "rona": sum(1 for s in m.seats if s.rona),
                "queues_per_seat": round(sum(len(s.queues) for s in m.seats) / max(1, len(m.seats)), 2),
            }
            for m in merchants
        ],
        "registered": run.registered,
        "calls_placed": placed,
        "arrival_rate_per_s": rate,
        "drained": run.drained,
        "outcomes": dict(outcomes),
        "records": len(records),
        "seat_versions_read": versions_read,
        "offers": reckoning.offers,
        "overflowed": overflowed,
        "rona_missed_offers": missed,
        "agent_phones": {
            "offers": tally.offers,
            "answered": tally.answered,
            "rona_missed": tally.missed,
            "cancelled_while_ringing": tally.cancelled,
            "double_offers": tally.double_offers,
            "unknown_seat": tally.unknown_seat,
            "wrap_ups": tally.wrap_ups,
            "breaks": tally.breaks,
            "state_conflicts_tried_again": tally.state_conflicts,
            "state_errors": tally.state_errors,
        },
        "setup_ms": {
            "at_once_p50": ms(percentile(setup_at_once, 0.5)),
            "at_once_p99": ms(percentile(setup_at_once, 0.99)),
            "at_once_samples": len(setup_at_once),
            "all_p50": ms(percentile(setup_all, 0.5)),
            "all_p99": ms(percentile(setup_all, 0.99)),
            "all_samples": len(setup_all),
        },
        "queued_wait_ms": {
            "callers_waiting": len(waits),
            "p50": ms(percentile(waits, 0.5)),
            "p95": ms(percentile(waits, 0.95)),
            "beyond_unavoidable_p50": ms(percentile(reckoning.handoff_ms, 0.5)),
            "beyond_unavoidable_p95": ms(percentile(reckoning.handoff_ms, 0.95)),
            "beyond_unavoidable_p99": ms(percentile(reckoning.handoff_ms, 0.99)),
            "beyond_unavoidable_max": max(reckoning.handoff_ms) if reckoning.handoff_ms else None,
        },
        "tolerance_ms": round(reckoning.tolerance_ms, 1),
        "stranded": len(reckoning.stranded),
        "stranded_examples": reckoning.stranded[:10],
        "double_offers": len(reckoning.double_offers) + tally.double_offers,
        "double_offer_examples": reckoning.double_offers[:10],
        "dynamodb_table_requests_per_call": round(table_requests / calls, 2),
        "dynamodb": window.db.as_dict(),
        "busiest_partitions_per_s": busiest,
        "cpu_us_per_call": cpu_us,
        "cpu_percent_of_a_core": cpu_pct,
        "idle_percent_of_a_core": window.idle_pct,
        "window_s": round(window.wall_s, 1),
        "loadavg_1m_at_end": loadavg(),
        # The routed call benchmark's shape, for cost.py --calls-json.
        "modes": {
            "routed": {
                "steps": [
                    {
                        "rate": hot["rate"],
                        # cost.py prices a step only when no call failed.
                        "sipp": {
                            "successful": outcomes.get("talked", 0),
                            "failed": placed - outcomes.get("talked", 0),
                        },
                        "cpu_us_per_call": cpu_us,
                        "dynamodb_table_requests_per_call": round(table_requests / calls, 2),
                    }
                ],
                "busiest_partitions": {str(hot["rate"]): hot},
            }
        },
    }


def _offered_at_once(record: dict[str, Any], reckoning: Reckoning) -> bool:
    """Whether the record's first offer followed its arrival within the tolerance (no wait for a seat)."""
    segments = record.get("segments") or []
    queue = next((s for s in segments if s.get("kind") == "queue"), None)
    agent = next((s for s in segments if s.get("kind") == "agent"), None)
    return (
        queue is not None
        and agent is not None
        and int(agent["started_at"]) - int(queue["started_at"]) <= reckoning.tolerance_ms
    )


def report_lines(summary: dict[str, Any]) -> list[str]:
    s, setup, wait = summary, summary["setup_ms"], summary["queued_wait_ms"]
    seats = sum(m["seats"] for m in s["merchants"])
    queues = sum(m["queues"] for m in s["merchants"])
    busiest = "; ".join(
        f"{e['partition']} {e['peak_write_units_s']:.0f} WCU/s, {e['peak_read_units_s']:.0f} RCU/s"
        for e in s["busiest_partitions_per_s"][:3]
    )
    return [
        f"seats: {s['registered']} of {seats} registered, {queues} queues "
        f"({sum(m['overflowing_queues'] for m in s['merchants'])} overflowing), 3 merchants",
        f"calls: {s['calls_placed']} placed at {s['arrival_rate_per_s']}/s (Poisson, bursts); outcomes "
        f"{s['outcomes']}; all finished: {s['drained']}",
        f"offers {s['offers']}, overflowed {s['overflowed']}, RONA {s['rona_missed_offers']}; "
        f"agent phones: {s['agent_phones']['answered']} answered, {s['agent_phones']['wrap_ups']} wrap-ups, "
        f"{s['agent_phones']['breaks']} breaks",
        f"set-up (INVITE to agent 180): p50 {setup['at_once_p50']} ms, p99 {setup['at_once_p99']} ms "
        f"(offered at once, {setup['at_once_samples']}); all offered p50 {setup['all_p50']}, "
        f"p99 {setup['all_p99']} ms",
        f"queued wait ({wait['callers_waiting']} callers): p50 {wait['p50']} ms, p95 {wait['p95']} ms; beyond the "
        f"unavoidable p50 {wait['beyond_unavoidable_p50']} ms, p95 {wait['beyond_unavoidable_p95']} ms",
        f"stranded callers: {s['stranded']} (tolerance {s['tolerance_ms']} ms); double offers: {s['double_offers']}",
        f"DynamoDB: {s['dynamodb_table_requests_per_call']} table requests per call; busiest partitions "
        f"per second: {busiest}",
        "CPU per call: " + ", ".join(f"{k} {v:.0f} us" for k, v in s["cpu_us_per_call"].items())
        + "; % of a core: " + ", ".join(f"{k} {v:.0f}" for k, v in s["cpu_percent_of_a_core"].items()),
    ]  # fmt: skip


def results_section(
    summary: dict[str, Any], facts: dict[str, Any], cost_text: str = "", before: Sequence[str] = ()
) -> str:
    lines = [
        f"## Contact-centre day in miniature, {facts['date']}",
        "",
        f"Machine: {facts['nproc']} x {facts['cpu_model']}, {facts['memory_gib']} GiB, Python {facts['python']}; "
        f"load average at start {facts['loadavg_at_start']}, at end {summary['loadavg_1m_at_end']} "
        "(shared machine: timings are noisy). `bench/center_day.py`, sizes: " + json.dumps(summary["size"]),
        "",
        *[f"- {line}" for line in [*before, *report_lines(summary)]],
        "",
    ]
    if cost_text:
        lines += ["Cost (`cost.py` on this run):", "", cost_text, ""]
    return "\n".join(lines)


# --- command line ---------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="300 seats, 5 queues, 5 calls/s for 30 s")
    parser.add_argument("--seats", type=int)
    parser.add_argument("--queues", type=int)
    parser.add_argument("--rate", type=float, help="calls/s between bursts")
    parser.add_argument("--burst-rate", type=float)
    parser.add_argument("--seconds", type=float, help="how long calls arrive (at most 180)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--faults",
        default="",
        help="faults the counting proxy injects into the table's requests while callers call, as "
        "dynamodb_counter's /__faults query: 'latency_ms=300&drop=0.05' (a brown-out, repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the summary here")
    parser.add_argument("--record", action=argparse.BooleanOptionalAction, default=None,
                        help="append to RESULTS.md (default: full runs)")  # fmt: skip
    return parser.parse_args(argv)


def size_of(args: argparse.Namespace) -> DaySize:
    size = QUICK if args.quick else FULL
    changes = {
        name: value
        for name, value in (
            ("seats", args.seats),
            ("queues", args.queues),
            ("rate", args.rate),
            ("burst_rate", args.burst_rate),
            ("seconds", None if args.seconds is None else min(180.0, args.seconds)),
        )
        if value is not None
    }
    return replace(size, **changes)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    size = size_of(args)
    rng = random.Random(args.seed)
    merchants = plan_day(size, rng)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out_dir = OUT / f"center-{stamp}"
    out_dir.mkdir(parents=True, exist_ok=True)
    facts = machine_facts()
    say(f"day: {size}; load average {facts['loadavg_at_start']}")
    with stop_on_signals(), counted_stack(out_dir, stack_args=["--no-media"]) as stack:
        started = time.monotonic()
        seats = onboard(stack.api, merchants)
        say(
            f"day: onboarded 3 merchants, {size.queues} queues, {len(seats)} seats in {time.monotonic() - started:.1f} s"
        )
        plans = {
            seat.seat_id: plan
            for seat, plan in zip(seats, (p for m in merchants for p in m.seats), strict=True)
        }
        # The API and the Lambda endpoint serve every request on a thread of its own.
        meters = {
            name: CpuMeter(pid, with_exited_threads=name in ("api", "lambda"))
            for name, pid in stack.roles.items()
        }
        meters.update(dynamodb=CpuMeter(stack.db_pid), counter=CpuMeter(stack.counter_pid))
        window = Window(meters, stack.counts)
        run = asyncio.run(run_day(stack, merchants, seats, plans, size, window, rng, args.faults))
        records = read_records(stack)
        versions = read_seat_versions(stack)
        say(f"day: read {len(records)} contact records and {len(versions)} seat versions")
        reckoning = reckon(records, versions, run.ended_ms)
        summary = summarize(size, merchants, run, window, reckoning, records, len(versions))
        summary["stack_log_errors"] = [
            line
            for line in stack.stack.log_tail(4000).splitlines()
            if " ERROR " in line or "Traceback" in line
        ][:10]
    summary["machine"] = facts
    summary["faults"] = args.faults
    path = OUT / f"center-{stamp}.json"
    path.write_text(json.dumps(summary, indent=2, default=str))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    print("\n=== contact-centre day ===")
    for line in report_lines(summary):
        print(f"- {line}")
    print(f"(JSON: {path})")
    if args.record if args.record is not None else not args.quick:
        append_results(results_section(summary, facts))
    return 0 if summary["stranded"] == 0 and summary["double_offers"] == 0 else 1


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
