"""The failover controller's AWS side: its canary of the other region, its figures, its sweep request.

The canary is the very request the survivor would forward to a merchant's home (a synchronous
Lambda ``Invoke`` of the peer's routing function, ``HomeRegionInvoker``), asking for the pending
offers of an edge task that does not exist: the peer's routing code runs, with its settings, and
queries its own replica of the table, and nothing is written. So the probe fails when the peer's
Lambda service, its routing function or its replica fails, and it needs nothing of the peer's
control plane (``Invoke`` is Lambda's data plane) nor any address the peer's stack makes at deploy
time (the routing function has the same name in every region).

A probe's outcome is one of the values of ``domain.ownership.ProbeOutcome`` (this module reads no
domain); the figures are EMF lines in ``contracts.metrics``' failover names.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

import botocore.session
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

from contact_center.aws.home_region import HomeRegionInvoker
from contact_center.aws.metrics import emf_record
from contact_center.contracts import metrics

__all__ = [
    "CANARY_EVENT",
    "EmfFailoverMetrics",
    "RoutingSweepRequest",
    "probe_region",
    "read_replication_mark",
]

log = logging.getLogger("contact_center.failover")

OK: Final = "ok"
REFUSED: Final = "refused"  # an error answer, or nobody there
SLOW: Final = "slow"  # no answer in time

# An edge task id no edge task has: its pending offers are always none.
CANARY_EDGE_TASK: Final = "failover-canary"
CANARY_EVENT: Final[Mapping[str, Any]] = {
    "action": "pending_offers",
    "edge_task_id": CANARY_EDGE_TASK,
    # Answer for this region alone: the peer must not ask the prober back.
    "forwarded": True,
}


def probe_region(invoker: HomeRegionInvoker, region: str) -> str:
    """Run the canary in ``region``: ``OK``, ``REFUSED`` or ``SLOW``."""
    try:
        answer = invoker.invoke(region, CANARY_EVENT)
    except (ConnectTimeoutError, ReadTimeoutError, TimeoutError):
        log.warning("the canary in %s timed out", region)
        return SLOW
    except Exception as error:
        log.warning("the canary in %s failed: %s", region, error)
        return REFUSED
    if "error" in answer or not isinstance(answer.get("offers"), list):
        log.warning("the canary in %s answered %s", region, answer)
        return REFUSED
    return OK


def read_replication_mark(invoker: HomeRegionInvoker, region: str, marking_region: str) -> int | None:
    """``marking_region``'s replication mark (epoch ms) as ``region``'s replica has it, asked of
    ``region``'s routing function (``services.regions``: a failback's check); None when it has none.
    Raises when the function does not answer or answers an error."""
    answer = invoker.invoke(
        region, {"action": "replication_mark", "region": marking_region, "forwarded": True}
    )
    if "error" in answer:
        raise RuntimeError(f"the replication mark in {region}: {answer['error']}")
    mark = answer.get("mark_ms")
    return mark if isinstance(mark, int) and not isinstance(mark, bool) else None


def _stdout(line: str) -> None:
    # Straight to stdout, not through logging: a formatter's prefix would make it plain text.
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class EmfFailoverMetrics:
    """The watch's figures as EMF lines: every probe, and every takeover."""

    def __init__(self, namespace: str, write: Callable[[str], None] = _stdout) -> None:
        self._namespace = namespace
        self._write = write

    def _emit(self, name: str, value: float, peer: str, at_ms: int) -> None:
        record = emf_record(
            self._namespace, {name: (value, metrics.FAILOVER_UNIT)}, {metrics.PEER_DIMENSION: peer}, at_ms
        )
        self._write(json.dumps(record, separators=(",", ":")))

    def probed(self, peer: str, failed: bool, at_ms: int) -> None:
        self._emit(metrics.PEER_PROBE_FAILED, 1 if failed else 0, peer, at_ms)

    def taken_over(self, peer: str, merchants: int, at_ms: int) -> None:
        self._emit(metrics.MERCHANTS_TAKEN_OVER, merchants, peer, at_ms)


class RoutingSweepRequest:
    """Asks this region's routing function (asynchronously) to sweep merchants just taken over:
    the reservations and wrap-ups the failed region left behind are let go at once rather than at
    the routing function's next minute sweep. The controller itself may not touch seats."""

    # A sweep event stays far under Lambda's 256 KB asynchronous payload.
    CHUNK = 500

    def __init__(self, function_name: str, region: str, endpoint_url: str | None = None) -> None:
        self._function_name = function_name
        self._region = region
        self._endpoint_url = endpoint_url
        self._client: Any = None
        self._lock = threading.Lock()

    def __call__(self, merchant_ids: Sequence[str]) -> None:
        for start in range(0, len(merchant_ids), self.CHUNK):
            event = {"action": "sweep", "merchant_ids": list(merchant_ids[start : start + self.CHUNK])}
            self._lambda().invoke(
                FunctionName=self._function_name, InvocationType="Event", Payload=json.dumps(event).encode()
            )

    def _lambda(self) -> Any:
        with self._lock:
            if self._client is None:
                config = Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 2})
                self._client = botocore.session.get_session().create_client(
                    "lambda", region_name=self._region, endpoint_url=self._endpoint_url, config=config
                )
            return self._client
