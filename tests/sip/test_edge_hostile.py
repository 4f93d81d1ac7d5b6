"""The edge process against hostile packets over real UDP on loopback: reflection, RFC 4475.

Linux routes all of 127/8 over lo, so a listener on 127.0.0.2 stands for a third party a
spoofed Via would aim the edge's responses at.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.sip.conftest import HOST, EdgeProcess, UdpClient, header, status_of

THIRD_PARTY = "127.0.0.2"
TORTURE = Path(__file__).resolve().parents[1] / "unit" / "sip" / "rfc4475"


def options_with_via(via: str) -> bytes:
    return (
        "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n"
        f"Via: {via}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@127.0.0.1>;tag={os.urandom(4).hex()}\r\n"
        "To: <sip:edge@127.0.0.1>\r\n"
        f"Call-ID: {os.urandom(8).hex()}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()


@pytest.fixture
def sender_and_third_party() -> Iterator[tuple[socket.socket, socket.socket]]:
    """A sender on 127.0.0.1:P and a third party listening on 127.0.0.2:P (the same port)."""
    third = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    third.bind((THIRD_PARTY, 0))
    port = third.getsockname()[1]
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sender.bind((HOST, port))
    for sock in (sender, third):
        sock.settimeout(2.0)
    yield sender, third
    sender.close()
    third.close()


def nothing_arrives(sock: socket.socket, wait: float) -> bool:
    sock.settimeout(wait)
    try:
        sock.recv(65535)
    except TimeoutError:
        return True
    return False


@pytest.mark.parametrize(
    "params",
    [
        f";received={THIRD_PARTY}",  # the host is the source and there is no rport: was kept
        f";maddr={THIRD_PARTY}",  # was honoured for responses
        f";maddr={THIRD_PARTY};received={THIRD_PARTY}",
        f";received={THIRD_PARTY};rport",
    ],
)
def test_a_via_naming_a_third_party_cannot_aim_the_answer_at_it(
    edge: EdgeProcess, sender_and_third_party: tuple[socket.socket, socket.socket], params: str
) -> None:
    sender, third = sender_and_third_party
    port = sender.getsockname()[1]
    # Given an OPTIONS from 127.0.0.1:P whose top Via claims 127.0.0.2,
    request = options_with_via(f"SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{os.urandom(6).hex()}{params}")
    # When it reaches the edge,
    sender.sendto(request, (HOST, edge.port))
    # Then the 200 arrives at the sender, no larger than a plain answer would be,
    response = sender.recv(65535)
    assert status_of(response) == 200
    via = header(response, "Via") or ""
    assert THIRD_PARTY not in via.split("maddr=")[0]  # received, if any, names the real source
    # and nothing at all reaches the third party.
    assert nothing_arrives(third, 0.5)


def test_rfc4475_messages_get_their_verdict_from_the_live_edge(edge: EdgeProcess) -> None:
    """scalar02 (huge CSeq): 400 before anything looks at who sent it; scalarlg and bigcode are
    malformed responses: dropped, nothing answered anywhere."""
    expected = {"scalar02": 400, "scalarlg": None, "bigcode": None, "badvers": 505, "ncl": 400}
    seen: dict[str, int | None] = {}
    for name in expected:
        client = UdpClient(edge, timeout=1.0)
        try:
            client.send((TORTURE / f"{name}.dat").read_bytes())
            try:
                seen[name] = status_of(client.recv())
            except TimeoutError:
                seen[name] = None
        finally:
            client.close()
    assert seen == expected
