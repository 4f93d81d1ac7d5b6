"""The edge's Lambda invoker: signed requests from the event loop, kept-alive connections, errors.

Against the real local Lambda service for what it answers (a result, a function error, an unknown
function), and against a scripted HTTP server on loopback for what it does not (throttling, a
connection closed between requests, a chunked answer, TLS).
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import ssl
import struct
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from contact_center.aws.lambda_invoke import InvokeError, LambdaInvoker
from local_stack.functions import LocalFunction
from local_stack.lambda_endpoint import LambdaServer
from sip_edge.app.adapters.routing_client import RoutingClient, RoutingError
from tests.sip.conftest import write_self_signed

HANDLER = """
def handler(event, context):
    if event.get("fail"):
        raise RuntimeError("boom")
    return {"echo": event}
"""


@pytest.fixture(autouse=True)
def credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "local")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL_LAMBDA", raising=False)


@pytest.fixture
def lambda_service(tmp_path: Path) -> Iterator[str]:
    (tmp_path / "handler.py").write_text(HANDLER)
    server = LambdaServer(0, {"echo": LocalFunction("echo", tmp_path, [])}, "us-east-1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_invocations_answers_and_refusals_of_the_lambda_service(lambda_service: str) -> None:
    async def scenario() -> None:
        invoker = LambdaInvoker(endpoint_url=lambda_service)
        for index in range(5):
            answer = await invoker.invoke("echo", json.dumps({"n": index}).encode())
            assert json.loads(answer.payload) == {"echo": {"n": index}} and answer.function_error is None
        # One kept-alive connection served them all.
        assert len(invoker._idle) == 1
        failed = await invoker.invoke("echo", b'{"fail": true}')
        assert failed.function_error == "Unhandled" and json.loads(failed.payload)["errorMessage"] == "boom"
        with pytest.raises(InvokeError, match="404 ResourceNotFoundException") as missing:
            await invoker.invoke("nope", b"{}")
        assert not missing.value.retryable
        invoker.close()

    asyncio.run(scenario())


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[list[str], bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode().split("\r\n")
    length = next(int(line.split(":")[1]) for line in head if line.lower().startswith("content-length"))
    return head, await reader.readexactly(length)


def answer(status: str, body: bytes, *extra: str) -> bytes:
    headers = "".join(f"{line}\r\n" for line in extra)
    return f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}\r\n".encode() + body


async def serving(handler: Handler, context: ssl.SSLContext | None = None) -> tuple[asyncio.Server, int]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=context)
    return server, server.sockets[0].getsockname()[1]


def test_requests_are_signed_and_a_connection_closed_between_requests_is_replaced() -> None:
    seen: list[list[str]] = []
    connections = 0

    async def answer_once_then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        head, _ = await read_request(reader)
        seen.append(head)
        # No "Connection: close": the client learns it only when it sends the next request.
        writer.write(answer("200 OK", b'{"ok": 1}'))
        await writer.drain()
        writer.close()

    async def scenario() -> None:
        server, port = await serving(answer_once_then_close)
        invoker = LambdaInvoker(endpoint_url=f"http://127.0.0.1:{port}")
        for _ in range(3):
            assert (await invoker.invoke("routing", b"{}")).payload == b'{"ok": 1}'
        server.close()

    asyncio.run(scenario())
    assert connections == 3
    assert seen[0][0] == "POST /2015-03-31/functions/routing/invocations HTTP/1.1"
    authorization = next(line for line in seen[0] if line.lower().startswith("authorization:"))
    assert (
        "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/" in authorization and "/lambda/aws4_request" in authorization
    )
    assert any(line.lower().startswith("x-amz-date:") for line in seen[0])


def test_throttling_is_retried_by_the_routing_client_and_a_chunked_answer_is_read() -> None:
    answers = [
        answer("429 Too Many Requests", b'{"Type": "User"}', "x-amzn-ErrorType: TooManyRequestsException"),
        answer("500 Internal Server Error", b"{}"),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'8\r\n{"decisi\r\n17\r\non": "ack", "state": "c\r\n' + b'c\r\nonnected"}\r\n0\r\n\r\n',
    ]

    async def scripted(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while answers:
            await read_request(reader)
            writer.write(answers.pop(0))
            await writer.drain()
        writer.close()

    async def scenario() -> dict[str, object]:
        server, port = await serving(scripted)
        client = RoutingClient("edge-1", invoker=LambdaInvoker(endpoint_url=f"http://127.0.0.1:{port}"))
        try:
            return await client.call("contact_ended", contact_id="c1")
        finally:
            client.close()
            server.close()

    assert asyncio.run(scenario()) == {"decision": "ack", "state": "connected"}
    assert answers == []


def test_a_refusal_is_not_retried_and_names_the_error() -> None:
    requests = 0

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal requests
        while True:
            try:
                await read_request(reader)
            except asyncio.IncompleteReadError:
                return
            requests += 1
            writer.write(
                answer(
                    "403 Forbidden", b'{"message": "not allowed"}', "x-amzn-ErrorType: AccessDeniedException"
                )
            )
            await writer.drain()

    async def scenario() -> None:
        server, port = await serving(refuse)
        client = RoutingClient("edge-1", invoker=LambdaInvoker(endpoint_url=f"http://127.0.0.1:{port}"))
        with pytest.raises(RoutingError, match="403 AccessDeniedException") as refused:
            await client.call("new_contact", called="+1")
        assert refused.value.code == "invoke_failed" and not refused.value.retryable
        client.close()
        server.close()

    asyncio.run(scenario())
    assert requests == 1


def test_tls_endpoints_are_checked_against_the_sdks_ca_bundle(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = write_self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)

    async def ok(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(answer("200 OK", b'{"ok": true}'))
        await writer.drain()

    async def scenario() -> None:
        server, port = await serving(ok, context)
        url = f"https://localhost:{port}"
        with pytest.raises(InvokeError, match="CERTIFICATE_VERIFY_FAILED"):
            await LambdaInvoker(endpoint_url=url).invoke("routing", b"{}")
        monkeypatch.setenv("AWS_CA_BUNDLE", str(cert))
        assert (await LambdaInvoker(endpoint_url=url).invoke("routing", b"{}")).payload == b'{"ok": true}'
        server.close()

    asyncio.run(scenario())


def test_a_client_that_hangs_up_before_the_answer_is_one_log_line_not_a_traceback(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "handler.py").write_text(
        "import time\ndef handler(event, context):\n    time.sleep(0.3)\n    return {}\n"
    )
    server = LambdaServer(0, {"slow": LocalFunction("slow", tmp_path, [])}, "us-east-1")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    caplog.set_level(logging.INFO, logger="local_stack.lambda")
    try:
        client = socket.create_connection(server.server_address[:2])
        client.sendall(
            b"POST /2015-03-31/functions/slow/invocations HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"
        )
        # Closing with linger 0 resets the connection, as a client's read timeout does.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        deadline = time.monotonic() + 5
        while "after its client hung up" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        server.shutdown()
        server.server_close()
    assert "answered after its client hung up" in caplog.text
    assert "Traceback" not in capfd.readouterr().err
