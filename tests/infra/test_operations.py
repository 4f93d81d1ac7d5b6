"""Dashboard and alarms of each region, notified through an encrypted SNS topic."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from contact_center.aws.metrics import EmfRoutingMetrics
from contact_center.contracts import metrics
from contact_center.contracts import settings as contract
from local_stack import template_settings
from sip_edge.app.adapters.metrics import MetricsPublisher
from sip_edge.app.calls.counters import CallCounters
from tests.infra.conftest import ALARM_EMAIL, Synthesized, only

PublishedMetric = tuple[str, str, frozenset[tuple[str, str]]]


def _alarms(synthesized: Synthesized) -> list[dict]:
    return [a["Properties"] for a in synthesized.resources("primary", "AWS::CloudWatch::Alarm").values()]


def _metric_names(alarm: dict) -> set[str]:
    if "MetricName" in alarm:
        return {alarm["MetricName"]}
    return {m["MetricStat"]["Metric"]["MetricName"] for m in alarm.get("Metrics", []) if "MetricStat" in m}


def test_alarms_cover_routing_throttles_edge_health_and_replication(synthesized: Synthesized) -> None:
    watched = set().union(*(_metric_names(a) for a in _alarms(synthesized)))
    assert {"Errors", "Throttles", "ReadThrottleEvents", "WriteThrottleEvents", "UnHealthyHostCount",
            "ReplicationLatency"} <= watched  # fmt: skip


def test_alarms_cover_no_healthy_edge_stream_lag_failed_events_api_5xx_and_edge_load(
    synthesized: Synthesized,
) -> None:
    watched = set().union(*(_metric_names(a) for a in _alarms(synthesized)))
    assert {"HealthyHostCount", "IteratorAge", "ApproximateNumberOfMessagesVisible", "5XXError",
            "CPUUtilization", "MemoryUtilization"} <= watched  # fmt: skip


def test_no_healthy_edge_alarms_below_one_and_when_the_metric_is_missing(synthesized: Synthesized) -> None:
    alarms = [a for a in _alarms(synthesized) if _metric_names(a) == {"HealthyHostCount"}]
    assert alarms and all(
        (a["ComparisonOperator"], a["Threshold"], a["TreatMissingData"])
        == ("LessThanThreshold", 1, "breaching")
        for a in alarms
    )


def test_replication_latency_is_watched_towards_the_other_region(synthesized: Synthesized, config) -> None:
    (alarm,) = [a for a in _alarms(synthesized) if "ReplicationLatency" in _metric_names(a)]
    (metric,) = [m["MetricStat"]["Metric"] for m in alarm["Metrics"]]
    dimensions = {d["Name"]: d["Value"] for d in metric["Dimensions"]}
    assert dimensions == {"TableName": config.table_name, "ReceivingRegion": config.secondary_region}


def test_every_alarm_notifies_the_topic(synthesized: Synthesized) -> None:
    topic = next(iter(synthesized.resources("primary", "AWS::SNS::Topic")))
    assert all(a["AlarmActions"] == [{"Ref": topic}] for a in _alarms(synthesized))


@pytest.mark.parametrize("region", ["primary", "secondary"])
def test_the_operators_address_is_subscribed_to_each_regions_alarm_topic(
    synthesized: Synthesized, region: str
) -> None:
    topic = next(iter(synthesized.resources(region, "AWS::SNS::Topic")))
    subscriptions = [
        s["Properties"] for s in synthesized.resources(region, "AWS::SNS::Subscription").values()
    ]
    mailed = [s for s in subscriptions if s["Protocol"] == "email"]
    assert mailed == [{"Protocol": "email", "Endpoint": ALARM_EMAIL, "TopicArn": {"Ref": topic}}]


def test_alarm_topic_is_encrypted_with_a_rotating_key(synthesized: Synthesized) -> None:
    topic = only(synthesized.resources("primary", "AWS::SNS::Topic"))["Properties"]
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    assert synthesized.template("primary")["Resources"][key_id]["Properties"]["EnableKeyRotation"] is True


def test_dashboard_shows_calls_queues_agents_lambda_and_throttles(synthesized: Synthesized) -> None:
    dashboard = only(synthesized.resources("primary", "AWS::CloudWatch::Dashboard"))["Properties"]
    body = json.dumps(dashboard["DashboardBody"])
    for metric in ("CallsStarted", "ActiveCalls", "QueueWaitSeconds", "Agents", "Errors", "Duration",
                   "ReadThrottleEvents", "WriteThrottleEvents"):  # fmt: skip
        assert metric in body, metric


def _rendered(value: Any) -> str:
    """A DashboardBody (a string, or Fn::Join of strings and tokens) as text, tokens as placeholders."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(_rendered(part) for part in parts)
    return "TOKEN"


