"""Property tests: whatever arrives on the wire, the parser returns or raises SipParseError,
quickly, and a message it accepts survives a serialise/parse round trip."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sip_edge.sip.digest import DigestHeaderError, parse_authorization
from sip_edge.sip.message import Request, SipParseError, parse_name_addr, parse_uri, parse_via
from sip_edge.sip.parsing import parse_message, stream_frame_length, verdict

TORTURE = sorted((Path(__file__).parent / "rfc4475").glob("*.dat"))
SEEDS = [path.read_bytes() for path in TORTURE]
# Bytes that steer the parser into its interesting branches.
ALPHABET = b'\r\n \t:;,<>"\\@=?%[]/SIPviaVtfmli0123456789'

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parse_or_reject(data: bytes) -> None:
    try:
        message = parse_message(data)
    except SipParseError as exc:
        assert isinstance(exc.reason, str) and exc.reason
        if exc.partial is not None:
            assert isinstance(exc.partial, Request)
        return
    # Accepted messages expose their core fields without further errors and round-trip.
    _ = (message.call_id, message.cseq, message.vias, message.from_, message.to)
    again = parse_message(message.to_bytes())
    assert again.to_bytes() == message.to_bytes()


@FAST
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    parse_or_reject(data)
    verdict(data)


@FAST
@given(st.lists(st.sampled_from(list(ALPHABET)), max_size=400).map(bytes))
def test_random_sip_alphabet(data: bytes) -> None:
    parse_or_reject(b"INVITE sip:a@b SIP/2.0\r\n" + data)


@FAST
@given(st.sampled_from(SEEDS), st.data())
def test_mutated_torture_messages(seed: bytes, data: st.DataObject) -> None:
    buffer = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(buffer)))
        action = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        byte = data.draw(st.sampled_from([*list(ALPHABET), 0, 255]))
        if action == "flip" and position < len(buffer):
            buffer[position] = byte
        elif action == "insert":
            buffer.insert(position, byte)
        elif position < len(buffer):
            del buffer[position]
    parse_or_reject(bytes(buffer))
    with contextlib.suppress(SipParseError):
        stream_frame_length(bytes(buffer))


@FAST
@given(st.sampled_from(SEEDS), st.integers(0, 2000))
def test_truncations(seed: bytes, cut: int) -> None:
    parse_or_reject(seed[: min(cut, len(seed))])


@FAST
@given(st.text(max_size=200))
def test_value_parsers(text: str) -> None:
    for parser in (parse_uri, parse_name_addr, parse_via):
        with contextlib.suppress(SipParseError):
            parser(text)
    with contextlib.suppress(DigestHeaderError):
        parse_authorization(text)


def test_pathological_inputs_stay_linear() -> None:
    # Inputs shaped to trigger quadratic scans or regex backtracking in naive parsers.
    head = b"INVITE sip:a@b SIP/2.0\r\n"
    cases = [
        head + b"To: " + b'"\\' * 20000 + b"\r\n\r\n",
        head + b"Via: SIP/2.0/UDP h" + b";" * 30000 + b"\r\n\r\n",
        head + b"Contact: " + b"<sip:a@b>," * 3000 + b"\r\n\r\n",
        head + b"X: a\r\n" + b" b\r\n" * 6000 + b"\r\n",
        b"\r\n" * 30000,
        head + b"From: " + b"%" * 30000 + b"\r\n\r\n",
    ]
    for case in cases:
        started = time.perf_counter()
        parse_or_reject(case[:65536])
        assert time.perf_counter() - started < 0.5
