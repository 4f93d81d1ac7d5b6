"""The deployed failover controller in each region, and the entry point's health checks.

Each region runs a function that watches the other region on a schedule and may take its merchants
over; it may touch only its own region's replica and the two routing functions (the peer's for the
canary, its own for the sweep), and nothing of the peer's control plane.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from contact_center.contracts import metrics
from contact_center.contracts import settings as contract
from contact_center.contracts.schedules import FAILOVER_WATCH, SCHEDULES
from contact_center.contracts.settings import Component, load_function_settings
from local_stack import template_settings
from switchboard_infra import permissions
from tests.infra.conftest import Synthesized, as_list, dumps, statements

REGIONS = [("primary", "secondary"), ("secondary", "primary")]
# The role's own plumbing: its log group, X-Ray, the replica's key.
PLUMBING = {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments", "xray:PutTelemetryRecords",
            *permissions.TABLE_KEY}  # fmt: skip


def _region(config: Any, key: str) -> str:
    return str(config.primary_region if key == "primary" else config.secondary_region)


def _failover(synthesized: Synthesized, key: str) -> tuple[str, dict[str, Any]]:
    ((logical_id, function),) = [
        (k, r)
        for k, r in synthesized.resources(key, "AWS::Lambda::Function").items()
        if r["Properties"].get("Environment", {}).get("Variables", {}).get(contract.COMPONENT.name)
        == Component.FAILOVER
    ]
    return logical_id, function


def _arn_text(value: Any) -> str:
    """An ARN as written in the template: the literal parts of its Fn::Join, pseudo parameters named."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        return "".join(_arn_text(part) for part in value["Fn::Join"][1])
    if isinstance(value, dict) and "Ref" in value:
        return "${" + str(value["Ref"]) + "}"
    return dumps(value)


@pytest.mark.parametrize(("key", "peer_key"), REGIONS)
def test_each_region_runs_a_controller_watching_the_other(
    synthesized: Synthesized, config: Any, key: str, peer_key: str
) -> None:
    _, function = _failover(synthesized, key)
    properties = function["Properties"]
    env = properties["Environment"]["Variables"]
    loaded = load_function_settings(Component.FAILOVER, env)
    assert (loaded.region, loaded.failover_peer) == (_region(config, key), _region(config, peer_key))
    assert loaded.metrics_namespace == metrics.FAILOVER_NAMESPACE
    assert loaded.home_routing_function == f"{config.table_name}-routing:live"
    assert properties["Handler"] == "handler.handler"
    # One run at a time, over before the next minute's; a late run is dropped, never queued.
    assert properties["ReservedConcurrentExecutions"] == 1
    assert properties["Timeout"] < FAILOVER_WATCH.every_seconds
    (invoke_config,) = synthesized.resources(key, "AWS::Lambda::EventInvokeConfig").values()
    assert invoke_config["Properties"]["MaximumRetryAttempts"] == 0
    assert invoke_config["Properties"]["MaximumEventAgeInSeconds"] == 60


def test_the_functions_code_is_the_failover_handler(synthesized: Synthesized) -> None:
    logical_id, _ = _failover(synthesized, "primary")
    asset = synthesized.asset_dir("primary", logical_id)
    assert (asset / "handler.py").read_text().startswith('"""The failover controller')


@pytest.mark.parametrize("key", ["primary", "secondary"])
def test_the_watch_runs_every_minute_and_probes_every_ten_seconds(synthesized: Synthesized, key: str) -> None:
    logical_id, _ = _failover(synthesized, key)
    (rule,) = [
        r
        for r in synthesized.resources(key, "AWS::Events::Rule").values()
        if r["Properties"]["Targets"][0]["Arn"] == {"Fn::GetAtt": [logical_id, "Arn"]}
    ]
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    assert json.loads(rule["Properties"]["Targets"][0]["Input"]) == dict(FAILOVER_WATCH.event)
    assert (FAILOVER_WATCH.ticks, FAILOVER_WATCH.tick_seconds) == (6, 10)


@pytest.mark.parametrize("key", ["primary", "secondary"])
def test_every_schedule_of_the_contract_has_exactly_one_rule(synthesized: Synthesized, key: str) -> None:
    inputs = [
        json.loads(r["Properties"]["Targets"][0]["Input"])
        for r in synthesized.resources(key, "AWS::Events::Rule").values()
        if r["Properties"].get("ScheduleExpression")
    ]
    assert sorted(map(dumps, inputs)) == sorted(dumps(dict(s.event)) for s in SCHEDULES)


