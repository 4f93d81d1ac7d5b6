"""The answer and the end written with the seat in one transaction, on the from-state the offer left.

The router does not read the seat for these: it writes the domain's transition conditioned on the
seat's state, contact and version. These scenarios make that guess wrong on purpose and check the
router reads the seat and still keeps every invariant.
"""

from __future__ import annotations

from contact_center.data import keys
from contact_center.data.catalog import QueueItems
from contact_center.data.contacts import ContactItems, utc_day
from contact_center.data.models import ContactItem
from contact_center.domain.agent_state import AgentState, MissOffer
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.domain.events import AgentStateChanged
from contact_center.services.routing.decisions import Acknowledged, Connect, OfferOutcome, Queue

from .conftest import EDGE, NOW, World


def call(world: World, contact_id: str = "c1", at: int = NOW) -> object:
    return world.service.new_contact("+15550100", "+4930123", EDGE, contact_id, at)


def forget_seat_version(contact_id: str) -> None:
    """A contact as written before it recorded its seat's version."""
    ContactItem(pk=keys.contact_pk(contact_id), sk=keys.CONTACT_SK).update(
        actions=[ContactItem.seat_version.remove()]
    )


def test_the_answer_and_the_end_publish_the_seat_versions_they_wrote(world: World) -> None:
    world.queue(wrap_up=30)
    world.number()
    world.seat("a1")
    call(world)
    reserved = world.agent("a1")
    assert world.contact("c1").seat_version == reserved.version
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    talking = world.agent("a1")
    assert (talking.state, talking.version, talking.contact_id) == (
        AgentState.ON_CONTACT,
        reserved.version + 1,
        "c1",
    )
    assert world.contact("c1").seat_version == talking.version
    ack = world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 9000)
    wrapping = world.agent("a1")
    assert (wrapping.state, wrapping.version) == (AgentState.AFTER_CONTACT_WORK, talking.version + 1)
    assert ack.wrap_up_deadline_ms == NOW + 9000 + 30_000 == wrapping.wrap_up_deadline_ms
    events = [e for e in world.events.events if isinstance(e, AgentStateChanged)][-3:]
    assert [(e.to_state, e.version) for e in events] == [
        (AgentState.RESERVED, reserved.version),
        (AgentState.ON_CONTACT, talking.version),
        (AgentState.AFTER_CONTACT_WORK, wrapping.version),
    ]


def test_a_contact_without_its_seat_version_reads_the_seat_to_answer_and_to_end(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    call(world)
    forget_seat_version("c1")
    ack = world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    assert ack == Acknowledged("c1", "connected", "a1", "m1")
    assert world.agent("a1").state is AgentState.ON_CONTACT
    forget_seat_version("c1")
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 5000)
    assert world.agent("a1").state is AgentState.AVAILABLE and world.agent("a1").contact_id is None
    assert world.contact("c1") is None and world.record("c1").answered_at_ms == NOW + 1000


def test_a_hang_up_while_a_missed_offer_is_half_written_ends_the_contact_and_leaves_the_seat(
    world: World,
) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    call(world)
    # Given the ring timer's seat write landed (RESERVED -> NOT_RESPONDING) but not yet its contact write,
    world.command("a1", MissOffer("c1"), NOW + 20_000)
    assert world.contact("c1").snapshot.state is ContactState.OFFERED
    # when the caller hangs up, the contact ends and the seat (no longer holding it) is not touched.
    ack = world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 20_001)
    assert ack == Acknowledged("c1", "ended", "a1", "m1")
    assert world.contact("c1") is None and world.record("c1").hangup_cause == "caller_abandoned"
    assert world.agent("a1").state is AgentState.NOT_RESPONDING
    # And the late answer report for the ended contact changes nothing.
    late = world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 20_002)
    assert isinstance(late, Acknowledged) and late.stale and late.state == "ended"


def test_an_answer_after_the_seat_moved_is_stale_and_changes_nothing(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    call(world)
    world.command("a1", MissOffer("c1"), NOW + 20_000)  # the ring timer won
    ack = world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 20_001)
    assert isinstance(ack, Acknowledged) and ack.stale and ack.state == "offered"
    assert world.agent("a1").state is AgentState.NOT_RESPONDING
    assert world.contact("c1").snapshot.state is ContactState.OFFERED


def test_offered_is_counted_when_the_contact_reaches_the_queue_once_per_contact(world: World) -> None:
    world.queue(max_wait=60)
    world.number()
    assert isinstance(call(world), Queue)
    assert isinstance(call(world, at=NOW + 10), Queue)  # a retried INVITE: no second count
    stats = ContactItems().stats("q1", utc_day(NOW))
    assert stats is not None and (stats.offered, stats.answered, stats.abandoned) == (1, 0, 0)


def test_a_queue_changed_through_the_repositories_is_routed_on_at_once(world: World) -> None:
    world.queue(wrap_up=0)
    world.number()
    world.seat("a1")
    assert isinstance(call(world), Connect)  # the queue is now cached
    QueueItems().update("m1", "q1", {"wrap_up_seconds": 45})
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    ack = world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 2000)
    assert ack.wrap_up_deadline_ms == NOW + 2000 + 45_000
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK
