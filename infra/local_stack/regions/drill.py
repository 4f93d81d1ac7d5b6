"""The failover drill: two regions under steady load; region east is killed outright, later comes
back, and its merchants move home. Also a partition first: replication paused while both regions
take calls. Prints a summary and, last, one JSON line of the measures.

    python -m local_stack.regions.drill            # the full drill (make drill)
    python -m local_stack.regions.drill --small    # the short one (make test)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.config import Config

from contact_center.data import table
from contact_center.data.bindings import BindingItems
from contact_center.data.keys import CONTACT_SK, RECORD_SK, contact_pk
from contact_center.data.ownership import OwnershipItems
from contact_center.data.repositories.contacts import LiveContactRepository
from contact_center.data.repositories.seats import AgentSeatRepository
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from local_stack.regions.edge_tasks import start_edge_tasks
from local_stack.regions.harness import TwoRegions
from local_stack.regions.load import Call, World, now
from local_stack.regions.seed import Merchant, aor, register, seed

log = logging.getLogger("local_stack.regions.drill")
KILLED, SURVIVOR = "east", "west"


@dataclass(frozen=True)
class Plan:
    rate: float  # new calls per second, both regions together
    talk: tuple[float, float]
    merchants_per_region: int
    agents_per_merchant: int
    warm: float
    partition: float
    after_kill: float
    after_failback: float
    reregister: tuple[float, float]  # when each phone of the dead region notices and registers again
    throughput: bool = False  # engines tuned for minutes of load rather than a quick start

    @classmethod
    def full(cls) -> Plan:
        # 10 calls/s of 12.5 s on average: 125 Erlangs over 200 agents, about 75% busy counting the
        # rings and reports, so callers queue when the failover takes agents away but a queue that
        # never drains (a staffing problem, not a failover one) does not swamp the measures; 12/s
        # over 160 agents (about 95% busy) did, with callers rejected at the queue's maximum wait.
        return cls(10.0, (5.0, 20.0), 2, 50, 20.0, 30.0, 60.0, 30.0, (2.0, 8.0), throughput=True)

    @classmethod
    def small(cls) -> Plan:
        return cls(4.0, (2.0, 5.0), 1, 14, 6.0, 6.0, 20.0, 8.0, (1.0, 4.0))


T = TypeVar("T")


def patiently(read: Callable[[], T], seconds: float = 60.0) -> T:
    """A read of a region's table, again after a failure until ``seconds`` have passed (then its
    error): the machine may be loaded, not the drill wrong."""
    deadline = now() + seconds
    while True:
        try:
            return read()
        except Exception:
            if now() > deadline:
                raise
            time.sleep(1.0)


def or_none(what: str, read: Callable[[], T]) -> T | None:
    """A measure that could not be read in time is reported as None, saying so, not a crash."""
    try:
        return read()
    except Exception as error:
        say(f"gave up reading {what}: {type(error).__name__}")
        return None


def say(text: str) -> None:
    print(time.strftime("%H:%M:%S"), text, flush=True)


def wait_for(what: str, done: Callable[[], bool], seconds: float, state: Callable[[], object] = str) -> bool:
    """Wait until ``done`` (polled every 0.2 s), at most ``seconds``; a wait that gives up says what it
    was waiting for and how things stood, and the drill goes on (its measures show the consequence)."""
    deadline = now() + seconds
    while not done():
        if now() > deadline:
            say(f"gave up waiting for {what} after {seconds:.0f} s ({state()})")
            return False
        time.sleep(0.2)
    return True


def bind(endpoint: str) -> None:
    table.bind(table_name="switchboard", host=endpoint, region="us-east-1")


def watch_entry_point(world: World, regions: TwoRegions) -> None:
    """The global accelerator: two failed health checks take a region out, two good ones put it back."""
    last = {name: True for name in world.routable}
    streak = {name: 0 for name in world.routable}
    while not world.stopped.is_set():
        for name, region in regions.regions.items():
            ok = region.healthy()
            streak[name] = streak[name] + 1 if ok == last[name] else 1
            last[name] = ok
            if streak[name] >= 2:
                world.routable[name] = ok
        time.sleep(0.5)


def reregister(
    world: World, seats: list[str], window: tuple[float, float], kill_at: float
) -> dict[str, float]:
    """The dead region's agents' phones register again through the survivor's edge task, each on
    its own (a phone does not wait for another's REGISTER), each trying again until it is through."""
    done: dict[str, float] = {}

    def one(seat: str, at: float) -> None:
        time.sleep(max(0.0, at - now()))
        while not world.stopped.is_set():
            try:
                register(seat, f"edge-{SURVIVOR}-1", int(now()))
                break
            except Exception:
                time.sleep(1.0)
        world.agent_region[seat] = SURVIVOR
        done[seat] = now()

    with ThreadPoolExecutor(max_workers=16) as phones:
        # In the order the phones notice, so no phone waits for a worker held by a later one.
        for at, seat in sorted((kill_at + random.uniform(*window), seat) for seat in seats):
            phones.submit(one, seat, at)
    return done


# States in which an agent takes (or is busy with, and will then take) calls without acting themselves.
OFFERABLE = frozenset(
    {AgentState.AVAILABLE, AgentState.RESERVED, AgentState.ON_CONTACT, AgentState.AFTER_CONTACT_WORK}
)


def reachable_at(seats: list[tuple[str, str]], since: float, limit: float) -> float | None:
    """When every agent of the dead region could be offered a call in the survivor: registered
    there, in a state that takes calls (not parked NOT_RESPONDING), and not held by a contact the
    survivor does not have. Gives up ``limit`` seconds after ``since`` (None), saying which agents
    were not reachable then."""
    agents, contacts, bindings = AgentSeatRepository(), LiveContactRepository(), BindingItems()
    merchant_ids = sorted({merchant_id for merchant_id, _ in seats})
    wanted = {seat_id for _, seat_id in seats}
    registered: set[str] = set()  # a phone registered through the survivor stays so
    missing: dict[str, str] = {}
    while now() - since < limit:
        missing = {}
        try:
            for merchant_id in merchant_ids:
                for seat in agents.all_for_merchant(merchant_id):
                    if seat.seat_id not in wanted:
                        continue
                    why = _unreachable(seat.seat_id, seat.agent, contacts, bindings, registered)
                    if why:
                        missing[seat.seat_id] = why
                    if now() - since >= limit:
                        break
            if not missing:
                return now()
        except Exception:
            log.warning("reading the survivor's agents failed; looking again", exc_info=True)
            missing = {"?": "read failed"}
        time.sleep(1.0)
    reasons: dict[str, int] = {}
    for why in missing.values():
        reasons[why] = reasons.get(why, 0) + 1
    say(f"gave up waiting for every agent to be reachable after {limit:.0f} s: not yet {reasons}")
    return None


def _unreachable(
    seat_id: str,
    agent: AgentSnapshot,
    contacts: LiveContactRepository,
    bindings: BindingItems,
    registered: set[str],
) -> str:
    """Why the agent cannot be offered a call in the survivor now ("" when it can)."""
    if seat_id not in registered:
        if f"edge-{SURVIVOR}-1" not in {b.flow_owner for b in bindings.current(aor(seat_id), int(now()))}:
            return "not registered"
        registered.add(seat_id)
    if agent.state not in OFFERABLE:
        return agent.state.value + (f":{agent.reason}" if agent.reason else "")
    if agent.contact_id is not None and contacts.get(agent.contact_id) is None:
        return "held by a contact the survivor lacks"
    return ""


def seat_states(merchants: list[Merchant], home: str) -> dict[str, int]:
    """How the agents of merchants preferring ``home`` stand (state, and the system's reason)."""
    agents = AgentSeatRepository()
    counts: dict[str, int] = {}
    for merchant in merchants:
        if merchant.home != home:
            continue
        seats = or_none(
            f"the seats of {merchant.merchant_id}", partial(agents.all_for_merchant, merchant.merchant_id)
        )
        if seats is None:
            counts["unread"] = counts.get("unread", 0) + len(merchant.seats)
            continue
        for seat in seats:
            agent = seat.agent
            key = agent.state.value + (f":{agent.reason}" if agent.reason else "")
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def failback(regions: TwoRegions, seconds: float = 240.0) -> str:
    """The operator's one command, run with the survivor's settings; run again if it failed (a
    read timed out on a loaded engine): each move is conditional, so a second run moves only the
    rest. All attempts together get ``seconds``."""
    env = regions.regions[SURVIVOR].environment(regions.lambda_urls)
    deadline = now() + seconds
    attempt = 0
    while True:
        attempt += 1
        try:
            done = subprocess.run(
                [sys.executable, "-m", "local_stack.regions.homes", "failback", KILLED],
                env=env,
                capture_output=True,
                text=True,
                timeout=max(10.0, deadline - now()),
            )
        except subprocess.TimeoutExpired:
            return f"failback: gave up after {seconds:.0f} s ({attempt} attempts), the command still running"
        if done.returncode == 0:
            # The command's rounds of checks of the returning region (on stderr), then what moved.
            rounds = [line for line in done.stderr.splitlines() if line.startswith(f"{KILLED}:")]
            if rounds:
                say(f"failback checked {KILLED} {len(rounds)} times: " + " | ".join(rounds[-8:]))
            return done.stdout
        say(f"failback attempt {attempt} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
        if now() > deadline - 10:
            return f"failback: gave up after {attempt} attempts"


def failures_by_phase(
    calls: list[Call], kill_at: float, rto: float | None, failback_at: float
) -> dict[str, int]:
    def phase(call: Call) -> str:
        if call.started < kill_at:
            return "before_kill"
        if rto is None or call.started < kill_at + rto:
            return "kill_to_rto"
        return "rto_to_failback" if call.started < failback_at else "after_failback"

    counts: dict[str, int] = {}
    for call in calls:
        if call.failed:
            key = f"{phase(call)}/{call.entry}/{call.merchant.home}/{call.failed}"
            counts[key] = counts.get(key, 0) + 1
    return dict(sorted(counts.items()))


def contact_keys() -> set[tuple[str, str]]:
    """The keys of every live contact and record in the bound region's table: one scan, not a read
    per call (thousands of reads on a loaded engine took minutes)."""
    patient = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 5, "mode": "standard"})
    client = boto3.client(
        "dynamodb", endpoint_url=table.BINDING.host, region_name="us-east-1", config=patient
    )
    keys: set[tuple[str, str]] = set()
    for page in client.get_paginator("scan").paginate(
        TableName="switchboard",
        ProjectionExpression="pk, sk",
        FilterExpression="sk IN (:live, :record)",
        ExpressionAttributeValues={":live": {"S": CONTACT_SK}, ":record": {"S": RECORD_SK}},
    ):
        keys.update((item["pk"]["S"], item["sk"]["S"]) for item in page["Items"])
    return keys


