"""The DynamoDB request path: what PynamoDB and the repositories see is what botocore gave them.

Answers are scripted on the SDK's before-send hook (where moto answers too), or served by a small
HTTP server on loopback for what only a real connection shows (checksums, dropped connections)."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import zlib
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import botocore.session
import pytest
from botocore.exceptions import ChecksumError, ClientError, HTTPClientError
from pynamodb.exceptions import PutError, TransactWriteError

from contact_center.aws.dynamodb import DynamoDBClient
from contact_center.data import table
from contact_center.data.models import MerchantItem
from contact_center.data.transactions import transaction

TARGET = "DynamoDB_20120810."


class Scripted:
    """Answers requests in turn from a script of (status, body); then 200 and {}."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.operations: list[str] = []

    def __call__(self, request: Any, **_: Any) -> SimpleNamespace:
        self.operations.append(request.headers["X-Amz-Target"].removeprefix(TARGET))
        status, body = self.answers.pop(0) if self.answers else (200, {})
        return SimpleNamespace(status_code=status, content=json.dumps(body).encode())


def client_with(scripted: Scripted, **options: Any) -> DynamoDBClient:
    session = botocore.session.get_session()
    session.register("before-send.dynamodb", scripted)
    return DynamoDBClient(region="us-east-1", session=session, backoff=0, **options)


def test_an_answer_is_the_json_botocore_would_have_returned() -> None:
    item = {"pk": {"S": "MERCHANT#m"}, "sk": {"S": "MERCHANT"}, "seats": {"N": "3"}, "on": {"BOOL": True}}
    scripted = Scripted((200, {"Item": item}))
    answer = client_with(scripted)._make_api_call("GetItem", {"TableName": "t", "Key": {}})
    assert answer == {"Item": item}
    assert scripted.operations == ["GetItem"]


def test_a_final_error_is_a_client_error_with_botocores_shape() -> None:
    # Given a cancelled transaction, as DynamoDB answers it
    reasons = [
        {"Code": "None"},
        {"Code": "ConditionalCheckFailed", "Message": "The conditional request failed"},
    ]
    scripted = Scripted(
        (
            400,
            {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled",
                "CancellationReasons": reasons,
            },
        )
    )
    # Then the error carries the code without its namespace, the message and the reasons, once
    with pytest.raises(ClientError) as raised:
        client_with(scripted)._make_api_call("TransactWriteItems", {"TransactItems": []})
    response = raised.value.response
    assert response["Error"] == {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"}
    assert response["CancellationReasons"] == reasons
    assert raised.value.operation_name == "TransactWriteItems"
    assert scripted.operations == ["TransactWriteItems"]


@pytest.mark.parametrize(
    "answer",
    [
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#TransactionInProgressException"}),
        (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}),
        (503, {}),
    ],
    ids=["throughput", "throttling", "transaction-in-progress", "internal", "unavailable"],
)
def test_throttling_and_server_errors_are_retried(answer: tuple[int, dict[str, Any]]) -> None:
    scripted = Scripted(answer, answer, (200, {"Count": 0, "Items": []}))
    assert client_with(scripted)._make_api_call("Query", {})["Count"] == 0
    assert scripted.operations == ["Query"] * 3


def test_retries_end_with_the_last_error() -> None:
    throttled = (
        400,
        {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "slow down"},
    )
    scripted = Scripted(*[throttled] * 5)
    with pytest.raises(ClientError) as raised:
        client_with(scripted, attempts=3)._make_api_call("PutItem", {})
    assert raised.value.response["Error"] == {"Code": "ThrottlingException", "Message": "slow down"}
    assert len(scripted.operations) == 3


def merchant(name: str) -> MerchantItem:
    return MerchantItem(
        pk="MERCHANT#m",
        sk="MERCHANT",
        merchant_id="m",
        name=name,
        contact_email="m@x.test",
        seat_licenses=1,
        created_at=1,
    )


