"""The routing function's CPU per routed call, in process, against DynamoDB Local.

``.venv/bin/python bench/routing_cpu_bench.py [--calls 300] [--warmup 30] [--profile FILE]``
(``make bench-routing-cpu``)

One warm container of the routing function (``functions/routing/handler.py``, settings from the
environment as in AWS) answers the three invocations the edge makes for a call answered at once:
``new_contact``, ``offer_result`` (answered, with the dialog the edge stores through it) and
``contact_ended``. Each invocation runs as the local Lambda service runs it: the event decoded from
JSON, the handler, the answer encoded. Its CPU is ``time.thread_time`` of this thread around those
three steps (what the local Lambda service's per-function usage reads), so DynamoDB Local's CPU is
never in it. Its log lines (the domain events, one JSON line each) are formatted as the local Lambda
service formats them (``local_stack.logs``, INFO) and written to /dev/null. Calls after ``--warmup`` are counted; every call must connect, be answered and end, or
the bench stops naming the answer. ``--profile`` writes cProfile's statistics of the counted calls
(and prints the top of them), which costs the run about twice the CPU: its figures are not the
measure. Bounded: ``--calls`` at most 5,000, about 30 s for 300 calls on the 2-core machine.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import logging
import os
import pstats
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "layers" / "core" / "python"), str(ROOT / "functions" / "routing")]

from tests.support.dynamodb import dynamodb_local, fake_credentials, fresh_table  # noqa: E402

MAX_CALLS = 5_000
DOMAIN = "bench.switchboard.test"
MERCHANT = "m-bench"
QUEUE = "q-bench"
NUMBER = "+15550100"
EDGE = "bench-edge-1"
ACTIONS = ("new_contact", "offer_result", "contact_ended")


def seed(seats: int, now_ms: int) -> None:
    """A merchant, its queue (no wrap-up), the number calling it, and ``seats`` agents available
    and registered, written through the data layer."""
    from contact_center.data.bindings import BindingItems, new_binding
    from contact_center.data.catalog import NumberItems, QueueItems
    from contact_center.data.merchants import MerchantItems, new_api_key, new_merchant
    from contact_center.data.models import NumberItem, QueueItem
    from contact_center.data.repositories.seats import AgentSeatRepository
    from contact_center.data.seats import SeatItems, new_seat, new_sip_user
    from contact_center.domain.agent_state import GoAvailable, LogIn, apply

    MerchantItems().create(
        new_merchant(MERCHANT, "Bench", "ops@bench.test", 100, now_ms),
        new_api_key("h-bench", "k-bench", MERCHANT, "sk_", now_ms),
    )
    QueueItems().create(
        QueueItem(
            merchant_id=MERCHANT,
            queue_id=QUEUE,
            name="bench",
            skills=[],
            priority=5,
            strategy="longest_idle",
            max_wait_seconds=60,
            wrap_up_seconds=0,
            created_at=now_ms,
        )
    )
    NumberItems().create(NumberItem(number=NUMBER, merchant_id=MERCHANT, queue_id=QUEUE, created_at=now_ms))
    repository = AgentSeatRepository()
    for n in range(seats):
        seat_id = f"a{n:03d}"
        SeatItems().create(
            new_seat(MERCHANT, seat_id, f"Agent {n}", f"u-{seat_id}", {"english": 3}, {QUEUE: 1}, now_ms),
            new_sip_user(f"u-{seat_id}", MERCHANT, seat_id, DOMAIN, {"MD5": "x"}),
        )
        for command in (LogIn(), GoAvailable()):
            seat = repository.get(MERCHANT, seat_id)
            repository.save_state(
                MERCHANT, seat_id, seat.agent.version, apply(seat.agent, command, now_ms).agent
            )
        BindingItems().write_batch(
            [
                new_binding(
                    f"sip:u-{seat_id}@{DOMAIN}",
                    f"sip:u-{seat_id}@127.0.0.1:{6000 + n};transport=udp",
                    now_ms // 1000 + 3600,
                    received=f"127.0.0.1:{6000 + n}",
                    transport="UDP",
                    flow_owner=EDGE,
                )
            ],
            [],
        )


def leg(side: str, call_id: str, key: str) -> dict[str, Any]:
    """One leg of the dialog the edge hands over with the answer (``StoredCall.legs_dict``)."""
    return {
        "side": side,
        "call_id": call_id,
        "local": f"<sip:{NUMBER}@{DOMAIN}>;tag=e{key[:8]}",
        "remote": f"<sip:+15557654321@carrier.test>;tag=c{key[8:16]}",
        "local_cseq": 1,
        "remote_cseq": 1,
        "remote_target": "sip:+15557654321@127.0.0.1:5070",
        "transport": "UDP",
        "destination": "127.0.0.1:5070",
        "contact": f"<sip:{key}-{side}@127.0.0.1:5060>",
        "route_set": [],
    }


def events(contact_id: str) -> tuple[dict[str, Any], Callable[[str], dict[str, Any]], dict[str, Any]]:
    """The three events of one call, as the edge's routing client sends them."""
    key = uuid.uuid4().hex
    keys = [key, f"{contact_id}@carrier.test"]
    new_contact = {
        "action": "new_contact",
        "called": NUMBER,
        "caller": "+15557654321",
        "contact_id": contact_id,
        "edge_task_id": EDGE,
        "channel": "voice",
        "priority": None,
        "menu": None,
    }

    def offer_result(seat_id: str) -> dict[str, Any]:
        legs = {
            "key": key,
            "caller": leg("caller", f"{contact_id}@carrier.test", key),
            "agent": leg("agent", f"{key}@127.0.0.1", key),
            "seat_id": seat_id,
            "merchant_id": MERCHANT,
        }
        return {
            "action": "offer_result",
            "contact_id": contact_id,
            "seat_id": seat_id,
            "outcome": "answered",
            "dialog": {"keys": keys, "legs": legs, "owner": EDGE, "ttl_seconds": 7200},
        }

    ended = {
        "action": "contact_ended",
        "contact_id": contact_id,
        "side": "agent",
        "cause": "normal_clearing",
        "dialog_keys": keys,
    }
    return new_contact, offer_result, ended


