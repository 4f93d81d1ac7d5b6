"""One contract for the routing ports, run over the in-memory fakes and the DynamoDB adapters (moto,
and AWS DynamoDB Local): what is stored reads back the same, and every conditional write fails, with
the same named error and no change, when its condition does not hold."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from moto import mock_aws

from contact_center.domain.agent_state import (
    AgentSnapshot,
    AgentState,
    Connect,
    EndContact,
    GoAvailable,
    GoNotReady,
    LogIn,
    ReleaseReservation,
    Reserve,
    apply,
)
from contact_center.domain.contact import (
    Channel,
    ConnectAgent,
    ContactSnapshot,
    ContactState,
    Enqueue,
    ForwardToLegacy,
    HangUp,
    HangupCause,
    HangupSide,
    Offer,
    apply_contact,
)
from contact_center.domain.queueing import Overflow, OverflowKind, QueueConfig, RoutingStrategy
from contact_center.domain.skills import SkillRequirement
from contact_center.services.errors import AlreadyExistsError, ConcurrentUpdateError, NotFoundError
from contact_center.services.routing.ports import (
    AgentSeat,
    AgentTarget,
    CallDialog,
    LiveContact,
    NumberRoute,
    SeatProfile,
    SeatTransition,
    Segment,
)
from contact_center.services.routing.records import record_for
from tests.support.dynamodb import fresh_table
from tests.support.routing_fakes import utc_day

from .port_backends import DynamoBackend, FakeBackend, RoutingBackend

NOW = 1_790_000_000_000
DAY = utc_day(NOW)
M = "m1"


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


# Given


def available_seat(
    backend: RoutingBackend,
    seat_id: str,
    idle_since: int = NOW - 60_000,
    queues: dict[str, int] | None = None,
    merchant_id: str = M,
) -> AgentSeat:
    backend.given_seat(merchant_id, seat_id, NOW - 3_600_000, {"english": 3}, queues or {"q1": 1})
    for command, at in ((LogIn(), NOW - 3_600_000), (GoAvailable(), idle_since)):
        seat = backend.seats.get(merchant_id, seat_id)
        backend.seats.save_state(
            merchant_id, seat_id, seat.agent.version, apply(seat.agent, command, at).agent
        )
    return backend.seats.get(merchant_id, seat_id)


def free_for(
    backend: RoutingBackend, queue_id: str, limit: int | None = None, merchant_id: str = M
) -> list[str]:
    return [seat.seat_id for seat in backend.seats.available_for_queue(merchant_id, queue_id, limit)]


def queued_contact(
    contact_id: str = "c1", at: int = NOW, priority: int = 5, unlisted: bool = False, edge: str = "edge-1"
) -> LiveContact:
    enqueued = apply_contact(ContactSnapshot.new(contact_id, Channel.VOICE, at), Enqueue("q1", priority), at)
    return LiveContact(enqueued.contact, "+15550100", "+4930123", M, edge, unlisted=unlisted)


def offered(
    backend: RoutingBackend, contact_id: str = "c1", seat_id: str = "a1"
) -> tuple[LiveContact, AgentSeat]:
    seat = available_seat(backend, seat_id)
    backend.contacts.create(queued_contact(contact_id))
    contact = backend.contacts.get(contact_id)
    assert contact is not None
    backend.contacts.offer(contact, seat, apply(seat.agent, Reserve(contact_id), NOW).agent, NOW)
    after = backend.contacts.get(contact_id)
    assert after is not None
    return after, backend.seats.get(M, seat_id)


def answer(contact: LiveContact, seat: AgentSeat, at: int = NOW + 1000) -> tuple[LiveContact, SeatTransition]:
    held = seat.agent
    transition = SeatTransition.of(M, held, apply(held, Connect(contact.contact_id), at))
    connected = apply_contact(contact.snapshot, ConnectAgent(seat.seat_id), at)
    return replace(contact, snapshot=connected.contact, seat_version=transition.after.version), transition


# Catalogue


def test_numbers_and_queues_read_back_as_configured(backend: RoutingBackend) -> None:
    config = QueueConfig(
        "q1",
        "Support",
        (SkillRequirement("english", 2),),
        priority=3,
        strategy=RoutingStrategy.MOST_SKILLED,
        max_wait_seconds=90,
        overflow=Overflow(OverflowKind.QUEUE, "q2"),
        wrap_up_seconds=15,
    )
    backend.given_queue(M, config)
    backend.given_number(NumberRoute("+15550100", M, "q1", priority=2))
    backend.given_number(NumberRoute("+15550199", M, None, "legacy-pbx"))
    assert backend.catalog.number("+15550100") == NumberRoute("+15550100", M, "q1", priority=2)
    assert backend.catalog.number("+15550199") == NumberRoute("+15550199", M, None, "legacy-pbx")
    assert backend.catalog.number("+15550000") is None
    queue = backend.catalog.queue(M, "q1")
    assert queue is not None and queue.config == config and queue.round_robin_cursor is None
    assert backend.catalog.queue(M, "q9") is None


def test_the_round_robin_cursor_moves_and_never_recreates_a_missing_queue(backend: RoutingBackend) -> None:
    backend.given_queue(M, QueueConfig("q1", "q1", strategy=RoutingStrategy.ROUND_ROBIN))
    backend.catalog.set_round_robin_cursor(M, "q1", "a7")
    queue = backend.catalog.queue(M, "q1")
    assert queue is not None and queue.round_robin_cursor == "a7"
    backend.catalog.set_round_robin_cursor(M, "gone", "a7")
    assert backend.catalog.queue(M, "gone") is None


# Seats


def test_a_seat_reads_back_with_its_state_profile_and_version(backend: RoutingBackend) -> None:
    backend.given_seat(M, "a1", NOW - 10, {"english": 3}, {"q1": 2})
    seat = backend.seats.get(M, "a1")
    assert seat.agent == AgentSnapshot("a1", AgentState.OFFLINE, version=1, state_since_ms=NOW - 10)
    assert (seat.candidate.skills, seat.candidate.queues, seat.sip_username) == (
        {"english": 3},
        {"q1": 2},
        "u-a1",
    )
    with pytest.raises(NotFoundError):
        backend.seats.get(M, "nobody")


def test_a_seat_state_is_written_only_over_the_version_read(backend: RoutingBackend) -> None:
    backend.given_seat(M, "a1", NOW - 10, {}, {})
    seat = backend.seats.get(M, "a1")
    logged_in = apply(seat.agent, LogIn(), NOW).agent
    backend.seats.save_state(M, "a1", seat.agent.version, logged_in)
    assert backend.seats.get(M, "a1").agent == logged_in
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.seats.save_state(M, "a1", seat.agent.version, apply(seat.agent, LogIn(), NOW + 1).agent)
    assert lost.value.entity == "seat"
    assert backend.seats.get(M, "a1").agent == logged_in
    with pytest.raises(ConcurrentUpdateError):
        backend.seats.save_state(M, "nobody", 1, logged_in)


def test_available_seats_are_listed_per_queue_longest_idle_first_up_to_the_limit(
    backend: RoutingBackend,
) -> None:
    for seat_id, idle in (("recent", NOW - 1000), ("oldest", NOW - 90_000), ("middle", NOW - 50_000)):
        available_seat(backend, seat_id, idle)
    available_seat(backend, "other-queue", NOW - 99_000, queues={"q2": 1})
    backend.given_seat(M, "offline", NOW - 10, {}, {"q1": 1})
    assert free_for(backend, "q1") == ["oldest", "middle", "recent"]
    assert free_for(backend, "q1", 2) == ["oldest", "middle"]
    assert free_for(backend, "q2") == ["other-queue"]
    assert {s.seat_id for s in backend.seats.all_for_merchant(M)} == {
        "recent",
        "oldest",
        "middle",
        "offline",
        "other-queue",
    }


def test_a_seat_of_several_queues_is_listed_in_each_as_it_reads(backend: RoutingBackend) -> None:
    seat = available_seat(backend, "a1", queues={"q1": 1, "q2": 3})
    assert free_for(backend, "q1") == ["a1"] and free_for(backend, "q2") == ["a1"]
    for queue_id in ("q1", "q2"):
        (listed,) = backend.seats.available_for_queue(M, queue_id, None)
        assert listed == seat  # state, version, skills, queues and phone, as the seat itself reads


def test_available_seats_are_those_of_the_merchant_asked_about(backend: RoutingBackend) -> None:
    available_seat(backend, "a1")
    available_seat(backend, "b1", merchant_id="m2")
    assert free_for(backend, "q1") == ["a1"]
    assert free_for(backend, "q1", merchant_id="m2") == ["b1"]
    assert [s.seat_id for s in backend.seats.all_for_merchant("m2")] == ["b1"]


def test_a_seat_leaves_every_queue_index_when_it_stops_being_available(backend: RoutingBackend) -> None:
    seat = available_seat(backend, "a1", queues={"q1": 1, "q2": 1})
    backend.seats.save_state(M, "a1", seat.agent.version, apply(seat.agent, GoNotReady("lunch"), NOW).agent)
    assert free_for(backend, "q1") == [] and free_for(backend, "q2") == []
    seat = backend.seats.get(M, "a1")
    backend.seats.save_state(M, "a1", seat.agent.version, apply(seat.agent, GoAvailable(), NOW + 10).agent)
    assert [(s.seat_id, s.agent.idle_since_ms) for s in backend.seats.available_for_queue(M, "q2", None)] == [
        ("a1", NOW + 10)
    ]


def test_an_offer_takes_the_seat_out_of_every_queue_index_and_its_release_puts_it_back(
    backend: RoutingBackend,
) -> None:
    backend.given_seat(M, "a1", NOW - 3_600_000, {"english": 3}, {"q1": 1, "q2": 1})
    seat = backend.seats.get(M, "a1")
    for command, at in ((LogIn(), NOW - 3_600_000), (GoAvailable(), NOW - 60_000)):
        backend.seats.save_state(M, "a1", seat.agent.version, apply(seat.agent, command, at).agent)
        seat = backend.seats.get(M, "a1")
    backend.contacts.create(queued_contact())
    contact = backend.contacts.get("c1")
    assert contact is not None
    backend.contacts.offer(contact, seat, apply(seat.agent, Reserve("c1"), NOW).agent, NOW)
    assert free_for(backend, "q1") == [] and free_for(backend, "q2") == []
    live = backend.contacts.get("c1")
    reserved = backend.seats.get(M, "a1").agent
    assert live is not None
    release = SeatTransition.of(M, reserved, apply(reserved, ReleaseReservation("c1"), NOW + 500))
    backend.contacts.end(live, record_for(live, ended(live, NOW + 500), NOW + 500), "abandoned", release)
    assert free_for(backend, "q1") == ["a1"] and free_for(backend, "q2") == ["a1"]
    assert backend.seats.available_for_queue(M, "q1", None)[0].agent == release.after


def test_a_talking_seat_released_without_wrap_up_is_listed_again(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    connected, transition = answer(contact, seat)
    backend.contacts.connect(contact.version, connected, transition, None, NOW + 1000)
    live = backend.contacts.get("c1")
    assert live is not None and free_for(backend, "q1") == []
    talking = transition.after
    release = SeatTransition.of(M, talking, apply(talking, EndContact("c1", 0), NOW + 60_000))
    backend.contacts.end(live, record_for(live, ended(live, NOW + 60_000), NOW + 60_000), "answered", release)
    assert [s.agent for s in backend.seats.available_for_queue(M, "q1", None)] == [release.after]


def test_merchants_are_listed_for_the_sweep(backend: RoutingBackend) -> None:
    available_seat(backend, "a1")
    available_seat(backend, "b1", merchant_id="m2")
    assert {M, "m2"} <= set(backend.catalog.merchant_ids())


# Contacts: creation and the queue index


def test_a_contact_forwarded_from_the_start_is_in_no_queue_and_counted_nowhere(
    backend: RoutingBackend,
) -> None:
    forwarded = apply_contact(
        ContactSnapshot.new("f1", Channel.VOICE, NOW), ForwardToLegacy("legacy-pbx"), NOW
    ).contact
    contact = LiveContact(forwarded, "+15550199", "+4930123", M, "edge-1")
    backend.contacts.create(contact)
    assert backend.contacts.get("f1") == contact
    assert backend.contacts.owned_by_edge("edge-1", "forwarded") == [contact]
    assert backend.stats("q1", DAY) == {"offered": 0, "answered": 0, "abandoned": 0, "timed_out": 0}


def test_an_edge_task_s_contacts_are_listed_whole_in_state_then_id_order(backend: RoutingBackend) -> None:
    ids = [f"c{n:02d}" for n in range(12)]
    for contact_id in ids:
        backend.contacts.create(queued_contact(contact_id))
    backend.contacts.create(queued_contact("other", edge="edge-2"))
    assert [c.contact_id for c in backend.contacts.owned_by_edge("edge-1", "queued")] == ids
    assert backend.contacts.owned_by_edge("edge-1", "offered") == []


def test_a_created_contact_reads_back_and_its_id_cannot_be_taken_twice(backend: RoutingBackend) -> None:
    contact = queued_contact()
    backend.contacts.create(contact)
    assert backend.contacts.get("c1") == contact
    with pytest.raises(AlreadyExistsError):
        backend.contacts.create(queued_contact(at=NOW + 5))
    assert backend.stats("q1", DAY)["offered"] == 1
    assert backend.contacts.get("nobody") is None


def test_the_queue_index_lists_listed_contacts_most_urgent_then_oldest(backend: RoutingBackend) -> None:
    backend.contacts.create(queued_contact("old", NOW))
    backend.contacts.create(queued_contact("new", NOW + 1000))
    backend.contacts.create(queued_contact("urgent", NOW + 2000, priority=1))
    backend.contacts.create(queued_contact("unlisted", NOW - 5000, unlisted=True))
    assert [c.contact_id for c in backend.contacts.queue_heads("q1", 5)] == ["urgent", "old", "new"]
    assert [c.contact_id for c in backend.contacts.queue_heads("q1", 1)] == ["urgent"]
    unlisted = backend.contacts.get("unlisted")
    assert unlisted is not None and unlisted.unlisted
    assert backend.stats("q1", DAY)["offered"] == 4  # every contact created into the queue counts


def test_saving_a_queued_contact_lists_it_and_bumps_its_version(backend: RoutingBackend) -> None:
    backend.contacts.create(queued_contact(unlisted=True))
    stored = backend.contacts.get("c1")
    assert stored is not None
    listed = replace(stored, unlisted=False)
    backend.contacts.save(stored.version, listed)
    after = backend.contacts.get("c1")
    assert after is not None and after.version == stored.version + 1 and not after.unlisted
    assert [c.contact_id for c in backend.contacts.queue_heads("q1", 5)] == ["c1"]
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.save(stored.version, listed)
    assert lost.value.entity == "contact"


def test_a_contact_moved_to_another_queue_is_counted_offered_there(backend: RoutingBackend) -> None:
    backend.contacts.create(queued_contact())
    stored = backend.contacts.get("c1")
    assert stored is not None
    moved = apply_contact(stored.snapshot, Enqueue("q2", 5), NOW + 10_000).contact
    segment = Segment("queue", NOW, NOW + 10_000, "overflow", queue_id="q1")
    backend.contacts.save(
        stored.version, replace(stored, snapshot=moved, segments=(segment,)), count_offered=True
    )
    after = backend.contacts.get("c1")
    assert after is not None and after.snapshot.queue_id == "q2" and after.segments == (segment,)
    assert [c.contact_id for c in backend.contacts.queue_heads("q2", 5)] == ["c1"]
    assert backend.contacts.queue_heads("q1", 5) == []
    assert backend.stats("q2", DAY)["offered"] == 1


def test_a_contact_let_go_by_its_edge_task_is_no_longer_that_task_s_and_keeps_its_place(
    backend: RoutingBackend,
) -> None:
    backend.contacts.create(queued_contact())
    stored = backend.contacts.get("c1")
    assert stored is not None
    note = Segment("callback", NOW + 5000, NOW + 5000, "left", queue_id="q1", digit="1")
    backend.contacts.save(stored.version, replace(stored, edge_task_id=None, segments=(note,)))
    after = backend.contacts.get("c1")
    assert after is not None and after.edge_task_id is None and after.segments == (note,)
    assert backend.contacts.owned_by_edge("edge-1", "queued") == []
    assert [c.contact_id for c in backend.contacts.queue_heads("q1", 5)] == ["c1"]
    assert after.snapshot.enqueued_at_ms == NOW


def test_an_offer_names_the_task_that_will_ring_it_when_none_held_it(backend: RoutingBackend) -> None:
    seat = available_seat(backend, "a1")
    backend.contacts.create(queued_contact(edge=""))
    contact = backend.contacts.get("c1")
    assert contact is not None and not contact.edge_task_id
    runner = replace(contact, edge_task_id="edge-2")
    backend.contacts.offer(runner, seat, apply(seat.agent, Reserve("c1"), NOW).agent, NOW)
    assert [c.contact_id for c in backend.contacts.owned_by_edge("edge-2", "offered")] == ["c1"]
    dial = Segment("dial", NOW + 1000, NOW + 9000, "busy", queue_id="q1", seat_id="a1", status=486)
    offered_now = backend.contacts.get("c1")
    assert offered_now is not None and offered_now.edge_task_id == "edge-2"
    backend.contacts.save(offered_now.version, replace(offered_now, segments=(dial,)))
    after = backend.contacts.get("c1")
    assert after is not None and after.segments == (dial,)


# The atomic offer


def test_an_offer_reserves_the_seat_and_takes_the_contact_out_of_the_queue(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    assert seat.agent.state is AgentState.RESERVED and seat.agent.contact_id == "c1"
    assert contact.snapshot.seat_id == "a1" and contact.offered_at_ms == NOW
    assert contact.seat_version == seat.agent.version
    assert backend.contacts.queue_heads("q1", 5) == []
    assert [c.contact_id for c in backend.contacts.owned_by_edge("edge-1", "offered")] == ["c1"]
    assert backend.contacts.owned_by_edge("edge-1", "queued") == []


def created_offered(backend: RoutingBackend, contact_id: str, seat: AgentSeat) -> LiveContact:
    """A new contact written already offered to ``seat``, as a router finding it free writes it."""
    queued = queued_contact(contact_id)
    reserved = apply(seat.agent, Reserve(contact_id), NOW).agent
    created = replace(
        queued,
        snapshot=apply_contact(queued.snapshot, Offer(seat.seat_id), NOW).contact,
        offered_at_ms=NOW,
        seat_version=reserved.version,
        seat_profile=SeatProfile.of(seat),
    )
    backend.contacts.create_offered(created, seat, reserved)
    return created


def test_a_contact_created_offered_reserves_the_seat_is_counted_and_is_in_no_queue_index(
    backend: RoutingBackend,
) -> None:
    seat = available_seat(backend, "a1")
    created_offered(backend, "c1", seat)
    contact = backend.contacts.get("c1")
    assert contact is not None and contact.snapshot.state is ContactState.OFFERED
    assert (contact.snapshot.seat_id, contact.offered_at_ms, contact.merchant_id) == ("a1", NOW, M)
    reserved = backend.seats.get(M, "a1")
    assert reserved.agent.state is AgentState.RESERVED and reserved.agent.contact_id == "c1"
    assert contact.seat_version == reserved.agent.version
    assert backend.contacts.queue_heads("q1", 5) == [] and free_for(backend, "q1") == []
    assert [c.contact_id for c in backend.contacts.owned_by_edge("edge-1", "offered")] == ["c1"]
    assert backend.stats("q1", utc_day(NOW))["offered"] == 1


def test_a_contact_created_offered_to_a_taken_seat_fails_on_the_seat_and_writes_nothing(
    backend: RoutingBackend,
) -> None:
    seat = available_seat(backend, "a1")
    created_offered(backend, "c1", seat)
    with pytest.raises(ConcurrentUpdateError) as lost:
        created_offered(backend, "c2", seat)
    assert lost.value.entity == "seat"
    assert backend.contacts.get("c2") is None
    assert backend.stats("q1", utc_day(NOW))["offered"] == 1


def test_a_contact_id_taken_cannot_be_created_offered_again(backend: RoutingBackend) -> None:
    seat = available_seat(backend, "a1")
    backend.contacts.create(queued_contact("c1"))
    with pytest.raises(AlreadyExistsError):
        created_offered(backend, "c1", seat)
    assert backend.seats.get(M, "a1").agent.state is AgentState.AVAILABLE


def test_an_offer_to_a_seat_no_longer_available_at_the_version_read_fails_on_the_seat(
    backend: RoutingBackend,
) -> None:
    seat = available_seat(backend, "a1")
    backend.contacts.create(queued_contact("c1"))
    backend.contacts.create(queued_contact("c2"))
    c1, c2 = backend.contacts.get("c1"), backend.contacts.get("c2")
    assert c1 is not None and c2 is not None
    backend.contacts.offer(c1, seat, apply(seat.agent, Reserve("c1"), NOW).agent, NOW)
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.offer(c2, seat, apply(seat.agent, Reserve("c2"), NOW).agent, NOW)
    assert lost.value.entity == "seat"
    assert backend.seats.get(M, "a1").agent.contact_id == "c1"
    assert backend.contacts.get("c2") == c2  # untouched, still waiting


def test_an_offer_to_a_seat_available_again_at_a_newer_version_fails_on_the_seat(
    backend: RoutingBackend,
) -> None:
    read = available_seat(backend, "a1")
    # The agent took a break and came back since the router read the seat: available, but not as read.
    for command in (GoNotReady("break"), GoAvailable()):
        seat = backend.seats.get(M, "a1")
        backend.seats.save_state(M, "a1", seat.agent.version, apply(seat.agent, command, NOW - 1).agent)
    backend.contacts.create(queued_contact())
    contact = backend.contacts.get("c1")
    assert contact is not None
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.offer(contact, read, apply(read.agent, Reserve("c1"), NOW).agent, NOW)
    assert lost.value.entity == "seat"
    assert backend.seats.get(M, "a1").agent.state is AgentState.AVAILABLE
    assert backend.contacts.get("c1") == contact


def test_an_offer_of_a_contact_changed_since_it_was_read_fails_on_the_contact(
    backend: RoutingBackend,
) -> None:
    seat = available_seat(backend, "a1")
    backend.contacts.create(queued_contact(unlisted=True))
    stale = backend.contacts.get("c1")
    assert stale is not None
    backend.contacts.save(stale.version, replace(stale, unlisted=False))
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.offer(stale, seat, apply(seat.agent, Reserve("c1"), NOW).agent, NOW)
    assert lost.value.entity == "contact"
    assert backend.seats.get(M, "a1").agent == seat.agent  # the seat stays available


# The answer


def test_an_answer_moves_contact_and_seat_together_and_stores_the_dialog(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    connected, transition = answer(contact, seat)
    dialog = CallDialog(("d1", "call-id-1"), {"a": {"tag": "x"}}, "edge-1", 3600)
    backend.contacts.connect(contact.version, connected, transition, dialog, NOW + 1000)
    after = backend.contacts.get("c1")
    assert after is not None and after.snapshot.state.value == "connected"
    assert after.snapshot.connected_at_ms == NOW + 1000 and after.version == contact.version + 1
    assert backend.seats.get(M, "a1").agent == transition.after
    assert [backend.dialog_of(key, (NOW + 2000) // 1000) for key in dialog.keys] == ["c1", "c1"]


def test_an_answer_over_a_seat_that_moved_fails_on_the_seat_and_changes_nothing(
    backend: RoutingBackend,
) -> None:
    contact, seat = offered(backend)
    connected, transition = answer(contact, seat)
    moved = replace(transition, before=replace(transition.before, version=transition.before.version - 1))
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.connect(contact.version, connected, moved, None, NOW + 1000)
    assert lost.value.entity == "seat"
    assert backend.contacts.get("c1") == contact and backend.seats.get(M, "a1") == seat


def test_an_answer_over_a_contact_that_moved_fails_on_the_contact(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    connected, transition = answer(contact, seat)
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.connect(contact.version - 1, connected, transition, None, NOW + 1000)
    assert lost.value.entity == "contact"
    assert backend.seats.get(M, "a1") == seat


# The end


def ended(contact: LiveContact, at: int, cause: HangupCause = HangupCause.NORMAL_CLEARING) -> ContactSnapshot:
    return apply_contact(contact.snapshot, HangUp(cause, HangupSide.CUSTOMER), at).contact


def test_an_end_records_counts_releases_and_drops_the_dialog_in_one_step(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    connected, transition = answer(contact, seat)
    dialog = CallDialog(("d1",), {"a": {}}, "edge-1", 3600)
    backend.contacts.connect(contact.version, connected, transition, dialog, NOW + 1000)
    live = backend.contacts.get("c1")
    assert live is not None
    talking = transition.after
    release = SeatTransition.of(M, talking, apply(talking, EndContact("c1", 0), NOW + 60_000))
    record = record_for(live, ended(live, NOW + 60_000), NOW + 60_000)
    backend.contacts.end(live, record, "answered", release, dialog.keys)
    assert backend.contacts.get("c1") is None
    assert backend.contacts.record("c1") == record
    assert backend.seats.get(M, "a1").agent == release.after
    assert backend.dialog_of("d1", (NOW + 61_000) // 1000) is None
    assert backend.stats("q1", DAY) == {"offered": 1, "answered": 1, "abandoned": 0, "timed_out": 0}


def test_an_end_with_a_seat_no_longer_holding_the_contact_fails_on_the_seat(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    release = SeatTransition.of(M, seat.agent, apply(seat.agent, ReleaseReservation("c1"), NOW + 500))
    record = record_for(contact, ended(contact, NOW + 500), NOW + 500)
    moved = replace(release, before=replace(release.before, version=release.before.version + 1))
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.end(contact, record, "abandoned", moved)
    assert lost.value.entity == "seat"
    assert backend.contacts.get("c1") == contact and backend.contacts.record("c1") is None
    assert backend.stats("q1", DAY)["abandoned"] == 0


def test_a_contact_is_ended_once_and_recorded_once(backend: RoutingBackend) -> None:
    backend.contacts.create(queued_contact())
    live = backend.contacts.get("c1")
    assert live is not None
    record = record_for(live, ended(live, NOW + 7000, HangupCause.CALLER_ABANDONED), NOW + 7000)
    backend.contacts.end(live, record, "abandoned")
    with pytest.raises(ConcurrentUpdateError) as lost:
        backend.contacts.end(live, record, "abandoned")
    assert lost.value.entity == "contact"
    assert backend.stats("q1", DAY) == {"offered": 1, "answered": 0, "abandoned": 1, "timed_out": 0}
    assert backend.contacts.queue_heads("q1", 5) == []


def test_a_contact_ended_at_max_wait_is_counted_timed_out(backend: RoutingBackend) -> None:
    backend.contacts.create(queued_contact())
    live = backend.contacts.get("c1")
    assert live is not None
    record = record_for(live, ended(live, NOW + 60_000, HangupCause.QUEUE_TIMEOUT), NOW + 60_000)
    backend.contacts.end(live, record, "timed_out")
    assert backend.stats("q1", DAY)["timed_out"] == 1


def test_dialogs_of_a_contact_that_ended_without_them_are_dropped(backend: RoutingBackend) -> None:
    contact, seat = offered(backend)
    connected, transition = answer(contact, seat)
    backend.contacts.connect(contact.version, connected, transition, CallDialog(("d9",), {"a": {}}, None, 60))
    backend.contacts.drop_dialogs(["d9"])
    assert backend.dialog_of("d9", NOW // 1000) is None


# Registrations


def test_only_unexpired_bindings_are_targets(backend: RoutingBackend) -> None:
    aor = "sip:u-a1@sip.test"
    live = AgentTarget("sip:u-a1@10.0.0.9:5062", "198.51.100.7:40000", "TCP", "edge-1", ("<sip:e1;lr>",))
    backend.given_binding(aor, live, NOW // 1000 + 60)
    backend.given_binding(aor, AgentTarget("sip:u-a1@10.0.0.8:5060"), NOW // 1000)
    assert backend.registrations.targets(aor, NOW) == [live]
    assert backend.registrations.targets("sip:nobody@sip.test", NOW) == []


def test_recent_answers_are_the_answer_times_of_the_queue_s_contacts_that_ended_since(
    backend: RoutingBackend,
) -> None:
    minute = 60_000
    # (contact, answered, ended): one answered before the window, two inside, one never answered.
    calls = [
        ("old", NOW - 21 * minute, NOW - 20 * minute),
        ("c1", NOW - 11 * minute, NOW - 10 * minute),
        ("c2", NOW - 2 * minute, NOW - minute),
        ("gone", None, NOW - minute // 2),
    ]
    for contact_id, answered_at, ended_at in calls:
        backend.contacts.create(queued_contact(contact_id, at=NOW - 30 * minute))
        live = backend.contacts.get(contact_id)
        assert live is not None
        record = replace(record_for(live, ended(live, ended_at), ended_at), answered_at_ms=answered_at)
        backend.contacts.end(live, record, "answered" if answered_at else "abandoned")
    answers = backend.contacts.recent_answers("q1", NOW - 15 * minute, NOW)
    assert sorted(answers) == [NOW - 11 * minute, NOW - 2 * minute]
    assert backend.contacts.recent_answers("q2", NOW - 15 * minute, NOW) == []