def test_pynamodb_sees_its_own_errors(moto_table: str) -> None:
    # Given a merchant stored through the models (moto answers the client's requests)
    merchant("M").save()
    duplicate = merchant("M2")
    # Then a failed condition is PynamoDB's PutError with the DynamoDB code
    with pytest.raises(PutError) as put:
        duplicate.save(condition=MerchantItem.pk.does_not_exist())
    assert put.value.cause_response_code == "ConditionalCheckFailedException"
    # And a cancelled transaction carries its reasons, item by item
    with pytest.raises(TransactWriteError) as cancelled, transaction() as tx:
        tx.save(duplicate, condition=MerchantItem.pk.does_not_exist())
    assert cancelled.value.cause_response_code == "TransactionCanceledException"
    assert [r and r.code for r in cancelled.value.cancellation_reasons] == ["ConditionalCheckFailed"]
    assert MerchantItem.get("MERCHANT#m", "MERCHANT").name == "M"
    assert "Connection<" in repr(table.BINDING.connection())


class _Server(http.server.BaseHTTPRequestHandler):
    """Answers each request from the class's script: "bad-crc", "drop" (close without answering) or "ok"."""

    protocol_version = "HTTP/1.1"
    script: list[str] = []
    seen: list[str] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(self.headers["X-Amz-Target"])
        step = self.script.pop(0) if self.script else "ok"
        if step == "drop":
            self.close_connection = True
            return
        body = b'{"Count":0,"Items":[]}'
        crc = zlib.crc32(body) + (1 if step == "bad-crc" else 0)
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amz-crc32", str(crc))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Server.seen = []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_a_corrupted_answer_or_a_dropped_connection_is_sent_again(server: str) -> None:
    _Server.script = ["bad-crc", "drop", "ok"]
    client = DynamoDBClient(region="us-east-1", endpoint_url=server, backoff=0)
    assert client._make_api_call("Query", {"TableName": "t"}) == {"Count": 0, "Items": []}
    assert _Server.seen == [TARGET + "Query"] * 3


def test_failures_on_every_attempt_raise_the_sdks_exception(server: str) -> None:
    _Server.script = ["bad-crc"] * 3
    with pytest.raises(ChecksumError):
        DynamoDBClient(region="us-east-1", endpoint_url=server, backoff=0, attempts=3)._make_api_call(
            "Query", {}
        )
    _Server.script = ["drop"] * 2
    with pytest.raises(HTTPClientError):
        DynamoDBClient(region="us-east-1", endpoint_url=server, backoff=0, attempts=2)._make_api_call(
            "Query", {}
        )


def test_dead_kept_connections_cost_one_retry_however_many_were_kept(server: str) -> None:
    # Given five kept-alive connections that all died (the server restarted, a middlebox dropped them),
    client = DynamoDBClient(region="us-east-1", endpoint_url=server, backoff=0, attempts=2)
    kept = [client._connect() for _ in range(5)]
    for connection in kept:
        head = f"POST / HTTP/1.1\r\nHost: x\r\nX-Amz-Target: {TARGET}Query\r\nContent-Length: 2\r\n\r\n"
        assert connection.exchange(head.encode() + b"{}")[0] == 200
        assert connection.sock is not None
        connection.sock.shutdown(socket.SHUT_RDWR)
    client._idle.extend(kept)
    # When a request meets the first dead one, Then the retry opens a fresh connection.
    assert client._make_api_call("Query", {"TableName": "t"}) == {"Count": 0, "Items": []}


def test_stream_reads_go_to_dynamodb_streams_signed_as_dynamodb() -> None:
    # DynamoDB Streams' SigV4 scope is "dynamodb": a request signed for "dynamodbstreams" is refused.
    seen: list[Any] = []

    def answer(request: Any, **_: Any) -> SimpleNamespace:
        seen.append(request)
        return SimpleNamespace(status_code=200, content=b'{"Records":[],"NextShardIterator":"i2"}')

    session = botocore.session.get_session()
    session.register("before-send.dynamodbstreams", answer)
    streams = DynamoDBClient(region="eu-west-1", service="dynamodbstreams", session=session)
    assert streams.call("GetRecords", ShardIterator="i1") == {"Records": [], "NextShardIterator": "i2"}
    (request,) = seen
    assert request.headers["X-Amz-Target"] == "DynamoDBStreams_20120810.GetRecords"
    assert "/eu-west-1/dynamodb/aws4_request" in request.headers["Authorization"]
    assert request.url.startswith("https://streams.dynamodb.eu-west-1.amazonaws.com")
