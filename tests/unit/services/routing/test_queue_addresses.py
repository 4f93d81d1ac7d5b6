"""A call the legacy centre sends to a queue address (``queue-<queue_id>``) over a merchant's own trunk:
it lands in that queue of the trunk's merchant; any other source or queue is refused with the cause."""

from __future__ import annotations

import pytest

from contact_center.domain.contact import Channel, HangupCause, HangupSide
from contact_center.domain.queue_address import QueueCall
from contact_center.domain.queueing import QueueConfig
from contact_center.services.routing.commands import (
    InvalidRoutingRequestError,
    NewContact,
    execute,
    parse_routing_command,
)
from contact_center.services.routing.decisions import Connect, Queue, Reject, RoutingDecision
from tests.support.routing_centre import EDGE, MERCHANT, NOW, FakeCentre


def to_queue(centre: FakeCentre, call: QueueCall, contact_id: str = "c1") -> RoutingDecision:
    called = f"queue-{call.queue_id}"
    return centre.service.new_contact(
        called, "+4930123", EDGE, contact_id, NOW, Channel.VOICE, queue_call=call
    )


def test_a_call_to_a_queue_of_the_trunks_merchant_waits_in_that_queue(centre: FakeCentre) -> None:
    centre.queue("q1")
    centre.queue("q2", max_wait=90)
    decision = to_queue(centre, QueueCall("q2", "pbx", MERCHANT))
    assert decision == Queue("c1", "q2", 90, NOW + 90_000, position=1)
    assert centre.stats("q2")["offered"] == 1


def test_a_free_agent_of_the_queue_takes_it_and_the_record_names_the_legacy_trunk(centre: FakeCentre) -> None:
    centre.queue("q1")
    centre.seat("a1")
    decision = to_queue(centre, QueueCall("q1", "pbx", MERCHANT))
    assert isinstance(decision, Connect) and (decision.seat_id, decision.queue_id) == ("a1", "q1")
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 5000)
    record = centre.record("c1")
    assert (record.called, record.merchant_id, record.queue_id) == ("queue-q1", MERCHANT, "q1")
    assert (record.trunk_id, record.side) == ("pbx", "switchboard")  # came from there, handled here


def test_a_queue_the_merchant_does_not_have_is_not_found_and_no_contact_is_made(centre: FakeCentre) -> None:
    centre.queue("q1")
    decision = to_queue(centre, QueueCall("q9", "pbx", MERCHANT))
    assert decision == Reject(404, "no queue q9 of the trunk's merchant")
    assert centre.contact("c1") is None


def test_another_merchants_queue_is_not_found_either(centre: FakeCentre) -> None:
    centre.ports.catalog.add_queue("m2", QueueConfig(queue_id="theirs", name="theirs"))
    decision = to_queue(centre, QueueCall("theirs", "pbx", MERCHANT))
    assert isinstance(decision, Reject) and decision.status == 404 and "theirs" in decision.reason
    assert centre.contact("c1") is None


def test_a_platform_carrier_may_not_call_a_queue_address(centre: FakeCentre) -> None:
    centre.queue("q1")
    decision = to_queue(centre, QueueCall("q1", "carrier", None))
    assert isinstance(decision, Reject) and decision.status == 403
    assert "carrier" in decision.reason and "merchant's trunk" in decision.reason
    assert centre.contact("c1") is None


def test_a_retried_request_returns_the_same_contact_and_counts_it_once(centre: FakeCentre) -> None:
    centre.queue("q1")
    first = to_queue(centre, QueueCall("q1", "pbx", MERCHANT))
    assert to_queue(centre, QueueCall("q1", "pbx", MERCHANT)) == first
    assert centre.stats("q1")["offered"] == 1


def test_the_edges_request_carries_the_queue_and_the_trunk_it_came_over(centre: FakeCentre) -> None:
    centre.queue("q1")
    event = {
        "action": "new_contact",
        "called": "queue-q1",
        "contact_id": "c1",
        "queue_id": "q1",
        "trunk_id": "pbx",
        "trunk_merchant_id": MERCHANT,
    }
    command = parse_routing_command(event)
    assert isinstance(command, NewContact) and command.queue_call == QueueCall("q1", "pbx", MERCHANT)
    assert execute(centre.service, command, NOW)["decision"] == "queue"
    carrier = parse_routing_command({**event, "contact_id": "c2", "trunk_merchant_id": None})
    assert execute(centre.service, carrier, NOW)["status"] == 403


def test_a_number_request_has_no_queue_call_and_a_queue_id_needs_its_trunk() -> None:
    number = parse_routing_command({"action": "new_contact", "called": "+15550100", "contact_id": "c1"})
    assert isinstance(number, NewContact) and number.queue_call is None
    with pytest.raises(InvalidRoutingRequestError) as refused:
        parse_routing_command(
            {"action": "new_contact", "called": "queue-q1", "contact_id": "c1", "queue_id": "q1"}
        )
    assert refused.value.field == "trunk_id"
