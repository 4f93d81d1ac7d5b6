"""BatchWriter: nothing is dropped. DynamoDB's answers are scripted on the SDK's before-send hook
(where moto answers too); the connection test runs a small HTTP server on loopback."""

from __future__ import annotations

import http.server
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import botocore.session
import pytest

from contact_center.data.batch_writer import BatchWriteError, BatchWriter

TABLE = "switchboard-test"


def item(n: int) -> dict[str, Any]:
    return {"pk": {"S": f"AOR#sip:u{n}@sip.test"}, "sk": {"S": "BINDING#k"}, "expires_at": {"N": str(n)}}


class ScriptedDynamoDB:
    """Answers BatchWriteItem requests in turn from a script of (status, body); then 200 and {}."""

    def __init__(self, *answers: tuple[int, dict[str, Any]]) -> None:
        self.answers = list(answers)
        self.requests: list[list[dict[str, Any]]] = []

    def __call__(self, request: Any, **_: Any) -> SimpleNamespace:
        self.requests.append(json.loads(request.body)["RequestItems"][TABLE])
        status, body = self.answers.pop(0) if self.answers else (200, {})
        return SimpleNamespace(status_code=status, content=json.dumps(body).encode())


def writer_with(dynamodb: ScriptedDynamoDB, **options: Any) -> BatchWriter:
    session = botocore.session.get_session()
    session.register("before-send.dynamodb.BatchWriteItem", dynamodb)
    return BatchWriter(TABLE, region="us-east-1", session=session, backoff=0, **options)


def puts(request: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [w["PutRequest"]["Item"] for w in request if "PutRequest" in w]


def test_writes_go_25_per_request_deletes_included() -> None:
    dynamodb = ScriptedDynamoDB()
    deletes = [{"pk": {"S": "AOR#sip:gone@sip.test"}, "sk": {"S": "BINDING#k"}}]
    writer_with(dynamodb).write([item(n) for n in range(59)], deletes)
    assert [len(r) for r in dynamodb.requests] == [25, 25, 10]
    assert dynamodb.requests[0][0] == {"DeleteRequest": {"Key": deletes[0]}}
    assert [i for r in dynamodb.requests for i in puts(r)] == [item(n) for n in range(59)]


def test_unprocessed_items_are_sent_again_until_written() -> None:
    # Given DynamoDB leaves two of three writes unprocessed, then one of those two
    unprocessed = [{"PutRequest": {"Item": item(1)}}, {"PutRequest": {"Item": item(2)}}]
    dynamodb = ScriptedDynamoDB(
        (200, {"UnprocessedItems": {TABLE: unprocessed}}),
        (200, {"UnprocessedItems": {TABLE: unprocessed[1:]}}),
    )
    # When the batch is written
    writer_with(dynamodb).write([item(0), item(1), item(2)])
    # Then each unprocessed write is sent again, and only those
    assert [puts(r) for r in dynamodb.requests] == [
        [item(0), item(1), item(2)],
        [item(1), item(2)],
        [item(2)],
    ]


@pytest.mark.parametrize(
    "answer",
    [
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException"}),
        (400, {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException"}),
        (500, {"__type": "com.amazonaws.dynamodb.v20120810#InternalServerError"}),
        (503, {}),
    ],
    ids=["throughput", "throttling", "internal", "unavailable"],
)
def test_throttling_and_server_errors_are_retried(answer: tuple[int, dict[str, Any]]) -> None:
    dynamodb = ScriptedDynamoDB(answer, answer)
    writer_with(dynamodb).write([item(0)])
    assert [puts(r) for r in dynamodb.requests] == [[item(0)]] * 3


def test_writes_never_done_raise() -> None:
    # Given writes DynamoDB never processes
    stuck = (200, {"UnprocessedItems": {TABLE: [{"PutRequest": {"Item": item(0)}}]}})
    dynamodb = ScriptedDynamoDB(*[stuck] * 10)
    # Then the writer gives up after its attempts, saying so: the caller keeps the changes
    with pytest.raises(
        BatchWriteError, match=r"1 writes to switchboard-test not done after 4 attempts \(unprocessed items\)"
    ):
        writer_with(dynamodb, attempts=4).write([item(0), item(1)])
    assert len(dynamodb.requests) == 4


def test_a_rejected_request_raises_at_once() -> None:
    dynamodb = ScriptedDynamoDB(
        (400, {"__type": "com.amazon.coral.validate#ValidationException", "message": "bad item"})
    )
    with pytest.raises(BatchWriteError, match="ValidationException"):
        writer_with(dynamodb).write([item(0)])
    assert len(dynamodb.requests) == 1


class KeepAliveThenClose:
    """An HTTP/1.1 server on loopback that answers one request per connection with keep-alive, then
    closes the connection, as a server does with a connection left idle too long."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self.bodies: list[bytes] = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                head, body = data.split(b"\r\n\r\n", 1)
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
                while len(body) < length:
                    body += conn.recv(65536)
                self.bodies.append(body)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}"
                )

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def server() -> Iterator[KeepAliveThenClose]:
    server = KeepAliveThenClose()
    yield server
    server.close()


def test_a_connection_closed_by_the_server_is_replaced(server: KeepAliveThenClose) -> None:
    writer = BatchWriter(TABLE, region="us-east-1", endpoint_url=f"http://127.0.0.1:{server.port}", backoff=0)
    writer.write([item(0)])
    # The kept-alive connection is closed by now: the next write fails on it, then goes on a new one.
    writer.write([item(1)])
    assert server.connections == 2
    assert [puts(json.loads(b)["RequestItems"][TABLE]) for b in server.bodies] == [[item(0)], [item(1)]]


class _Answer200(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a certificate")
def test_https_checks_the_certificate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an HTTPS endpoint on loopback with a self-signed certificate for localhost
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer200)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}"
    try:
        # Then a writer that does not trust it refuses to send
        with pytest.raises(BatchWriteError, match="CERTIFICATE_VERIFY_FAILED"):
            BatchWriter(TABLE, region="us-east-1", endpoint_url=url, attempts=1).write([item(0)])
        # And one given the CA bundle the SDK's way (AWS_CA_BUNDLE) writes
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        BatchWriter(TABLE, region="us-east-1", endpoint_url=url, attempts=1).write([item(0)])
    finally:
        server.shutdown()
        server.server_close()