@pytest.mark.parametrize(("key", "peer_key"), REGIONS)
def test_the_controller_may_touch_only_its_replica_and_the_two_routing_functions(
    synthesized: Synthesized, config: Any, key: str, peer_key: str
) -> None:
    _, function = _failover(synthesized, key)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = statements(synthesized.template(key), role)
    region, peer = _region(config, key), _region(config, peer_key)
    table_actions: set[str] = set()
    invoked: list[str] = []
    for statement in granted:
        assert statement["Effect"] == "Allow"
        actions = set(as_list(statement["Action"]))
        resources = [_arn_text(r) for r in as_list(statement["Resource"])]
        if actions <= PLUMBING:
            continue
        if all(a.startswith("dynamodb:") for a in actions):
            table_actions |= actions
            # This region's replica (the stack's own region) and its indexes; nothing in the peer.
            assert all(
                f":dynamodb:{region}:" in r and f"table/{config.table_name}" in r for r in resources
            ), resources
            continue
        assert actions == {"lambda:InvokeFunction"}, statement
        invoked += resources
    assert table_actions == set(permissions.FAILOVER)
    # The peer's routing function by name (the canary), this region's routing alias (the sweep).
    in_peer = [r for r in invoked if f":lambda:{peer}:" in r]
    assert len(in_peer) == 1 and in_peer[0].endswith(f":function:{config.table_name}-routing:live")
    assert all(f":lambda:{peer}:" in r or "RoutingLive" in r for r in invoked), invoked
    # Nothing else of the peer: no other service's API, no other resource there.
    assert not any(
        peer in dumps(s) for s in granted if set(as_list(s["Action"])) != {"lambda:InvokeFunction"}
    )


@pytest.mark.parametrize(("key", "peer_key"), REGIONS)
def test_alarms_on_a_takeover_on_failing_probes_and_on_a_watch_that_stopped(
    synthesized: Synthesized, config: Any, key: str, peer_key: str
) -> None:
    topic = next(iter(synthesized.resources(key, "AWS::SNS::Topic")))
    peer = _region(config, peer_key)
    watched = {}
    for alarm in synthesized.resources(key, "AWS::CloudWatch::Alarm").values():
        properties = alarm["Properties"]
        if properties.get("Namespace") != metrics.FAILOVER_NAMESPACE:
            continue
        assert properties["Dimensions"] == [{"Name": metrics.PEER_DIMENSION, "Value": peer}]
        assert properties["AlarmActions"] == [{"Ref": topic}]
        watched[(properties["MetricName"], properties["Statistic"])] = (
            properties["ComparisonOperator"],
            properties["Threshold"],
            properties["TreatMissingData"],
        )
    assert watched == {
        (metrics.MERCHANTS_TAKEN_OVER, "SampleCount"): ("GreaterThanOrEqualToThreshold", 1, "notBreaching"),
        (metrics.PEER_PROBE_FAILED, "Sum"): ("GreaterThanOrEqualToThreshold", 2, "notBreaching"),
        (metrics.PEER_PROBE_FAILED, "SampleCount"): ("LessThanThreshold", 1, "breaching"),
    }


def test_the_alarms_watch_what_the_controller_publishes(synthesized: Synthesized) -> None:
    from contact_center.aws.failover import EmfFailoverMetrics

    lines: list[str] = []
    emf = EmfFailoverMetrics(metrics.FAILOVER_NAMESPACE, lines.append)
    emf.probed("us-east-1", True, 1)
    emf.taken_over("us-east-1", 0, 1)
    published = set()
    for record in map(json.loads, lines):
        for directive in record["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                published.add((directive["Namespace"], metric["Name"], tuple(directive["Dimensions"][0])))
    alarmed = {
        (a["Properties"]["Namespace"], a["Properties"]["MetricName"],
         tuple(d["Name"] for d in a["Properties"]["Dimensions"]))
        for a in synthesized.resources("primary", "AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("Namespace") == metrics.FAILOVER_NAMESPACE
    }  # fmt: skip
    assert alarmed and alarmed <= published


def test_the_controllers_settings_load_as_deployed(synthesized: Synthesized) -> None:
    (function,) = [
        f
        for f in template_settings.functions(synthesized.template("primary"))
        if f.component is Component.FAILOVER
    ]
    loaded = load_function_settings(Component.FAILOVER, function.environment)
    assert loaded.failover_peer and loaded.region and loaded.failover_peer != loaded.region


@pytest.mark.parametrize("key", ["primary", "secondary"])
def test_the_entry_point_follows_the_edges_deep_health_fast_enough_for_the_recovery_target(
    synthesized: Synthesized, key: str
) -> None:
    from contact_center.contracts.values import EDGE_HEALTH_PATH

    groups = synthesized.resources(key, "AWS::ElasticLoadBalancingV2::TargetGroup").values()
    assert groups
    for group in groups:
        properties = group["Properties"]
        assert (properties["HealthCheckProtocol"], properties["HealthCheckPort"], properties["HealthCheckPath"]) == (
            "HTTP", "8080", EDGE_HEALTH_PATH
        )  # fmt: skip
        # The edge's own verdict turns within 6 s; the checks take it out within interval x threshold.
        worst = 6 + properties["HealthCheckIntervalSeconds"] * properties["UnhealthyThresholdCount"]
        assert worst <= 30
    endpoint_groups = synthesized.resources("global", "AWS::GlobalAccelerator::EndpointGroup").values()
    assert endpoint_groups
    for endpoint_group in endpoint_groups:
        properties = endpoint_group["Properties"]
        assert (properties["HealthCheckProtocol"], properties["HealthCheckPort"], properties["HealthCheckPath"]) == (
            "HTTP", 8080, EDGE_HEALTH_PATH
        )  # fmt: skip
        assert properties["HealthCheckIntervalSeconds"] * properties["ThresholdCount"] <= 20
