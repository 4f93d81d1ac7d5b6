"""Routing on a slow table: an invocation that runs for many seconds writes after others that began
later. The table's conditions order the writes; the stamps written must agree with that order."""

from __future__ import annotations

from contact_center.domain.agent_state import AgentState
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
