"""The edge process over UDP on loopback: OPTIONS, INVITE/ACK, retransmissions, RFC 3581, STUN."""

from __future__ import annotations

import os
import socket
import struct

from sip_edge.sip import stun
from tests.sip.conftest import HOST, EdgeProcess, UdpClient, header, sip_request, status_of


def test_options_gets_200_with_capabilities(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        client.send(sip_request("OPTIONS", client.local))
        response = client.recv()
    finally:
        client.close()
    assert status_of(response) == 200
    assert header(response, "Allow") is not None
    assert header(response, "Accept") is not None
    assert header(response, "Supported") is not None
    to = header(response, "To")
    assert to is not None and ";tag=" in to


def test_retransmitted_options_is_answered_once_with_the_same_response(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        request = sip_request("OPTIONS", client.local)
        client.send(request)
        first = client.recv()
        client.send(request)
        second = client.recv()
        # Nothing else arrives: each copy of the request got exactly one answer.
        assert client.recv_none(0.3)
    finally:
        client.close()
    # Byte-identical, To tag included: the application ran once, the transaction replayed.
    assert first == second


def test_invite_gets_100_then_503_retransmitted_until_the_ack_absorbs_it(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        call_id = os.urandom(6).hex()
        branch = f"z9hG4bK{os.urandom(6).hex()}"
        client.send(sip_request("INVITE", client.local, branch=branch, call_id=call_id))
        assert status_of(client.recv()) == 100
        final = client.recv()
        # This edge has no table to read trunks from: it refuses calls it cannot vet.
        assert status_of(final) == 503
        # Without an ACK, timer G retransmits the final response after T1.
        assert client.recv(timeout=2.0) == final
        to = header(final, "To")
        assert to is not None
        to_tag = to.split(";tag=", 1)[1]
        client.send(sip_request("ACK", client.local, branch=branch, call_id=call_id, to_tag=to_tag))
        # After the ACK: no more retransmissions (the next G would come within 2 s) and no answer.
        assert client.recv_none(2.5)
    finally:
        client.close()


def test_rport_and_received_are_filled_and_the_response_follows_them(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        # A Via naming an address we do not listen on, as behind a NAT.
        client.send(sip_request("OPTIONS", client.local, via_host="10.255.0.7:5999"))
        response = client.recv()
    finally:
        client.close()
    via = header(response, "Via")
    assert via is not None
    assert f"rport={client.local[1]}" in via
    assert f"received={HOST}" in via


def test_received_without_rport(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        client.send(
            sip_request("OPTIONS", client.local, via_host=f"localhost:{client.local[1]}", rport=False)
        )
        response = client.recv()
    finally:
        client.close()
    via = header(response, "Via")
    assert via is not None and f"received={HOST}" in via and "rport" not in via


def test_stun_binding_request_gets_xor_mapped_address(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        transaction_id = os.urandom(12)
        client.send(stun.build_binding_request(transaction_id))
        response = client.recv()
    finally:
        client.close()
    message_type, _, cookie = struct.unpack_from("!HHI", response)
    assert message_type == stun.BINDING_SUCCESS
    assert cookie == stun.MAGIC_COOKIE
    assert response[8:20] == transaction_id
    assert stun.parse_xor_mapped_address(response) == client.local


def test_malformed_request_with_a_via_gets_400_with_a_warning(edge: EdgeProcess) -> None:
    client = UdpClient(edge)
    try:
        bad = sip_request("OPTIONS", client.local).replace(b"CSeq: 1 OPTIONS", b"CSeq: 1 INVITE")
        client.send(bad)
        response = client.recv()
        # Junk without anything to address an answer to is dropped.
        client.send(b"NOT SIP AT ALL\r\n\r\n")
        assert client.recv_none(0.3)
    finally:
        client.close()
    assert status_of(response) == 400
    assert (header(response, "Warning") or "").startswith("399 ")


def test_health_port_says_the_process_is_alive(edge: EdgeProcess) -> None:
    with socket.create_connection((HOST, edge.health_port), timeout=2) as sock:
        sock.sendall(b"GET /live HTTP/1.1\r\n\r\n")
        answer = sock.recv(256)
    assert answer.startswith(b"HTTP/1.1 200 OK\r\n") and answer.endswith(b"\r\n\r\nalive\n")
