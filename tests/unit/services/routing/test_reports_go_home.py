"""Two regions: the edge's report about a contact of a merchant another region decides is refused
here, naming the home (the routing function then asks it): this replica's copy may be stale."""

from __future__ import annotations

import pytest

from contact_center.domain.agent_state import AgentState
from contact_center.domain.ownership import NotHomeRegionError
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import OfferOutcome
from tests.support.routing_centre import DOMAIN, NOW, FakeCentre


def centre_deciding(home: dict[str, str]) -> FakeCentre:
    def require_home(merchant_id: str) -> None:
        if home[merchant_id] != "east":
            raise NotHomeRegionError(merchant_id, "east", home[merchant_id], 2)

    centre = FakeCentre()
    ports = centre.ports
    centre.service = RoutingService(
        ports.catalog,
        ports.seats,
        ports.contacts,
        ports.registrations,
        ports.events,
        RoutingPolicy(sip_domain=DOMAIN),
        decides=lambda merchant_id: home[merchant_id] == "east",
        require_home=require_home,
    )
    return centre


def test_an_offer_result_for_a_merchant_homed_elsewhere_is_refused_naming_the_home() -> None:
    home = {"m1": "east"}
    centre = centre_deciding(home)
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("c1")  # offered to a1 while east decided
    home["m1"] = "west"

    with pytest.raises(NotHomeRegionError) as refused:
        centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)

    assert refused.value.home_region == "west"
    assert centre.agent("a1").state is AgentState.RESERVED  # nothing changed here


def test_the_home_itself_answers_the_offer_result() -> None:
    centre = centre_deciding({"m1": "east"})
    centre.queue(max_wait=600)
    centre.number()
    centre.seat("a1")
    centre.call("c1")

    centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000)

    assert centre.agent("a1").state is AgentState.ON_CONTACT
