"""Many routing calls and agent state changes in parallel threads against one table.

Whatever the interleaving: no agent is ever holding two contacts, no contact is offered to two agents,
and every contact created is in exactly one place at the end — live (queued, offered, connected)
or recorded — never lost, never duplicated.
"""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from moto.core.botocore_stubber import BotocoreStubber

from contact_center.data import table
from contact_center.data.models import ContactItem
from contact_center.domain.agent_state import AgentState, GoAvailable, GoNotReady
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.domain.errors import DomainError
from contact_center.services.errors import ConcurrentUpdateError, NotFoundError
from contact_center.services.routing.decisions import OfferOutcome

from .conftest import EDGE, NOW, World

THREADS = 8
OPERATIONS_PER_THREAD = 12
SEATS = 6


@pytest.fixture
def serialised_moto(any_table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto's in-process backend is not thread-safe (a transaction deep-copies a table another thread
    is changing), so under moto each request runs alone. Races between requests — the read, decide,
    write gaps that the conditions must cover — still interleave freely; DynamoDB Local runs the
    same test with truly concurrent requests."""
    if table.BINDING.host is not None:
        return
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def locked(self: BotocoreStubber, event_name: str, request: object, **kwargs: object) -> object:
        with lock:
            return original(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", locked)


@pytest.mark.usefixtures("serialised_moto")
def test_parallel_routing_never_double_offers_nor_loses_a_contact() -> None:
    world = World()
    world.queue("q1", max_wait=3600)
    world.queue("q2", max_wait=3600)
    world.number("+1001", "q1")
    world.number("+1002", "q2")
    seat_ids = [f"s{index}" for index in range(SEATS)]
    for index, seat_id in enumerate(seat_ids):
        world.seat(seat_id, queues={"q1": 1, "q2": 1 + index % 2}, available_at=NOW - 1000 * index)
    service = world.service
    created: list[str] = []
    lock = threading.Lock()
    clock = iter(range(NOW, NOW + 10**9, 7))
    clock_lock = threading.Lock()

    def now() -> int:
        with clock_lock:
            return next(clock)

    def live(state: ContactState) -> list[ContactItem]:
        return [item for item in ContactItem.scan() if item.entity == "contact" and item.state == state.value]

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
                    agent = world.agent(seat_id)
                    if agent.state is AgentState.AVAILABLE:
                        world.command(seat_id, GoNotReady("break"), now())
                    elif agent.state in (AgentState.NOT_READY, AgentState.NOT_RESPONDING):
                        world.command(seat_id, GoAvailable(), now())
                        service.agent_available("m1", seat_id, now())  # as the seat stream would
                elif choice < 0.8:
                    offered = live(ContactState.OFFERED)
                    if offered:
                        item = rng.choice(offered)
                        outcome = rng.choice(
                            [OfferOutcome.ANSWERED, OfferOutcome.NO_ANSWER, OfferOutcome.BUSY]
                        )
                        service.offer_result(item.contact_id, str(item.offered_seat), outcome, now())
                else:
                    with lock:
                        candidates = list(created)
                    if candidates:
                        service.contact_ended(
                            rng.choice(candidates), HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, now()
                        )
            except (ConcurrentUpdateError, DomainError, NotFoundError):
                # An agent's own change may lose to the router (or be illegal by then), and a hang-up
                # may name a contact another thread is still creating: the API answers 409/404. The
                # router's invariants are what is checked below.
                pass

    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(worker, range(THREADS)))

    # Then every seat holds at most the one contact that names it, and vice versa.
    contacts = {item.contact_id: item for item in ContactItem.scan() if item.entity == "contact"}
    busy = {
        contact.contact_id: contact.offered_seat
        for contact in contacts.values()
        if contact.state in (ContactState.OFFERED.value, ContactState.CONNECTED.value)
    }
    assert len(set(busy.values())) == len(busy), "a seat was given two contacts"
    for seat_id in seat_ids:
        agent = world.agent(seat_id)
        if agent.state in (AgentState.RESERVED, AgentState.ON_CONTACT):
            assert agent.contact_id is not None
            assert busy.get(agent.contact_id) == seat_id
            expected = ContactState.OFFERED if agent.state is AgentState.RESERVED else ContactState.CONNECTED
            assert contacts[agent.contact_id].state == expected.value
    for contact_id, seat_id in busy.items():
        assert world.agent(str(seat_id)).contact_id == contact_id
    # And every contact created is live or recorded, exactly once.
    assert len(created) == len(set(created))
    queued = {c.contact_id for q in ("q1", "q2") for c in world.contacts.queue_heads(q, 1000)}
    for contact_id in created:
        item = contacts.get(contact_id)
        record = world.record(contact_id)
        assert (item is None) != (record is None), f"{contact_id} is lost or both live and recorded"
        if item is not None and item.state == ContactState.QUEUED.value:
            assert contact_id in queued
    assert queued <= set(created)
    assert len(created) > THREADS * OPERATIONS_PER_THREAD // 5  # the run did real work
