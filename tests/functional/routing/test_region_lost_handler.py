"""The routing function's ``region_lost``: after a takeover, the survivor ends every contact the
failed region's edge tasks held (talking ones too), a bounded page per invocation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from contact_center import bootstrap
from contact_center.domain.agent_state import AgentState

from .conftest import DOMAIN, EDGE, NOW, World
from .test_handlers import invoke


@pytest.fixture
def world(moto_table: str) -> Iterator[World]:
    bootstrap.reset(bootstrap.Settings(sip_domain=DOMAIN), clock=lambda: NOW)
    yield World()
    bootstrap.reset()


def new(contact_id: str, edge: str) -> dict[str, Any]:
    return invoke(
        {"action": "new_contact", "called": "+15550100", "contact_id": contact_id, "edge_task_id": edge}
    )


def test_a_lost_regions_edge_tasks_contacts_all_end_with_records_a_page_at_a_time(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1", available_at=NOW - 60_000)
    world.seat("a2", available_at=NOW - 1000)
    # Given the dead region's tasks held a talking call, a ringing one and a queued one, and a
    # task of this region holds a talking call of its own
    talking = new("c1", "lost-1")["seat_id"]
    invoke({"action": "offer_result", "contact_id": "c1", "seat_id": talking, "outcome": "answered"})
    ringing = new("c2", "lost-2")["seat_id"]
    assert {talking, ringing} == {"a1", "a2"}
    assert new("c3", "lost-1")["decision"] == "queue"
    world.seat("a3", available_at=NOW - 500)
    mine = new("c4", EDGE)["seat_id"]
    invoke({"action": "offer_result", "contact_id": "c4", "seat_id": mine, "outcome": "answered"})
    request = {"action": "region_lost", "edge_task_ids": ["lost-1", "lost-2"], "limit": 2}

    # When the survivor asks for pages until none is full
    first = invoke(request)
    second = invoke(request)

    assert len(first["ended"]) == 2 and first["more"] is True
    assert len(second["ended"]) == 1 and second["more"] is False
    assert sorted(first["ended"] + second["ended"]) == ["c1", "c2", "c3"]
    for contact_id in ("c1", "c2", "c3"):
        assert world.contact(contact_id) is None
        record = world.record(contact_id)
        assert (record.hangup_side, record.hangup_cause) == ("system", "network_failure")
    assert world.agent(ringing).state is AgentState.AVAILABLE
    assert world.agent(talking).state in (AgentState.AVAILABLE, AgentState.AFTER_CONTACT_WORK)
    # This region's own call goes on
    assert world.contact("c4").snapshot.state.value == "connected"
    # A repeated request finds nothing left to end
    assert invoke(request) == {"ended": [], "more": False}


@pytest.mark.parametrize(
    ("event", "field"),
    [
        ({"action": "region_lost"}, "edge_task_ids"),
        ({"action": "region_lost", "edge_task_ids": []}, "edge_task_ids"),
        ({"action": "region_lost", "edge_task_ids": "lost-1"}, "edge_task_ids"),
        ({"action": "region_lost", "edge_task_ids": ["lost-1"], "limit": 0}, "limit"),
        ({"action": "region_lost", "edge_task_ids": ["lost-1"], "limit": 501}, "limit"),
    ],
)
def test_a_malformed_region_lost_request_names_its_field(
    world: World, event: dict[str, Any], field: str
) -> None:
    error = invoke(event)["error"]
    assert error["code"] == "invalid_request" and error["message"].startswith(field)
