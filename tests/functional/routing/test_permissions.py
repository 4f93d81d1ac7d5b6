"""The routing function needs no DynamoDB action its deployed role lacks.

Every request the router makes in a call's life (answered and ended, queued then dequeued, a late
end that finds the dialog still stored) is recorded with the item actions DynamoDB authorises it as
(each item of a transaction as its Put/Update/Delete/ConditionCheck), and compared with the IAM
actions the CDK app grants the routing and agent-events functions.
"""

from __future__ import annotations

from typing import Any

from contact_center.data.sessions import DialogItems, dialog_item
from contact_center.domain.agent_state import GoAvailable
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome
from contact_center.services.routing.ports import CallDialog
from switchboard_infra import permissions

from .conftest import EDGE, NOW, World, on_every_table_request

_TRANSACT_ITEMS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def recording_actions() -> set[str]:
    actions: set[str] = set()

    def on_request(operation: str, params: dict[str, Any]) -> None:
        if operation == "TransactWriteItems":
            for item in params["TransactItems"]:
                actions.update(f"dynamodb:{_TRANSACT_ITEMS[kind]}" for kind in item)
        elif operation == "TransactGetItems":
            actions.add("dynamodb:GetItem")
        else:
            actions.add(f"dynamodb:{operation}")

    on_every_table_request(on_request)
    return actions


def test_every_action_of_a_calls_routing_is_granted(world: World) -> None:
    world.queue()
    world.number()
    world.seat("a1")
    actions = recording_actions()
    dialog = CallDialog(("d-1", "c-1"), {"key": "d-1"}, EDGE, 600)
    connect = world.service.new_contact("+15550100", "x", EDGE, "c1", NOW)
    assert isinstance(connect, Connect)
    world.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 1000, dialog)
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 2000, dialog.keys)
    DialogItems().save(
        dialog_item("d-1", contact_id="c1", owner=EDGE, state="confirmed", legs={}, now=0, ttl_seconds=10**9)
    )
    world.service.contact_ended("c1", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, NOW + 3000, dialog.keys)
    world.not_ready("a1", NOW + 4000)
    world.service.new_contact("+15550100", "x", EDGE, "c2", NOW + 5000)  # nobody free: queued
    world.command("a1", GoAvailable(), NOW + 6000)
    assert world.service.agent_available("m1", "a1", NOW + 6000) is not None

    assert {"dynamodb:DeleteItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem"} <= actions
    assert actions <= set(permissions.ROUTING)
