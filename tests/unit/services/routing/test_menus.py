"""A number's menu in the router: the first request answers with the menu and writes nothing; the
caller's choice creates the contact in the chosen queue (an agent of that queue is offered it), and
the record notes how the caller left the menu."""

from __future__ import annotations

import pytest

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.domain.menus import LEFT, Menu, MenuChoice
from contact_center.services.routing.commands import (
    InvalidRoutingRequestError,
    NewContact,
    parse_routing_command,
)
from contact_center.services.routing.decisions import (
    Connect,
    Forward,
    PlayMenu,
    Queue,
    Reject,
    arrival_from_dict,
)
from tests.support.routing_centre import NOW, FakeCentre

MENU = Menu("menu", "general", {"1": "sales", "2": "support"}, timeout_seconds=3, retries=1)


def _menu_number(centre: FakeCentre) -> None:
    for queue_id in ("general", "sales", "support"):
        centre.queue(queue_id)
    centre.number(queue_id="general", menu=MENU)


def test_a_call_to_a_number_with_a_menu_is_answered_with_the_menu_and_nothing_is_created(
    centre: FakeCentre,
) -> None:
    _menu_number(centre)
    centre.seat("a1", queues={"support": 1})
    assert centre.call() == PlayMenu("c1", MENU, NOW)
    assert centre.contact("c1") is None
    # Asked again (a retry), the same answer.
    assert centre.call() == PlayMenu("c1", MENU, NOW)


def test_the_chosen_queue_takes_the_caller_and_its_agent_is_offered_it(centre: FakeCentre) -> None:
    _menu_number(centre)
    centre.seat("a-sales", queues={"sales": 1})
    centre.seat("a-support", queues={"support": 1})
    decision = centre.call(at=NOW + 4000, menu=MenuChoice("support", "chosen", "2", NOW))
    assert isinstance(decision, Connect)
    assert (decision.seat_id, decision.queue_id) == ("a-support", "support")
    # A retry of the choice returns the contact as it stands: no second contact, no second offer.
    again = centre.call(at=NOW + 4100, menu=MenuChoice("support", "chosen", "2", NOW))
    assert isinstance(again, Connect) and again.seat_id == "a-support"


def test_the_record_notes_the_menu_choice_before_the_queue(centre: FakeCentre) -> None:
    _menu_number(centre)
    centre.call(at=NOW + 4000, menu=MenuChoice("sales", "chosen", "1", NOW))
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 9000)
    record = centre.record("c1")
    assert record.queue_id == "sales"
    assert [
        (s.kind, s.started_at_ms, s.ended_at_ms, s.outcome, s.queue_id, s.digit) for s in record.segments
    ] == [
        ("menu", NOW, NOW + 4000, "chosen", "sales", "1"),
        ("queue", NOW + 4000, NOW + 9000, "caller_abandoned", "sales", None),
    ]


def test_a_caller_who_hung_up_in_the_menu_leaves_a_record_and_no_queue_counts_it(centre: FakeCentre) -> None:
    _menu_number(centre)
    centre.seat("a-general", queues={"general": 1})
    decision = centre.call(at=NOW + 5000, menu=MenuChoice("general", LEFT, None, NOW))
    assert isinstance(decision, Reject) and decision.status == 487
    assert centre.contact("c1") is None  # ended at once: never queued, never offered
    record = centre.record("c1")
    assert (record.queue_id, record.hangup_cause, record.hangup_side) == (
        None,
        "caller_abandoned",
        "customer",
    )
    assert [(s.kind, s.started_at_ms, s.ended_at_ms, s.outcome, s.queue_id) for s in record.segments] == [
        ("menu", NOW, NOW + 5000, LEFT, None)
    ]
    assert centre.agent("a-general").state is AgentState.AVAILABLE  # never offered a caller gone
    assert not any(centre.stats("general", at=NOW + 5000).values())  # no queue offered, no abandon
    # A retry finds the ended contact: nothing is created or recorded twice.
    again = centre.call(at=NOW + 5100, menu=MenuChoice("general", LEFT, None, NOW))
    assert isinstance(again, Reject) and centre.contact("c1") is None
    assert centre.record("c1").ended_at_ms == NOW + 5000


def test_silence_is_recorded_as_a_timeout_into_the_default_queue(centre: FakeCentre) -> None:
    _menu_number(centre)
    decision = centre.call(at=NOW + 8000, menu=MenuChoice("general", "timeout", None, NOW))
    assert isinstance(decision, Queue) and decision.queue_id == "general"
    assert centre.contact("c1") is not None
    segments = centre.contact("c1").segments  # type: ignore[union-attr]
    assert [(s.kind, s.outcome, s.digit) for s in segments] == [("menu", "timeout", None)]


def test_a_choice_of_a_queue_the_menu_does_not_offer_goes_to_the_default_queue(centre: FakeCentre) -> None:
    _menu_number(centre)
    centre.queue("vip")  # the merchant's, but not in the menu: an edge cannot pick any queue
    decision = centre.call(menu=MenuChoice("vip", "chosen", "9", NOW))
    assert isinstance(decision, Queue) and decision.queue_id == "general"


def test_a_number_without_a_menu_ignores_a_choice_and_routes_to_its_queue(centre: FakeCentre) -> None:
    centre.queue("q1")
    centre.queue("sales")
    centre.number()
    decision = centre.call(menu=MenuChoice("sales", "chosen", "1", NOW))
    assert isinstance(decision, Queue) and decision.queue_id == "q1"


def test_a_legacy_number_forwards_its_callers_without_the_menu(centre: FakeCentre) -> None:
    centre.queue("general")
    centre.number(queue_id=None, legacy_trunk="pbx", menu=MENU)
    assert centre.call() == Forward("c1", "pbx")


def test_the_menu_decision_and_the_choice_cross_the_lambda_boundary() -> None:
    play = PlayMenu("c1", MENU, NOW)
    assert arrival_from_dict(play.to_dict()) == play
    command = parse_routing_command(
        {
            "action": "new_contact",
            "called": "+15550100",
            "contact_id": "c1",
            "menu": MenuChoice("support", "chosen", "2", NOW).to_dict(),
        }
    )
    assert isinstance(command, NewContact)
    assert command.menu == MenuChoice("support", "chosen", "2", NOW)


@pytest.mark.parametrize(
    ("menu", "field"),
    [
        ("support", "menu"),
        ({"queue_id": "support", "outcome": "pressed"}, "menu.outcome"),
        ({"queue_id": "support", "outcome": "chosen", "digit": "12"}, "menu.digit"),
        ({"outcome": "timeout"}, "menu.queue_id"),
    ],
)
def test_a_malformed_menu_choice_is_refused_naming_the_field(menu: object, field: str) -> None:
    with pytest.raises(InvalidRoutingRequestError) as refused:
        parse_routing_command({"action": "new_contact", "called": "+1555", "contact_id": "c1", "menu": menu})
    assert refused.value.field == field