def _dashboard_metrics(synthesized: Synthesized, region_key: str) -> set[PublishedMetric]:
    """(namespace, name, dimensions) of every Switchboard metric a dashboard widget draws."""
    found: set[PublishedMetric] = set()
    for dashboard in synthesized.resources(region_key, "AWS::CloudWatch::Dashboard").values():
        body = json.loads(_rendered(dashboard["Properties"]["DashboardBody"]))
        for widget in body["widgets"]:
            for entry in widget.get("properties", {}).get("metrics", []):
                fields = [item for item in entry if not isinstance(item, dict)]  # options last
                if not fields or not str(fields[0]).startswith("Switchboard/"):
                    continue  # AWS's own metrics, or a math expression over the ones listed
                namespace, name, *pairs = fields
                found.add((namespace, name, frozenset(zip(pairs[::2], pairs[1::2], strict=True))))
    return found


class _RecordingCloudWatch:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def client(self) -> _RecordingCloudWatch:
        return self  # the publisher's client factory

    def put_metric_data(self, **request: Any) -> None:
        self.calls.append(request)


def _published(synthesized: Synthesized, region_key: str) -> set[PublishedMetric]:
    """What the runtime's publishers emit, run with the namespaces the template gives them."""
    template = synthesized.template(region_key)
    published: set[PublishedMetric] = set()
    namespaces = {
        f.environment[contract.METRICS_NAMESPACE.name]
        for f in template_settings.functions(template)
        if f.environment.get(contract.METRICS_NAMESPACE.name)
    }
    for namespace in namespaces:
        lines: list[str] = []
        emf = EmfRoutingMetrics(namespace, lines.append)
        for outcome in metrics.QUEUE_WAIT_OUTCOMES:
            emf.queue_waited(outcome, 1000, merchant_id="m", queue_id="q", contact_id="c", at_ms=1)
        emf.agents_counted(dict.fromkeys(metrics.AGENT_STATES, 1), 1)
        for record in map(json.loads, lines):
            for directive in record["_aws"]["CloudWatchMetrics"]:
                for dimensions in directive["Dimensions"]:
                    for metric in directive["Metrics"]:
                        dims = frozenset((d, record[d]) for d in dimensions)
                        published.add((directive["Namespace"], metric["Name"], dims))
    for container in template_settings.containers(template):
        namespace = container.environment.get(contract.EDGE_METRICS_NAMESPACE.name)
        if not namespace:
            continue
        cloudwatch = _RecordingCloudWatch()
        asyncio.run(MetricsPublisher(CallCounters(), namespace, cloudwatch.client).publish())
        for call in cloudwatch.calls:
            published |= {(call["Namespace"], m["MetricName"], frozenset()) for m in call["MetricData"]}
    return published


@pytest.mark.parametrize("region_key", ["primary", "secondary"])
def test_every_dashboard_metric_is_one_the_runtime_publishes(
    synthesized: Synthesized, region_key: str
) -> None:
    drawn = _dashboard_metrics(synthesized, region_key)
    published = _published(synthesized, region_key)
    # The queue-wait and agents widgets draw something, and nothing the code never sends.
    assert {name for _, name, _ in drawn} >= {
        metrics.QUEUE_WAIT_SECONDS,
        metrics.AGENTS,
        metrics.ACTIVE_CALLS,
        metrics.CALLS_STARTED,
    }
    assert drawn - published == set()
