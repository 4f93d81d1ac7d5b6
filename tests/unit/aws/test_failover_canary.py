"""The failover controller's canary: what each answer of the peer's routing function means."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

from contact_center.aws import failover
from contact_center.aws.failover import CANARY_EVENT, RoutingSweepRequest, probe_region
from contact_center.domain.ownership import ProbeOutcome


class Peer:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, region: str, event: Mapping[str, Any]) -> dict[str, Any]:
        self.sent.append((region, dict(event)))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        ({"offers": []}, ProbeOutcome.OK),
        ({"error": {"code": "internal", "message": "table", "retryable": True}}, ProbeOutcome.REFUSED),
        ({"errorMessage": "boom"}, ProbeOutcome.REFUSED),
        (RuntimeError("routing in us-east-1 failed: Unhandled"), ProbeOutcome.REFUSED),
        (
            EndpointConnectionError(endpoint_url="https://lambda.us-east-1.amazonaws.com"),
            ProbeOutcome.REFUSED,
        ),
        (ConnectTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com"), ProbeOutcome.SLOW),
        (ReadTimeoutError(endpoint_url="https://lambda.us-east-1.amazonaws.com"), ProbeOutcome.SLOW),
    ],
)
def test_each_answer_of_the_peer_is_one_probe_outcome(
    answer: dict[str, Any] | Exception, outcome: ProbeOutcome
) -> None:
    peer = Peer(answer)
    assert ProbeOutcome(probe_region(peer, "us-east-1")) is outcome  # type: ignore[arg-type]
    assert peer.sent == [("us-east-1", dict(CANARY_EVENT))]


def test_the_canary_asks_the_peer_alone_and_changes_nothing() -> None:
    assert CANARY_EVENT["action"] == "pending_offers" and CANARY_EVENT["forwarded"] is True
    assert "retry_queued" not in CANARY_EVENT  # a retry would route queued contacts: a write
    assert {failover.OK, failover.REFUSED, failover.SLOW} == {str(o) for o in ProbeOutcome}


def test_a_sweep_of_many_merchants_goes_in_chunks_each_an_asynchronous_invoke() -> None:
    calls: list[dict[str, Any]] = []

    class Lambda:
        def invoke(self, **request: Any) -> None:
            calls.append(request)

    request = RoutingSweepRequest("switchboard-routing:live", "us-west-2")
    request._client = Lambda()
    request([f"m{i}" for i in range(RoutingSweepRequest.CHUNK + 1)])
    assert [c["InvocationType"] for c in calls] == ["Event", "Event"]
    assert {c["FunctionName"] for c in calls} == {"switchboard-routing:live"}
    sizes = [len(json.loads(c["Payload"])["merchant_ids"]) for c in calls]
    assert sizes == [RoutingSweepRequest.CHUNK, 1]
