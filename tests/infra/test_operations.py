"""Dashboard and alarms of each region, notified through an encrypted SNS topic."""

from __future__ import annotations

import json

from tests.infra.conftest import Synthesized, only


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
