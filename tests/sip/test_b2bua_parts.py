"""The B2BUA's small parts without sockets: routing through the flow owner, trunks, legs, dialogs."""

from __future__ import annotations

import asyncio

import pytest

from contact_center.services.routing.decisions import Connect, OfferOutcome
from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.adapters.metrics import metrics_publisher
from sip_edge.app.calls.counters import CallCounters
from sip_edge.app.calls.dialogs import MemoryDialogStore, StoredCall
from sip_edge.app.calls.queue_hold import QueueHold
from sip_edge.app.calls.ring import outcome_for_status
from sip_edge.app.calls.trunks import Trunk, TrunkDirectory, TrunkListUnavailableError
from sip_edge.app.fleet.routes import agent_route, decode_flow, encode_flow
from sip_edge.sip.dialog import AGENT, CALLER, RECOVERY_CSEQ_STEP, Leg, contact_user, parse_contact_user
from sip_edge.sip.stack import Destination

TARGET = AgentTarget(
    "sip:ada@10.1.2.3:5062", received="203.0.113.7:40001", transport="UDP", flow_owner="edge-a"
)


def test_a_phone_registered_here_is_reached_at_its_received_address() -> None:
    route = agent_route(TARGET, "edge-a", None)
    assert route.destination == Destination("UDP", "203.0.113.7", 40001) and route.route == ()


def test_a_phone_registered_through_another_task_is_reached_through_that_task() -> None:
    route = agent_route(TARGET, "edge-b", "10.0.0.5:5060")
    assert route.destination == Destination("UDP", "10.0.0.5", 5060)
    assert route.route == (f"<sip:10.0.0.5:5060;lr;flow={encode_flow('UDP', '203.0.113.7:40001')}>",)
    assert decode_flow(encode_flow("UDP", "203.0.113.7:40001")) == Destination("UDP", "203.0.113.7", 40001)


def test_a_flow_token_not_signed_with_the_fleet_key_names_no_flow() -> None:
    token = encode_flow("UDP", "203.0.113.7:40001")
    assert token.startswith("udp~203.0.113.7~40001~")
    assert decode_flow("udp~203.0.113.7~40001") is None  # unsigned
    assert decode_flow(token.replace("203.0.113.7", "198.51.100.1")) is None  # re-aimed


def test_a_tls_phone_registered_through_another_task_is_reached_over_tcp_to_that_task() -> None:
    tls = AgentTarget(
        "sip:ada@10.1.2.3:5062", received="203.0.113.7:40001", transport="TLS", flow_owner="edge-a"
    )
    route = agent_route(tls, "edge-b", "10.0.0.5:5060")
    assert route.destination == Destination("TCP", "10.0.0.5", 5060)
    assert route.route == (f"<sip:10.0.0.5:5060;lr;flow={encode_flow('TLS', '203.0.113.7:40001')}>",)


def test_a_gone_owner_falls_back_to_the_received_address() -> None:
    assert agent_route(TARGET, "edge-b", None).destination.host == "203.0.113.7"


def test_offer_outcomes_from_agent_responses() -> None:
    assert [outcome_for_status(s) for s in (200, 486, 600, 603, 408, 480, 503)] == [
        OfferOutcome.ANSWERED,
        OfferOutcome.BUSY,
        OfferOutcome.BUSY,
        OfferOutcome.REJECTED,
        OfferOutcome.UNREACHABLE,
        OfferOutcome.UNREACHABLE,
        OfferOutcome.UNREACHABLE,
    ]


def test_dialog_keys_round_trip_and_strangers_are_not_keys() -> None:
    assert parse_contact_user(contact_user("00ff12ab", AGENT)) == ("00ff12ab", AGENT)
    assert parse_contact_user("+14155550100") is None and parse_contact_user("d-zz.c") is None


def leg(side: str) -> Leg:
    return Leg(
        side,
        "cid",
        "<sip:a@x>;tag=1",
        "<sip:b@y>;tag=2",
        3,
        1,
        "sip:b@y",
        "UDP",
        "127.0.0.1:5070",
        "sip:d-1.c@e",
    )


def test_a_stored_call_comes_back_with_cseqs_ahead() -> None:
    store = MemoryDialogStore()
    store.save("k1", StoredCall("k1", "contact-1", leg(CALLER), leg(AGENT), "seat", "m"), 0, 60)
    loaded = store.load("k1", 0)
    assert loaded is not None and loaded.caller.local_cseq == 3 + RECOVERY_CSEQ_STEP
    bye = loaded.agent.request("BYE")
    assert bye.cseq == (4 + RECOVERY_CSEQ_STEP, "BYE") and bye.uri == "sip:b@y"


class Source:
    def __init__(self) -> None:
        self.reads = 0
        self.fail = False

    def trunks(self) -> list[Trunk]:
        self.reads += 1
        if self.fail:
            raise OSError("table down")
        return [Trunk("carrier", ("192.0.2.0/24", "not-a-cidr"))]


