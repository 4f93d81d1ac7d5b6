"""The local stream mapping retries the records a handler reports failed, as the deployed one does
(``retry_attempts``, ReportBatchItemFailures): a seat-available dequeue that failed on a slow table
runs again instead of leaving an available agent next to a waiting caller."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from local_stack import lambda_endpoint
from local_stack.functions import LocalFunction, StreamSource
from local_stack.lambda_endpoint import STREAM_RETRY_ATTEMPTS, StreamPoller


def record(sequence: str) -> dict[str, Any]:
    return {"dynamodb": {"SequenceNumber": sequence, "NewImage": {"entity": {"S": "seat"}}}}


def poller_with(handler: Any) -> StreamPoller:
    function = LocalFunction("agent_events", Path("."), [StreamSource(filter={})], _handler=handler)
    return StreamPoller("table", {"agent_events": function}, "us-east-1")


def test_records_a_handler_reported_failed_are_delivered_again_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lambda_endpoint, "STREAM_RETRY_PAUSE_S", 0.0)
    batches: list[list[str]] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        sequences = [r["dynamodb"]["SequenceNumber"] for r in event["Records"]]
        batches.append(sequences)
        # The dequeue for seat "2" times out twice, then lands.
        failed = [{"itemIdentifier": "2"}] if "2" in sequences and len(batches) <= 2 else []
        return {"batchItemFailures": failed}

    poller_with(handler)._deliver([record("1"), record("2"), record("3")])
    assert batches == [["1", "2", "3"], ["2"], ["2"]]


def test_a_handler_that_raises_gets_the_whole_batch_again_and_gives_up_after_the_mapping_s_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(lambda_endpoint, "STREAM_RETRY_PAUSE_S", 0.0)
    calls: list[int] = []

    def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
        calls.append(len(event["Records"]))
        raise TimeoutError("the table did not answer")

    poller_with(handler)._deliver([record("1"), record("2")])
    assert calls == [2] * (STREAM_RETRY_ATTEMPTS + 1)
