"""The agent desk over HTTP and its event socket (moto): desk settings, wrap-ups, connections, fan-out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client
from moto import mock_aws

from contact_center import bootstrap
from contact_center.data import keys
from contact_center.data.desk import SocketConnectionRepository
from contact_center.data.models import RecordItem
from contact_center.data.reports import row_of
from contact_center.data.repositories.catalog import QueueRepository
from contact_center.services.errors import AuthenticationError
from contact_center.services.event_socket import EventSocketService
from contact_center.services.passwords import ScryptCost
from contact_center.services.webhooks import Event, EventType
from tests.functional.api.conftest import Api, api_settings, load_api
from tests.support.dynamodb import fresh_table

PASSWORD = "correct horse battery"
NOW = 1_800_000_000_000


@dataclass
class Desk:
    api: Api
    merchant_id: str
    key: str
    queue_id: str
    seats: list[str]
    agent_token: str


class Poster:
    def __init__(self, gone: set[str] | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.gone = gone or set()

    def post(self, connection_id: str, data: bytes) -> bool:
        if connection_id in self.gone:
            return False
        self.sent.append((connection_id, json.loads(data)))
        return True


@pytest.fixture
def desk() -> Iterator[Desk]:
    with mock_aws():
        fresh_table(None)
        container = bootstrap.reset(api_settings())
        assert container is not None
        container.password_cost = ScryptCost(n=2**4)
        with Client(load_api().app) as client:
            api = Api(client)
            merchant_id, key = api.merchant()
            queue = api.queue(merchant_id, key)
            seats = [api.seat(merchant_id, key, queue_ids=[queue])["seat_id"] for _ in range(2)]
            agent = {"user_id": "ana", "role": "agent", "seat_id": seats[0], "password": PASSWORD}
            assert api.post(f"/merchants/{merchant_id}/users", agent, key=key).status == 201
            signed = api.post(
                "/auth/sign-in",
                {"merchant_id": merchant_id, "user_id": "ana", "password": PASSWORD},
                key=None,
            )
            yield Desk(api, merchant_id, key, queue, seats, signed.body["token"])
        bootstrap.reset()


def _record(desk: Desk, contact_id: str, seat_id: str) -> None:
    RecordItem(
        pk=keys.contact_pk(contact_id),
        sk=keys.RECORD_SK,
        contact_id=contact_id,
        merchant_id=desk.merchant_id,
        queue_id=desk.queue_id,
        seat_id=seat_id,
        caller="+4930555",
        created_at=NOW,
        ended_at=NOW + 60_000,
    ).save()


def test_the_crm_link_template_must_be_https_and_the_error_names_the_field(desk: Desk) -> None:
    path = f"/merchants/{desk.merchant_id}/desk-settings"
    for bad in ("http://crm.example/c?phone={caller}", "javascript:alert(1)", "https://"):
        reply = desk.api.put(path, {"crm_link_template": bad}, key=desk.key)
        assert (reply.status, reply.error["field"]) == (400, "crm_link_template"), reply.body
    good = {"crm_link_template": "https://crm.example/c?phone={caller}", "wrap_up_codes": ["Sale", "Refund"]}
    assert desk.api.put(path, good, key=desk.key).body == good
    # The agent reads them on its own seat's desk only, never through the merchant's settings.
    own = desk.api.get(f"/merchants/{desk.merchant_id}/seats/{desk.seats[0]}/desk", key=desk.agent_token)
    assert (own.status, own.body["crm_link_template"], own.body["wrap_up_codes"]) == (
        200,
        good["crm_link_template"],
        ["Sale", "Refund"],
    )
    assert desk.api.get(path, key=desk.agent_token).status == 403
    assert (
        desk.api.get(f"/merchants/{desk.merchant_id}/seats/{desk.seats[1]}/desk", key=desk.agent_token).status
        == 403
    )


def test_an_agent_wraps_up_its_own_contacts_only_with_the_merchants_codes(desk: Desk) -> None:
    desk.api.put(
        f"/merchants/{desk.merchant_id}/desk-settings", {"wrap_up_codes": ["Sale", "Refund"]}, key=desk.key
    )
    _record(desk, "con_mine", desk.seats[0])
    _record(desk, "con_theirs", desk.seats[1])
    wrap = f"/merchants/{desk.merchant_id}/contacts/{{}}/wrap-up"

    unknown = desk.api.put(wrap.format("con_mine"), {"code": "Lunch"}, key=desk.agent_token)
    assert (unknown.status, unknown.error["field"]) == (400, "code")
    theirs = desk.api.put(wrap.format("con_theirs"), {"code": "Sale"}, key=desk.agent_token)
    assert (theirs.status, theirs.error["field"]) == (403, "contact_id")
    assert desk.api.put(wrap.format("con_nowhere"), {"code": "Sale"}, key=desk.agent_token).status == 404
    done = desk.api.put(wrap.format("con_mine"), {"code": "Refund"}, key=desk.agent_token)
    assert done.body == {"contact_id": "con_mine", "wrap_up_code": "Refund"}

    # The record as reports read it (the listing's view of it is proven end to end in tests/browser).
    rows = {c: row_of(RecordItem.get(keys.contact_pk(c), keys.RECORD_SK)) for c in ("con_mine", "con_theirs")}
    assert {c: row.wrap_up_code for c, row in rows.items()} == {"con_mine": "Refund", "con_theirs": None}


def _socket(poster: Poster) -> EventSocketService:
    container = bootstrap.services()
    return EventSocketService(
        container.auth, SocketConnectionRepository(), poster, QueueRepository(), lambda: NOW
    )


def test_a_socket_hears_its_seats_offer_with_queue_name_and_wait_and_forgets_gone_connections(
    desk: Desk,
) -> None:
    poster = Poster(gone={"gone"})
    socket = _socket(poster)
    accepted = socket.connect("agent", desk.agent_token)
    assert accepted.topics == (f"{desk.merchant_id}#SEAT#{desk.seats[0]}",)
    socket.connect("admin", desk.key)
    socket.connect("gone", desk.agent_token)
    with pytest.raises(AuthenticationError):
        socket.connect("nobody", "sbt_forged.token")

    offered = Event(
        event_id="con_1.offered.2",
        type=EventType.CONTACT_OFFERED,
        merchant_id=desk.merchant_id,
        occurred_at=NOW,
        data={
            "contact_id": "con_1",
            "queue_id": desk.queue_id,
            "seat_id": desk.seats[0],
            "caller": "+4930555",
            "enqueued_at": NOW - 42_000,
        },
    )
    other_seat = Event(
        event_id="seat.3",
        type=EventType.AGENT_STATE_CHANGED,
        merchant_id=desk.merchant_id,
        occurred_at=NOW,
        data={"seat_id": desk.seats[1], "to_state": "available"},
    )
    (sent_offer, sent_other) = socket.fan_out([offered, other_seat])

    assert (sent_offer.delivered, sent_offer.gone, sent_other.delivered) == (2, 1, 1)
    to_agent = [message for connection, message in poster.sent if connection == "agent"]
    assert to_agent == [
        {
            "id": "con_1.offered.2",
            "type": "contact.offered",
            "occurred_at": NOW,
            "data": {**offered.data, "queue_name": "Support", "waited_ms": 42_000},
        }
    ]
    # The gone connection was forgotten: the next event is not even tried on it.
    topics = (f"{desk.merchant_id}#SEAT#{desk.seats[0]}",)
    assert SocketConnectionRepository().listening(topics, NOW) == {"agent"}
    socket.disconnect("agent")
    assert SocketConnectionRepository().listening(topics, NOW) == set()


def test_a_supervisor_hears_its_queues_contacts_and_the_state_of_the_seats_serving_them(desk: Desk) -> None:
    other_queue = desk.api.queue(desk.merchant_id, desk.key)
    elsewhere = desk.api.seat(desk.merchant_id, desk.key, queue_ids=[other_queue])["seat_id"]
    supervisor = {"user_id": "sam", "role": "supervisor", "queue_ids": [desk.queue_id], "password": PASSWORD}
    assert desk.api.post(f"/merchants/{desk.merchant_id}/users", supervisor, key=desk.key).status == 201
    signed = desk.api.post(
        "/auth/sign-in", {"merchant_id": desk.merchant_id, "user_id": "sam", "password": PASSWORD}, key=None
    )
    poster = Poster()
    socket = _socket(poster)
    socket.connect("supervisor", signed.body["token"])

    def seat_event(seat_id: str, queue_ids: list[str]) -> Event:
        data = {"seat_id": seat_id, "to_state": "available", "queue_ids": queue_ids}
        return Event(f"{seat_id}.4", EventType.AGENT_STATE_CHANGED, desk.merchant_id, NOW, data)

    # As the stream reads them (``webhook_events``): a seat's event names the queues it serves.
    served, not_served = seat_event(desk.seats[1], [desk.queue_id]), seat_event(elsewhere, [other_queue])
    socket.fan_out([served, not_served])
    heard = [message["id"] for connection, message in poster.sent if connection == "supervisor"]
    assert heard == [served.event_id]


class CountingConnections(SocketConnectionRepository):
    def __init__(self) -> None:
        self.read: list[tuple[str, ...]] = []

    def listening(self, topics: tuple[str, ...], now_ms: int) -> set[str]:
        self.read.append(topics)
        return super().listening(topics, now_ms)


def test_a_batch_reads_each_topic_s_listeners_once(desk: Desk) -> None:
    # Given an agent listening to its seat, and a batch as one call's transaction writes it: the
    # seat's change and the contact's, each naming the seat, the queue and the merchant
    connections = CountingConnections()
    poster = Poster(gone=set())
    socket = EventSocketService(
        bootstrap.services().auth, connections, poster, QueueRepository(), lambda: NOW
    )
    socket.connect("agent", desk.agent_token)
    seat, queue = desk.seats[0], desk.queue_id
    reserved = Event("s.2", EventType.AGENT_STATE_CHANGED, desk.merchant_id, NOW, {"seat_id": seat})
    offered = Event(
        "c.offered.2",
        EventType.CONTACT_OFFERED,
        desk.merchant_id,
        NOW,
        {"contact_id": "c", "queue_id": queue, "seat_id": seat, "enqueued_at": NOW},
    )

    # When the batch is fanned out
    sent = socket.fan_out([reserved, offered])

    # Then each of its three topics was read once, and the agent heard both events
    assert sorted(connections.read) == sorted(
        [
            (f"{desk.merchant_id}#MERCHANT",),
            (f"{desk.merchant_id}#SEAT#{seat}",),
            (f"{desk.merchant_id}#QUEUE#{queue}",),
        ]
    )
    assert [s.delivered for s in sent] == [1, 1]
