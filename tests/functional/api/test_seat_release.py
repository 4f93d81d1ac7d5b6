"""Freeing a seat stuck on a call whose two ends vanished: the contact ends as forced_release."""

from __future__ import annotations

import time
from typing import Any

import pytest

from contact_center import bootstrap
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.data.contacts import ContactItems
from contact_center.domain.agent_state import Reserve
from contact_center.services.routing.decisions import Connect, OfferOutcome
from tests.functional.api.conftest import SIP_DOMAIN, Api

NUMBER = "+14155550188"


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def seat_on_a_call(api: Api, *, answered: bool) -> dict[str, Any]:
    """A seat ringing (answered=False) or talking (True) on a contact from the queue's number."""
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    assert (
        api.post(
            f"/merchants/{merchant_id}/numbers", {"number": NUMBER, "queue_id": queue_id}, key=key
        ).status
        == 201
    )
    seat = api.seat(merchant_id, key, queue_ids=[queue_id])
    base = f"/merchants/{merchant_id}/seats/{seat['seat_id']}"
    assert api.put(base + "/state", {"state": "available"}, key=key).status == 200
    username = seat["sip"]["username"]
    aor = f"sip:{username}@{SIP_DOMAIN}"
    BindingItems().write_batch(
        [new_binding(aor, f"sip:{username}@192.0.2.10:5062", int(time.time()) + 3600)], []
    )
    routing = bootstrap.services().routing
    decision = routing.new_contact(NUMBER, "+4930123", "edge-gone", "c-stuck", now_ms())
    assert isinstance(decision, Connect), decision
    if answered:
        routing.offer_result("c-stuck", seat["seat_id"], OfferOutcome.ANSWERED, now_ms())
    return {"merchant_id": merchant_id, "key": key, "seat_id": seat["seat_id"], "base": base}


@pytest.mark.parametrize(("answered", "stuck_state"), [(True, "on_contact"), (False, "reserved")])
def test_a_merchant_admin_frees_a_stuck_seat_and_the_call_is_recorded_as_forced(
    api: Api, answered: bool, stuck_state: str
) -> None:
    # Given a seat held by a call nobody will ever hang up (the edge holding it is gone)
    stuck = seat_on_a_call(api, answered=answered)
    key, base = stuck["key"], stuck["base"]
    assert api.get(base + "/state", key=key).body["state"] == stuck_state
    # where neither the agent's own state change nor removing the seat works,
    assert api.put(base + "/state", {"state": "not_ready", "reason": "lunch"}, key=key).status == 409
    assert api.delete(base, key=key).status == 409
    # when the merchant's admin releases it
    released = api.post(base + "/release", {}, key=key)
    # then the seat is free (not ready by default: its phone is probably gone too),
    assert released.status == 200, released.body
    assert (released.body["state"], released.body["reason"], released.body["contact_id"]) == (
        "not_ready",
        "forced_release",
        None,
    )
    assert api.get(base + "/state", key=key).body["state"] == "not_ready"
    # the call is over and its record says why,
    record = ContactItems().record("c-stuck")
    assert (record.hangup_side, record.hangup_cause) == ("system", "forced_release")
    # and the seat can now be removed.
    assert api.delete(base, key=key).status == 204


def test_the_platform_admin_may_release_into_available(api: Api) -> None:
    stuck = seat_on_a_call(api, answered=True)
    released = api.post(stuck["base"] + "/release", {"state": "available"})  # the admin key
    assert (released.status, released.body["state"]) == (200, "available")
    assert ContactItems().record("c-stuck").hangup_cause == "forced_release"


def test_a_seat_holding_a_contact_that_no_longer_exists_is_freed_too(api: Api) -> None:
    # A seat reserved for a contact with neither a live item nor a record (a write lost mid-way)
    merchant_id, key = api.merchant()
    seat_id = api.seat(merchant_id, key)["seat_id"]
    base = f"/merchants/{merchant_id}/seats/{seat_id}"
    assert api.put(base + "/state", {"state": "available"}, key=key).status == 200
    bootstrap.services().agent_state.change(merchant_id, seat_id, Reserve("c-ghost"))
    released = api.post(base + "/release", {"state": "not_ready", "reason": "phone gone"}, key=key)
    assert (released.status, released.body["state"], released.body["reason"]) == (
        200,
        "not_ready",
        "phone gone",
    )


def test_another_merchant_cannot_release_the_seat(api: Api) -> None:
    stuck = seat_on_a_call(api, answered=True)
    _, other_key = api.merchant(name="Other")
    reply = api.post(stuck["base"] + "/release", {}, key=other_key)
    assert reply.status == 404
    assert api.get(stuck["base"] + "/state", key=stuck["key"]).body["state"] == "on_contact"


def test_a_bad_target_state_is_400_and_changes_nothing(api: Api) -> None:
    stuck = seat_on_a_call(api, answered=True)
    reply = api.post(stuck["base"] + "/release", {"state": "on_contact"}, key=stuck["key"])
    assert (reply.status, reply.error["field"]) == (400, "state")
    assert api.get(stuck["base"] + "/state", key=stuck["key"]).body["state"] == "on_contact"