def measure(
    world: World, kill_at: float, failback_at: float, rpo: int, reachable: float | None
) -> dict[str, Any]:
    calls = list(world.calls)
    homed_killed = [c for c in calls if c.merchant.home == KILLED and c.started >= kill_at and c.answered_at]
    first = min((c.answered_at for c in homed_killed if c.answered_at), default=None)
    rto = None if first is None else round(first - kill_at, 2)
    # Talking at the kill with both legs in the survivor; dropped: cut, rung for another call, or
    # its end not recorded
    surviving_talks = [
        c
        for c in calls
        if c.answered_at is not None
        and c.answered_at < kill_at
        and (c.talk_ended_at is None or c.talk_ended_at > kill_at)
        and c.entry == SURVIVOR
        and c.agent_region == SURVIVOR
    ]
    dropped = [c for c in surviving_talks if c.died or c.disturbed or not c.ended_ok]
    after_rto = [c for c in calls if rto is not None and c.started >= kill_at + rto]
    failed_after = [c for c in after_rto if c.failed]
    created = [c for c in calls if c.created]
    kept = or_none("the contacts and records", partial(patiently, contact_keys, 120.0))
    lost = (
        None
        if kept is None
        else [
            c.contact_id
            for c in created
            if (contact_pk(c.contact_id), RECORD_SK) not in kept
            and (contact_pk(c.contact_id), CONTACT_SK) not in kept
        ]
    )
    live_left = (
        None
        if kept is None
        else [c.contact_id for c in created if c.done and (contact_pk(c.contact_id), CONTACT_SK) in kept]
    )
    doubles = world.phones.double_offers
    return {
        "calls": len(calls),
        "calls_answered": sum(1 for c in calls if c.answered_at),
        "calls_queued": sum(1 for c in calls if c.queued),
        "rto_seconds": rto,
        "double_offers": len(doubles),
        "talking_calls_dropped_in_surviving_region": len(dropped),
        "talking_calls_in_surviving_region_at_kill": len(surviving_talks),
        "contacts_lost": None if lost is None else len(lost),
        "contacts_left_live": None if live_left is None else len(live_left),
        "calls_failed_after_rto": len(failed_after),
        "calls_after_rto": len(after_rto),
        "calls_died_with_region": sum(1 for c in calls if c.died),
        "agents_reachable_seconds": None if reachable is None else round(reachable - kill_at, 2),
        "failback_double_offers": sum(1 for d in doubles if d[0] >= failback_at),
        "rpo_unreplicated_writes_at_kill": rpo,
        "failed_by_phase": failures_by_phase(calls, kill_at, rto, failback_at),
        # Each double offer as seen by the phone: seconds from the kill, the seat, the call it held and
        # the one that rang it anyway (the records of both regions name who offered each).
        "double_offer_details": [
            f"{at - kill_at:+.1f}s {seat}: held {held}, rung for {rung}" for at, seat, held, rung in doubles
        ],
    }


