"""Routing on a slow table: an invocation that runs for many seconds writes after others that began
later. The table's conditions order the writes; the stamps written must agree with that order."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState, GoAvailable
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome

from .conftest import EDGE, NOW, World


def test_an_offer_landing_after_the_seat_s_release_is_stamped_no_earlier_than_that_release(
    world: World,
) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    # Given a1 talks to c1, whose end is written at NOW + 30 s, freeing a1,
    assert isinstance(world.service.new_contact("+15550100", "+4930111", EDGE, "c1", NOW), Connect)
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 30_000)
    assert world.agent("a1").state is AgentState.AVAILABLE
    # when a call's routing that began at NOW + 20 s (its table requests slow) claims a1 only now,
    decision = world.service.new_contact("+15550100", "+4930222", EDGE, "c2", NOW + 20_000)
    assert isinstance(decision, Connect) and decision.seat_id == "a1"
    # then the claim is stamped at a1's release, not before it: the records never show a1 offered
    # c2 while it still talked to c1.
    assert world.agent("a1").state_since_ms == NOW + 30_000
    assert world.contact("c2").offered_at_ms == NOW + 30_000
    world.service.contact_ended("c2", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 31_000)
    (first,) = [s for s in world.record("c1").segments if s.kind == "agent"]
    (second,) = [s for s in world.record("c2").segments if s.kind == "agent"]
    assert first.ended_at_ms <= second.started_at_ms


def test_a_creation_landing_after_the_call_ended_brings_no_contact_back(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    # c1's first routing attempt is slow; the edge retried it, the call was routed, talked and ended.
    assert isinstance(world.service.new_contact("+15550100", "+4930111", EDGE, "c1", NOW), Connect)
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)
    world.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 5000)
    world.not_ready("a1", NOW + 5500)
    # When the first attempt's creation lands only now, with nobody free (created queued) ...
    late = world.service.new_contact("+15550100", "+4930111", EDGE, "c1", NOW + 6000)
    # ... it is answered as the ended contact it is, and nothing is live under its id.
    assert not isinstance(late, Connect)
    assert world.contact("c1") is None
    world.command("a1", GoAvailable(), NOW + 7000)
    # And with an agent free (created already offered), the agent is not reserved for nobody.
    again = world.service.new_contact("+15550100", "+4930111", EDGE, "c1", NOW + 8000)
    assert not isinstance(again, Connect)
    assert world.contact("c1") is None
    assert world.agent("a1").state is AgentState.AVAILABLE
