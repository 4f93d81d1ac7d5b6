"""Which waiting contact an agent that becomes available takes: contact priority, then the agent's
own priority for the queue, then the oldest."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState, GoAvailable
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Queue
from tests.support.routing_centre import EDGE, NOW, FakeCentre


def test_an_agent_takes_contact_priority_then_its_queue_priority_then_the_oldest(centre: FakeCentre) -> None:
    centre.queue("q1")
    centre.queue("q2")
    centre.queue("q3")
    for number, queue_id in (("+1001", "q1"), ("+1002", "q2"), ("+1003", "q3")):
        centre.number(number, queue_id)
    centre.seat("a1", available_at=None, queues={"q1": 1, "q2": 1, "q3": 2})
    centre.call("old-q2", "+1002", NOW)
    centre.call("new-q1", "+1001", NOW + 1000)
    centre.call("q3-low-agent-priority", "+1003", NOW - 5000)
    centre.call("urgent", "+1001", NOW + 2000, priority=1)
    centre.command("a1", GoAvailable(), NOW + 10_000)
    offer = centre.service.agent_available("m1", "a1", NOW + 10_000)
    assert offer is not None and offer.edge_task_id == EDGE
    order = [offer.contact_id]
    for step in range(3):
        # Each caller hangs up while a1 rings; released, a1 is offered the next one straight away.
        at = NOW + 11_000 + step * 1000
        centre.service.contact_ended(order[-1], HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, at)
        assert centre.agent("a1").state is AgentState.RESERVED
        order.append(str(centre.agent("a1").contact_id))
    assert order == ["urgent", "old-q2", "new-q1", "q3-low-agent-priority"]


def test_a_more_urgent_caller_overtakes_older_ones_in_the_same_queue(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1", available_at=None)
    assert isinstance(centre.call("first"), Queue)
    assert isinstance(centre.call("second", at=NOW + 1000), Queue)
    assert isinstance(centre.call("vip", at=NOW + 2000, priority=1), Queue)
    heads = centre.ports.contacts.queue_heads("q1", 5)
    assert [c.contact_id for c in heads] == ["vip", "first", "second"]
    centre.command("a1", GoAvailable(), NOW + 3000)
    offer = centre.service.agent_available("m1", "a1", NOW + 3000)
    assert offer is not None and offer.contact_id == "vip"


def test_an_agent_not_available_takes_nothing(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1", available_at=None)
    centre.call()
    assert centre.service.agent_available("m1", "a1", NOW + 1000) is None
    assert centre.agent("a1").state is AgentState.NOT_READY
