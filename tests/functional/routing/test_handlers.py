"""The routing and agent_events Lambda handlers: thin adapters over the RoutingService."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from contact_center import bootstrap
from contact_center.data import keys
from contact_center.data.catalog import ROUTING_CACHE
from contact_center.data.models import NumberItem
from contact_center.data.sessions import DialogItems, dialog_item
from contact_center.domain.agent_state import AgentState, GoAvailable

from .conftest import DOMAIN, EDGE, NOW, World

FUNCTIONS = Path(__file__).resolve().parents[3] / "functions"


def load(name: str) -> Callable[[Any, Any], Any]:
    spec = importlib.util.spec_from_file_location(f"handler_{name}", FUNCTIONS / name / "handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler  # type: ignore[no-any-return]


routing = load("routing")
agent_events = load("agent_events")


@pytest.fixture
def world(moto_table: str) -> Iterator[World]:
    bootstrap.reset(bootstrap.Settings(sip_domain=DOMAIN), clock=lambda: NOW)
    yield World()
    bootstrap.reset()


def invoke(event: dict[str, Any]) -> dict[str, Any]:
    # Through JSON both ways, as the Lambda service would.
    result = routing(json.loads(json.dumps(event)), None)
    return json.loads(json.dumps(result))  # type: ignore[no-any-return]


def seat_stream_record(seat_id: str, new_state: str, old_state: str, sequence: str = "1") -> dict[str, Any]:
    def image(state: str) -> dict[str, Any]:
        return {
            "entity": {"S": "seat"},
            "merchant_id": {"S": "m1"},
            "seat_id": {"S": seat_id},
            "state": {"S": state},
        }

    return {
        "eventName": "MODIFY",
        "dynamodb": {"NewImage": image(new_state), "OldImage": image(old_state), "SequenceNumber": sequence},
    }


def test_a_call_through_the_routing_function(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    decision = invoke(
        {
            "action": "new_contact",
            "called": "+15550100",
            "caller": "+4930",
            "contact_id": "c1",
            "edge_task_id": EDGE,
        }
    )
    assert decision["decision"] == "connect" and decision["seat_id"] == "a1"
    assert decision["targets"][0]["contact_uri"].startswith("sip:u-a1@")
    answered = invoke({"action": "offer_result", "contact_id": "c1", "seat_id": "a1", "outcome": "answered"})
    assert answered["decision"] == "ack" and answered["state"] == "connected"
    ended = invoke(
        {"action": "contact_ended", "contact_id": "c1", "side": "agent", "cause": "normal_clearing"}
    )
    assert ended["state"] == "ended"
    assert world.record("c1").hangup_side == "agent"


def test_queue_timeout_and_pending_offers_through_the_function(world: World) -> None:
    world.queue(max_wait=10)
    world.number()
    world.seat("a1", available_at=None)
    queued = invoke(
        {"action": "new_contact", "called": "+15550100", "contact_id": "c1", "edge_task_id": EDGE}
    )
    assert queued["decision"] == "queue" and queued["max_wait_seconds"] == 10
    assert invoke({"action": "pending_offers", "edge_task_id": EDGE}) == {"offers": []}
    # The agent becomes available: the seat stream reaches agent_events, which offers the contact,
    world.command("a1", GoAvailable(), NOW + 1000)
    result = agent_events({"Records": [seat_stream_record("a1", "available", "not_ready")]}, None)
    assert result == {"batchItemFailures": []}
    assert world.agent("a1").state is AgentState.RESERVED
    # and the edge's poll returns the Connect to ring.
    (offer,) = invoke({"action": "pending_offers", "edge_task_id": EDGE})["offers"]
    assert offer["decision"] == "connect" and (offer["contact_id"], offer["seat_id"]) == ("c1", "a1")
    # The queue timer firing now is late: the offer stands.
    assert (
        invoke({"action": "queue_timeout", "contact_id": "c1", "now_ms": NOW + 10_000})["decision"]
        == "connect"
    )


def test_errors_are_answers_with_a_code_never_a_stack_trace(world: World) -> None:
    assert invoke({"action": "dance"})["error"]["code"] == "invalid_request"
    assert invoke({"action": "new_contact", "caller": "x"})["error"]["message"].startswith("called")
    bad = invoke({"action": "offer_result", "contact_id": "c1", "seat_id": "a1", "outcome": "maybe"})
    assert bad["error"]["code"] == "invalid_request" and "answered" in bad["error"]["message"]
    missing = invoke({"action": "offer_result", "contact_id": "nope", "seat_id": "a1", "outcome": "answered"})
    assert missing["error"] == {"code": "not_found", "message": "contact nope not found", "retryable": False}
    assert invoke({"action": "new_contact", "called": "+1999", "contact_id": "c9"})["decision"] == "reject"


def test_agent_events_ignores_other_changes_and_reports_failures_by_record(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [
        seat_stream_record("a1", "available", "available", "1"),  # profile edit while available
        seat_stream_record("a1", "not_ready", "available", "2"),
        {"dynamodb": {"NewImage": {"entity": {"S": "contact"}, "state": {"S": "available"}}}},
    ]
    calls: list[str] = []
    monkeypatch.setattr(
        bootstrap.services().routing, "agent_available", lambda m, s, now: calls.append(s) or None
    )
    assert agent_events({"Records": records}, None) == {"batchItemFailures": []}
    assert calls == []

    def boom(merchant_id: str, seat_id: str, now: int) -> None:
        raise RuntimeError("table unavailable")

    monkeypatch.setattr(bootstrap.services().routing, "agent_available", boom)
    failed = agent_events({"Records": [seat_stream_record("a1", "available", "offline", "77")]}, None)
    assert failed == {"batchItemFailures": [{"itemIdentifier": "77"}]}


def test_the_stream_manifest_subscribes_agent_events_to_seat_changes() -> None:
    manifest = json.loads((FUNCTIONS / "agent_events" / "function.json").read_text())
    assert manifest == {"events": [{"type": "dynamodb-stream", "filter": {"entity": ["seat"]}}]}


def test_the_answer_stores_the_calls_dialog_and_the_end_deletes_it(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    invoke({"action": "new_contact", "called": "+15550100", "contact_id": "c1", "edge_task_id": EDGE})
    legs = {"key": "d-1", "caller": {"call_id": "abc@carrier"}, "agent": {"call_id": "xyz@edge"}}
    dialog = {"keys": ["d-1", "c-alias"], "legs": legs, "owner": EDGE, "ttl_seconds": 600}
    answered = invoke(
        {
            "action": "offer_result",
            "contact_id": "c1",
            "seat_id": "a1",
            "outcome": "answered",
            "dialog": dialog,
        }
    )
    assert answered["state"] == "connected"
    dialogs = DialogItems()
    for key in ("d-1", "c-alias"):
        item = dialogs.get(key, NOW // 1000)
        assert item is not None and item.contact_id == "c1" and item.owner == EDGE
        assert item.legs.as_dict()["caller"]["call_id"] == "abc@carrier"
        assert item.expires_at == NOW // 1000 + 600
    ended = invoke(
        {
            "action": "contact_ended",
            "contact_id": "c1",
            "side": "customer",
            "cause": "normal_clearing",
            "dialog_keys": ["d-1", "c-alias"],
        }
    )
    assert ended["state"] == "ended"
    assert dialogs.get("d-1", NOW // 1000) is None and dialogs.get("c-alias", NOW // 1000) is None
    # A late repeat of the end (another task's BYE) still removes a dialog stored meanwhile.
    dialogs.save(
        dialog_item(
            "d-1", contact_id="c1", owner=EDGE, state="confirmed", legs=legs, now=NOW // 1000, ttl_seconds=60
        )
    )
    repeat = invoke({"action": "contact_ended", "contact_id": "c1", "dialog_keys": ["d-1"]})
    assert repeat["state"] == "ended" and repeat["stale"] is True
    assert dialogs.get("d-1", NOW // 1000) is None


def test_an_answer_that_loses_its_contact_stores_no_dialog(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    invoke({"action": "new_contact", "called": "+15550100", "contact_id": "c1", "edge_task_id": EDGE})
    invoke({"action": "contact_ended", "contact_id": "c1", "side": "customer", "cause": "caller_abandoned"})
    dialog = {"keys": ["d-2"], "legs": {"key": "d-2"}, "owner": EDGE, "ttl_seconds": 600}
    late = invoke(
        {
            "action": "offer_result",
            "contact_id": "c1",
            "seat_id": "a1",
            "outcome": "answered",
            "dialog": dialog,
        }
    )
    assert late["state"] == "ended"
    assert DialogItems().get("d-2", NOW // 1000) is None


@pytest.mark.parametrize(
    ("dialog", "field"),
    [
        ("d-1", "dialog"),
        ({"keys": ["d-1"], "legs": {}, "ttl_seconds": 60}, "dialog.legs"),
        ({"keys": [], "legs": {"key": "d-1"}, "ttl_seconds": 60}, "dialog.keys"),
        ({"keys": ["d-1", 5], "legs": {"key": "d-1"}, "ttl_seconds": 60}, "dialog.keys"),
        ({"keys": ["d-1"], "legs": {"key": "d-1"}, "ttl_seconds": 0}, "dialog.ttl_seconds"),
        ({"keys": ["d-1"], "legs": {"key": "d-1"}, "ttl_seconds": 60, "owner": 3}, "dialog.owner"),
    ],
)
def test_a_malformed_dialog_is_refused_naming_the_field(world: World, dialog: Any, field: str) -> None:
    answer = invoke(
        {
            "action": "offer_result",
            "contact_id": "c1",
            "seat_id": "a1",
            "outcome": "answered",
            "dialog": dialog,
        }
    )
    assert answer["error"]["code"] == "invalid_request"
    assert answer["error"]["message"].startswith(f"{field}:")
    ended = invoke({"action": "contact_ended", "contact_id": "c1", "dialog_keys": "d-1"})
    assert ended["error"]["message"].startswith("dialog_keys:")


def test_agent_events_leaves_the_routers_own_releases_to_it(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(
        bootstrap.services().routing, "agent_available", lambda m, s, now: calls.append(s) or None
    )
    records = [
        seat_stream_record("a1", "available", "on_contact", "1"),  # a call ended: the router dequeued
        seat_stream_record("a2", "available", "after_contact_work", "2"),  # wrap-up ended (maybe by the API)
        seat_stream_record("a3", "available", "reserved", "3"),  # a busy phone's reservation released
        seat_stream_record("a4", "available", "not_ready", "4"),  # the agent's own choice
    ]
    assert agent_events({"Records": records}, None) == {"batchItemFailures": []}
    assert calls == ["a2", "a3", "a4"]


def test_a_new_contact_the_edge_stopped_waiting_for_does_nothing(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    request = {"action": "new_contact", "called": "+15550100", "contact_id": "c1", "edge_task_id": EDGE}
    # Started after the edge's deadline (the clock reads NOW): an error the edge may retry, no work.
    late = invoke({**request, "deadline_ms": NOW - 1})
    assert late["error"]["code"] == "deadline_exceeded" and late["error"]["retryable"] is True
    assert world.contact("c1") is None and world.agent("a1").state is AgentState.AVAILABLE
    late_poll = invoke({"action": "pending_offers", "edge_task_id": EDGE, "deadline_ms": NOW - 1})
    assert late_poll["error"]["code"] == "deadline_exceeded"
    # In time, the same request routes the call.
    assert invoke({**request, "deadline_ms": NOW})["decision"] == "connect"
    assert world.agent("a1").state is AgentState.RESERVED
    # Requests that release seats or end contacts carry no deadline: they are never dropped.
    ended = invoke(
        {
            "action": "contact_ended",
            "contact_id": "c1",
            "side": "customer",
            "cause": "caller_abandoned",
            "deadline_ms": NOW - 1,
        }
    )
    assert ended["state"] == "ended" and world.agent("a1").state is AgentState.AVAILABLE
    bad = invoke({**request, "deadline_ms": "soon"})
    assert bad["error"]["code"] == "invalid_request" and bad["error"]["message"].startswith("deadline_ms")


def test_the_contacts_a_lost_edge_held_ringing_or_queued_are_ended_and_their_agents_released(
    world: World,
) -> None:
    world.queue()
    world.number()
    world.seat("a1", available_at=NOW - 60_000)
    world.seat("a2", available_at=NOW - 1000)

    def new(contact_id: str, edge: str) -> dict[str, Any]:
        return invoke(
            {"action": "new_contact", "called": "+15550100", "contact_id": contact_id, "edge_task_id": edge}
        )

    # Given the lost task held a ringing call (c1), a connected one (c2), a queued one (c3), and a
    # live task holds another queued caller (c4). (Which free agent each call goes to is the
    # router's spread over the head of the index: either.)
    ringing, talking = new("c1", "edge-lost")["seat_id"], new("c2", "edge-lost")["seat_id"]
    assert {ringing, talking} == {"a1", "a2"}
    invoke({"action": "offer_result", "contact_id": "c2", "seat_id": talking, "outcome": "answered"})
    assert new("c3", "edge-lost")["decision"] == "queue"
    assert new("c4", EDGE)["decision"] == "queue"
    # When the loss is reported
    assert invoke({"action": "edge_lost", "edge_task_id": "edge-lost"}) == {"ended": ["c3", "c1"]}
    # Then its ringing and queued callers have records, the connected call goes on, and the agent
    # it had reserved takes the live task's caller
    assert (world.record("c1").hangup_side, world.record("c1").hangup_cause) == ("system", "system_error")
    assert world.record("c3").hangup_cause == "system_error"
    assert world.contact("c2").snapshot.state.value == "connected"
    assert world.contact("c4").snapshot.seat_id == ringing
    assert world.agent(ringing).state is AgentState.RESERVED
    # A second report (another task saw the loss too) finds nothing left to end
    assert invoke({"action": "edge_lost", "edge_task_id": "edge-lost"}) == {"ended": []}
    assert invoke({"action": "edge_lost"})["error"]["message"].startswith("edge_task_id")


def test_a_live_edge_ends_only_the_old_contacts_it_no_longer_holds(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1", available_at=None)  # nobody free: every call waits in the queue
    for contact_id, at in (("held", NOW - 90_000), ("given-up", NOW - 90_000), ("just-started", NOW)):
        new = {"action": "new_contact", "called": "+15550100", "contact_id": contact_id, "edge_task_id": EDGE}
        assert invoke({**new, "now_ms": at})["decision"] == "queue"
    answer = invoke(
        {"action": "edge_lost", "edge_task_id": EDGE, "held": ["held"], "initiated_before_ms": NOW - 60_000}
    )
    assert answer == {"ended": ["given-up"]}
    assert world.record("given-up").hangup_cause == "system_error"
    assert {world.contact(c).snapshot.state.value for c in ("held", "just-started")} == {"queued"}
    bad = invoke({"action": "edge_lost", "edge_task_id": EDGE, "held": "held"})
    assert bad["error"]["message"].startswith("held")


def test_the_scheduled_sweep_through_the_function_ends_a_wrap_up_a_dead_edge_left(world: World) -> None:
    from contact_center.contracts.schedules import ROUTING_SWEEP

    world.queue(wrap_up=10)
    world.number()
    world.seat("a1")
    connect = invoke(
        {"action": "new_contact", "called": "+15550100", "contact_id": "c1", "edge_task_id": EDGE}
    )
    invoke(
        {"action": "offer_result", "contact_id": "c1", "seat_id": connect["seat_id"], "outcome": "answered"}
    )
    invoke({"action": "contact_ended", "contact_id": "c1", "side": "agent", "cause": "normal_clearing"})
    assert world.agent("a1").state is AgentState.AFTER_CONTACT_WORK

    # The EventBridge rule's event, a minute later: nobody ended the wrap-up.
    result = invoke({**ROUTING_SWEEP.event, "now_ms": NOW + 60_000})

    assert result == {
        "orphans_freed": [],
        "wrap_ups_ended": ["a1"],
        "reservations_released": [],
        "offers": [],
        "seats_relisted": [],
        "agents_reachable_again": [],
    }
    assert world.agent("a1").state is AgentState.AVAILABLE
    assert invoke({"action": "sweep", "merchant_ids": "m1"})["error"]["code"] == "invalid_request"


def test_a_failed_legacy_side_is_reported_and_the_queue_takes_the_caller(world: World) -> None:
    world.queue()
    world.number()
    NumberItem(pk=keys.number_pk("+15550100"), sk=keys.NUMBER_SK).update(
        actions=[NumberItem.mode.set("legacy"), NumberItem.legacy_trunk.set("legacy-pbx")]
    )
    ROUTING_CACHE.clear()
    forwarded = invoke(
        {"action": "new_contact", "called": "+15550100", "contact_id": "c1", "edge_task_id": EDGE}
    )
    assert (forwarded["decision"], forwarded["trunk_id"], forwarded["fallback"]) == (
        "forward",
        "legacy-pbx",
        True,
    )
    fallen_back = invoke({"action": "legacy_failed", "contact_id": "c1"})
    assert fallen_back["decision"] == "queue" and fallen_back["contact_id"] == "c1"
    assert invoke({"action": "legacy_failed"})["error"]["message"].startswith("contact_id")
