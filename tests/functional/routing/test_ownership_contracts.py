"""The ownership fence as one contract over the fakes and the DynamoDB adapters (moto, DynamoDB
Local): only a merchant's home region, at the current epoch and after the handoff, writes its seats
and contacts; once the home moves, every owned write of the old home fails with
``NotHomeRegionError`` and changes nothing — even while that region still holds the old ownership
in its cache, because the table itself checks the ownership item."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import replace

import pytest
from moto import mock_aws

from contact_center.domain.agent_state import Connect, GoNotReady, Reserve, apply
from contact_center.domain.contact import ConnectAgent, HangUp, apply_contact
from contact_center.domain.ownership import NotHomeRegionError, Ownership, StaleEpochError
from contact_center.services.routing.ports import SeatTransition
from contact_center.services.routing.records import record_for
from tests.support.dynamodb import fresh_table

from .port_backends import DynamoBackend, FakeBackend, RoutingBackend
from .test_port_contracts import NOW, M, available_seat, queued_contact

CACHED = 60_000  # the old home keeps the ownership it read for a minute: the table must still refuse


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@pytest.fixture(params=["fake", "moto", pytest.param("dynamodb-local", marks=pytest.mark.dynamodb_local)])
def backend(request: pytest.FixtureRequest) -> Iterator[RoutingBackend]:
    if request.param == "fake":
        yield FakeBackend()
    elif request.param == "moto":
        with mock_aws():
            fresh_table(None)
            yield DynamoBackend()
    else:
        fresh_table(request.getfixturevalue("dynamodb_local_endpoint"))
        yield DynamoBackend()


def homed(backend: RoutingBackend, region: str) -> Ownership:
    ownership = Ownership(M, region, 1, 0)
    backend.ownerships.move(None, ownership, now_ms())
    return ownership


def test_the_home_region_offers_connects_and_ends_a_contact(backend: RoutingBackend) -> None:
    homed(backend, "east")
    seats, contacts = backend.in_region("east", CACHED)
    seat = available_seat(backend, "a1")
    contacts.create(queued_contact("c1"))
    contact = contacts.get("c1")
    assert contact is not None
    contacts.offer(contact, seat, apply(seat.agent, Reserve("c1"), NOW).agent, NOW)
    offered, reserved = contacts.get("c1"), seats.get(M, "a1")
    assert offered is not None and reserved.agent.contact_id == "c1"
    transition = SeatTransition.of(M, reserved.agent, apply(reserved.agent, Connect("c1"), NOW + 1))
    connected = apply_contact(offered.snapshot, ConnectAgent("a1"), NOW + 1).contact
    contacts.connect(offered.version, replace(offered, snapshot=connected), transition)
    talking = contacts.get("c1")
    assert talking is not None and talking.snapshot.connected_at_ms == NOW + 1


def test_after_a_move_every_owned_write_of_the_old_home_fails_and_changes_nothing(
    backend: RoutingBackend,
) -> None:
    # Given: east decides for M, has written under epoch 1 (and cached it), and a contact is offered
    before = homed(backend, "east")
    seats, contacts = backend.in_region("east", CACHED)
    seat = available_seat(backend, "a1")
    idle = available_seat(backend, "a2")
    contacts.create(queued_contact("c1"))
    contacts.create(queued_contact("c2"))
    c1 = contacts.get("c1")
    assert c1 is not None
    contacts.offer(c1, seat, apply(seat.agent, Reserve("c1"), NOW).agent, NOW)
    offered, reserved, waiting = contacts.get("c1"), seats.get(M, "a1"), contacts.get("c2")
    assert offered is not None and waiting is not None

    # When: west takes M over (a failover: the next epoch)
    backend.ownerships.move(before, before.moved_to("west", now_ms(), 0), now_ms())

    # Then: each owned write of east is refused, naming the new home and epoch
    transition = SeatTransition.of(M, reserved.agent, apply(reserved.agent, Connect("c1"), NOW + 1))
    hung_up = apply_contact(waiting.snapshot, HangUp(), NOW + 2).contact
    attempts: list[Callable[[], None]] = [
        lambda: seats.save_state(
            M, "a2", idle.agent.version, apply(idle.agent, GoNotReady("break"), NOW).agent
        ),
        lambda: contacts.create(queued_contact("c3")),
        lambda: contacts.offer(waiting, idle, apply(idle.agent, Reserve("c2"), NOW).agent, NOW),
        lambda: contacts.connect(offered.version, offered, transition),
        lambda: contacts.end(waiting, record_for(waiting, hung_up, NOW + 2), "abandoned"),
        lambda: contacts.save(waiting.version, waiting),
    ]
    for attempt in attempts:
        with pytest.raises(NotHomeRegionError) as refused:
            attempt()
        assert (refused.value.home_region, refused.value.epoch) == ("west", 2)
    assert backend.seats.get(M, "a2").agent == idle.agent
    assert backend.seats.get(M, "a1").agent == reserved.agent
    assert backend.contacts.get("c1") == offered and backend.contacts.get("c2") == waiting
    assert backend.contacts.get("c3") is None and backend.contacts.record("c2") is None

    # And: the new home writes the same change
    west_seats, _ = backend.in_region("west")
    west_seats.save_state(M, "a2", idle.agent.version, apply(idle.agent, GoNotReady("break"), NOW).agent)
    assert backend.seats.get(M, "a2").agent.version == idle.agent.version + 1


def test_a_new_home_waits_for_the_handoff_before_it_decides(backend: RoutingBackend) -> None:
    before = homed(backend, "east")
    idle = available_seat(backend, "a1")
    backend.ownerships.move(before, before.moved_to("west", now_ms(), 60_000), now_ms())
    west_seats, _ = backend.in_region("west")
    with pytest.raises(NotHomeRegionError):
        west_seats.save_state(M, "a1", idle.agent.version, apply(idle.agent, GoNotReady("x"), NOW).agent)
    assert backend.seats.get(M, "a1").agent == idle.agent


def test_only_one_move_per_epoch(backend: RoutingBackend) -> None:
    before = homed(backend, "east")
    backend.ownerships.move(before, before.moved_to("west", now_ms(), 0), now_ms())
    with pytest.raises(StaleEpochError) as stale:
        backend.ownerships.move(before, before.moved_to("east", now_ms(), 0), now_ms())
    assert (stale.value.expected, stale.value.actual) == (1, 2)
    stored = backend.ownerships.get(M)
    assert stored is not None
    assert stored == Ownership(M, "west", 2, stored.active_from_ms, "east")  # a failback returns it east
    with pytest.raises(StaleEpochError):
        backend.ownerships.move(None, Ownership(M, "east", 1), now_ms())


def test_a_merchant_without_an_ownership_is_decided_nowhere(backend: RoutingBackend) -> None:
    idle = available_seat(backend, "a1")
    seats, _ = backend.in_region("east")
    with pytest.raises(NotHomeRegionError) as refused:
        seats.save_state(M, "a1", idle.agent.version, apply(idle.agent, GoNotReady("x"), NOW).agent)
    assert refused.value.home_region == ""


def test_every_merchants_ownership_is_listed_as_last_moved(backend: RoutingBackend) -> None:
    backend.ownerships.move(None, Ownership("m-a", "east", 1, 0, "east"), now_ms())
    backend.ownerships.move(None, Ownership("m-b", "west", 1, 0, "west"), now_ms())
    first = backend.ownerships.get("m-a")
    assert first is not None
    backend.ownerships.move(first, first.moved_to("west", now_ms(), 0), now_ms())

    listed = {o.merchant_id: (o.home_region, o.epoch, o.preferred) for o in backend.ownerships.all()}

    assert listed["m-a"] == ("west", 2, "east") and listed["m-b"] == ("west", 1, "west")
