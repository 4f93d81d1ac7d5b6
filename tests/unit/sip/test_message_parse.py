"""Parsing SIP messages: grammar corners beyond RFC 4475, limits, and the stream framer."""

from __future__ import annotations

import pytest

from sip_edge.sip.message import MAX_HEADERS, MAX_MESSAGE_SIZE, Request, Response, SipParseError
from sip_edge.sip.parsing import VerdictKind, parse_message, stream_frame_length, verdict

REGISTER = (
    b"REGISTER sip:example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'To: "Agent 1001" <sip:1001@example.com>\r\n'
    b'From: "Agent 1001" <sip:1001@example.com>;tag=456248\r\n'
    b"Call-ID: 843817637684230@998sdasdh09\r\n"
    b"CSeq: 1826 REGISTER\r\n"
    b"Contact: <sip:1001@192.0.2.10:5060;transport=udp>;expires=3600\r\n"
    b"Expires: 3600\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def with_header(line: bytes, message: bytes = REGISTER) -> bytes:
    return message.replace(b"Content-Length: 0\r\n", line + b"\r\nContent-Length: 0\r\n")


def replace(old: bytes, new: bytes, message: bytes = REGISTER) -> bytes:
    assert old in message
    return message.replace(old, new)


def test_typical_register() -> None:
    msg = parse_message(REGISTER)
    assert isinstance(msg, Request)
    assert (msg.method, msg.uri, msg.version) == ("REGISTER", "sip:example.com", "SIP/2.0")
    assert msg.cseq == (1826, "REGISTER")
    assert msg.call_id == "843817637684230@998sdasdh09"
    assert msg.top_via.sent_by == "192.0.2.10:5060"
    assert msg.top_via.rport == ""
    assert msg.from_.tag == "456248"
    assert msg.to.tag is None
    assert msg.to.display_name == "Agent 1001"
    assert msg.max_forwards == 70
    (contact,) = msg.contacts
    assert contact.params == {"expires": "3600"}
    assert contact.sip_uri is not None and contact.sip_uri.transport == "udp"


def test_round_trip_is_stable() -> None:
    msg = parse_message(REGISTER)
    assert msg.to_bytes() == REGISTER
    assert parse_message(msg.to_bytes()).to_bytes() == REGISTER


def test_lf_only_line_ends_and_leading_crlf_are_accepted() -> None:
    msg = parse_message(b"\r\n\r\n" + REGISTER.replace(b"\r\n", b"\n"))
    assert isinstance(msg, Request)
    assert msg.cseq == (1826, "REGISTER")


def test_folded_header_is_unfolded_with_one_space() -> None:
    msg = parse_message(replace(b"Expires: 3600", b"Subject: hello\r\n   world\r\n\tagain"))
    assert msg.headers.get("Subject") == "hello world again"


def test_compact_forms_map_to_full_names() -> None:
    compact = (
        b"REGISTER sip:example.com SIP/2.0\r\n"
        b"v: SIP/2.0/TCP [2001:db8::10]:5070;branch=z9hG4bKabc\r\n"
        b"t: <sip:1001@example.com>\r\n"
        b"f: <sip:1001@example.com>;tag=1\r\n"
        b"i: abc@host\r\n"
        b"CSeq: 1 REGISTER\r\n"
        b"m: <sip:1001@[2001:db8::10]:5070;transport=tcp>\r\n"
        b"k: path, outbound\r\n"
        b"l: 0\r\n\r\n"
    )
    msg = parse_message(compact)
    assert msg.call_id == "abc@host"
    assert msg.top_via.host == "[2001:db8::10]"
    assert msg.top_via.port == 5070
    assert msg.headers.get_all("Supported") == ["path", "outbound"]
    assert msg.contacts[0].sip_uri is not None
    assert msg.contacts[0].sip_uri.host == "[2001:db8::10]"
    assert b"\r\nCall-ID: abc@host\r\n" in msg.to_bytes()


def test_comma_separated_vias_in_one_line() -> None:
    msg = parse_message(
        replace(
            b"Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds;rport",
            b"Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa, SIP/2.0/TCP 192.0.2.2 : 5061 ;branch=z9hG4bKb",
        )
    )
    assert [(v.host, v.port) for v in msg.vias] == [("192.0.2.1", None), ("192.0.2.2", 5061)]


def test_response_parses() -> None:
    data = (
        b"SIP/2.0 401 Unauthorized\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bK1;received=198.51.100.1;rport=6000\r\n"
        b"From: <sip:a@example.com>;tag=1\r\n"
        b"To: <sip:a@example.com>;tag=2\r\n"
        b"Call-ID: x\r\n"
        b"CSeq: 5 REGISTER\r\n"
        b'WWW-Authenticate: Digest realm="example.com", nonce="abc", qop="auth"\r\n'
        b"Content-Length: 0\r\n\r\n"
    )
    msg = parse_message(data)
    assert isinstance(msg, Response)
    assert (msg.status, msg.reason) == (401, "Unauthorized")
    assert msg.top_via.received == "198.51.100.1"
    assert msg.top_via.rport == "6000"
    # auth challenges hold commas that are not list separators
    assert msg.headers.get_all("WWW-Authenticate") == ['Digest realm="example.com", nonce="abc", qop="auth"']


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (replace(b"CSeq: 1826 REGISTER", b"CSeq: 1826 INVITE"), "CSeq method"),
        (replace(b"CSeq: 1826 REGISTER", b"CSeq: abc REGISTER"), "CSeq"),
        (replace(b"CSeq: 1826 REGISTER", b"CSeq: 2147483648 REGISTER"), "CSeq"),
        (replace(b"Content-Length: 0", b"Content-Length: five"), "Content-Length"),
        (replace(b"Content-Length: 0", b"Content-Length: 10"), "Content-Length"),
        (replace(b"Max-Forwards: 70", b"Max-Forwards: 256"), "Max-Forwards"),
        (replace(b"Max-Forwards: 70", b"Max-Forwards: -1"), "Max-Forwards"),
        (replace(b"Call-ID: 843817637684230@998sdasdh09\r\n", b""), "Call-ID"),
        (replace(b"REGISTER sip:example.com SIP/2.0", b"register sip:example.com SIP/2.0"), "CSeq method"),
        (replace(b"To: ", b"To: <sip:x@example.com>\r\nTo: "), "To"),
        (replace(b"Expires: 3600", b"Bad Header: x"), "header name"),
        (replace(b"Expires: 3600", b"NoColonHere"), "colon"),
        (with_header(b"Content-Type: nonsense"), "Content-Type"),
        (replace(b"sip:1001@192.0.2.10:5060", b"sip:1001@192.0.2.10:99999"), "port"),
        (replace(b"REGISTER sip:example.com", b"REGISTER sip:exa mple.com"), "Request-Line"),
    ],
)
def test_invalid_requests_are_answered_400(data: bytes, reason: str) -> None:
    result = verdict(data)
    assert result.kind is VerdictKind.REJECT_400
    assert reason in result.reason
    assert isinstance(result.message, Request)


