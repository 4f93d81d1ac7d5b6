"""Webhooks end to end: registered over the API, fed by the stream consumer, POSTed to a receiver on
127.0.0.1 with a valid signature; a failing receiver's deliveries are retried, then listed as failed
and replayed over the API."""

from __future__ import annotations

import hashlib
import hmac
import importlib.util
import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client

from contact_center import bootstrap
from contact_center.data.models import RecordItem
from contact_center.services.webhooks import GIVE_UP_AFTER_SECONDS
from tests.functional.api.conftest import ROOT, Api, api_settings, load_api, use_api_gateway
from tests.support.ports import free_port

T0 = 1_800_000_000_000


@dataclass
class Receiver:
    """A merchant's server: records every POST, answers ``status``."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            state.received.append(({k: v for k, v in self.headers.items()}, body))
            self.send_response(state.status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state, f"http://127.0.0.1:{port}/hooks"
    server.shutdown()
    server.server_close()


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def api(shared_botocore_session: None, moto_table: str, clock: Clock) -> Iterator[Api]:
    bootstrap.reset(replace(api_settings(), webhooks_allow_private=True), clock)
    module = load_api()
    with Client(module.app) as client:
        use_api_gateway(client, module)
        yield Api(client)
    bootstrap.reset()


def _handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhooks_handler", ROOT / "functions/webhooks/handler.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _record_inserted(merchant_id: str, contact_id: str, ended_at: int) -> dict[str, Any]:
    """The stream record of a contact record's INSERT, as DynamoDB Streams hands it over."""
    item = RecordItem(
        pk=f"CONTACT#{contact_id}",
        sk="RECORD",
        contact_id=contact_id,
        merchant_id=merchant_id,
        queue_id="q1",
        seat_id="s1",
        caller="+14155550123",
        called="+14155550100",
        created_at=ended_at - 90_000,
        enqueued_at=ended_at - 90_000,
        answered_at=ended_at - 60_000,
        ended_at=ended_at,
        hangup_side="customer",
        hangup_cause="normal_clearing",
    )
    image = item.serialize()
    return {"eventName": "INSERT", "dynamodb": {"NewImage": image, "SequenceNumber": "1"}}


def _register(api: Api, url: str) -> tuple[str, str, str]:
    merchant_id, key = api.merchant()
    reply = api.post(f"/merchants/{merchant_id}/webhooks", {"url": url, "events": ["contact.ended"]}, key=key)
    assert reply.status == 201, reply.body
    return merchant_id, key, str(reply.body["secret"])


def _valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    fields = dict(part.split("=", 1) for part in headers["Switchboard-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])


def test_contact_ended_arrives_signed(api: Api, receiver: tuple[Receiver, str], clock: Clock) -> None:
    state, url = receiver
    merchant_id, _, secret = _register(api, url)

    result = _handler().handler({"Records": [_record_inserted(merchant_id, "c1", T0 - 1000)]}, None)

    assert result == {"batchItemFailures": []}
    ((headers, body),) = state.received
    assert _valid(secret, headers, body)
    assert not _valid("whsec_someone_else", headers, body)
    event = json.loads(body)
    assert (event["type"], event["id"], event["merchant_id"]) == ("contact.ended", "c1.ended", merchant_id)
    assert event["data"]["outcome"] == "answered" and event["data"]["caller"] == "+14155550123"
    assert headers["Switchboard-Event-Id"] == "c1.ended"


def test_another_merchants_events_do_not_reach_a_webhook(api: Api, receiver: tuple[Receiver, str]) -> None:
    state, url = receiver
    _register(api, url)
    other, _ = api.merchant(name="Other")
    _handler().handler({"Records": [_record_inserted(other, "c2", T0)]}, None)
    assert state.received == []


def test_a_failing_receiver_is_retried_for_a_day_then_listed_and_replayed(
    api: Api, receiver: tuple[Receiver, str], clock: Clock
) -> None:
    state, url = receiver
    merchant_id, key, secret = _register(api, url)
    state.status = 500
    handler = _handler()

    # When the receiver answers 500, the event is kept and retried with growing pauses
    handler.handler({"Records": [_record_inserted(merchant_id, "c3", T0)]}, None)
    attempts_at = [clock.now]
    while clock.now < T0 + (GIVE_UP_AFTER_SECONDS + 3600) * 1000:
        clock.now += 300_000  # the retry timer (every minute in AWS; every fifth here, to be quick)
        before = len(state.received)
        handler.handler({"action": "retry"}, None)
        if len(state.received) > before:
            attempts_at.append(clock.now)
    gaps = [b - a for a, b in itertools.pairwise(attempts_at)]
    assert len(attempts_at) > 5 and gaps == sorted(gaps)  # backoff: never sooner than the last pause
    assert max(gaps) <= 3_600_000 + 300_000 and attempts_at[-1] <= T0 + GIVE_UP_AFTER_SECONDS * 1000
    assert all(_valid(secret, headers, body) for headers, body in state.received)

    # Then it is listed as failed, with what went wrong
    failed = api.get(f"/merchants/{merchant_id}/webhooks/failures", key=key).body["items"]
    assert [(f["status"], f["last_error"], f["event"]["id"]) for f in failed] == [
        ("failed", "HTTP 500", "c3.ended")
    ]
    # No more tries once failed.
    count = len(state.received)
    clock.now += 3_600_000
    handler.handler({"action": "retry"}, None)
    assert len(state.received) == count

    # A replay while the receiver still fails: one more try, failed again, still listed
    path = f"/merchants/{merchant_id}/webhooks/failures/{failed[0]['delivery_id']}/replay"
    again = api.post(path, key=key)
    assert (again.status, again.body["status"], len(state.received)) == (200, "failed", count + 1)
    assert len(api.get(f"/merchants/{merchant_id}/webhooks/failures", key=key).body["items"]) == 1

    # When the receiver is fixed, a replay delivers it and it is no longer listed
    state.status = 204
    replay = api.post(
        f"/merchants/{merchant_id}/webhooks/failures/{failed[0]['delivery_id']}/replay", key=key
    )
    assert (replay.status, replay.body["status"]) == (200, "delivered")
    assert json.loads(state.received[-1][1])["id"] == "c3.ended"
    assert api.get(f"/merchants/{merchant_id}/webhooks/failures", key=key).body["items"] == []


def test_webhook_urls_are_validated_and_listed_without_their_secret(api: Api) -> None:
    merchant_id, key = api.merchant()
    base = f"/merchants/{merchant_id}/webhooks"
    for bad in ("ftp://x.test/", "https://user:pw@x.test/", "not a url"):
        reply = api.post(base, {"url": bad}, key=key)
        assert (reply.status, reply.error["field"]) == (400, "url")
    assert (
        api.post(base, {"url": "https://x.test/", "events": ["call.exploded"]}, key=key).error["field"]
        == "events"
    )
    created = api.post(base, {"url": "https://hooks.example.test/in"}, key=key).body
    assert created["secret"].startswith("whsec_") and len(created["events"]) == 5
    listed = api.get(base, key=key).body["items"]
    assert [w["webhook_id"] for w in listed] == [created["webhook_id"]] and "secret" not in listed[0]
    assert api.delete(f"{base}/{created['webhook_id']}", key=key).status == 204
    assert api.get(base, key=key).body["items"] == []
