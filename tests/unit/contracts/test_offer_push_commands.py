"""Commands in the offer push's signed MESSAGE: same signature, their own content type and body."""

from __future__ import annotations

import pytest

from contact_center.contracts import offer_push
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message

KEY = offer_push.push_key("k" * 16)


def test_a_command_message_is_signed_as_offers_are_and_decodes_to_its_command() -> None:
    command = {"command": offer_push.TRANSFER, "contact_id": "c1", "target": "q-sales"}
    data = offer_push.command_message(
        command, KEY, 1_800_000_000, task_address="10.0.0.5:5060", sender="10.0.1.9:40000", branch="b" * 24
    )
    request = parse_message(data)
    assert isinstance(request, Request) and request.method == "MESSAGE"
    assert request.headers.get("Content-Type") == offer_push.COMMAND_CONTENT_TYPE
    signature = request.headers.get(offer_push.SIGNATURE_HEADER)
    assert offer_push.verify(signature, request.body, KEY, 1_800_000_001)
    assert not offer_push.verify(signature, request.body, offer_push.push_key("x" * 16), 1_800_000_001)
    assert not offer_push.verify(signature, request.body, KEY, 1_800_000_000 + offer_push.MAX_AGE_SECONDS + 1)
    assert offer_push.decode_command(request.body) == command


@pytest.mark.parametrize("body", [b"[]", b'{"contact_id": "c1"}', b'{"command": 7}', b"not json"])
def test_a_body_that_is_no_command_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        offer_push.decode_command(body)
