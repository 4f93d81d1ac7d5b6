"""Two in-process stacks on loopback: client transactions over UDP/TCP/TLS, the resolver and
send-guard seams, §18.2.2 response routing, idle reaping and stream limits."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from sip_edge.sip.building import generate_branch, generate_call_id, generate_tag
from sip_edge.sip.message import Headers, Request
from sip_edge.sip.stack import AckContext, Destination, Reply, SipStack
from sip_edge.sip.stream import StreamTransport, client_ssl_context, server_ssl_context
from sip_edge.sip.timers import AsyncioClock, Timers
from sip_edge.sip.transaction import ServerTransaction, TransactionError, TransactionTimeoutError
from sip_edge.sip.transport import Address, Resolver, SendGuard, UdpTransport, allow_all, loopback_only
from tests.sip.conftest import HOST, write_self_signed

FAST = Timers(t1=0.05, t2=0.4, t4=0.5)


class Peer:
    """A stack with UDP, TCP and TLS listeners on ephemeral loopback ports."""

    def __init__(
        self,
        handler: Callable[[ServerTransaction | AckContext, Request], object],
        cert: tuple[Path, Path] | None = None,
        resolver: Resolver | None = None,
        guard: SendGuard = allow_all,
        **stream_options: float,
    ) -> None:
        self.stack = SipStack(AsyncioClock(), on_request=handler, timers=FAST)  # type: ignore[arg-type]
        self.udp = UdpTransport(self.stack, host=HOST, port=0, resolver=resolver, guard=guard)
        self.tcp = StreamTransport(
            self.stack,
            host=HOST,
            port=0,
            resolver=resolver,
            guard=guard,
            **stream_options,  # type: ignore[arg-type]
        )
        self.tls: StreamTransport | None = None
        if cert is not None:
            self.tls = StreamTransport(
                self.stack,
                host=HOST,
                port=0,
                ssl_context=server_ssl_context(str(cert[0]), str(cert[1])),
                client_ssl_context=client_ssl_context(str(cert[0])),
                resolver=resolver,
                guard=guard,
            )
        for transport in (self.udp, self.tcp, self.tls):
            if transport is not None:
                self.stack.add_transport(transport)

    async def start(self) -> Peer:
        await self.udp.start()
        await self.tcp.start()
        if self.tls is not None:
            await self.tls.start()
        return self

    def destination(self, transport: str, host: str = HOST) -> Destination:
        choices: dict[str, UdpTransport | StreamTransport | None] = {
            "UDP": self.udp,
            "TCP": self.tcp,
            "TLS": self.tls,
        }
        chosen = choices[transport]
        assert chosen is not None
        return Destination(transport, host, chosen.local_address[1])

    async def close(self) -> None:
        self.stack.close()
        for transport in (self.tcp, self.tls):
            if transport is not None:
                await transport.wait_closed()


def options(target: str = "sip:edge@127.0.0.1") -> Request:
    headers = Headers(
        [
            ("From", f"<sip:client@127.0.0.1>;tag={generate_tag()}"),
            ("To", f"<{target}>"),
            ("Call-ID", generate_call_id()),
            ("CSeq", "1 OPTIONS"),
        ]
    )
    return Request("OPTIONS", target, headers=headers)


def answer_200(tx: ServerTransaction | AckContext, request: Request) -> Reply | None:
    return None if request.method == "ACK" else Reply(200)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(asyncio.wait_for(scenario(), 15))


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return write_self_signed(tmp_path_factory.mktemp("tls"))


@pytest.mark.parametrize("transport", ["UDP", "TCP", "TLS"])
def test_client_transaction_gets_the_final_response(transport: str, cert: tuple[Path, Path]) -> None:
    async def scenario() -> None:
        server = await Peer(answer_200, cert).start()
        client = await Peer(answer_200, cert).start()
        try:
            tx = client.stack.send_request(options(), server.destination(transport))
            statuses = [response.status async for response in tx]
            assert statuses == [200]
        finally:
            await client.close()
            await server.close()

    run(scenario)


def test_tcp_connection_is_reused_for_the_next_request() -> None:
    async def scenario() -> None:
        server = await Peer(answer_200).start()
        client = await Peer(answer_200).start()
        try:
            for _ in range(3):
                response = await client.stack.send_request(
                    options(), server.destination("TCP")
                ).final_response()
                assert response.status == 200
            assert len(client.tcp.connections) == 1
            assert len(server.tcp.connections) == 1
        finally:
            await client.close()
            await server.close()

    run(scenario)


def test_names_go_through_the_injected_resolver() -> None:
    asked: list[str] = []

    class Resolver:
        async def resolve(self, host: str, port: int, transport: str) -> list[Address]:
            asked.append(host)
            return [(HOST, port)]

    async def scenario() -> None:
        server = await Peer(answer_200).start()
        client = await Peer(answer_200, resolver=Resolver()).start()
        try:
            for transport in ("UDP", "TCP"):
                destination = server.destination(transport, host="edge.switchboard.test")
                response = await client.stack.send_request(options(), destination).final_response()
                assert response.status == 200
        finally:
            await client.close()
            await server.close()

    run(scenario)
    assert asked == ["edge.switchboard.test", "edge.switchboard.test"]


@pytest.mark.parametrize("transport", ["UDP", "TCP"])
def test_the_send_guard_refuses_off_loopback_and_the_tu_hears_of_it(transport: str) -> None:
    async def scenario() -> None:
        client = await Peer(answer_200, guard=loopback_only).start()
        errors: list[TransactionError] = []
        try:
            tx = client.stack.send_request(
                options("sip:x@192.0.2.1"),
                Destination(transport, "192.0.2.1", 5060),
                on_error=lambda _tx, error: errors.append(error),
            )
            with pytest.raises(TransactionError):
                await tx.final_response()
            assert errors and "not allowed" in str(errors[0])
        finally:
            await client.close()

    run(scenario)


def test_unanswered_request_times_out_with_timer_f() -> None:
    async def scenario() -> None:
        silent = await Peer(lambda tx, request: None).start()
        client = await Peer(answer_200).start()
        try:
            tx = client.stack.send_request(options(), silent.destination("UDP"))
            with pytest.raises(TransactionTimeoutError) as caught:
                await tx.final_response()
            assert caught.value.timer == "timer_f"
        finally:
            await client.close()
            await silent.close()

    run(scenario)


def test_response_after_the_connection_closed_opens_one_to_the_via_sent_by() -> None:
    """§18.2.2: reliable transport, original connection gone -> connect to received/sent-by port."""
    held: list[ServerTransaction] = []

    def hold(tx: ServerTransaction | AckContext, request: Request) -> None:
        if isinstance(tx, ServerTransaction):
            held.append(tx)

    async def scenario() -> None:
        server = await Peer(hold).start()
        client = await Peer(answer_200).start()
        try:
            tx = client.stack.send_request(options(), server.destination("TCP"))
            while not held:
                await asyncio.sleep(0.01)
            # The client's outbound connection dies before the answer is ready.
            for connection in list(client.tcp.connections.values()):
                connection.close()
            await asyncio.sleep(0.05)
            held[0].reply(200)
            response = await tx.final_response()
            assert response.status == 200
            # The answer came over a new connection the server opened to the client's listener.
            assert client.tcp.local_address in server.tcp.connections
        finally:
            await client.close()
            await server.close()

    run(scenario)


def test_idle_connections_are_reaped() -> None:
    async def scenario() -> None:
        server = await Peer(answer_200, idle_timeout=1.0).start()
        try:
            reader, writer = await asyncio.open_connection(HOST, server.tcp.local_address[1])
            await asyncio.sleep(0.1)
            assert len(server.tcp.connections) == 1
            # The reaper runs every max(1 s, idle/4); give it two rounds past the idle time.
            assert await asyncio.wait_for(reader.read(), 4) == b""
            assert len(server.tcp.connections) == 0
            writer.close()
        finally:
            await server.close()

    run(scenario)


def test_declared_body_over_the_maximum_closes_the_connection() -> None:
    async def scenario() -> None:
        server = await Peer(answer_200, max_message_size=4096).start()
        try:
            reader, writer = await asyncio.open_connection(HOST, server.tcp.local_address[1])
            writer.write(
                b"OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:1;branch="
                + generate_branch().encode()
                + b"\r\nContent-Length: 100000\r\n\r\n"
            )
            assert await asyncio.wait_for(reader.read(), 4) == b""
            writer.close()
        finally:
            await server.close()

    run(scenario)


def test_connection_limit_refuses_extra_connections() -> None:
    async def scenario() -> None:
        server = await Peer(answer_200, max_connections=2).start()
        try:
            streams = [await asyncio.open_connection(HOST, server.tcp.local_address[1]) for _ in range(3)]
            await asyncio.sleep(0.1)
            assert len(server.tcp.connections) == 2
            assert await asyncio.wait_for(streams[2][0].read(), 4) == b""
            for _, writer in streams:
                writer.close()
        finally:
            await server.close()

    run(scenario)


def test_tls_rejects_an_untrusted_server_certificate(tmp_path: Path, cert: tuple[Path, Path]) -> None:
    other = write_self_signed(tmp_path)

    async def scenario() -> None:
        server = await Peer(answer_200, cert).start()
        # A client that trusts a different certificate.
        client = await Peer(answer_200, other).start()
        try:
            tx = client.stack.send_request(options(), server.destination("TLS"))
            with pytest.raises(TransactionError):
                await tx.final_response()
        finally:
            await client.close()
            await server.close()

    run(scenario)


def test_udp_socket_buffers_are_large() -> None:
    async def scenario() -> None:
        server = await Peer(answer_200).start()
        try:
            transport = server.udp._transport
            assert transport is not None
            sock: socket.socket = transport.get_extra_info("socket")
            # Linux reports double the requested size, capped by net.core.rmem_max.
            assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 200_000
        finally:
            await server.close()

    run(scenario)


def test_client_ssl_context_without_verification() -> None:
    context = client_ssl_context(verify=False)
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
