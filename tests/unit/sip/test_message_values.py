"""Header multi-map, URIs, name-addr and Via values, and response construction."""

from __future__ import annotations

import pytest

from sip_edge.sip.building import generate_branch, generate_tag, make_response
from sip_edge.sip.message import (
    Headers,
    Request,
    SipParseError,
    SipUri,
    Via,
    parse_name_addr,
    parse_uri,
    parse_via,
)
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.uri import split_commas, unbracket, unquote

INVITE = (
    b"INVITE sip:bob@example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1, SIP/2.0/UDP 192.0.2.1:5062;branch=z9hG4bKc1\r\n"
    b"Via: SIP/2.0/TCP 192.0.2.9;branch=z9hG4bKz\r\n"
    b"Max-Forwards: 69\r\n"
    b"To: Bob <sip:bob@example.com>\r\n"
    b"From: Alice <sip:alice@example.com>;tag=1928301774\r\n"
    b"Call-ID: a84b4c76e66710\r\n"
    b"CSeq: 314159 INVITE\r\n"
    b"Timestamp: 54\r\n"
    b"Contact: <sip:alice@192.0.2.1:5062>\r\n"
    b"Content-Type: application/sdp\r\n"
    b"Content-Length: 4\r\n\r\nv=0\n"
)


def test_headers_multimap() -> None:
    headers = Headers([("v", "SIP/2.0/UDP a"), ("X-Custom", "1, 2"), ("VIA", "SIP/2.0/UDP b, SIP/2.0/UDP c")])
    assert headers.get("via") == "SIP/2.0/UDP a"
    assert headers.get_all("Via") == ["SIP/2.0/UDP a", "SIP/2.0/UDP b", "SIP/2.0/UDP c"]
    assert headers.get_all("x-custom") == ["1, 2"]
    assert "V" in headers and "Route" not in headers and 5 not in headers
    headers.add("Via", "SIP/2.0/UDP top", first=True)
    assert headers.items()[0] == ("Via", "SIP/2.0/UDP top")
    headers.set("Via", "SIP/2.0/UDP only")
    assert headers.get_all("Via") == ["SIP/2.0/UDP only"]
    assert headers.items()[0] == ("Via", "SIP/2.0/UDP only")
    headers.remove("v")
    assert headers.get("Via") is None
    assert headers.items() == [("X-Custom", "1, 2")]


def test_headers_split_respects_quotes_and_brackets() -> None:
    headers = Headers([("Contact", '"Smith, John" <sip:j@a;x="1,2">;q=0.5, <sip:k@b>')])
    assert headers.get_all("Contact") == ['"Smith, John" <sip:j@a;x="1,2">;q=0.5', "<sip:k@b>"]
    assert headers.get_all("Date") == []
    headers.add("Date", "Sat, 13 Nov 2010 23:29:00 GMT")
    assert headers.get_all("Date") == ["Sat, 13 Nov 2010 23:29:00 GMT"]


def test_replace_and_pop_first_value() -> None:
    msg = parse_message(INVITE)
    top = msg.top_via
    top.params["received"] = "198.51.100.7"
    msg.set_top_via(top)
    assert msg.vias[0].received == "198.51.100.7"
    assert len(msg.vias) == 3
    assert (
        msg.headers.pop_first("Via") == "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp1;received=198.51.100.7"
    )
    assert [v.host for v in msg.vias] == ["192.0.2.1", "192.0.2.9"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sip:alice@atlanta.com", SipUri("sip", "alice", None, "atlanta.com")),
        (
            "sips:alice:secretword@atlanta.com:5061;transport=tcp;lr",
            SipUri("sips", "alice", "secretword", "atlanta.com", 5061, {"transport": "tcp", "lr": None}),
        ),
        (
            "SIP:+1-212-555-1212:1234@gateway.com;user=phone",
            SipUri("sip", "+1-212-555-1212", "1234", "gateway.com", None, {"user": "phone"}),
        ),
        ("sip:[2001:db8::1]:5060", SipUri("sip", None, None, "[2001:db8::1]", 5060)),
        (
            "sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com&priority=urgent",
            SipUri(
                "sip",
                None,
                None,
                "atlanta.com",
                None,
                {"method": "REGISTER"},
                {"to": "alice%40atlanta.com", "priority": "urgent"},
            ),
        ),
    ],
)
def test_parse_uri(text: str, expected: SipUri) -> None:
    uri = parse_uri(text)
    assert uri == expected
    assert parse_uri(str(uri)) == uri