def invoke(
    handler: Callable[[Any, Any], dict[str, Any]], event: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    """One invocation as the local Lambda service runs it; its answer and this thread's CPU (ns)."""
    payload = json.dumps(event).encode()
    started = time.thread_time_ns()
    answer = handler(json.loads(payload), None)
    json.dumps(answer).encode()
    return answer, time.thread_time_ns() - started


def one_call(handler: Callable[[Any, Any], dict[str, Any]], contact_id: str) -> dict[str, int]:
    new_contact, offer_result, ended = events(contact_id)
    cpu: dict[str, int] = {}
    decision, cpu["new_contact"] = invoke(handler, new_contact)
    if decision.get("decision") != "connect":
        raise SystemExit(f"new_contact of {contact_id} answered {decision}, not a connect")
    answered, cpu["offer_result"] = invoke(handler, offer_result(decision["seat_id"]))
    if "error" in answered:
        raise SystemExit(f"offer_result of {contact_id} answered {answered}")
    done, cpu["contact_ended"] = invoke(handler, ended)
    if "error" in done:
        raise SystemExit(f"contact_ended of {contact_id} answered {done}")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--seats", type=int, default=4)
    parser.add_argument("--profile", type=Path, help="write cProfile statistics of the counted calls here")
    args = parser.parse_args()
    if not 0 < args.calls <= MAX_CALLS:
        parser.error(f"--calls must be 1 to {MAX_CALLS}")

    fake_credentials()
    log_sink = open(os.devnull, "w")  # noqa: SIM115  # open for the whole run
    logging.basicConfig(
        level=logging.INFO, stream=log_sink, format="%(asctime)s routing %(levelname)s %(message)s"
    )
    with dynamodb_local() as endpoint:
        table_name = fresh_table(endpoint)
        # The function's environment, as the template gives it (the models read the same names).
        os.environ.update(
            {
                "SWITCHBOARD_COMPONENT": "routing",
                "SWITCHBOARD_TABLE": table_name,
                "SIP_DOMAIN": DOMAIN,
                "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            }
        )
        seed(args.seats, time.time_ns() // 1_000_000 - 60_000)
        from handler import handler  # the function's module, imported as Lambda imports it

        for n in range(args.warmup):
            one_call(handler, f"warm-{n}")
        per_action: dict[str, list[int]] = {action: [] for action in ACTIONS}
        profiler = cProfile.Profile(time.thread_time) if args.profile else None
        load = os.getloadavg()[0]
        wall = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        for n in range(args.calls):
            for action, ns in one_call(handler, f"call-{n}").items():
                per_action[action].append(ns)
        if profiler is not None:
            profiler.disable()
        wall = time.perf_counter() - wall

    per_call = [sum(cpu) for cpu in zip(*per_action.values(), strict=True)]
    print(
        f"routing function, {args.calls} routed calls in process against DynamoDB Local "
        f"(load average {load:.1f} -> {os.getloadavg()[0]:.1f}, {wall:.1f} s):"
    )
    for action, values in per_action.items():
        print(
            f"  {action:14s} CPU mean {statistics.fmean(values) / 1e6:6.3f} ms, "
            f"median {statistics.median(values) / 1e6:6.3f} ms"
        )
    print(
        f"  per call       CPU mean {statistics.fmean(per_call) / 1e6:6.3f} ms, "
        f"median {statistics.median(per_call) / 1e6:6.3f} ms"
    )
    if profiler is not None:
        profiler.dump_stats(args.profile)
        stats = pstats.Stats(str(args.profile))
        stats.sort_stats("tottime").print_stats(25)


if __name__ == "__main__":
    main()
