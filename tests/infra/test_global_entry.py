"""Global Accelerator: static anycast IPs over both regions' NLBs."""

from __future__ import annotations

from tests.infra.conftest import Synthesized


def _groups(synthesized: Synthesized) -> list[dict]:
    return [
        g["Properties"]
        for g in synthesized.resources("global", "AWS::GlobalAccelerator::EndpointGroup").values()
    ]


def test_global_accelerator_has_both_regions(synthesized: Synthesized, config) -> None:
    assert {g["EndpointGroupRegion"] for g in _groups(synthesized)} == {
        config.primary_region,
        config.secondary_region,
    }


def test_every_listener_reaches_both_regions(synthesized: Synthesized) -> None:
    by_listener: dict[str, set[str]] = {}
    for group in _groups(synthesized):
        by_listener.setdefault(group["ListenerArn"]["Fn::GetAtt"][0], set()).add(group["EndpointGroupRegion"])
    assert len(by_listener) == 2 and all(len(regions) == 2 for regions in by_listener.values())


def test_accelerator_listens_for_sip_over_tcp_and_udp(synthesized: Synthesized) -> None:
    listeners = synthesized.resources("global", "AWS::GlobalAccelerator::Listener").values()
    assert sorted(
        (x["Properties"]["Protocol"], tuple(x["Properties"]["PortRanges"][0].values())) for x in listeners
    ) == [
        ("TCP", (5060, 5061)),
        ("UDP", (5060, 5060)),
    ]


def test_accelerator_preserves_the_callers_address(synthesized: Synthesized) -> None:
    endpoints = [e for g in _groups(synthesized) for e in g["EndpointConfigurations"]]
    assert all(e["ClientIPPreservationEnabled"] for e in endpoints)


def test_traffic_dial_comes_from_the_config(synthesized: Synthesized, config) -> None:
    dials = {g["EndpointGroupRegion"]: g["TrafficDialPercentage"] for g in _groups(synthesized)}
    assert dials == {region: config.traffic_dial_for(region) for region in config.regions}


def test_client_ip_preservation_meets_only_nlb_listeners_that_pass_through(synthesized: Synthesized) -> None:
    # Global Accelerator cannot preserve callers' addresses to an NLB with a TLS listener.
    for key in ("primary", "secondary"):
        listeners = synthesized.resources(key, "AWS::ElasticLoadBalancingV2::Listener").values()
        assert {x["Properties"]["Protocol"] for x in listeners} <= {"TCP", "UDP", "TCP_UDP"}
