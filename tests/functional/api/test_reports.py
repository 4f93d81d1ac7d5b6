"""Reports over HTTP, from contact records written by real call ends (the routing service)."""

from __future__ import annotations

import csv
import io
import time
from dataclasses import dataclass

import pytest

from contact_center import bootstrap
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.passwords import ScryptCost
from contact_center.services.routing.decisions import Connect, OfferOutcome
from tests.functional.api.conftest import SIP_DOMAIN, Api

NUMBER = "+14155550100"


@dataclass
class Calls:
    merchant_id: str
    key: str
    queue_id: str
    seat_id: str
    start: int


def _answered_and_abandoned(api: Api) -> Calls:
    """Given one answered call (waited 2 s, talked 30 s) and one abandoned in the queue."""
    merchant_id, key = api.merchant()
    queue_id = api.queue(merchant_id, key)
    assert (
        api.post(
            f"/merchants/{merchant_id}/numbers", {"number": NUMBER, "queue_id": queue_id}, key=key
        ).status
        == 201
    )
    seat = api.seat(merchant_id, key, queue_ids=[queue_id])
    routing = bootstrap.services().routing
    start = time.time_ns() // 1_000_000 - 600_000
    # The abandoned one first: nobody is available yet.
    routing.new_contact(NUMBER, "+4930111", "edge-1", "c-gone", start)
    routing.contact_ended("c-gone", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, start + 20_000)
    username = seat["sip"]["username"]
    aor = f"sip:{username}@{SIP_DOMAIN}"
    BindingItems().write_batch(
        [new_binding(aor, f"sip:{username}@192.0.2.10:5062", int(time.time()) + 3600)], []
    )
    assert (
        api.put(
            f"/merchants/{merchant_id}/seats/{seat['seat_id']}/state", {"state": "available"}, key=key
        ).status
        == 200
    )
    decision = routing.new_contact(NUMBER, "+4930222", "edge-1", "c-talk", start + 60_000)
    assert isinstance(decision, Connect)
    routing.offer_result("c-talk", seat["seat_id"], OfferOutcome.ANSWERED, start + 62_000)
    routing.contact_ended("c-talk", HangupSide.AGENT, HangupCause.NORMAL_CLEARING, start + 92_000)
    return Calls(merchant_id, key, queue_id, seat["seat_id"], start)


@pytest.fixture
def calls(api: Api) -> Calls:
    return _answered_and_abandoned(api)


def test_records_are_listed_filtered_and_paged(api: Api, calls: Calls) -> None:
    base = f"/merchants/{calls.merchant_id}/contacts?from={calls.start}"
    listed = api.get(base, key=calls.key).body
    assert [(r["contact_id"], r["outcome"]) for r in listed["items"]] == [
        ("c-gone", "abandoned"),
        ("c-talk", "answered"),
    ]
    assert listed["items"][1]["seat_id"] == calls.seat_id and listed["next_token"] is None
    only = api.get(base + "&outcome=answered", key=calls.key).body["items"]
    assert [r["contact_id"] for r in only] == ["c-talk"]
    by_agent = api.get(base + f"&seat_id={calls.seat_id}", key=calls.key).body["items"]
    assert [r["contact_id"] for r in by_agent] == ["c-talk"]
    first = api.get(base + "&limit=1", key=calls.key).body
    second = api.get(base + f"&limit=1&next_token={first['next_token']}", key=calls.key).body
    assert [r["contact_id"] for r in first["items"] + second["items"]] == ["c-gone", "c-talk"]


def test_records_export_as_csv(api: Api, calls: Calls) -> None:
    path = f"/merchants/{calls.merchant_id}/contacts?from={calls.start}"
    auth = {"Authorization": f"Bearer {calls.key}"}
    for response in (
        api.client.http.get(path + "&format=csv", headers=auth),
        api.client.http.get(path, headers={**auth, "Accept": "text/csv"}),
    ):
        assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.body.decode())))
        assert [(r["contact_id"], r["outcome"], r["caller"]) for r in rows] == [
            ("c-gone", "abandoned", "+4930111"),
            ("c-talk", "answered", "+4930222"),
        ]


def test_interval_figures_per_queue_and_agent(api: Api, calls: Calls) -> None:
    query = f"?from={calls.start}&interval=day&service_level_seconds=5"
    (queue,) = api.get(f"/merchants/{calls.merchant_id}/reports/queues{query}", key=calls.key).body["items"]
    assert queue["queue_id"] == calls.queue_id
    assert (queue["offered"], queue["answered"], queue["abandoned"]) == (2, 1, 1)
    assert (queue["asa_seconds"], queue["aht_seconds"], queue["service_level"]) == (2.0, 30.0, 0.5)
    (agent,) = api.get(f"/merchants/{calls.merchant_id}/reports/agents{query}", key=calls.key).body["items"]
    assert (agent["seat_id"], agent["answered"]) == (calls.seat_id, 1)


def test_a_supervisor_sees_its_queues_only(api: Api, calls: Calls) -> None:
    container = bootstrap.services()
    container.password_cost = ScryptCost(n=2**4)
    other = api.queue(calls.merchant_id, calls.key, name="Sales")
    body = {"user_id": "sam", "role": "supervisor", "queue_ids": [other], "password": "correct horse battery"}
    assert api.post(f"/merchants/{calls.merchant_id}/users", body, key=calls.key).status == 201
    signed_in = api.post(
        "/auth/sign-in",
        {"merchant_id": calls.merchant_id, "user_id": "sam", "password": "correct horse battery"},
        key=None,
    ).body["token"]
    base = f"/merchants/{calls.merchant_id}/contacts?from={calls.start}"
    assert api.get(base, key=signed_in).body["items"] == []  # nothing in its queue
    refused = api.get(base + f"&queue_id={calls.queue_id}", key=signed_in)
    assert (refused.status, refused.error["field"]) == (403, "queue_id")
    assert api.get(base, key=calls.key).body["items"] != []


@pytest.mark.parametrize(
    ("query", "field"),
    [("?from=5&to=1", "from"), ("?outcome=lost", "outcome"), ("?interval=week", "interval")],
)
def test_bad_report_parameters_name_the_field(api: Api, query: str, field: str) -> None:
    merchant_id, key = api.merchant()
    reply = api.get(f"/merchants/{merchant_id}/reports/queues{query}", key=key)
    assert (reply.status, reply.error["field"]) == (400, field)
