"""REFER's Refer-To and Replaces (RFC 3515, RFC 3891) and the sipfrag progress of a transfer."""

from __future__ import annotations

import pytest

from sip_edge.sip.errors import SipParseError
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.refer import notify_headers, parse_refer_to, parse_replaces, sipfrag


def _refer(*refer_to: str) -> Request:
    lines = [
        "REFER sip:d-00aa.a@127.0.0.1:5060 SIP/2.0",
        "Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1",
        "From: <sip:agent@example.test>;tag=a1",
        "To: <sip:caller@example.test>;tag=b2",
        "Call-ID: refer-1",
        "CSeq: 3 REFER",
        "Max-Forwards: 70",
        *(f"Refer-To: {value}" for value in refer_to),
        "Content-Length: 0",
        "",
        "",
    ]
    message = parse_message("\r\n".join(lines).encode())
    assert isinstance(message, Request)
    return message


def test_a_blind_refer_names_the_user_and_host_and_no_dialog_to_replace() -> None:
    target = parse_refer_to(_refer("<sip:queue-sales@switchboard.test>"))
    assert target.user == "queue-sales"
    assert target.host == "switchboard.test"
    assert target.replaces is None
    assert target.uri == "sip:queue-sales@switchboard.test"


def test_an_attended_refer_carries_the_escaped_replaces_of_the_consult_dialog() -> None:
    target = parse_refer_to(
        _refer("<sip:bob@10.0.0.2:5062?Replaces=consult-7%40host%3Bto-tag%3Dt9%3Bfrom-tag%3Df3>")
    )
    assert target.replaces is not None
    assert target.replaces.call_id == "consult-7@host"
    assert (target.replaces.to_tag, target.replaces.from_tag) == ("t9", "f3")
    assert target.uri == "sip:bob@10.0.0.2:5062"  # the headers are not part of the target


def test_a_number_in_the_user_part_is_unescaped() -> None:
    assert parse_refer_to(_refer("<sip:%2B14155550100@carrier.test>")).user == "+14155550100"


@pytest.mark.parametrize(
    "values",
    [(), ("<sip:a@x>", "<sip:b@y>"), ("<tel:+14155550100>",)],
    ids=["missing", "two", "not-sip"],
)
def test_a_refer_without_exactly_one_sip_refer_to_is_refused(values: tuple[str, ...]) -> None:
    with pytest.raises(SipParseError):
        parse_refer_to(_refer(*values))


def test_replaces_needs_both_tags() -> None:
    with pytest.raises(SipParseError):
        parse_replaces("abc;to-tag=1")
    assert parse_replaces("abc; from-tag=2 ;to-tag=1;early-only").early_only


def test_progress_keeps_the_subscription_and_a_final_status_ends_it() -> None:
    assert sipfrag(100) == b"SIP/2.0 100 Trying\r\n"
    assert sipfrag(486) == b"SIP/2.0 486 Busy Here\r\n"
    trying = dict(notify_headers(100))
    done = dict(notify_headers(200, refer_cseq=3))
    assert trying["Subscription-State"].startswith("active")
    assert done["Subscription-State"].startswith("terminated")
    assert done["Event"] == "refer;id=3"
    assert done["Content-Type"].startswith("message/sipfrag")
