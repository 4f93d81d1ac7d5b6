"""host:port as SIP writes it: IPv6 addresses in brackets, and read back to socket addresses."""

from __future__ import annotations

import pytest

from sip_edge.sip.hostport import bracket_host, format_hostport, split_hostport


@pytest.mark.parametrize(
    ("host", "port", "text"),
    [
        ("192.0.2.1", 5060, "192.0.2.1:5060"),
        ("2001:db8::1", 5061, "[2001:db8::1]:5061"),
        ("[2001:db8::1]", 5060, "[2001:db8::1]:5060"),  # already bracketed: not twice
        ("edge.example.com", None, "edge.example.com"),
        ("::1", None, "[::1]"),
    ],
)
def test_format_brackets_ipv6_once_and_omits_a_missing_port(host: str, port: int | None, text: str) -> None:
    assert format_hostport(host, port) == text


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("192.0.2.1:5060", ("192.0.2.1", 5060)),
        ("[2001:db8::1]:5061", ("2001:db8::1", 5061)),
        ("[2001:db8::1]", ("2001:db8::1", None)),
        ("edge.example.com", ("edge.example.com", None)),
        ("2001:db8::1:5060", ("2001:db8::1", 5060)),  # unbracketed, as older bindings were stored
    ],
)
def test_split_reads_back_socket_host_and_port(text: str, parts: tuple[str, int | None]) -> None:
    assert split_hostport(text) == parts


def test_format_then_split_is_the_identity_for_socket_addresses() -> None:
    for host, port in (("198.51.100.7", 40000), ("2001:db8::7", 5062)):
        assert split_hostport(format_hostport(host, port)) == (host, port)
    assert bracket_host("10.0.0.1") == "10.0.0.1"
