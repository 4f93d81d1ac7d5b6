"""Headers: the first-value index `get` reads agrees with the lines after any change."""

from __future__ import annotations

import random

import pytest

from sip_edge.sip.headers import Headers, canonical_name
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message

NAMES = ["Via", "v", "Contact", "m", "To", "Call-ID", "X-Custom", "x-custom"]
VALUES = ["a", "b, c", '"q,r" <sip:x@y>', "d"]


def first_by_scan(headers: Headers, name: str) -> str | None:
    key = canonical_name(name)[0]
    return next((value for entry_key, _, value in headers._entries if entry_key == key), None)


def check(headers: Headers) -> None:
    for name in NAMES:
        assert headers.get(name) == first_by_scan(headers, name)
        assert (name in headers) == (first_by_scan(headers, name) is not None)


def mutate(headers: Headers, rng: random.Random) -> None:
    name, value = rng.choice(NAMES), rng.choice(VALUES)
    operation = rng.randrange(6)
    if operation == 0:
        headers.add(name, value)
    elif operation == 1:
        headers.add(name, value, first=True)
    elif operation == 2:
        headers.set(name, value)
    elif operation == 3:
        headers.remove(name)
    elif operation == 4:
        headers.replace_first(name, value)
    else:
        headers.pop_first(name)


@pytest.mark.parametrize("seed", range(20))
def test_get_agrees_with_the_lines_after_any_sequence_of_changes(seed: int) -> None:
    rng = random.Random(seed)
    parsed = parse_message(
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1, SIP/2.0/UDP g;branch=z9hG4bK2\r\n"
        b"v: SIP/2.0/UDP k;branch=z9hG4bK3\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>\r\nCall-ID: c1\r\n"
        b"CSeq: 1 OPTIONS\r\nX-Custom: one\r\n x\r\nx-custom: two\r\nContent-Length: 0\r\n\r\n"
    )
    assert isinstance(parsed, Request)
    # A folded line reads back unfolded, as the parser stored it.
    assert parsed.headers.get("x-custom") == "one x"
    for headers in (Headers([("Via", "v1"), ("To", "t")]), parsed.headers, parsed.headers.copy()):
        check(headers)
        for _ in range(60):
            mutate(headers, rng)
            check(headers)


def test_forgetting_parsed_forms_keeps_every_value_readable() -> None:
    message = parse_message(
        b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\n"
        b"To: <sip:c@d>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
    message.headers.forget_parsed()
    check(message.headers)
    assert message.headers.get("Call-ID") == "c1" and "CSeq" in message.headers
