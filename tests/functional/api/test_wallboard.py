"""The wallboard route over HTTP, from contact records written by real call ends (the routing service)."""

from __future__ import annotations

import time

from contact_center import bootstrap
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.passwords import ScryptCost
from contact_center.services.routing.decisions import Connect, OfferOutcome
from contact_center.services.wallboard import INTERVAL_MS, interval_start
from tests.functional.api.conftest import SIP_DOMAIN, Api

NUMBER = "+14155550100"

DAY_MS = 86_400_000


def _now_inside_an_interval() -> int:
    """A moment 3 min into the current interval (or the next, so that the previous one is today too)."""
    start = interval_start(time.time_ns() // 1_000_000)
    if start % DAY_MS == 0:
        start += INTERVAL_MS
    return start + 180_000


def test_today_and_this_interval_from_the_records_and_waiting_callers_live(api: Api) -> None:
    now = _now_inside_an_interval()  # this interval began 180 s ago
    bootstrap.services().clock = lambda: now
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    numbers = f"/merchants/{merchant_id}/numbers"
    assert api.post(numbers, {"number": NUMBER, "queue_id": queue_id}, key=key).status == 201
    seat = api.seat(merchant_id, key, queue_ids=[queue_id])
    routing = bootstrap.services().routing
    # The interval before: one abandoned, then one answered after 2 s.
    routing.new_contact(NUMBER, "+4930111", "edge-1", "c-gone", now - 400_000)
    routing.contact_ended("c-gone", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, now - 380_000)
    username = seat["sip"]["username"]
    BindingItems().write_batch(
        [
            new_binding(
                f"sip:{username}@{SIP_DOMAIN}", f"sip:{username}@192.0.2.10:5062", int(time.time()) + 3600
            )
        ],
        [],
    )
    state = f"/merchants/{merchant_id}/seats/{seat['seat_id']}/state"
    assert api.put(state, {"state": "available"}, key=key).status == 200
    assert isinstance(routing.new_contact(NUMBER, "+4930222", "edge-1", "c-talk", now - 300_000), Connect)
    routing.offer_result("c-talk", seat["seat_id"], OfferOutcome.ANSWERED, now - 298_000)
    routing.contact_ended("c-talk", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, now - 250_000)
    assert api.put(state, {"state": "not_ready", "reason": "lunch"}, key=key).status == 200
    # This interval: one abandoned after 40 s; and one caller waiting for 30 s.
    routing.new_contact(NUMBER, "+4930333", "edge-1", "c-late", now - 100_000)
    routing.contact_ended("c-late", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, now - 60_000)
    routing.new_contact(NUMBER, "+4930444", "edge-1", "c-wait", now - 30_000)

    reply = api.get(f"/merchants/{merchant_id}/wallboard", key=key)

    assert reply.status == 200, reply.body
    (queue,) = reply.body["queues"]
    assert (queue["queue_id"], queue["service_level_seconds"]) == (queue_id, 20)
    assert (queue["waiting"], queue["oldest_wait_seconds"]) == (1, 30)
    assert queue["today"] == {
        "offered": 3,
        "answered": 1,
        "abandoned": 2,
        "timed_out": 0,
        "service_level": round(1 / 3, 4),
        "abandon_rate": round(2 / 3, 4),
    }
    assert queue["interval"] == {
        "offered": 1,
        "answered": 0,
        "abandoned": 1,
        "timed_out": 0,
        "service_level": 0.0,
        "abandon_rate": 1.0,
    }
    assert queue["agents"]["not_ready"] == 1 and sum(queue["agents"].values()) == 1
    (agent,) = reply.body["agents"]
    assert (agent["seat_id"], agent["state"], agent["reason"]) == (seat["seat_id"], "not_ready", "lunch")
    assert agent["seconds_in_state"] == 0  # the clock stands still in this test
    assert reply.body["interval_start"] == now - 180_000


def test_the_queues_service_level_seconds_is_set_per_queue_and_checked(api: Api) -> None:
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key, service_level_seconds=45)
    path = f"/merchants/{merchant_id}/queues/{queue_id}"
    assert api.get(path, key=key).body["service_level_seconds"] == 45
    refused = api.patch(path, {"service_level_seconds": 0}, key=key)
    assert (refused.status, refused.error["field"]) == (400, "service_level_seconds")
    assert api.patch(path, {"name": "Renamed"}, key=key).body["service_level_seconds"] == 45
    board = api.get(f"/merchants/{merchant_id}/wallboard", key=key).body
    assert [q["service_level_seconds"] for q in board["queues"]] == [45]


def test_a_supervisor_sees_its_queues_and_their_agents_only(api: Api) -> None:
    container = bootstrap.services()
    container.password_cost = ScryptCost(n=2**4)
    merchant_id, key = api.merchant()
    mine = api.queue(merchant_id, key, name="Mine")
    other = api.queue(merchant_id, key, name="Other")
    watched = api.seat(merchant_id, key, queue_ids=[mine])["seat_id"]
    api.seat(merchant_id, key, queue_ids=[other])
    body = {"user_id": "sam", "role": "supervisor", "queue_ids": [mine], "password": "correct horse battery"}
    assert api.post(f"/merchants/{merchant_id}/users", body, key=key).status == 201
    token = api.post(
        "/auth/sign-in",
        {"merchant_id": merchant_id, "user_id": "sam", "password": "correct horse battery"},
        key=None,
    ).body["token"]

    board = api.get(f"/merchants/{merchant_id}/wallboard", key=token).body

    assert [q["queue_id"] for q in board["queues"]] == [mine]
    assert [a["seat_id"] for a in board["agents"]] == [watched]
    assert len(api.get(f"/merchants/{merchant_id}/wallboard", key=key).body["queues"]) == 2
