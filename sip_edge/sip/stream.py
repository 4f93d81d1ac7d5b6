"""SIP over TCP and TLS (RFC 3261 §18.3): Content-Length framing, connection reuse, idle reaping
and RFC 5626 CRLF keep-alives. What transports share (flows, routes, guards) is in `transport`.
"""

from __future__ import annotations

import asyncio
import logging
import re
import ssl
from typing import cast

from .transport import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_MESSAGE,
    MAX_WRITE_BUFFER,
    Address,
    DefaultResolver,
    ErrorCallback,
    Flow,
    MessageSink,
    Resolver,
    SendGuard,
    TransportError,
    _NoSink,
    _report,
    _spawn,
    allow_all,
    is_numeric_host,
)

__all__ = ["StreamConnection", "StreamTransport", "client_ssl_context", "server_ssl_context"]

log = logging.getLogger(__name__)

_CONTENT_LENGTH = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*(\d+)", re.IGNORECASE | re.MULTILINE)


class StreamConnection(asyncio.Protocol):
    """One TCP/TLS connection: Content-Length framing (§18.3) and CRLF keep-alive (RFC 5626 §4.4.1)."""

    def __init__(self, owner: StreamTransport, outbound: bool = False) -> None:
        self.owner = owner
        self.outbound = outbound
        self.closed = False
        self.remote: Address = ("", 0)
        self.flow: Flow | None = None
        self.last_activity = 0.0
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        # Bytes still owed to the body of the message whose headers are already in the buffer.
        self._need: int | None = None

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement the interface without subclassing asyncio.Transport.
        self._transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.remote = (str(peer[0]), int(peer[1])) if peer else ("", 0)
        self.flow = Flow(self.owner, self.remote, self)
        self.last_activity = self.owner.now()
        if not self.owner._register(self):
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.owner._unregister(self)

    def data_received(self, data: bytes) -> None:
        self.last_activity = self.owner.now()
        buffer = self._buffer
        buffer += data
        max_size = self.owner.max_message_size
        while buffer and not self.closed:
            if self._need is None:
                if buffer[0] == 13 or buffer[0] == 10:
                    if not self._keepalive(buffer):
                        return
                    continue
                end = buffer.find(b"\r\n\r\n")
                if end < 0:
                    if len(buffer) > max_size:
                        self._abort("header section exceeds the maximum message size")
                    return
                match = _CONTENT_LENGTH.search(buffer, 0, end + 2)
                # §18.3 makes Content-Length mandatory on streams; without it a body cannot be
                # framed, so the message is taken as having none and the parser decides.
                length = int(match.group(1)) if match else 0
                total = end + 4 + length
                if total > max_size:
                    self._abort(f"message of {total} bytes exceeds the maximum of {max_size}")
                    return
                self._need = total
            total = self._need
            if len(buffer) < total:
                return
            message = bytes(buffer[:total])
            del buffer[:total]
            self._need = None
            assert self.flow is not None
            self.owner.sink.on_message(message, self.flow)

    def _keepalive(self, buffer: bytearray) -> bool:
        """Consume leading CRLFs; a double CRLF is a ping that gets a single-CRLF pong."""
        if buffer.startswith(b"\r\n\r\n"):
            del buffer[:4]
            self.write(b"\r\n")
            return True
        if len(buffer) < 4 and b"\r\n\r\n".startswith(bytes(buffer)):
            # A lone CRLF is a pong to our ping or the start of a ping: wait to know which.
            return False
        if buffer.startswith(b"\r\n"):
            del buffer[:2]
        else:
            del buffer[:1]
        return True

    def _abort(self, why: str) -> None:
        log.debug("closing %s connection from %s: %s", self.owner.name, self.remote, why)
        self.close()

    # our API

    def write(self, data: bytes) -> None:
        transport = self._transport
        if self.closed or transport is None or transport.is_closing():
            return
        if transport.get_write_buffer_size() > MAX_WRITE_BUFFER:
            self._abort("peer is not reading")
            return
        self.last_activity = self.owner.now()
        transport.write(data)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self._transport is not None:
                self._transport.close()
            self.owner._unregister(self)


