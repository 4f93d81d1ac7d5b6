"""Bencode as rtpengine's ng protocol uses it."""

from __future__ import annotations

import pytest

from sip_edge.media.bencode import BencodeError, decode, encode


def test_a_dictionary_is_written_with_sorted_keys_and_length_prefixed_strings() -> None:
    assert encode({"sdp": "v=0", "command": "offer", "n": 3}) == b"d7:command5:offer1:ni3e3:sdp3:v=0e"


def test_lists_and_nested_dictionaries_round_trip() -> None:
    value = {
        "flags": ["trust address", "port latching"],
        "received from": ["IP4", "192.0.2.1"],
        "x": {"y": -4},
    }
    assert decode(encode(value)) == value


def test_strings_are_counted_in_bytes_not_characters() -> None:
    assert encode("é") == b"2:\xc3\xa9"
    assert decode(b"2:\xc3\xa9") == "é"


def test_bytes_that_are_not_utf8_stay_bytes() -> None:
    assert decode(b"2:\xff\xfe") == b"\xff\xfe"


@pytest.mark.parametrize(
    "data",
    [b"", b"i12", b"5:abc", b"d3:key", b"l1:a", b"x", b"ie", b"d1:ai1ee1:x", b"di1ei2ee"],
)
def test_malformed_input_is_a_bencode_error(data: bytes) -> None:
    with pytest.raises(BencodeError):
        decode(data)


def test_booleans_are_refused_rather_than_sent_as_integers() -> None:
    with pytest.raises(TypeError):
        encode({"flag": True})
