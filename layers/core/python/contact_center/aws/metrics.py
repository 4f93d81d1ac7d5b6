"""CloudWatch metrics as Embedded Metric Format (EMF) log lines: the routing service's figures.

A function prints one JSON object per line on standard output; Lambda ships each line to CloudWatch
Logs, which extracts the metrics the line declares under ``_aws`` (what powertools' ``Metrics``
does, without its per-invocation buffer: each figure here is one line, written when it happens).
No API call on the request path, nothing to flush, and the line stays queryable in Logs Insights
with its properties (merchant, queue, contact), which are not dimensions and cost nothing.

The line's shape (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
``{"_aws": {"Timestamp": ms, "CloudWatchMetrics": [{"Namespace", "Dimensions": [[names]],
"Metrics": [{"Name", "Unit"}]}]}, <dimension>: "value", <metric>: number, <property>: any}``.
Names and units come from ``contact_center.contracts.metrics``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Mapping
from typing import Any

from contact_center.contracts import metrics

__all__ = ["EmfRoutingMetrics", "emf_record"]


def emf_record(
    namespace: str,
    values: Mapping[str, tuple[float, str]],
    dimensions: Mapping[str, str],
    timestamp_ms: int,
    properties: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One EMF object: ``values`` maps each metric name to (value, unit), all under one dimension set."""
    if not namespace or not values:
        raise ValueError("an EMF record needs a namespace and at least one metric")
    taken = set(values) & set(dimensions)
    if taken:
        raise ValueError(f"names used both as metric and dimension: {sorted(taken)}")
    record: dict[str, Any] = dict(properties or {})
    record.update({name: str(value) for name, value in dimensions.items()})
    record.update({name: value for name, (value, _) in values.items()})
    record["_aws"] = {
        "Timestamp": int(timestamp_ms),
        "CloudWatchMetrics": [
            {
                "Namespace": namespace,
                "Dimensions": [list(dimensions)],
                "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in values.items()],
            }
        ],
    }
    return record


def _stdout(line: str) -> None:
    # Straight to stdout, not through logging: a formatter's prefix would make it plain text.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class EmfRoutingMetrics:
    """The routing service's `RoutingMetrics` port, as EMF lines in ``namespace``."""

    def __init__(self, namespace: str, write: Callable[[str], None] = _stdout) -> None:
        self._namespace = namespace
        self._write = write

    def _emit(self, record: dict[str, Any]) -> None:
        self._write(json.dumps(record, separators=(",", ":")))

    def queue_waited(
        self,
        outcome: str,
        wait_ms: int,
        *,
        merchant_id: str | None,
        queue_id: str,
        contact_id: str,
        at_ms: int,
    ) -> None:
        self._emit(
            emf_record(
                self._namespace,
                {metrics.QUEUE_WAIT_SECONDS: (wait_ms / 1000, metrics.QUEUE_WAIT_UNIT)},
                {metrics.OUTCOME_DIMENSION: outcome},
                at_ms,
                {"merchant_id": merchant_id, "queue_id": queue_id, "contact_id": contact_id},
            )
        )

    def agents_counted(self, by_state: Mapping[str, int], at_ms: int) -> None:
        # One line per state: a line's metrics share its dimension values.
        for state, count in by_state.items():
            self._emit(
                emf_record(
                    self._namespace,
                    {metrics.AGENTS: (count, metrics.AGENTS_UNIT)},
                    {metrics.AGENT_STATE_DIMENSION: state},
                    at_ms,
                )
            )