class StreamTransport:
    """TCP, or TLS when `ssl_context` is given (§18: TLS is TCP framing inside TLS)."""

    reliable = True

    def __init__(
        self,
        sink: MessageSink | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 5060,
        ssl_context: ssl.SSLContext | None = None,
        client_ssl_context: ssl.SSLContext | None = None,
        advertised_host: str | None = None,
        resolver: Resolver | None = None,
        guard: SendGuard = allow_all,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        max_message_size: int = DEFAULT_MAX_MESSAGE,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        connect_timeout: float = 5.0,
        backlog: int = 1024,
    ) -> None:
        self.name = "TLS" if ssl_context is not None else "TCP"
        self.sink: MessageSink = sink if sink is not None else _NoSink()
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.client_ssl_context = client_ssl_context
        self.advertised_host = advertised_host
        self.resolver: Resolver = resolver if resolver is not None else DefaultResolver()
        self.guard = guard
        self.idle_timeout = idle_timeout
        self.max_message_size = max_message_size
        self.max_connections = max_connections
        self.connect_timeout = connect_timeout
        self.backlog = backlog
        self.connections: dict[Address, StreamConnection] = {}
        self._connecting: dict[Address, asyncio.Future[StreamConnection]] = {}
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._reaper: asyncio.TimerHandle | None = None
        self._local: Address = (host, port)

    def now(self) -> float:
        return self._loop.time() if self._loop is not None else 0.0

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await self._loop.create_server(
            lambda: StreamConnection(self),
            self.host,
            self.port,
            ssl=self.ssl_context,
            backlog=self.backlog,
            reuse_address=True,
        )
        bound = self._server.sockets[0].getsockname()
        self._local = (str(bound[0]), int(bound[1]))
        self._schedule_reaper()

    @property
    def local_address(self) -> Address:
        return self._local

    @property
    def sent_by(self) -> Address:
        return (self.advertised_host or self._local[0], self._local[1])

    def _register(self, connection: StreamConnection) -> bool:
        if len(self.connections) >= self.max_connections and not connection.outbound:
            log.warning(
                "%s connection limit %d reached; refusing %s",
                self.name,
                self.max_connections,
                connection.remote,
            )
            return False
        self.connections[connection.remote] = connection
        return True

    def _unregister(self, connection: StreamConnection) -> None:
        if self.connections.get(connection.remote) is connection:
            del self.connections[connection.remote]

    def _schedule_reaper(self) -> None:
        if self._loop is not None and self.idle_timeout > 0:
            self._reaper = self._loop.call_later(max(1.0, self.idle_timeout / 4), self._reap)

    def _reap(self) -> None:
        deadline = self.now() - self.idle_timeout
        for connection in [c for c in self.connections.values() if c.last_activity < deadline]:
            log.debug("reaping idle %s connection %s", self.name, connection.remote)
            connection.close()
        self._schedule_reaper()

    def send_to(self, data: bytes, address: Address, on_error: ErrorCallback | None = None) -> None:
        connection = self.connections.get(address)
        if connection is not None and not connection.closed:
            connection.write(data)
            return
        _spawn(self._connect_and_send(data, address, on_error))

    async def _connect_and_send(self, data: bytes, address: Address, on_error: ErrorCallback | None) -> None:
        try:
            connection = await self.connect(address)
        except (OSError, TransportError, ssl.SSLError, TimeoutError) as exc:
            _report(on_error, exc if isinstance(exc, TransportError) else TransportError(str(exc)))
            return
        connection.write(data)

    async def connect(self, address: Address) -> StreamConnection:
        """An open connection to `address`, reusing one (or one being opened) when there is one."""
        existing = self.connections.get(address)
        if existing is not None and not existing.closed:
            return existing
        pending = self._connecting.get(address)
        if pending is not None:
            return await asyncio.shield(pending)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[StreamConnection] = loop.create_future()
        self._connecting[address] = future
        try:
            connection = await self._open(address)
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved here so an unawaited future does not log
            raise
        finally:
            self._connecting.pop(address, None)
        future.set_result(connection)
        return connection

    async def _open(self, address: Address) -> StreamConnection:
        host, port = address
        targets = (
            [(host.strip("[]"), port)]
            if is_numeric_host(host)
            else (await self.resolver.resolve(host, port, self.name))
        )
        if not targets:
            raise TransportError(f"no address for {host}")
        target = targets[0]
        if not self.guard(self.name, target):
            raise TransportError(f"connecting to {target[0]}:{target[1]} is not allowed")
        loop = asyncio.get_running_loop()
        ssl_arg: ssl.SSLContext | None = None
        server_hostname: str | None = None
        if self.ssl_context is not None:
            ssl_arg = self.client_ssl_context or ssl.create_default_context()
            server_hostname = host.strip("[]")
        async with asyncio.timeout(self.connect_timeout):
            _, protocol = await loop.create_connection(
                lambda: StreamConnection(self, outbound=True),
                target[0],
                target[1],
                ssl=ssl_arg,
                server_hostname=server_hostname,
            )
        assert isinstance(protocol, StreamConnection)
        if address != protocol.remote:
            # Let later sends to the name (not just the resolved address) reuse the connection.
            self.connections[address] = protocol
        return protocol

    def close(self) -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            self._reaper = None
        if self._server is not None:
            self._server.close()
        for connection in list(self.connections.values()):
            connection.close()

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()


def server_ssl_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile, keyfile)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def client_ssl_context(cafile: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=cafile)
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context