def run(plan: Plan, log_dir: Path, lag: float) -> dict[str, Any]:
    regions = TwoRegions(log_dir, lag=lag, throughput=plan.throughput)
    world: World | None = None
    try:
        regions.start_databases()
        merchants = seed(
            regions.regions[KILLED].dynamodb_url, plan.merchants_per_region, plan.agents_per_merchant
        )
        regions.start_replication(seeded_in=KILLED)
        bind(regions.regions[SURVIVOR].dynamodb_url)
        regions.start_services()
        world = World(regions.lambda_urls, merchants, plan.talk)
        tasks = start_edge_tasks(world)
        for merchant in merchants:
            for seat in merchant.seats:
                world.agent_region[seat] = merchant.home
        for target, args in (
            (watch_entry_point, (world, regions)),
            (world.poll_offers, ("east",)),
            (world.poll_offers, ("west",)),
            (world.run_load, (plan.rate,)),
        ):
            threading.Thread(target=target, args=args, daemon=True).start()
        say(
            f"load {plan.rate}/s over {len(merchants)} merchants, {sum(len(m.seats) for m in merchants)} agents"
        )
        time.sleep(plan.warm)
        assert regions.replicator is not None
        regions.replicator.pause()
        say(f"partition: replication paused {plan.partition:.0f} s while both regions take calls")
        time.sleep(plan.partition)
        regions.replicator.resume()
        replicator = regions.replicator
        say("partition over: replication resumed; waiting for its backlog")
        wait_for(
            "the partition's replication backlog to drain",
            lambda: replicator.pending_older_than(lag) == 0,
            60,
            lambda: f"{replicator.pending()} writes waiting",
        )
        partition_doubles = len(world.phones.double_offers)
        kill_at = now()
        world.alive[KILLED] = False
        rpo = regions.kill(KILLED)
        say(
            f"killed {KILLED}: {rpo} writes not replicated yet; waiting for its agents to be reachable in {SURVIVOR}"
        )
        dead_seats = [(m.merchant_id, s) for m in merchants if m.home == KILLED for s in m.seats]
        threading.Thread(
            target=reregister, args=(world, [s for _, s in dead_seats], plan.reregister, kill_at), daemon=True
        ).start()
        reachable = reachable_at(dead_seats, kill_at, plan.after_kill)
        say(f"agents of {KILLED} reachable in {SURVIVOR}: {reachable and round(reachable - kill_at, 1)} s")
        time.sleep(max(0.0, kill_at + plan.after_kill - now()))
        survivors_view = seat_states(merchants, KILLED)
        say(f"agents of {KILLED} in {SURVIVOR} before it comes back: {survivors_view}")
        say(f"bringing {KILLED} back: a new engine filled from {SURVIVOR}")
        copied = regions.restart(KILLED)
        world.alive[KILLED] = True
        say(f"{KILLED} is back ({copied} items copied); waiting for replication to catch up")
        wait_for(
            "replication into the returning region to catch up",
            lambda: replicator.pending_older_than(lag) == 0,
            20,
            lambda: f"{replicator.pending()} writes waiting",
        )
        say("failing back")
        failback_at = now()
        say(failback(regions).strip())
        say(f"load goes on {plan.after_failback:.0f} s after the failback")
        time.sleep(plan.after_failback)
        world.stopped.set()
        say("load stopped; waiting for the calls in progress to end")
        wait_for(
            "the calls in progress to end",
            lambda: all(c.done for c in world.calls),
            plan.talk[1] + 30,
            lambda: f"{sum(1 for c in world.calls if not c.done)} calls not over",
        )
        time.sleep(lag * 3 + 2)
        say("measuring (both regions' records after replication settles)")
        result = measure(world, kill_at, failback_at, rpo, reachable)
        result["partition_double_offers"] = partition_doubles
        # Seats held by contacts the survivor lacked: asked of its edge task, and kept while it held them
        result["survivor_task_asked_held"] = tasks[SURVIVOR].asked
        result["survivor_task_said_held"] = tasks[SURVIVOR].said_held
        result["seats_of_killed_before_failback"] = survivors_view
        homes = or_none("the ownerships", partial(patiently, OwnershipItems().all))
        result["homes_after_failback"] = (
            None if homes is None else sorted({o.home_region for o in homes if o.preferred == KILLED})
        )
        return result
    finally:
        if world is not None:
            world.stopped.set()
        regions.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="the short drill of make test")
    parser.add_argument("--lag", type=float, default=1.0, help="replication lag, seconds")
    parser.add_argument("--logs", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_REGION", "us-east-1"),
    ):
        os.environ.setdefault(name, value)
    log_dir = args.logs or Path(tempfile.mkdtemp(prefix="drill-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    plan = Plan.small() if args.small else Plan.full()
    # Stopped from outside, the regions' processes are stopped too (``run``'s cleanup runs).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = now()
    result = run(plan, log_dir, args.lag)
    say(f"drill took {now() - started:.0f} s; logs in {log_dir}")
    for name, value in result.items():
        say(f"  {name}: {value}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