def test_method_tokens_are_case_sensitive() -> None:
    data = replace(
        b"CSeq: 1826 REGISTER", b"CSeq: 1826 register", replace(b"REGISTER sip:", b"register sip:")
    )
    msg = parse_message(data)
    assert isinstance(msg, Request)
    assert msg.method == "register"  # an unknown method, answered 405/501 by the application


def test_sip_version_is_case_insensitive_but_must_be_2_0() -> None:
    assert verdict(replace(b"SIP/2.0\r\nVia", b"sip/2.0\r\nVia")).kind is VerdictKind.VALID
    assert verdict(replace(b"SIP/2.0\r\nVia", b"SIP/3.0\r\nVia")).kind is VerdictKind.REJECT_505
    assert verdict(replace(b"SIP/2.0\r\nVia", b"HTTP/1.1\r\nVia")).kind is VerdictKind.REJECT_400


def test_garbage_without_headers_is_dropped() -> None:
    for data in (b"", b"\r\n\r\n", b"hello", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", b"\x00\xff" * 10):
        assert verdict(data).kind is VerdictKind.DROP


def test_responses_are_never_answered() -> None:
    data = b"SIP/2.0 200 OK\r\nCall-ID: x\r\n\r\n"
    result = verdict(data)
    assert result.kind is VerdictKind.DROP
    assert "Via" in result.reason


def test_size_limits() -> None:
    with pytest.raises(SipParseError, match="too large"):
        parse_message(REGISTER + b"x" * MAX_MESSAGE_SIZE)
    many = b"".join(b"X-H%d: v\r\n" % n for n in range(MAX_HEADERS + 1))
    with pytest.raises(SipParseError, match="too many"):
        parse_message(with_header(many.rstrip(b"\r\n")))
    with pytest.raises(SipParseError, match="too long"):
        parse_message(with_header(b"X-Long: " + b"a" * 9000))


def test_body_without_content_length_takes_rest_of_datagram() -> None:
    data = replace(b"Content-Length: 0\r\n", b"") + b"hello"
    assert parse_message(data).body == b"hello"


def test_stream_framing() -> None:
    two = (
        REGISTER
        + with_header(b"Content-Type: text/plain").replace(b"Content-Length: 0", b"Content-Length: 5")
        + b"hello"
    )
    first = stream_frame_length(two)
    assert first == len(REGISTER)
    second = stream_frame_length(two[first:])
    assert second == len(two) - first
    assert parse_message(two[first:]).body == b"hello"
    assert stream_frame_length(REGISTER[:-2]) is None
    assert stream_frame_length(two[first:-1]) is None
    assert stream_frame_length(b"\r\n\r\n" + REGISTER) == 4 + len(REGISTER)
    with pytest.raises(SipParseError, match="mandatory"):
        stream_frame_length(replace(b"Content-Length: 0\r\n", b""))
    with pytest.raises(SipParseError):
        stream_frame_length(replace(b"Content-Length: 0", b"Content-Length: -5"))