def test_trunks_are_cached_and_a_failed_refresh_keeps_the_last_list() -> None:
    async def scenario() -> None:
        now = [0.0]
        source = Source()
        directory = TrunkDirectory(source, ttl=10, now=lambda: now[0])
        assert await directory.trunk_for("192.0.2.9") == "carrier"
        assert await directory.trunk_for("198.51.100.1") is None
        assert source.reads == 1
        now[0] = 11
        source.fail = True
        assert await directory.trunk_for("192.0.2.9") == "carrier"
        with pytest.raises(TrunkListUnavailableError):
            await TrunkDirectory(source).trunk_for("192.0.2.9")

    asyncio.run(scenario())


def test_a_trunk_created_a_moment_ago_is_found_and_unknown_sources_cost_one_read_a_second() -> None:
    async def scenario() -> None:
        now = [0.0]
        source = Source()
        directory = TrunkDirectory(source, ttl=10, miss_ttl=1, now=lambda: now[0])
        assert await directory.trunk_for("203.0.113.7") is None  # the list read: nobody there
        original = source.trunks
        source.trunks = lambda: [*original(), Trunk("new", ("203.0.113.0/24",))]  # type: ignore[method-assign]
        for _ in range(50):  # a flood within the second: no read of the table
            assert await directory.trunk_for("198.51.100.1") is None
        assert source.reads == 1
        now[0] = 1.5
        assert await directory.trunk_for("203.0.113.7") == "new"  # created since: found at once
        assert source.reads == 2

    asyncio.run(scenario())


def test_a_forward_to_a_trunk_created_since_the_last_read_waits_for_the_next_read_and_reaches_it() -> None:
    async def scenario() -> None:
        now = [0.0]
        slept: list[float] = []

        async def sleep(seconds: float) -> None:
            slept.append(seconds)
            now[0] += seconds

        source = Source()
        directory = TrunkDirectory(source, ttl=10, miss_ttl=1, now=lambda: now[0], sleep=sleep)
        assert await directory.trunk_for("192.0.2.9") == "carrier"  # the list read at 0
        original = source.trunks
        source.trunks = lambda: [*original(), Trunk("legacy", ("198.51.100.0/24",))]  # type: ignore[method-assign]
        now[0] = 0.25  # the router names the trunk created a moment after the read
        found = await directory.trunk("legacy")
        assert found is not None and found.trunk_id == "legacy"
        assert slept == [0.75] and source.reads == 2  # the rest of the second, then one read
        assert await directory.trunk("deleted") is None  # a second miss: one more read after a wait
        assert source.reads == 3

    asyncio.run(scenario())


def test_one_poll_serves_every_held_caller_and_stops_when_none_is_left() -> None:
    class Offers:
        def __init__(self) -> None:
            self.calls: list[bool] = []

        async def pending_offers(self, retry_queued: bool = False) -> list[Connect]:
            self.calls.append(retry_queued)
            return [Connect("c1", "s", "m", "sip:s@d", (), 5)]

    async def scenario() -> None:
        offers = Offers()
        hold = QueueHold(offers, interval=0.01)
        got: list[str] = []
        hold.hold("c1", lambda connect: got.append(connect.contact_id))
        hold.hold("c2", lambda connect: got.append(connect.contact_id))
        await asyncio.sleep(0.05)
        assert got == ["c1"] and len(hold) == 1
        hold.release("c2")
        polls = len(offers.calls)
        await asyncio.sleep(0.05)
        assert len(offers.calls) <= polls + 1
        await hold.stop()

    asyncio.run(scenario())


def test_metrics_are_only_published_when_a_namespace_is_configured() -> None:
    assert metrics_publisher(CallCounters(), None) is None
    assert metrics_publisher(CallCounters(), "Switchboard/Edge") is not None


def test_a_source_inside_two_trunks_networks_belongs_to_the_most_specific_one() -> None:
    class Nested:
        def trunks(self) -> list[Trunk]:
            return [Trunk("carrier", ("10.0.0.0/8",)), Trunk("legacy-pbx", ("10.1.2.3/32",))]

    async def scenario() -> None:
        directory = TrunkDirectory(Nested())
        assert await directory.trunk_for("10.1.2.3") == "legacy-pbx"
        assert await directory.trunk_for("10.1.2.4") == "carrier"

    asyncio.run(scenario())


def test_between_equal_networks_the_platforms_carrier_wins_over_a_merchants_trunk() -> None:
    class Overlapping:
        def trunks(self) -> list[Trunk]:
            # The merchant's trunk is listed first: the order it comes in decides nothing.
            return [
                Trunk("merchant-pbx", ("10.0.0.0/8",), merchant_id="m-1"),
                Trunk("carrier", ("10.0.0.0/8",)),
                Trunk("merchant-host", ("10.9.9.9/32",), merchant_id="m-1"),
            ]

    async def scenario() -> None:
        directory = TrunkDirectory(Overlapping())
        assert await directory.trunk_for("10.1.2.3") == "carrier"
        assert await directory.trunk_for("10.9.9.9") == "merchant-host"

    asyncio.run(scenario())
