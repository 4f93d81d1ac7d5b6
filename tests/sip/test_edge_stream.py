"""The edge process over TCP and TLS on loopback: framing, keep-alive, many connections."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import pytest

from tests.sip.conftest import HOST, EdgeProcess, StreamClient, header, sip_request, status_of

Connect = Callable[[EdgeProcess], StreamClient]
TRANSPORTS: list[tuple[str, Connect]] = [("TCP", StreamClient.tcp), ("TLS", StreamClient.tls)]


@pytest.mark.parametrize(("name", "connect"), TRANSPORTS, ids=["tcp", "tls"])
def test_options_gets_200(edge: EdgeProcess, name: str, connect: Connect) -> None:
    client = connect(edge)
    try:
        client.send(sip_request("OPTIONS", client.local, transport=name))
        response = client.recv_message()
    finally:
        client.close()
    assert status_of(response) == 200
    via = header(response, "Via")
    assert via is not None and f"SIP/2.0/{name}" in via


@pytest.mark.parametrize(("name", "connect"), TRANSPORTS, ids=["tcp", "tls"])
def test_crlf_ping_gets_a_crlf_pong(edge: EdgeProcess, name: str, connect: Connect) -> None:
    client = connect(edge)
    try:
        client.send(b"\r\n\r\n")
        assert client.read_exactly(2) == b"\r\n"
        # The connection still carries SIP afterwards.
        client.send(sip_request("OPTIONS", client.local, transport=name))
        assert status_of(client.recv_message()) == 200
    finally:
        client.close()


def test_invite_over_tcp_gets_100_then_503(edge: EdgeProcess) -> None:
    client = StreamClient.tcp(edge)
    try:
        client.send(sip_request("INVITE", client.local, transport="TCP"))
        assert status_of(client.recv_message()) == 100
        # This edge has no table to read trunks from: it refuses calls it cannot vet.
        assert status_of(client.recv_message()) == 503
    finally:
        client.close()


def test_message_written_in_three_chunks_is_reassembled(edge: EdgeProcess) -> None:
    client = StreamClient.tcp(edge)
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        data = sip_request("OPTIONS", client.local, transport="TCP", extra="Content-Type: text/plain\r\n")
        data = data.replace(b"Content-Length: 0\r\n\r\n", b"Content-Length: 5\r\n\r\nhello")
        cut1, cut2 = 17, len(data) - 3  # inside the start line, and inside the body
        for chunk in (data[:cut1], data[cut1:cut2], data[cut2:]):
            client.send(chunk)
            time.sleep(0.05)
        assert status_of(client.recv_message()) == 200
    finally:
        client.close()


def test_two_messages_in_one_write_are_both_answered(edge: EdgeProcess) -> None:
    client = StreamClient.tcp(edge)
    try:
        client.send(sip_request("OPTIONS", client.local, transport="TCP") * 1)
        client.send(
            sip_request("OPTIONS", client.local, transport="TCP")
            + sip_request("OPTIONS", client.local, transport="TCP")
        )
        assert [status_of(client.recv_message()) for _ in range(3)] == [200, 200, 200]
    finally:
        client.close()


def test_200_connections_at_once(edge: EdgeProcess) -> None:
    clients = [StreamClient.tcp(edge, timeout=10) for _ in range(200)]
    try:
        for client in clients:
            client.send(sip_request("OPTIONS", client.local, transport="TCP"))
        statuses = [status_of(client.recv_message()) for client in clients]
    finally:
        for client in clients:
            client.close()
    assert statuses == [200] * 200


def test_oversized_header_section_closes_the_connection(edge: EdgeProcess) -> None:
    client = StreamClient.tcp(edge)
    try:
        client.send(b"OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\nX-Filler: " + b"a" * 70_000)
        client.sock.settimeout(5)
        with pytest.raises(ConnectionError):
            client.recv_message()
    finally:
        client.close()


def test_health_port_answers_many_checks_over_http(edge: EdgeProcess) -> None:
    for path, status in [("/live", b"200")] * 4 + [("/nowhere", b"404")]:
        with socket.create_connection((HOST, edge.health_port), timeout=2) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: edge\r\n\r\n".encode())
            assert sock.recv(64).startswith(b"HTTP/1.1 " + status + b" ")
