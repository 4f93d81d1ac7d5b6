"""The signed offer push both the router and the edge read: what it accepts and what it refuses."""

from __future__ import annotations

import pytest

from contact_center.contracts import offer_push
from sip_edge.sip.parsing import parse_message

KEY = offer_push.push_key("fleet-key-of-16-bytes")
OFFER = {"decision": "connect", "contact_id": "c1", "seat_id": "s1", "merchant_id": "m1", "aor": "sip:a@d",
         "targets": [], "ring_timeout_seconds": 20, "queue_id": "q1"}  # fmt: skip


def _push(key: bytes = KEY, sent_at: int = 1_000) -> tuple[str | None, bytes]:
    data = offer_push.message([OFFER], key, sent_at, task_address="10.0.1.5:5060", sender="10.0.9.2:40000",
                              branch="abc123")  # fmt: skip
    request = parse_message(data)
    return request.headers.get(offer_push.SIGNATURE_HEADER), request.body


def test_a_push_signed_with_the_fleet_key_is_accepted_and_carries_the_offers() -> None:
    header, body = _push()
    assert offer_push.verify(header, body, KEY, 1_003)
    assert offer_push.decode(body) == [OFFER]


def test_a_push_is_refused_when_signed_with_another_key_altered_unsigned_or_stale() -> None:
    header, body = _push(key=offer_push.push_key("another-fleet-key!!"))
    assert not offer_push.verify(header, body, KEY, 1_000)
    header, body = _push()
    assert not offer_push.verify(header, body.replace(b"c1", b"c2"), KEY, 1_000)
    assert not offer_push.verify(None, body, KEY, 1_000)
    assert not offer_push.verify("t=x;sig=00", body, KEY, 1_000)
    assert not offer_push.verify(header, body, KEY, 1_000 + offer_push.MAX_AGE_SECONDS + 1)


def test_the_push_key_is_not_the_fleet_key_itself() -> None:
    # A push signature must never double as a digest nonce or a flow token, both signed with the key.
    assert offer_push.push_key("fleet-key-of-16-bytes") != b"fleet-key-of-16-bytes"
    assert offer_push.push_key("a" * 16) != offer_push.push_key("b" * 16)


@pytest.mark.parametrize("body", [b"[]", b'{"offers": {}}', b'{"offers": [1]}', b"not json"])
def test_a_malformed_push_body_is_an_error(body: bytes) -> None:
    with pytest.raises(ValueError):
        offer_push.decode(body)
