"""The routing client tells the function when it stops waiting, for requests that only start work."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from contact_center.aws.lambda_invoke import Invocation
from contact_center.domain.contact import HangupCause, HangupSide
from sip_edge.app.adapters.routing_client import RoutingClient


class SlowThenAnswering:
    """The first invocation never answers in time; the next ones answer at once."""

    def __init__(self, answer: dict[str, Any]) -> None:
        self.answer = answer
        self.requests: list[tuple[float, dict[str, Any]]] = []

    async def invoke(self, function_name: str, payload: bytes) -> Invocation:
        self.requests.append((time.time(), json.loads(payload)))
        if len(self.requests) == 1:
            await asyncio.sleep(1)
        return Invocation(json.dumps(self.answer).encode(), None)

    def close(self) -> None:
        pass


def test_each_attempt_of_a_new_contact_carries_its_own_deadline() -> None:
    invoker = SlowThenAnswering({"decision": "reject", "status": 480, "reason": "x", "contact_id": "c1"})
    client = RoutingClient("edge-1", invoker=invoker, timeout_seconds=0.2, retry_delay_seconds=0)  # type: ignore[arg-type]
    asyncio.run(client.new_contact("+15550100", "+4930", "c1"))
    (sent_1, first), (sent_2, second) = invoker.requests
    assert first["deadline_ms"] / 1000 - sent_1 == pytest.approx(0.2, abs=0.05)
    assert second["deadline_ms"] / 1000 - sent_2 == pytest.approx(0.2, abs=0.05)
    assert second["deadline_ms"] > first["deadline_ms"]


def test_requests_that_release_seats_or_end_contacts_have_no_deadline() -> None:
    invoker = SlowThenAnswering({"decision": "ack", "contact_id": "c1", "state": "ended"})
    client = RoutingClient("edge-1", invoker=invoker, timeout_seconds=0.2, retry_delay_seconds=0)  # type: ignore[arg-type]
    asyncio.run(client.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED))
    assert [request for _, request in invoker.requests if "deadline_ms" in request] == []
    assert len(invoker.requests) == 2
