"""One edge task's sockets: SIP listeners, the SIP stack and the one policy it calls.

Policy is one object with one method, `on_request(transaction, request)`. The stack calls it once
per new request (never for retransmissions). It returns a typed decision, `Reply` (the stack
builds and sends the response) or None (the policy answers through the transaction itself:
provisional responses, later finals, CANCEL handling), either directly or from a coroutine. A
decision known at once is returned directly, which spares the hot path an asyncio task per
request; work that waits (a Lambda invocation, a B2BUA leg) makes `on_request` return an
awaitable, e.g. by being an `async def`. The minimal `EdgePolicy` here answers OPTIONS and refuses
everything else; the composition root (`sip_edge.main`) builds the contact centre's policy and
the background workers around an `Edge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from contact_center.contracts.values import EDGE_HEALTH_PATH, EDGE_LIVE_PATH
from sip_edge.app.health import Verdict
from sip_edge.config import EdgeConfig
from sip_edge.sip.decisions import AckContext, HandlerResult, Reply
from sip_edge.sip.hostport import format_hostport
from sip_edge.sip.message import Request
from sip_edge.sip.stack import SipStack
from sip_edge.sip.stream import StreamTransport, server_ssl_context
from sip_edge.sip.timers import AsyncioClock
from sip_edge.sip.transaction import ServerTransaction
from sip_edge.sip.transport import UdpTransport

__all__ = ["SERVER_NAME", "Edge", "EdgePolicy", "Listener", "PolicyFactory", "RequestPolicy", "build_edge"]

log = logging.getLogger("sip_edge")

SERVER_NAME = "Switchboard-Edge"


@runtime_checkable
class RequestPolicy(Protocol):
    """What the edge does with a request. `transaction` is an `AckContext` for an ACK to a 2xx."""

    def on_request(self, transaction: ServerTransaction | AckContext, request: Request) -> HandlerResult: ...


class EdgePolicy:
    """Release-0 policy: OPTIONS (keep-alive and health probes from carriers) gets 200, other
    requests 501 until the registrar and B2BUA are plugged in, and ACKs nothing."""

    allow: tuple[str, ...] = ("OPTIONS",)
    accept: tuple[str, ...] = ("application/sdp",)
    # No extension is implemented yet; an empty Supported is legal and tells the truth.
    supported: tuple[str, ...] = ()

    def __init__(self) -> None:
        self._options_headers = (
            ("Allow", ", ".join(self.allow)),
            ("Accept", ", ".join(self.accept)),
            ("Supported", ", ".join(self.supported)),
        )

    def on_request(self, transaction: ServerTransaction | AckContext, request: Request) -> HandlerResult:
        method = request.method
        if method == "ACK":
            return None
        if method == "OPTIONS":
            return Reply(200, headers=self._options_headers)
        return Reply(501, headers=(("Allow", ", ".join(self.allow)),))


@dataclass(frozen=True, slots=True)
class Listener:
    kind: str
    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.kind} {format_hostport(self.host, self.port)}"


@dataclass
class Edge:
    """One edge task: SIP listeners (UDP, TCP, TLS when configured) and an HTTP health port.

    The health port answers ``GET /health`` from ``health`` (the load balancer's check: 200 while
    the task can take calls, 503 naming what failed) and ``GET /live`` with 200 while the process
    serves at all (the container's check: a task cut off from DynamoDB is taken out of the rotation,
    not killed, so it is back as soon as the network is). Without ``health`` both answer 200.
    """

    config: EdgeConfig
    stack: SipStack
    transports: list[UdpTransport | StreamTransport]
    policy: RequestPolicy
    listeners: list[Listener] = field(default_factory=list)
    health: Callable[[], Verdict] | None = None
    _health_server: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            for transport in self.transports:
                await transport.start()
                host, port = transport.local_address
                self.listeners.append(Listener(transport.name, host, port))
            if self.config.health_port is not None:
                self._health_server = await asyncio.start_server(
                    self._answer_health, self.config.host, self.config.health_port, reuse_address=True
                )
                bound = self._health_server.sockets[0].getsockname()
                self.listeners.append(Listener("HEALTH", str(bound[0]), int(bound[1])))
        except BaseException:
            await self.close()
            raise
        for listener in self.listeners:
            log.info("edge %s listening on %s", self.config.task_id, listener)

    def use(self, policy: RequestPolicy) -> None:
        """Hand every new request to ``policy`` from now on."""
        self.policy = policy
        self.stack.on_request = policy.on_request

    def address(self, kind: str) -> tuple[str, int]:
        for listener in self.listeners:
            if listener.kind == kind:
                return (listener.host, listener.port)
        raise KeyError(kind)

    async def close(self) -> None:
        self.stack.close()
        for transport in self.transports:
            transport.close()
        if self._health_server is not None:
            self._health_server.close()
        for transport in self.transports:
            if isinstance(transport, StreamTransport):
                await transport.wait_closed()
        if self._health_server is not None:
            await self._health_server.wait_closed()
            self._health_server = None
        log.info("edge %s stopped", self.config.task_id)

    async def _answer_health(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(
            OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError
        ):
            async with asyncio.timeout(_HEALTH_READ_SECONDS):
                request_line = await reader.readuntil(b"\n")
                while (await reader.readuntil(b"\n")).strip():  # the headers, unread
                    pass
            writer.write(self._health_answer(request_line))
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    def _health_answer(self, request_line: bytes) -> bytes:
        parts = request_line.decode("latin-1").split()
        path = parts[1].split("?", 1)[0] if len(parts) >= 2 and parts[0] in ("GET", "HEAD") else None
        if path == EDGE_LIVE_PATH:
            status, body = "200 OK", "alive\n"
        elif path == EDGE_HEALTH_PATH:
            verdict = self.health() if self.health is not None else Verdict(True, ())
            body = "ok\n" if verdict.healthy else "".join(f"{problem}\n" for problem in verdict.problems)
            status = "200 OK" if verdict.healthy else "503 Service Unavailable"
        else:
            status, body = "404 Not Found", "GET /health or /live\n"
        data = body.encode()
        head = f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
        return head.encode() + (data if parts[:1] != ["HEAD"] else b"")


# A health check that has not sent its request line and headers by then is dropped.
_HEALTH_READ_SECONDS = 2.0


# A policy that sends requests of its own (the B2BUA's outbound legs) needs the stack it runs on.
PolicyFactory = Callable[[SipStack], RequestPolicy]


def build_edge(config: EdgeConfig, policy: RequestPolicy | PolicyFactory | None = None) -> Edge:
    """Wire an `Edge` from configuration; call inside the running loop, then `await start()`.

    `policy` is a ready policy object, or a factory given the stack (for policies that also
    send requests); the default is `EdgePolicy`.
    """
    stack = SipStack(AsyncioClock(), on_request=EdgePolicy().on_request, server_header=SERVER_NAME)
    if policy is None:
        chosen: RequestPolicy = EdgePolicy()
    elif isinstance(policy, RequestPolicy):
        chosen = policy
    else:
        chosen = policy(stack)
    stack.on_request = chosen.on_request
    host, advertised = config.host, config.advertised_host
    transports: list[UdpTransport | StreamTransport] = [
        UdpTransport(stack, host=host, port=config.port, advertised_host=advertised),
        StreamTransport(
            stack,
            host=host,
            port=config.port,
            advertised_host=advertised,
            idle_timeout=config.tcp_idle_timeout,
        ),
    ]
    if config.tls_enabled:
        assert config.tls_cert is not None and config.tls_key is not None
        context = server_ssl_context(config.tls_cert, config.tls_key)
        transports.append(
            StreamTransport(
                stack,
                host=host,
                port=config.effective_tls_port,
                ssl_context=context,
                advertised_host=advertised,
                idle_timeout=config.tcp_idle_timeout,
            )
        )
    for transport in transports:
        stack.add_transport(transport)
    return Edge(config=config, stack=stack, transports=transports, policy=chosen)
