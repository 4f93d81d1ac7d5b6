"""What one routed call costs in DynamoDB requests, and how fast an available agent gets an offer.

Counted on the ``before-send`` hook of every client the models use. The figures are printed
(``-s``) for the record and bounded so a change that adds requests to the hot path is noticed.
"""

from __future__ import annotations

import statistics
import time
from collections import Counter
from typing import Any

import pytest

from contact_center.data.catalog import ROUTING_CACHE
from contact_center.domain.agent_state import GoAvailable, GoNotReady
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome

from .conftest import EDGE, NOW, World, on_every_table_request


def count_requests() -> Counter[str]:
    counts: Counter[str] = Counter()

    def on_request(operation: str, _: dict[str, Any]) -> None:
        counts[operation] += 1

    on_every_table_request(on_request)
    return counts


def test_requests_per_routed_call_and_dequeue_latency(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    # The catalog's entries live 5 s of the process's clock; a slow machine must not expire them
    # between the cold call and the warm one, whose count is the bound.
    frozen = time.monotonic()
    monkeypatch.setattr(ROUTING_CACHE, "_clock", lambda: frozen)
    world.queue()
    world.number()
    world.seat("a1")
    world.seat("a2", available_at=NOW - 1000)
    counts = count_requests()
    # One call answered at once: new_contact, offer_result(answered), contact_ended.
    decision = world.service.new_contact("+15550100", "x", EDGE, "c1", NOW)
    assert isinstance(decision, Connect)
    new_contact = sum(counts.values())
    world.service.offer_result("c1", decision.seat_id, OfferOutcome.ANSWERED, NOW + 1000)
    answered = sum(counts.values()) - new_contact
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 60_000)
    total = sum(counts.values())
    print(
        f"\nDynamoDB requests per routed call: {total} "
        f"(new_contact {new_contact}, answered {answered}, ended {total - new_contact - answered}) {dict(counts)}"
    )
    # new_contact 5: number, queue (both cached afterwards), available seats, the chosen seat's
    # bindings, one transaction creating the contact already offered to the seat (with the seat's
    # reservation and the day's "offered" count). Answered 2: the contact,
    # then seat + contact in one transaction. Ended 3: the contact (which keeps the seat's profile
    # from the offer: the seat is neither read to be listed for its queues on release nor to be
    # offered the next contact), one transaction (end, record, stats, release, entries), the
    # released agent's queue's heads.
    assert (new_contact, answered, total - new_contact - answered) == (5, 2, 3)
    assert total <= 10

    # The next call, on a warm container: the number and the queue come from the catalog's cache;
    # this bound is the target (<= 8 requests per routed call).
    before = sum(counts.values())
    decision = world.service.new_contact("+15550100", "x", EDGE, "c2", NOW + 61_000)
    assert isinstance(decision, Connect)
    world.service.offer_result("c2", decision.seat_id, OfferOutcome.ANSWERED, NOW + 62_000)
    world.service.contact_ended("c2", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 90_000)
    warm = sum(counts.values()) - before
    print(f"DynamoDB requests per routed call, warm: {warm}")
    assert warm <= 8

    # agent_available -> offer, in process: a queued caller, an agent turning available.
    world.not_ready("a1", NOW + 61_000)
    world.not_ready("a2", NOW + 61_000)
    latencies = []
    for index in range(10):
        at = NOW + 100_000 + index * 1000
        world.service.new_contact("+15550100", "x", EDGE, f"q{index}", at)
        world.command("a1", GoAvailable(), at)
        started = time.perf_counter()
        offer = world.service.agent_available("m1", "a1", at)
        latencies.append(time.perf_counter() - started)
        assert offer is not None and offer.contact_id == f"q{index}"
        world.service.contact_ended(f"q{index}", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, at + 1)
        world.command("a1", GoNotReady("break"), at + 2)
    print(f"agent_available -> offer in process (moto): p50 {statistics.median(latencies) * 1000:.1f} ms")
