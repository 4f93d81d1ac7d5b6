"""Call counters of one edge task, published to CloudWatch in AWS only.

``ActiveCalls`` (a gauge: calls set up or talking now) and ``CallsStarted`` (INVITEs accepted from
trunks since the last publication) go to namespace ``EDGE_METRICS_NAMESPACE`` every 60 s, without
dimensions, so the alarm and the autoscaling policy aggregate the whole fleet with one metric.
Names are `contact_center.contracts.metrics`', which the dashboard and the scaling policy read too.
The namespace comes from the edge's configuration (`sip_edge.config.EdgeConfig`). Unset (local
mode, tests), nothing is sent anywhere: the counters are still kept for the heartbeat.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from contact_center.contracts import metrics
from sip_edge.app.calls.counters import CallCounters
from sip_edge.app.workers import repeat

__all__ = ["MetricsPublisher", "metrics_publisher"]

log = logging.getLogger("sip_edge.metrics")


class MetricsPublisher:
    def __init__(
        self,
        counters: CallCounters,
        namespace: str,
        client_factory: Callable[[], Any],
        *,
        interval: float = 60.0,
    ) -> None:
        self._counters = counters
        self._namespace = namespace
        self._client_factory = client_factory
        self._client: Any = None
        self.interval = interval

    def _put(self, active: int, started: int) -> None:
        if self._client is None:
            self._client = self._client_factory()
        self._client.put_metric_data(
            Namespace=self._namespace,
            MetricData=[
                {"MetricName": metrics.ACTIVE_CALLS, "Value": float(active), "Unit": "Count"},
                {"MetricName": metrics.CALLS_STARTED, "Value": float(started), "Unit": "Count"},
            ],
        )

    async def publish(self) -> None:
        active, started = self._counters.active, self._counters.take_started()
        try:
            await asyncio.to_thread(self._put, active, started)
        except Exception:
            self._counters.started += started  # counted in the next publication instead
            log.exception("publishing edge metrics failed")

    async def run(self) -> None:
        """A worker (`sip_edge.app.workers`): one publication every ``interval`` seconds."""
        await repeat("edge-metrics", self.interval, self.publish)


def metrics_publisher(counters: CallCounters, namespace: str | None) -> MetricsPublisher | None:
    """A publisher when a namespace is configured (AWS), else None (never locally)."""
    if not namespace:
        return None

    def client() -> Any:
        import boto3  # only CloudWatch's put_metric_data is used

        return boto3.client("cloudwatch")

    return MetricsPublisher(counters, namespace, client)