@pytest.mark.parametrize(
    "text",
    [
        "tel:+1",
        "sip:",
        "sip:user@",
        "sip:host:port",
        "sip:[::1",
        "sip:a b@host",
        "sip:host:70000",
        "sip:%zz@host",
        "sip:@host",
    ],
)
def test_parse_uri_rejects(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_uri(text)


def test_name_addr_forms() -> None:
    addr = parse_name_addr('"Alice \\"A\\" Smith" <sip:alice@example.com;transport=tcp>;tag=88sja8x;q=0.7')
    assert addr.display_name == 'Alice "A" Smith'
    assert addr.tag == "88sja8x"
    assert addr.sip_uri is not None and addr.sip_uri.transport == "tcp"
    assert parse_name_addr(str(addr)) == addr
    spec = parse_name_addr("sip:alice@example.com;tag=1")
    assert spec.display_name is None and spec.tag == "1"
    assert spec.sip_uri is not None and spec.sip_uri.params == {}
    tel = parse_name_addr("<tel:+15551234567;phone-context=example.com>;tag=9")
    assert tel.uri == "tel:+15551234567;phone-context=example.com" and tel.tag == "9"
    assert parse_name_addr("Bob <sip:bob@b.com>").display_name == "Bob"


@pytest.mark.parametrize(
    "text",
    [
        '"unterminated <sip:a@b>',
        "<sip:a@b",
        "sip:a@b?x=y",
        "Bad, Name <sip:a@b>",
        "<sip:a@b>;;",
        "<sip:a@b> junk",
        "",
    ],
)
def test_name_addr_rejects(text: str) -> None:
    with pytest.raises(SipParseError):
        parse_name_addr(text)


def test_via_values() -> None:
    (via,) = parse_via("SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK1;rport;received=2001:db8::9")
    assert via == Via(
        "SIP/2.0",
        "UDP",
        "[2001:db8::9]",
        5070,
        {"branch": "z9hG4bK1", "rport": None, "received": "2001:db8::9"},
    )
    assert via.rport == "" and via.sent_by == "[2001:db8::9]:5070"
    assert unbracket(via.host) == "2001:db8::9"
    assert str(via) == "SIP/2.0/UDP [2001:db8::9]:5070;branch=z9hG4bK1;rport;received=2001:db8::9"
    (lower,) = parse_via("sip/2.0/tls host;BRANCH=z9hG4bKx")
    assert (lower.protocol, lower.transport, lower.branch) == ("SIP/2.0", "TLS", "z9hG4bKx")
    for bad in ("SIP/2.0/UDP", "SIP/2.0 host", "SIP/2.0/UDP host;", "SIP/2.0/UDP host,", "SIP/2.0/UDP ho st"):
        with pytest.raises(SipParseError):
            parse_via(bad)


def test_split_commas_and_unquote() -> None:
    assert split_commas('a, "b,c", <d,e>') == ["a", '"b,c"', "<d,e>"]
    assert unquote('"a\\"b"') == 'a"b'
    assert unquote("token") == "token"


def test_make_response_copies_rfc3261_8_2_6_headers() -> None:
    request = parse_message(INVITE)
    assert isinstance(request, Request)
    trying = make_response(request, 100)
    assert trying.reason == "Trying"
    assert trying.headers.get("Timestamp") == "54"
    assert trying.to.tag is None
    ok = make_response(
        request, 200, to_tag="314", headers=[("Contact", "<sip:bob@192.0.2.4>")], body=b"v=0\r\n"
    )
    assert ok.reason == "OK"
    assert ok.headers.get_lines("Via") == request.headers.get_lines("Via")
    assert [v.host for v in ok.vias] == ["proxy.example.com", "192.0.2.1", "192.0.2.9"]
    assert ok.to.tag == "314" and ok.from_.tag == "1928301774"
    assert ok.call_id == request.call_id and ok.cseq == (314159, "INVITE")
    assert "Timestamp" not in ok.headers
    assert ok.headers.get("Content-Type") is None
    wire = ok.to_bytes()
    assert wire.startswith(b"SIP/2.0 200 OK\r\n")
    assert b"Content-Length: 5\r\n\r\nv=0\r\n" in wire
    assert parse_message(wire).to.tag == "314"
    # a To that already has a tag keeps it
    tagged = parse_message(wire.replace(b"SIP/2.0 200 OK", b"INVITE sip:x@y SIP/2.0"))
    assert isinstance(tagged, Request)
    again = make_response(tagged, 200, to_tag="x")
    assert again.to.tag == "314"
    assert make_response(request, 499).reason == "Client Error"


def test_built_request_serialises_with_content_length() -> None:
    headers = Headers()
    headers.add("Via", f"SIP/2.0/UDP 192.0.2.1;branch={generate_branch()}")
    headers.add("From", f"<sip:a@example.com>;tag={generate_tag()}")
    headers.add("To", "<sip:b@example.com>")
    headers.add("Call-ID", "c1")
    headers.add("CSeq", "1 OPTIONS")
    headers.add("Content-Length", "999")
    request = Request("OPTIONS", "sip:b@example.com", "SIP/2.0", headers, b"")
    wire = request.to_bytes()
    assert wire.count(b"Content-Length") == 1
    assert wire.endswith(b"Content-Length: 0\r\n\r\n")
    parsed = parse_message(wire)
    assert parsed.top_via.branch is not None and parsed.top_via.branch.startswith("z9hG4bK")
    assert generate_tag() != generate_tag()
