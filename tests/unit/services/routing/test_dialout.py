"""Agents calling out: the merchant's trunk and caller ID, the agent busy from the dial, permissions
by prefix with emergency numbers always let through, and an outbound record."""

from __future__ import annotations

from typing import Any

import pytest

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState, HangupCause, HangupSide
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.commands import execute, parse_routing_command
from contact_center.services.routing.decisions import Reject
from contact_center.services.routing.dialout import Dial, OutboundTrunk, dialled_number
from tests.support.dialout_fakes import FakeDialers, FakeOutboundTrunks
from tests.support.routing_centre import DOMAIN, MERCHANT, NOW, FakeCentre

TRUNK = OutboundTrunk("t1", "203.0.113.5:5060", "udp", "+15550100")


class DialingCentre(FakeCentre):
    def __init__(self) -> None:
        self.trunks = FakeOutboundTrunks()
        self.dialers = FakeDialers()
        super().__init__()

    def build(self, policy: RoutingPolicy | None = None, **more: Any) -> RoutingService:
        return super().build(policy, outbound_trunks=self.trunks, dialers=self.dialers, **more)

    def phone_of(self, seat_id: str) -> None:
        self.dialers.seats[f"u-{seat_id}"] = (MERCHANT, seat_id)

    def dial(self, dialled: str, contact_id: str = "o1", at: int = NOW) -> Dial | Reject:
        return self.service.dial_out("u-a1", dialled, contact_id, "edge-1", at)


@pytest.fixture
def centre() -> DialingCentre:
    centre = DialingCentre()
    centre.queue()
    centre.seat("a1")
    centre.phone_of("a1")
    centre.trunks.trunks[MERCHANT] = TRUNK
    return centre


def test_a_seat_dials_out_through_its_merchants_trunk_and_is_busy_from_the_dial(
    centre: DialingCentre,
) -> None:
    dial = centre.dial("+44 20 7946 0000")
    assert dial == Dial("o1", "a1", MERCHANT, "+442079460000", TRUNK)
    agent = centre.agent("a1")
    assert (agent.state, agent.contact_id) == (AgentState.ON_CONTACT, "o1")
    contact = centre.contact("o1")
    assert contact is not None
    assert (contact.snapshot.state, contact.called, contact.caller) == (
        ContactState.DIALING,
        "+442079460000",
        "+15550100",
    )
    assert centre.call("c1") is not None and centre.agent("a1").contact_id == "o1"  # no offer rings it


def test_the_answer_and_the_end_leave_an_outbound_record_and_free_the_agent(centre: DialingCentre) -> None:
    centre.dial("+442079460000")
    assert centre.service.outbound_answered("o1", "a1", NOW + 5000).state == "connected"
    centre.service.contact_ended("o1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 65_000)
    record = centre.record("o1")
    assert (record.called, record.caller, record.seat_id, record.trunk_id) == (
        "+442079460000",
        "+15550100",
        "a1",
        "t1",
    )
    assert record.answered_at_ms == NOW + 5000 and record.queue_id is None
    assert [(s.kind, s.seat_id, s.trunk_id) for s in record.segments] == [("outbound", "a1", "t1")]
    assert centre.agent("a1").state is AgentState.AVAILABLE


def test_a_number_outside_the_allowed_prefixes_is_refused_with_a_reason(centre: DialingCentre) -> None:
    centre.dialers.prefixes[MERCHANT] = ("+44", "+1")
    refused = centre.dial("+33142270000")
    assert isinstance(refused, Reject) and refused.status == 403
    assert "+33142270000 is outside" in refused.reason
    assert centre.agent("a1").state is AgentState.AVAILABLE and centre.contact("o1") is None


def test_an_emergency_number_is_dialled_whatever_the_prefixes(centre: DialingCentre) -> None:
    centre.dialers.prefixes[MERCHANT] = ("+44",)
    dial = centre.dial("112")
    assert isinstance(dial, Dial) and dial.emergency and dial.number == "112"


def test_an_emergency_call_without_a_trunk_says_so_instead_of_failing_silently(centre: DialingCentre) -> None:
    centre.trunks.trunks.clear()
    refused = centre.dial("911")
    assert isinstance(refused, Reject) and refused.status == 503 and "emergency" in refused.reason


def test_a_seat_ringing_or_talking_cannot_dial_and_nothing_is_created(centre: DialingCentre) -> None:
    centre.number()
    centre.call("c1")  # a1 is now ringing for c1
    refused = centre.dial("+442079460000")
    assert isinstance(refused, Reject) and refused.status == 486
    assert centre.contact("o1") is None and centre.agent("a1").state is AgentState.RESERVED


def test_a_phone_that_is_no_seat_or_dials_no_number_is_refused(centre: DialingCentre) -> None:
    assert isinstance(stranger := centre.service.dial_out("nobody", "+4420", "o2", None, NOW), Reject)
    assert stranger.status == 403
    not_a_number = centre.dial("sales")
    assert isinstance(not_a_number, Reject) and not_a_number.status == 484


def test_a_retried_dial_gets_the_same_answer(centre: DialingCentre) -> None:
    first = centre.dial("+442079460000")
    assert centre.dial("+442079460000") == first


def test_the_routing_function_takes_dial_out_and_outbound_answered(centre: DialingCentre) -> None:
    command = parse_routing_command(
        {"action": "dial_out", "sip_username": "u-a1", "dialled": "+442079460000", "contact_id": "o1"}
    )
    answer = execute(centre.service, command, NOW)
    assert Dial.from_dict(answer) == Dial("o1", "a1", MERCHANT, "+442079460000", TRUNK)
    answered = parse_routing_command({"action": "outbound_answered", "contact_id": "o1", "seat_id": "a1"})
    assert execute(centre.service, answered, NOW + 1000)["state"] == "connected"


@pytest.mark.parametrize(
    ("text", "number"), [("+1 (555) 010-0100", "+15550100100"), ("0", None), ("12ab", None)]
)
def test_what_counts_as_a_dialled_number(text: str, number: str | None) -> None:
    assert dialled_number(text) == number


def test_the_default_emergency_numbers_are_in_the_policy() -> None:
    assert "112" in RoutingPolicy(sip_domain=DOMAIN).emergency_numbers


def test_a_dialling_call_of_a_lost_edge_task_is_ended_and_its_agent_freed(centre: DialingCentre) -> None:
    centre.dial("+442079460000")
    assert centre.service.edge_lost("edge-1", NOW + 60_000) == ["o1"]
    assert centre.agent("a1").state is AgentState.AVAILABLE
    assert centre.record("o1").hangup_cause == "system_error"
