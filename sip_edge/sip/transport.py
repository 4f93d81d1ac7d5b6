"""SIP transports over asyncio (RFC 3261 §18): what every transport shares, and UDP.

This module holds what every transport shares (`Flow`, `ResponseRoute`, the seams below) and UDP;
TCP and TLS are `stream`.

A transport moves bytes: it frames stream input into messages, answers keep-alives (CRLF ping
on streams, STUN binding on UDP) and hands each message to a `MessageSink` with the `Flow` it
arrived on. Parsing and transaction matching live in the stack. Where responses go (§18.2.2) is
decided here by `ResponseRoute`, since it depends on connections only the transport knows.

Outbound destinations pass through two injectable seams: a `Resolver` (host name -> addresses)
and a `SendGuard` ("may I send there?") so tests and locked-down deployments can refuse anything
off loopback or outside a carrier allow-list. TCP and TLS (framing, connections, RFC 5626
CRLF keep-alives) are in `stream`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from . import stun

__all__ = [
    "Address",
    "Connection",
    "DefaultResolver",
    "ErrorCallback",
    "Flow",
    "MessageSink",
    "Resolver",
    "ResponseRoute",
    "SendGuard",
    "Transport",
    "TransportError",
    "UdpTransport",
    "allow_all",
    "default_port",
    "is_numeric_host",
    "loopback_only",
]

log = logging.getLogger(__name__)

Address = tuple[str, int]
SendGuard = Callable[[str, Address], bool]
ErrorCallback = Callable[[Exception], None]

DEFAULT_MAX_MESSAGE = 65_535
DEFAULT_SOCKET_BUFFER = 4 * 1024 * 1024


class TransportError(Exception):
    """A message could not be handed to the network (refused, unresolvable, connection failed)."""


def default_port(transport: str) -> int:
    return 5061 if transport.upper() in ("TLS", "WSS") else 5060


_numeric_cache: dict[str, bool] = {}


def is_numeric_host(host: str) -> bool:
    known = _numeric_cache.get(host)
    if known is not None:
        return known
    try:
        ipaddress.ip_address(host.strip("[]"))
        numeric = True
    except ValueError:
        numeric = False
    if len(_numeric_cache) > 4096:
        _numeric_cache.clear()
    _numeric_cache[host] = numeric
    return numeric


def allow_all(transport: str, address: Address) -> bool:
    return True


def loopback_only(transport: str, address: Address) -> bool:
    try:
        return ipaddress.ip_address(address[0].strip("[]")).is_loopback
    except ValueError:
        return False


class Resolver(Protocol):
    async def resolve(self, host: str, port: int, transport: str) -> list[Address]: ...


class DefaultResolver:
    """Numeric addresses as they are; names through getaddrinfo (A/AAAA; no NAPTR/SRV yet)."""

    async def resolve(self, host: str, port: int, transport: str) -> list[Address]:
        host = host.strip("[]")
        if is_numeric_host(host):
            return [(host, port)]
        kind = socket.SOCK_DGRAM if transport.upper() == "UDP" else socket.SOCK_STREAM
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=kind)
        return [(str(info[4][0]), int(info[4][1])) for info in infos]


class MessageSink(Protocol):
    def on_message(self, data: bytes, flow: Flow) -> None: ...


class _NoSink:
    """Until a stack adopts the transport, whatever arrives is dropped."""

    def on_message(self, data: bytes, flow: Flow) -> None:
        log.debug("no sink for message from %r", flow)


class Transport(Protocol):
    name: str
    reliable: bool
    sink: MessageSink

    @property
    def sent_by(self) -> Address: ...

    def send_to(self, data: bytes, address: Address, on_error: ErrorCallback | None = None) -> None: ...

    def close(self) -> None: ...


class Connection(Protocol):
    """A stream connection as a flow sees it (`stream.StreamConnection`)."""

    @property
    def closed(self) -> bool: ...

    def write(self, data: bytes) -> None: ...


class Flow:
    """Where a message came from: transport, remote address and, for streams, the connection."""

    __slots__ = ("connection", "remote", "transport")

    def __init__(self, transport: Transport, remote: Address, connection: Connection | None = None) -> None:
        self.transport = transport
        self.remote = remote
        self.connection = connection

    @property
    def reliable(self) -> bool:
        return self.transport.reliable

    def send(self, data: bytes, on_error: ErrorCallback | None = None) -> None:
        connection = self.connection
        if connection is not None and not connection.closed:
            connection.write(data)
        else:
            self.transport.send_to(data, self.remote, on_error)

    def __repr__(self) -> str:
        return f"{self.transport.name}:{self.remote[0]}:{self.remote[1]}"


class ResponseRoute:
    """§18.2.2: where responses to one request go (a `Channel` for a server transaction).

    Always the address the request came from, never one the request only names: a Via's host,
    ``received`` and ``maddr`` are the sender's claims, and honouring them would let anyone aim
    our responses at a third party (UDP reflection). Unreliable: the packet's source address and
    port (symmetric response routing, RFC 3581; what Kamailio's stock ``force_rport()`` and
    Asterisk's ``force_rport=yes`` do). Reliable: the connection the request came on while it is
    open, else a new connection to the source address at the sent-by port (§18.2.2, with
    ``received`` being the source address).
    """

    __slots__ = ("flow", "sent_by_port")

    def __init__(self, flow: Flow, sent_by_port: int | None = None) -> None:
        self.flow = flow
        self.sent_by_port = sent_by_port

    @property
    def reliable(self) -> bool:
        return self.flow.transport.reliable

    def destination(self) -> Address:
        flow = self.flow
        transport = flow.transport
        if transport.reliable:
            return (flow.remote[0], self.sent_by_port or default_port(transport.name))
        return flow.remote

    def send(self, data: bytes, on_error: ErrorCallback | None = None) -> None:
        flow = self.flow
        connection = flow.connection
        if connection is not None and not connection.closed:
            connection.write(data)
            return
        flow.transport.send_to(data, self.destination(), on_error)


# --- UDP ----------------------------------------------------------------------------------------


class _UdpProtocol(asyncio.DatagramProtocol):
    def __init__(self, owner: UdpTransport) -> None:
        self.owner = owner

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.owner._on_datagram(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP errors surface here with no indication of which send caused them.
        log.debug("UDP error: %s", exc)


class UdpTransport:
    name = "UDP"
    reliable = False

    def __init__(
        self,
        sink: MessageSink | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 5060,
        advertised_host: str | None = None,
        resolver: Resolver | None = None,
        guard: SendGuard = allow_all,
        socket_buffer: int = DEFAULT_SOCKET_BUFFER,
    ) -> None:
        self.sink: MessageSink = sink if sink is not None else _NoSink()
        self.host = host
        self.port = port
        self.advertised_host = advertised_host
        self.resolver: Resolver = resolver if resolver is not None else DefaultResolver()
        self.guard = guard
        self.socket_buffer = socket_buffer
        self._transport: asyncio.DatagramTransport | None = None
        self._local: Address = (host, port)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            for option in (socket.SO_RCVBUF, socket.SO_SNDBUF):
                sock.setsockopt(socket.SOL_SOCKET, option, self.socket_buffer)
            sock.bind((self.host, self.port))
            sock.setblocking(False)
            transport, _ = await loop.create_datagram_endpoint(lambda: _UdpProtocol(self), sock=sock)
        except BaseException:
            sock.close()
            raise
        self._transport = transport
        bound = sock.getsockname()
        self._local = (str(bound[0]), int(bound[1]))

    @property
    def local_address(self) -> Address:
        return self._local

    @property
    def sent_by(self) -> Address:
        return (self.advertised_host or self._local[0], self._local[1])

    def _on_datagram(self, data: bytes, source: Address) -> None:
        if not data:
            return
        first = data[0]
        if first < 0x04:
            response = stun.handle_binding_request(data, source) if stun.is_stun(data) else None
            if response is not None and self._transport is not None:
                self._transport.sendto(response, source)
            return
        if first == 13 or first == 10:
            # CRLF keep-alives are a stream mechanism; some UAs send them over UDP anyway.
            data = data.lstrip(b"\r\n")
            if not data:
                return
        self.sink.on_message(data, Flow(self, source))

    def send_to(self, data: bytes, address: Address, on_error: ErrorCallback | None = None) -> None:
        host = address[0]
        if is_numeric_host(host):
            self._send_numeric(data, (host.strip("[]"), address[1]), on_error)
        else:
            _spawn(self._resolve_and_send(data, address, on_error))

    def _send_numeric(self, data: bytes, address: Address, on_error: ErrorCallback | None) -> None:
        if not self.guard(self.name, address):
            _report(on_error, TransportError(f"sending to {address[0]}:{address[1]} is not allowed"))
            return
        if self._transport is None or self._transport.is_closing():
            _report(on_error, TransportError("UDP transport is closed"))
            return
        self._transport.sendto(data, address)

    async def _resolve_and_send(self, data: bytes, address: Address, on_error: ErrorCallback | None) -> None:
        try:
            targets = await self.resolver.resolve(address[0], address[1], self.name)
        except (OSError, ValueError) as exc:
            _report(on_error, TransportError(f"cannot resolve {address[0]}: {exc}"))
            return
        if not targets:
            _report(on_error, TransportError(f"no address for {address[0]}"))
            return
        self._send_numeric(data, targets[0], on_error)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


# Strong references to fire-and-forget sends (resolve, connect): the loop keeps only weak ones.
_background: set[asyncio.Task[None]] = set()


def _spawn(coroutine: Coroutine[Any, Any, None]) -> None:
    task = asyncio.ensure_future(coroutine)
    _background.add(task)
    task.add_done_callback(_background.discard)


def _report(on_error: ErrorCallback | None, exc: Exception) -> None:
    if on_error is not None:
        on_error(exc)
    else:
        log.debug("%s", exc)
