"""Values checked once: every message is still validated in full, but From/To/Contact values and
Request-URIs seen before are recognised instead of parsed again, and parsed only when read."""

from __future__ import annotations

import pytest

from sip_edge.sip import message as message_module
from sip_edge.sip import parsing as parsing_module
from sip_edge.sip.building import make_response
from sip_edge.sip.message import Request, SipParseError
from sip_edge.sip.parsing import VerdictKind, parse_message, verdict
from sip_edge.sip.uri import NameAddr

REGISTER = (
    b"REGISTER sip:checked.example.com SIP/2.0\r\n"
    b"Via: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKchecked1;rport\r\n"
    b"Max-Forwards: 70\r\n"
    b'To: "Agent 2001" <sip:2001@checked.example.com>\r\n'
    b"From: <sip:2001@checked.example.com>;tag=77\r\n"
    b"Call-ID: checked-1@192.0.2.20\r\n"
    b"CSeq: 1 REGISTER\r\n"
    b"Contact: <sip:2001@192.0.2.20:5060>;expires=600, <sip:2001@192.0.2.21>\r\n"
    b"Content-Length: 0\r\n"
    b"\r\n"
)


def replace(old: bytes, new: bytes, message: bytes = REGISTER) -> bytes:
    assert old in message
    return message.replace(old, new)


@pytest.fixture(autouse=True)
def fresh_stores() -> None:
    # Given: no value has been seen before each test.
    for store in (
        parsing_module._CHECKED_ADDRESSES,
        parsing_module._CHECKED_CONTACTS,
        parsing_module._CHECKED_REQUEST_URIS,
    ):
        store.clear()


def test_a_value_seen_before_is_not_parsed_again_until_it_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    first = parse_message(REGISTER)
    calls: list[str] = []
    real = message_module.parse_name_addr

    def counting(text: str) -> NameAddr:
        calls.append(text)
        return real(text)

    # Validation (parsing) and the lazy reads (the message classes) both parse addresses.
    monkeypatch.setattr(message_module, "parse_name_addr", counting)
    monkeypatch.setattr(parsing_module, "parse_name_addr", counting)
    # When the same values come again, validation recognises them,
    second = parse_message(REGISTER.replace(b"z9hG4bKchecked1", b"z9hG4bKchecked2"))
    assert calls == []
    # and reading them parses them then, to the same values as the first time.
    assert isinstance(second, Request)
    assert second.to == first.to
    assert second.from_ == first.from_
    assert second.contacts == first.contacts
    assert len(calls) == 4  # To, From, two Contacts
    assert second.to.display_name == "Agent 2001"


@pytest.mark.parametrize(
    ("old", "new", "reason"),
    [
        (b"To: ", b"To: <sip:2001@checked.example.com> junk\r\nX-To: ", "after '>'"),
        (b"From: <sip:2001@checked.example.com>;tag=77", b"From: sip:2001@checked.example.com?x", "enclosed"),
        (b"Contact: <sip:2001@192.0.2.20:5060>", b"Contact: <sip:2001@192.0.2.20:99999>", "port"),
        (b"REGISTER sip:checked.example.com", b"REGISTER sip:checked.example.com?Route=x", "Request-URI"),
    ],
)
def test_a_malformed_value_is_rejected_however_often_it_comes(old: bytes, new: bytes, reason: str) -> None:
    # Given the valid message was seen first,
    assert verdict(REGISTER).kind is VerdictKind.VALID
    bad = replace(old, new)
    for _ in range(2):
        # When a malformed value comes, again and again, Then it is answered 400 every time.
        result = verdict(bad)
        assert result.kind is VerdictKind.REJECT_400
        assert reason in result.reason
        with pytest.raises(SipParseError):
            parse_message(bad)
    assert verdict(REGISTER).kind is VerdictKind.VALID


def test_a_value_valid_for_one_grammar_does_not_pass_for_another() -> None:
    # A two-element Contact list is a valid Contact value but not a valid To.
    two = b"<sip:2001@192.0.2.20:5060>;expires=600, <sip:2001@192.0.2.21>"
    assert verdict(REGISTER).kind is VerdictKind.VALID
    result = verdict(replace(b'"Agent 2001" <sip:2001@checked.example.com>', two))
    assert result.kind is VerdictKind.REJECT_400


def test_wildcard_contact_needs_to_be_alone_whatever_was_seen() -> None:
    wildcard = replace(
        b"Contact: <sip:2001@192.0.2.20:5060>;expires=600, <sip:2001@192.0.2.21>", b"Contact: *"
    )
    for _ in range(2):
        message = parse_message(wildcard)
        assert message.is_wildcard_contact and message.contacts == []
    mixed = replace(b"Contact: *", b"Contact: *\r\nContact: <sip:a@192.0.2.22>", wildcard)
    assert verdict(mixed).kind is VerdictKind.REJECT_400


def test_checked_values_are_bounded_and_keep_those_in_use() -> None:
    store = parsing_module._CheckedValues(2)
    store.add("a")
    store.add("b")
    store.add("c")  # the first generation is full: a and b become the previous one
    assert "a" in store  # seen again: kept in the current generation
    store.add("d")  # full again: the previous generation (b) is dropped
    assert "b" not in store
    assert {"a", "c", "d"} <= {value for value in "abcd" if value in store}


def test_responses_copy_the_core_headers_in_order_with_full_names() -> None:
    compact = (
        b"OPTIONS sip:checked.example.com SIP/2.0\r\n"
        b"v: SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.30;branch=z9hG4bKb\r\n"
        b"Via: SIP/2.0/UDP 192.0.2.40;branch=z9hG4bKc\r\n"
        b"i: compact@192.0.2.20\r\n"
        b"t: <sip:2001@checked.example.com>\r\n"
        b"CSeq: 9 OPTIONS\r\n"
        b"f: <sip:2002@checked.example.com>;tag=f1\r\n"
        b"Timestamp: 54\r\n"
        b"l: 0\r\n\r\n"
    )
    request = parse_message(compact)
    assert isinstance(request, Request)
    tagged = make_response(request, 200, to_tag="t1", headers=(("Server", "s"),))
    assert tagged.headers.items() == [
        ("Via", "SIP/2.0/UDP 192.0.2.20;branch=z9hG4bKa, SIP/2.0/UDP 192.0.2.30;branch=z9hG4bKb"),
        ("Via", "SIP/2.0/UDP 192.0.2.40;branch=z9hG4bKc"),
        ("From", "<sip:2002@checked.example.com>;tag=f1"),
        ("To", "<sip:2001@checked.example.com>;tag=t1"),
        ("Call-ID", "compact@192.0.2.20"),
        ("CSeq", "9 OPTIONS"),
        ("Server", "s"),
    ]
    trying = make_response(request, 100)
    assert (
        trying.headers.get("Timestamp") == "54"
        and trying.headers.get("To") == "<sip:2001@checked.example.com>"
    )
    # A To that has a tag keeps it.
    in_dialog = Request("OPTIONS", "sip:checked.example.com", "SIP/2.0", tagged.headers.copy(), b"")
    again = make_response(in_dialog, 200, to_tag="other")
    assert again.headers.get("To") == "<sip:2001@checked.example.com>;tag=t1"
