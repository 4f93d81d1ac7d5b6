"""A trunk addressed by a bare domain: RFC 3263 SRV lookup against a DNS server on 127.0.0.1
(dnslib), failover to the next server when one fails the call, A/AAAA when the domain has no SRV
records, answers cached for their TTL, and a lookup failure taking the trunk down as unanswered
OPTIONS do."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from contact_center.domain.trunks import parse_address, parse_transport
from contact_center.services.routing.decisions import Forward
from sip_edge.app.calls.ports import CallSettings
from sip_edge.app.calls.trunk_dns import TrunkResolver
from sip_edge.app.calls.trunks import Trunk
from sip_edge.sip.decisions import Destination
from tests.sip.b2bua_support import AGENT_SDP, HOST, FakeRouting, Phone, StaticTrunks, running_edge
from tests.support.dns_zone import dns_zone
from tests.support.ports import free_port

NUMBER = "+14155550100"


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 30))


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_srv_targets_come_in_priority_order_over_the_transports_service_name() -> None:
    with dns_zone() as (zone, nameserver):
        zone.srv("_sip._tcp.carrier.test", 20, 0, 5070, "backup.carrier.test.")
        zone.srv("_sip._tcp.carrier.test", 10, 0, 5080, "main.carrier.test.")
        zone.a("main.carrier.test", "127.0.0.2")
        zone.a("backup.carrier.test", "127.0.0.3")
        zone.a("backup.carrier.test", "::1")
        resolver = TrunkResolver(nameserver)
        address = parse_address("carrier.test", parse_transport("tcp"))
        found = asyncio.run(resolver.destinations(address))
        assert found == [
            Destination("TCP", "127.0.0.2", 5080),
            Destination("TCP", "127.0.0.3", 5070),
            Destination("TCP", "::1", 5070),
        ]
        zone.srv("_sips._tcp.carrier.test", 10, 0, 5061, "main.carrier.test.")
        tls = asyncio.run(resolver.destinations(parse_address("carrier.test", parse_transport("tls"))))
        assert tls == [Destination("TLS", "127.0.0.2", 5061)]


def test_a_domain_without_srv_records_is_its_own_server_on_the_default_port() -> None:
    with dns_zone() as (zone, nameserver):
        zone.a("pbx.test", "127.0.0.4")
        found = asyncio.run(TrunkResolver(nameserver).destinations(parse_address("pbx.test", None)))
        assert found == [Destination("UDP", "127.0.0.4", 5060)]


def test_answers_are_cached_for_their_ttl() -> None:
    with dns_zone(ttl=30) as (zone, nameserver):
        zone.srv("_sip._udp.carrier.test", 10, 0, 5080, "main.carrier.test.")
        zone.a("main.carrier.test", "127.0.0.2")
        clock = Clock()
        resolver = TrunkResolver(nameserver, now=clock)
        address = parse_address("carrier.test", None)

        async def twice_then_later() -> None:
            await resolver.destinations(address)
            clock.now += 29
            await resolver.destinations(address)
            assert zone.asked("_sip._udp.carrier.test", "SRV") == 1
            assert zone.asked("main.carrier.test", "A") == 1
            clock.now += 1
            await resolver.destinations(address)
            assert zone.asked("_sip._udp.carrier.test", "SRV") == 2

        asyncio.run(twice_then_later())


def test_a_lookup_that_fails_raises_oserror() -> None:
    silent = ("127.0.0.1", free_port())  # no nameserver there
    resolver = TrunkResolver(silent, timeout=0.3)
    try:
        asyncio.run(resolver.destinations(parse_address("carrier.test", None)))
    except OSError as exc:
        assert "carrier.test" in str(exc)
    else:
        raise AssertionError("a failed lookup must raise")


def test_a_legacy_call_fails_over_to_the_next_srv_server_when_the_first_answers_503() -> None:
    async def scenario() -> None:
        caller, first, second = (
            await Phone.open("carrier"),
            await Phone.open("pbx1"),
            await Phone.open("pbx2"),
        )
        routing = FakeRouting()
        routing.new_contact_answer = Forward("?", "legacy", fallback=True)
        with dns_zone() as (zone, nameserver):
            zone.srv("_sip._udp.legacy.test", 10, 0, first.port, "pbx1.legacy.test.")
            zone.srv("_sip._udp.legacy.test", 20, 0, second.port, "pbx2.legacy.test.")
            zone.a("pbx1.legacy.test", HOST)
            zone.a("pbx2.legacy.test", HOST)
            trunk = Trunk("legacy", (), parse_address("legacy.test", None))
            trunks = StaticTrunks(extra=[trunk])
            async with running_edge(routing, trunks=trunks, trunk_dns=nameserver) as edge:
                caller.invite(edge.address, NUMBER)
                invite, source = await first.request("INVITE")
                first.answer(invite, source, 503)
                retried, source = await second.request("INVITE")
                assert retried.uri.startswith(f"sip:{NUMBER}@{HOST}:{second.port}")
                second.answer(retried, source, 200, body=AGENT_SDP)
                ok = await caller.response("INVITE", 200)
                assert ok.body == AGENT_SDP
                assert routing.actions("legacy_failed") == []
        for phone in (caller, first, second):
            phone.close()

    run(scenario)


def test_a_trunk_whose_domain_does_not_resolve_goes_down_as_with_unanswered_pings() -> None:
    async def scenario() -> None:
        routing = FakeRouting()
        with dns_zone() as (zone, nameserver):
            trunks = StaticTrunks(extra=[Trunk("legacy", (), parse_address("gone.test", None))])
            settings = CallSettings(trunk_ping_seconds=0.2, trunk_down_after=2, trunk_up_after=1)
            async with running_edge(routing, trunks=trunks, trunk_dns=nameserver, settings=settings) as edge:
                directory = edge.task.calls.pinger._trunks  # type: ignore[union-attr]
                for _ in range(30):
                    if not directory.is_up("legacy"):
                        break
                    await asyncio.sleep(0.1)
                assert not directory.is_up("legacy")
                assert zone.asked("_sip._udp.gone.test", "SRV") >= 1

    run(scenario)
