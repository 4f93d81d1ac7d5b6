"""The event socket on one machine, speaking API Gateway's WebSocket protocol.

- Pages connect to ``ws://127.0.0.1:PORT/?token=...``. As API Gateway does, the server invokes the
  ``events_socket`` function with a ``$connect`` event (through the local Lambda service's Invoke
  API) and completes the handshake only if it answers 200; any other status is the handshake's
  answer. A closed socket invokes ``$disconnect``.
- The Management API, on its own port (``http://127.0.0.1:MPORT``): ``POST /@connections/{id}``
  sends the body to that connection, ``DELETE`` closes it, an unknown id answers 410
  ``GoneException``; boto3's ``apigatewaymanagementapi`` client with this endpoint URL
  (``EVENTS_SOCKET_ENDPOINT``) works unchanged.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import logging
import os
import secrets
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import boto3
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from local_stack.logs import configure

log = logging.getLogger("local_stack.socket")

FUNCTION = "events_socket"
CONNECTIONS_PREFIX = "/@connections/"
MAX_MESSAGE = 128 * 1024  # API Gateway's frame limit for post_to_connection


class Invoker:
    """Invokes the socket function as API Gateway would (synchronously, one event)."""

    def __init__(self, function: str, stage: str, domain: str) -> None:
        self._client: Any = boto3.client("lambda")
        self._function = function
        self._stage = stage
        self._domain = domain

    def event(self, route: str, connection_id: str, query: dict[str, str] | None = None) -> dict[str, Any]:
        kind = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route, "MESSAGE")
        return {
            "requestContext": {
                "routeKey": route,
                "eventType": kind,
                "connectionId": connection_id,
                "domainName": self._domain,
                "stage": self._stage,
                "apiId": "local",
            },
            "queryStringParameters": query or None,
            "isBase64Encoded": False,
        }

    def __call__(self, route: str, connection_id: str, query: dict[str, str] | None = None) -> int:
        response = self._client.invoke(
            FunctionName=self._function, Payload=json.dumps(self.event(route, connection_id, query)).encode()
        )
        body = json.loads(response["Payload"].read() or b"{}")
        if response.get("FunctionError"):
            log.error("%s failed on %s: %s", self._function, route, body.get("errorMessage"))
            return 500
        return int(body.get("statusCode", 500))


class SocketServer:
    def __init__(self, invoke: Invoker) -> None:
        self.invoke = invoke
        self.connections: dict[str, ServerConnection] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    async def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
        # API Gateway's ids look like this: 12 random bytes, base64 ("...=" at the end).
        connection_id = base64.b64encode(secrets.token_bytes(12)).decode()
        status = await asyncio.to_thread(self.invoke, "$connect", connection_id, query)
        if status != HTTPStatus.OK:
            phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Refused"
            return Response(status, phrase, Headers([("Content-Length", "0")]))
        connection.connection_id = connection_id  # type: ignore[attr-defined]
        return None

    async def handle(self, connection: ServerConnection) -> None:
        connection_id: str = connection.connection_id  # type: ignore[attr-defined]
        self.connections[connection_id] = connection
        try:
            async for _ in connection:
                pass  # pages only listen
        finally:
            self.connections.pop(connection_id, None)
            await asyncio.to_thread(self.invoke, "$disconnect", connection_id)

    def post(self, connection_id: str, data: bytes) -> bool:
        """From the Management API's thread: send to the connection; False if it is gone."""
        connection = self.connections.get(connection_id)
        if connection is None or self.loop is None:
            return False
        text = data.decode("utf-8", "replace")
        future = asyncio.run_coroutine_threadsafe(connection.send(text), self.loop)
        try:
            future.result(timeout=5)
        except Exception:
            return False
        return True

    def close(self, connection_id: str) -> bool:
        connection = self.connections.get(connection_id)
        if connection is None or self.loop is None:
            return False
        asyncio.run_coroutine_threadsafe(connection.close(), self.loop)
        return True


def management_handler(server: SocketServer) -> type[BaseHTTPRequestHandler]:
    class Management(BaseHTTPRequestHandler):
        def _connection_id(self) -> str | None:
            path = urlsplit(self.path).path
            # The endpoint may carry a stage path, as API Gateway's does: /{stage}/@connections/{id}.
            at = path.find(CONNECTIONS_PREFIX)
            return unquote(path[at + len(CONNECTIONS_PREFIX) :]) if at >= 0 else None

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            data = self.rfile.read(length)
            connection_id = self._connection_id()
            if connection_id is None:
                self._answer(HTTPStatus.NOT_FOUND, "NotFoundException", "no such route")
            elif length > MAX_MESSAGE:
                self._answer(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "PayloadTooLargeException", "over 128 KB")
            elif server.post(connection_id, data):
                self._answer(HTTPStatus.OK)
            else:
                self._answer(HTTPStatus.GONE, "GoneException", f"connection {connection_id} is gone")

        def do_DELETE(self) -> None:
            connection_id = self._connection_id()
            if connection_id is not None and server.close(connection_id):
                self._answer(HTTPStatus.NO_CONTENT)
            else:
                self._answer(HTTPStatus.GONE, "GoneException", "the connection is gone")

        def _answer(self, status: int, error: str | None = None, message: str = "") -> None:
            body = json.dumps({"message": message}).encode() if error else b""
            self.send_response(status)
            if error:
                self.send_header("x-amzn-ErrorType", error)
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            log.debug("%s %s", self.address_string(), format % args)

    return Management


async def run(port: int, management_port: int, function: str) -> None:
    server = SocketServer(Invoker(function, "local", f"127.0.0.1:{port}"))
    server.loop = asyncio.get_running_loop()
    management = ThreadingHTTPServer(("127.0.0.1", management_port), management_handler(server))
    threading.Thread(target=management.serve_forever, name="management-api", daemon=True).start()
    async with serve(server.handle, "127.0.0.1", port, process_request=server.process_request) as ws:
        log.info(
            "event socket on ws://127.0.0.1:%d, Management API on http://127.0.0.1:%d", port, management_port
        )
        await ws.serve_forever()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True, help="the WebSocket port pages connect to")
    parser.add_argument("--management-port", type=int, required=True, help="the Management API's port")
    parser.add_argument("--function", default=os.environ.get("EVENTS_SOCKET_FUNCTION", FUNCTION))
    args = parser.parse_args(argv)
    configure("socket")
    asyncio.run(run(args.port, args.management_port, args.function))


if __name__ == "__main__":
    main()
