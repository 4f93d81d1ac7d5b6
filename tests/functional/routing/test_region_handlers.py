"""The routing function and the seat-stream consumer in one of two regions: a request for a merchant
homed in the other region goes there (once), and the stream consumer acts only on what its own
region wrote as the merchant's home."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from contact_center import bootstrap
from contact_center.data.ownership import OwnershipItems
from contact_center.domain.ownership import Ownership

from .conftest import DOMAIN, NOW, World
from .test_handlers import agent_events, invoke, seat_stream_record


class RecordingInvoker:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, region: str, event: Mapping[str, Any]) -> dict[str, Any]:
        self.sent.append((region, dict(event)))
        return {"decision": "queue", "answered_by": region}


@pytest.fixture
def west(moto_table: str) -> Iterator[tuple[World, RecordingInvoker]]:
    world = World()  # seeded without a fence, as the replicas hold it
    world.queue()
    world.number()
    world.seat("a1")
    OwnershipItems().move(None, Ownership("m1", "east", 1, 0, "east"), time.time_ns() // 1_000_000)
    container = bootstrap.reset(bootstrap.Settings(sip_domain=DOMAIN, region="west"), clock=lambda: NOW)
    invoker = RecordingInvoker()
    container.home_region = invoker  # type: ignore[assignment]
    yield world, invoker
    bootstrap.reset()


NEW_CALL = {"action": "new_contact", "called": "+15550100", "caller": "+4930123", "contact_id": "c1"}


def test_a_call_for_a_merchant_homed_elsewhere_is_decided_by_its_home_and_written_nowhere_here(
    west: tuple[World, RecordingInvoker],
) -> None:
    world, invoker = west
    assert invoke(NEW_CALL) == {"decision": "queue", "answered_by": "east"}
    assert invoker.sent == [("east", {**NEW_CALL, "forwarded": True})]
    assert world.contacts.get("c1") is None
    assert world.seats.get("m1", "a1").agent.state.value == "available"


def test_a_forwarded_request_is_never_forwarded_again(west: tuple[World, RecordingInvoker]) -> None:
    _, invoker = west
    answer = invoke({**NEW_CALL, "forwarded": True})
    assert answer["error"]["code"] == "not_home" and answer["error"]["retryable"] is True
    assert invoker.sent == []


def test_the_seat_stream_acts_only_on_changes_its_own_region_wrote_as_home(
    west: tuple[World, RecordingInvoker], monkeypatch: pytest.MonkeyPatch
) -> None:
    offered: list[str] = []
    container = bootstrap.services()
    monkeypatch.setattr(
        container.routing, "agent_available", lambda merchant, seat, now: offered.append(seat)
    )
    records = []
    for seat, home in (("a1", "east"), ("a2", "west"), ("a3", None)):
        record = seat_stream_record(seat, "available", "not_ready")
        if home is not None:
            record["dynamodb"]["NewImage"]["home_region"] = {"S": home}
        records.append(record)
    assert agent_events({"Records": records}, None) == {"batchItemFailures": []}
    assert offered == ["a2"]


def test_an_edge_tasks_poll_gathers_the_offers_of_every_region(west: tuple[World, RecordingInvoker]) -> None:
    _, invoker = west

    def east_answers(region: str, event: Mapping[str, Any]) -> dict[str, Any]:
        invoker.sent.append((region, dict(event)))
        return {"offers": [{"contact_id": "from-east"}]}

    invoker.invoke = east_answers  # type: ignore[method-assign]
    bootstrap.services().settings = bootstrap.Settings(
        sip_domain=DOMAIN, region="west", region_endpoints=(("east", ""), ("west", ""))
    )
    answer = invoke({"action": "pending_offers", "edge_task_id": "edge-1"})
    assert answer == {"offers": [{"contact_id": "from-east"}]}
    assert invoker.sent == [
        ("east", {"action": "pending_offers", "edge_task_id": "edge-1", "forwarded": True})
    ]
