"""The edge process: the composition root that puts listeners, the SIP stack and a policy together.

Policy is one object with one method, `on_request(transaction, request)`. The stack calls it once
per new request (never for retransmissions). It returns a typed decision, `Reply` (the stack
builds and sends the response) or None (the policy answers through the transaction itself:
provisional responses, later finals, CANCEL handling), either directly or from a coroutine. A
decision known at once is returned directly, which spares the hot path an asyncio task per
request; work that waits (a Lambda invocation, a B2BUA leg) makes `on_request` return an
awaitable, e.g. by being an `async def`. The minimal `EdgePolicy` here answers OPTIONS and refuses
everything else; the registrar and the B2BUA replace it by passing their own policy to
`build_edge`.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from sip_edge.config import EdgeConfig
from sip_edge.sip.message import Request
from sip_edge.sip.stack import AckContext, HandlerResult, Reply, SipStack
from sip_edge.sip.stream import StreamTransport, server_ssl_context
from sip_edge.sip.timers import AsyncioClock
from sip_edge.sip.transaction import ServerTransaction
from sip_edge.sip.transport import UdpTransport

__all__ = ["Edge", "EdgePolicy", "Listener", "PolicyFactory", "RequestPolicy", "build_edge", "run", "serve"]

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
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.kind} {host}:{self.port}"


@dataclass
class Edge:
    """One edge task: SIP listeners (UDP, TCP, TLS when configured) and a TCP health port."""

    config: EdgeConfig
    stack: SipStack
    transports: list[UdpTransport | StreamTransport]
    policy: RequestPolicy
    listeners: list[Listener] = field(default_factory=list)
    _health: asyncio.Server | None = None

    async def start(self) -> None:
        try:
            for transport in self.transports:
                await transport.start()
                host, port = transport.local_address
                self.listeners.append(Listener(transport.name, host, port))
            if self.config.health_port is not None:
                self._health = await asyncio.start_server(
                    _answer_health, self.config.host, self.config.health_port, reuse_address=True
                )
                bound = self._health.sockets[0].getsockname()
                self.listeners.append(Listener("HEALTH", str(bound[0]), int(bound[1])))
        except BaseException:
            await self.close()
            raise
        for listener in self.listeners:
            log.info("edge %s listening on %s", self.config.task_id, listener)
        start_policy = getattr(self.policy, "start", None)
        if start_policy is not None:
            await start_policy(self)

    def address(self, kind: str) -> tuple[str, int]:
        for listener in self.listeners:
            if listener.kind == kind:
                return (listener.host, listener.port)
        raise KeyError(kind)

    async def close(self) -> None:
        close_policy = getattr(self.policy, "close", None)
        if close_policy is not None:
            # First, while the sockets are open: the policy flushes state others must see.
            await close_policy()
        self.stack.close()
        for transport in self.transports:
            transport.close()
        if self._health is not None:
            self._health.close()
        for transport in self.transports:
            if isinstance(transport, StreamTransport):
                await transport.wait_closed()
        if self._health is not None:
            await self._health.wait_closed()
            self._health = None
        log.info("edge %s stopped", self.config.task_id)


async def _answer_health(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        writer.write(b"OK\n")
        await writer.drain()
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


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


def _tune_gc() -> None:
    """Keep the cyclic collector off the hot path.

    Over UDP every transaction lives 64*T1 after its answer (timer J absorbs retransmissions),
    so at a few thousand requests a second the heap holds 10^5 live SIP objects. Freezing what
    startup created removes modules and functions from every full collection, and a larger
    young generation means far fewer collections; reference counting still frees acyclic
    garbage at once, which is nearly all of it.
    """
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


async def serve(config: EdgeConfig, policy: RequestPolicy | PolicyFactory | None = None) -> None:
    """Run an edge until SIGTERM or SIGINT, then close every socket."""
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    edge = build_edge(config, policy)
    await edge.start()
    _tune_gc()
    try:
        await stopping.wait()
        log.info("edge %s stopping on signal", config.task_id)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
        await edge.close()


def run(config: EdgeConfig, policy: RequestPolicy | PolicyFactory | None = None) -> int:
    """Process entry: uvloop when installed, the standard loop otherwise. Returns the exit code."""
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve(config, policy))
    return 0
