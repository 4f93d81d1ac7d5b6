"""Agents calling out over the table (moto): the seat found by its phone's SIP username, the
merchant's prefixes, and the trunk its calls leave by."""

from __future__ import annotations

from contact_center.data import keys
from contact_center.data.catalog import TrunkItems
from contact_center.data.models import MerchantItem, TrunkItem
from contact_center.data.repositories.catalog import RoutingCatalogRepository
from contact_center.data.repositories.dialout import SeatDialers, TrunkOutbound
from contact_center.data.repositories.sessions import RegistrationRepository
from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.dialout import Dial, DialPermissions, OutboundTrunk

from .conftest import NOW, World


def _trunk(
    trunk_id: str,
    created_at: int,
    *,
    address: str | None = None,
    transport: str | None = None,
    merchant_id: str | None = None,
    legacy: bool = False,
    rules: tuple[tuple[str, str], ...] = (),
) -> None:
    TrunkItems().create(
        TrunkItem(
            trunk_id=trunk_id,
            name=trunk_id,
            source_cidrs=["192.0.2.0/24"],
            legacy=legacy,
            created_at=created_at,
            merchant_id=merchant_id,
            address=address,
            transport=transport,
            caller_id_rules=[{"prefix": prefix, "caller_id": shown} for prefix, shown in rules],
        )
    )


def test_a_phone_is_found_as_its_seat(world: World) -> None:
    world.queue()
    world.seat("a1")
    assert SeatDialers().seat_of("u-a1") == ("m1", "a1")
    assert SeatDialers().seat_of("nobody") is None


def test_calls_leave_by_the_merchants_own_trunk_before_the_platforms_never_a_legacy_one(world: World) -> None:
    world.queue()
    world.number("+15550199")
    world.number("+15550100")
    _trunk("inbound-only", NOW - 5000)  # no address: carriers call in from it, nothing goes out
    _trunk("legacy", NOW - 4000, address="192.0.2.9:5080", merchant_id="m1", legacy=True)
    _trunk("carrier", NOW - 3000, address="203.0.113.5")
    # Given only the platform's carrier: it carries the call, shown as the merchant's first number
    assert TrunkOutbound().outbound_trunk("m1", "+4930123") == OutboundTrunk(
        "carrier", "203.0.113.5:5060", "udp", "+15550100"
    )
    # When the merchant adds its own (TLS, with a caller-ID rule for Germany): its own wins
    _trunk(
        "own",
        NOW - 1000,
        address="pbx.m1.test",
        transport="tls",
        merchant_id="m1",
        rules=(("+49", "+4930999"),),
    )
    assert TrunkOutbound().outbound_trunk("m1", "+4930123") == OutboundTrunk(
        "own", "pbx.m1.test:5061", "tls", "+4930999"
    )
    assert TrunkOutbound().outbound_trunk("m1", "+15550123").caller_id == "+15550100"  # type: ignore[union-attr]
    assert TrunkOutbound().outbound_trunk("m-without-numbers", "+15550123") is None


def test_a_merchant_without_prefixes_may_dial_any_number_and_one_with_them_only_those(
    moto_table: str,
) -> None:
    merchant = MerchantItem(
        pk=keys.merchant_pk("m9"),
        sk=keys.MERCHANT_SK,
        merchant_id="m9",
        name="M",
        contact_email="m@x.test",
        seat_licenses=1,
        created_at=NOW,
    )
    merchant.save()
    assert SeatDialers().permissions("m9") == DialPermissions()
    merchant.update(actions=[MerchantItem.dial_prefixes.set(["+44"])])
    assert SeatDialers().permissions("m9") == DialPermissions(("+44",))
    assert SeatDialers().permissions("unknown") == DialPermissions(())


def test_an_outbound_call_over_the_table_holds_its_agent_and_ends_in_an_outbound_record(world: World) -> None:
    world.queue()
    world.number("+15550100")
    world.seat("a1")
    _trunk("carrier", NOW - 1000, address="203.0.113.5:5060")
    service = RoutingService(
        RoutingCatalogRepository(),
        world.seats,
        world.contacts,
        RegistrationRepository(),
        world.events,
        RoutingPolicy(sip_domain="sip.test"),
        outbound_trunks=TrunkOutbound(),
        dialers=SeatDialers(),
    )
    assert isinstance(service.dial_out("u-a1", "+442079460001", "o0", "edge-9", NOW - 5000), Dial)
    assert service.edge_lost("edge-9", NOW - 4000) == ["o0"]  # its task died while it dialled
    dial = service.dial_out("u-a1", "+442079460000", "o1", "edge-1", NOW)
    assert isinstance(dial, Dial) and dial.trunk.caller_id == "+15550100"
    assert (world.agent("a1").state, world.contact("o1").snapshot.seat_id) == (AgentState.ON_CONTACT, "a1")
    assert service.outbound_answered("o1", "a1", NOW + 3000).state == "connected"
    service.contact_ended("o1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 30_000)
    record = world.record("o1")
    assert (record.seat_id, record.trunk_id, record.answered_at_ms) == ("a1", "carrier", NOW + 3000)
    assert [segment.kind for segment in record.segments] == ["outbound"]
    assert world.agent("a1").state is AgentState.AVAILABLE
