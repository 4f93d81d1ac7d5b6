"""Routing calls and agents' own changes from many threads over the fakes, with the interpreter
switching threads as often as it can: the conditional writes alone keep the invariants.

No agent holds two contacts, no contact is offered to two agents, and every contact created is live
or recorded, exactly once. (The same run over moto and DynamoDB Local is in tests/functional.)
"""

from __future__ import annotations

import random
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from contact_center.domain.agent_state import AgentState, GoAvailable, GoNotReady
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.domain.errors import DomainError
from contact_center.services.errors import ConcurrentUpdateError, NotFoundError
from contact_center.services.routing.decisions import OfferOutcome
from tests.support.routing_centre import EDGE, NOW, FakeCentre

THREADS = 6
OPERATIONS_PER_THREAD = 40
SEATS = 5


@pytest.fixture
def eager_thread_switching() -> Iterator[None]:
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(interval)


@pytest.mark.usefixtures("eager_thread_switching")
def test_parallel_routing_never_double_offers_nor_loses_a_contact(centre: FakeCentre) -> None:
    centre.queue("q1", max_wait=3600)
    centre.queue("q2", max_wait=3600)
    centre.number("+1001", "q1")
    centre.number("+1002", "q2")
    seat_ids = [f"s{index}" for index in range(SEATS)]
    for index, seat_id in enumerate(seat_ids):
        centre.seat(seat_id, queues={"q1": 1, "q2": 1 + index % 2}, available_at=NOW - 1000 * index)
    service, table = centre.service, centre.ports.table
    created: list[str] = []
    lock = threading.Lock()
    clock = iter(range(NOW, NOW + 10**9, 7))

    def now() -> int:
        with lock:
            return next(clock)

    def worker(thread: int) -> None:
        rng = random.Random(thread)
        for step in range(OPERATIONS_PER_THREAD):
            choice = rng.random()
            try:
                if choice < 0.35:
                    contact_id = f"t{thread}-{step}"
                    with lock:
                        created.append(contact_id)
                    service.new_contact(rng.choice(["+1001", "+1002"]), "x", EDGE, contact_id, now())
                elif choice < 0.6:
                    seat_id = rng.choice(seat_ids)
                    state = centre.agent(seat_id).state
                    if state is AgentState.AVAILABLE:
                        centre.command(seat_id, GoNotReady("break"), now())
                    elif state in (AgentState.NOT_READY, AgentState.NOT_RESPONDING):
                        centre.command(seat_id, GoAvailable(), now())
                        service.agent_available("m1", seat_id, now())  # as the seat stream would
                elif choice < 0.8:
                    offered = [
                        c for c in list(table.contacts.values()) if c.snapshot.state is ContactState.OFFERED
                    ]
                    if offered:
                        contact = rng.choice(offered)
                        outcome = rng.choice(
                            [OfferOutcome.ANSWERED, OfferOutcome.NO_ANSWER, OfferOutcome.BUSY]
                        )
                        service.offer_result(
                            contact.contact_id, str(contact.snapshot.seat_id), outcome, now()
                        )
                else:
                    with lock:
                        candidates = list(created)
                    if candidates:
                        service.contact_ended(
                            rng.choice(candidates), HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, now()
                        )
            except (ConcurrentUpdateError, DomainError, NotFoundError):
                pass  # an agent's own change lost to the router, or a hang-up for a contact not yet created

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))

    # Then every seat holds at most the one contact that names it, and vice versa.
    busy = {
        contact.contact_id: contact.snapshot.seat_id
        for contact in table.contacts.values()
        if contact.snapshot.state in (ContactState.OFFERED, ContactState.CONNECTED)
    }
    assert len(set(busy.values())) == len(busy), "a seat was given two contacts"
    for seat_id in seat_ids:
        agent = centre.agent(seat_id)
        if agent.state in (AgentState.RESERVED, AgentState.ON_CONTACT):
            assert agent.contact_id is not None and busy.get(agent.contact_id) == seat_id
            expected = ContactState.OFFERED if agent.state is AgentState.RESERVED else ContactState.CONNECTED
            assert table.contacts[agent.contact_id].snapshot.state is expected
    for contact_id, held_by in busy.items():
        assert centre.agent(str(held_by)).contact_id == contact_id
    # And every contact created is live or recorded, exactly once; a queued one is where agents look.
    assert len(created) == len(set(created))
    queued = {c.contact_id for q in ("q1", "q2") for c in centre.ports.contacts.queue_heads(q, 1000)}
    for contact_id in created:
        live, record = table.contacts.get(contact_id), table.records.get(contact_id)
        assert (live is None) != (record is None), f"{contact_id} is lost or both live and recorded"
        if live is not None and live.snapshot.state is ContactState.QUEUED:
            assert contact_id in queued
    assert queued <= set(created)
    assert len(created) > THREADS * OPERATIONS_PER_THREAD // 5  # the run did real work
