"""EMF lines: one JSON object per line that CloudWatch Logs turns into the declared metrics.

The checks follow the specification's rules: ``_aws`` with an integer millisecond Timestamp and a
CloudWatchMetrics directive; every dimension named in a dimension set is a string member of the root;
every metric named is a number member of the root; at most 30 dimensions and 100 metrics.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from contact_center.aws.metrics import EmfRoutingMetrics, emf_record
from contact_center.contracts import metrics

UNITS = {"Seconds", "Milliseconds", "Count", "Percent", "None"}  # the ones this project could use


def assert_valid_emf(record: dict[str, Any]) -> None:
    meta = record["_aws"]
    assert isinstance(meta["Timestamp"], int) and meta["Timestamp"] > 1_600_000_000_000
    (directive,) = meta["CloudWatchMetrics"]
    assert directive["Namespace"] and len(directive["Namespace"]) <= 255
    for dimension_set in directive["Dimensions"]:
        assert len(dimension_set) <= 30
        for name in dimension_set:
            assert isinstance(record[name], str) and record[name], name
    assert 1 <= len(directive["Metrics"]) <= 100
    for metric in directive["Metrics"]:
        assert metric["Unit"] in UNITS
        value = record[metric["Name"]]
        assert isinstance(value, int | float) and not isinstance(value, bool), metric["Name"]


def lines_of(publish: Any) -> list[dict[str, Any]]:
    written: list[str] = []
    publish(EmfRoutingMetrics("Test/Routing", written.append))
    for line in written:
        assert "\n" not in line  # Lambda makes one log event per line
    return [json.loads(line) for line in written]


def test_a_queue_wait_is_one_line_in_seconds_by_outcome_with_the_ids_as_properties() -> None:
    (line,) = lines_of(
        lambda m: m.queue_waited(
            "answered", 12_345, merchant_id="m1", queue_id="q1", contact_id="c1", at_ms=1_790_000_000_123
        )
    )
    assert_valid_emf(line)
    assert line["_aws"] == {
        "Timestamp": 1_790_000_000_123,
        "CloudWatchMetrics": [
            {
                "Namespace": "Test/Routing",
                "Dimensions": [[metrics.OUTCOME_DIMENSION]],
                "Metrics": [{"Name": metrics.QUEUE_WAIT_SECONDS, "Unit": "Seconds"}],
            }
        ],
    }
    assert line[metrics.QUEUE_WAIT_SECONDS] == 12.345
    assert line[metrics.OUTCOME_DIMENSION] == "answered"
    # The ids ride along for Logs Insights, never as dimensions (one metric per merchant costs).
    assert (line["merchant_id"], line["queue_id"], line["contact_id"]) == ("m1", "q1", "c1")


def test_agent_counts_are_one_line_per_state_zeros_included() -> None:
    counts = dict.fromkeys(metrics.AGENT_STATES, 0) | {"available": 7, "on_contact": 3}
    lines = lines_of(lambda m: m.agents_counted(counts, 1_790_000_060_000))
    for line in lines:
        assert_valid_emf(line)
        assert line["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [[metrics.AGENT_STATE_DIMENSION]]
    assert {line[metrics.AGENT_STATE_DIMENSION]: line[metrics.AGENTS] for line in lines} == counts


def test_a_record_refuses_a_name_that_is_both_metric_and_dimension() -> None:
    # CloudWatch would read one root member as both: the line would be dropped.
    with pytest.raises(ValueError, match="both"):
        emf_record("N", {"State": (1, "Count")}, {"State": "x"}, 1_790_000_000_000)


def test_a_record_without_metrics_is_refused() -> None:
    with pytest.raises(ValueError):
        emf_record("N", {}, {}, 1_790_000_000_000)


def test_by_default_lines_go_to_standard_output_unprefixed(capsys: pytest.CaptureFixture[str]) -> None:
    EmfRoutingMetrics("Test/Routing").agents_counted({"available": 2}, 1_790_000_000_000)
    out = capsys.readouterr().out
    assert out.endswith("\n") and out.count("\n") == 1
    record = json.loads(out)
    assert_valid_emf(record)
    assert record[metrics.AGENTS] == 2
