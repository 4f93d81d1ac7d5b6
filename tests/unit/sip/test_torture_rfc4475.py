"""RFC 4475 section 3 torture messages: each file gets the verdict the RFC asks for.

VALID messages must parse; REJECT_* ones must raise SipParseError with a reason and a partial
request good enough to address the 400/505; DROP is for responses (never answered).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from sip_edge.sip.building import make_response
from sip_edge.sip.message import Request, Response, SipParseError, SipUri
from sip_edge.sip.parsing import VerdictKind, parse_message, verdict

HERE = Path(__file__).parent / "rfc4475"

VALID, R400, R505, DROP = (
    VerdictKind.VALID,
    VerdictKind.REJECT_400,
    VerdictKind.REJECT_505,
    VerdictKind.DROP,
)

EXPECTED: dict[str, VerdictKind] = {
    # 3.1.1 valid messages
    "wsinv": VALID,
    "intmeth": VALID,
    "esc01": VALID,
    "escnull": VALID,
    "esc02": VALID,
    "lwsdisp": VALID,
    "longreq": VALID,
    "dblreq": VALID,
    "semiuri": VALID,
    "transports": VALID,
    "mpart01": VALID,
    "unreason": VALID,
    "noreason": VALID,
    # 3.1.2 invalid messages
    "badinv01": R400,
    "clerr": R400,
    "ncl": R400,
    "scalar02": R400,
    "scalarlg": DROP,
    "quotbal": R400,
    "ltgtruri": R400,
    "lwsruri": R400,
    "lwsstart": R400,
    "trws": R400,
    "escruri": R400,
    "baddate": R400,
    "regbadct": R400,
    "badaspec": R400,
    "baddn": R400,
    "badvers": R505,
    "mismatch01": R400,
    "mismatch02": R400,
    "bigcode": DROP,
    # 3.2 transaction layer: syntactically fine, the transaction layer decides
    "badbranch": VALID,
    # 3.3 application layer: parse, then the application answers (416, 420, 415, 483, ...)
    "insuf": R400,
    "unkscm": VALID,
    "novelsc": VALID,
    "unksm2": VALID,
    "bext01": VALID,
    "invut": VALID,
    "regaut01": VALID,
    "multi01": R400,
    "mcl01": R400,
    "bcast": VALID,
    "zeromf": VALID,
    "cparam01": VALID,
    "cparam02": VALID,
    "regescrt": VALID,
    "sdp01": VALID,
    # 3.4 backward compatibility
    "inv2543": VALID,
}


def load(name: str) -> bytes:
    return (HERE / f"{name}.dat").read_bytes()


def test_every_message_of_section_3_is_present() -> None:
    assert sorted(path.stem for path in HERE.glob("*.dat")) == sorted(EXPECTED)


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_verdict(name: str, expected: VerdictKind) -> None:
    result = verdict(load(name))
    assert result.kind is expected, result.reason
    if expected is VALID:
        assert isinstance(result.message, Request | Response)
        return
    assert result.reason
    if expected is DROP:
        assert result.message is None
        return
    partial = result.message
    assert isinstance(partial, Request)
    # Given the partial request, When the 400/505 is built, Then it is addressable and serialises.
    response = make_response(partial, result.status or 400, result.reason)
    wire = response.to_bytes()
    assert wire.startswith(f"SIP/2.0 {result.status} ".encode())
    assert response.top_via.host == partial.top_via.host
    assert response.headers.get("CSeq") == partial.headers.get("CSeq")


@pytest.mark.parametrize("name", sorted(name for name, kind in EXPECTED.items() if kind is not VALID))
def test_invalid_messages_raise_sip_parse_error(name: str) -> None:
    with pytest.raises(SipParseError) as info:
        parse_message(load(name))
    assert info.value.reason


def test_wsinv_facts() -> None:
    msg = parse_message(load("wsinv"))
    assert isinstance(msg, Request)
    assert msg.method == "INVITE"
    assert msg.call_id == "wsinv.ndaksdj@192.0.2.1"
    assert msg.cseq == (9, "INVITE")
    assert msg.max_forwards == 68
    assert msg.from_.display_name == 'J Rosenberg \\"'
    assert msg.from_.tag == "98asjd8"
    assert msg.to.tag == "1918181833n"
    assert [(via.transport, via.host, via.branch) for via in msg.vias] == [
        ("UDP", "192.0.2.2", "390skdjuw"),
        ("TCP", "spindle.example.com", "z9hG4bK9ikj8"),
        ("UDP", "192.168.255.111", "z9hG4bK30239"),
    ]
    assert msg.headers.get("Subject") == ""
    assert msg.headers.get("NewFangledHeader") == "newfangled value continued newfangled value"
    assert msg.headers.get_all("UnknownHeaderWithUnusualValue") == [";;,,;;,;"]
    (contact,) = msg.contacts
    assert contact.display_name == 'Quoted string ""'
    assert contact.params == {"newparam": "newvalue", "secondparam": None, "q": "0.33"}
    assert len(msg.body) == 150
    assert msg.sip_uri.params == {"unknownparam": None}


def test_intmeth_facts() -> None:
    msg = parse_message(load("intmeth"))
    assert isinstance(msg, Request)
    assert msg.method == "!interesting-Method0123456789_*+`.%indeed'~"
    uri = msg.sip_uri
    assert uri.user == "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"
    assert uri.password == "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"
    assert msg.to.display_name == "BEL:\x07 NUL:\x00 DEL:\x7f"
    assert msg.from_.display_name == "token1~` token2'+_ token3*%!.-"
    assert msg.from_.tag == "_token~1'+`*%!-."
    assert msg.call_id == "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    assert msg.top_via.branch == "z9hG4bK-.!%66*_+`'~"
    # byte-exact round trip of an unknown method and UTF-8 header value
    assert b"extensionHeader-!.%*+_`'~: \xef\xbb\xbf" in msg.to_bytes()


def test_escaped_uris_stay_escaped() -> None:
    esc01 = parse_message(load("esc01"))
    assert isinstance(esc01, Request)
    assert esc01.sip_uri.user == "sips%3Auser%40example.com"
    (contact,) = esc01.contacts
    assert isinstance(contact.uri, SipUri)
    assert contact.uri.params == {"%6c%72": None, "n%61me": "v%61lue%25%34%31"}
    escnull = parse_message(load("escnull"))
    assert [str(c.uri) for c in escnull.contacts] == [
        "sip:%00@host5.example.com",
        "sip:%00%00@host5.example.com",
    ]


def test_esc02_percent_is_not_an_escape_in_names() -> None:
    msg = parse_message(load("esc02"))
    assert isinstance(msg, Request)
    assert msg.method == "RE%47IST%45R"
    assert len(msg.contacts) == 2
    assert msg.headers.get("C%6Fntact") == "<sip:alias2@host2.example.com>"
    assert msg.to.display_name == "%Z%45"


def test_longreq_keeps_all_34_vias_in_order() -> None:
    msg = parse_message(load("longreq"))
    assert len(msg.vias) == 34
    assert msg.vias[0].host == "sip33.example.com"
    assert msg.vias[-1].received == "192.0.2.5"
    assert msg.to.sip_uri is not None and msg.to.sip_uri.port == 6000


def test_dblreq_ignores_trailing_octets() -> None:
    msg = parse_message(load("dblreq"))
    assert isinstance(msg, Request)
    assert msg.method == "REGISTER"
    assert msg.body == b""


def test_mpart01_binary_body_is_framed_by_content_length() -> None:
    msg = parse_message(load("mpart01"))
    assert len(msg.body) == 553
    assert msg.body.endswith(b"--7a9cbec02ceef655--\r\n")
    assert msg.top_via.rport == ""
    assert msg.to_bytes().endswith(msg.body)


def test_unreason_keeps_utf8_reason_phrase() -> None:
    msg = parse_message(load("unreason"))
    assert isinstance(msg, Response)
    assert msg.status == 200
    assert msg.reason.startswith("= 2**3 * 5**2 но сто")
    noreason = parse_message(load("noreason"))
    assert isinstance(noreason, Response)
    assert (noreason.status, noreason.reason) == (100, "")


def test_unknown_schemes_are_kept_as_text() -> None:
    unksm2 = parse_message(load("unksm2"))
    assert unksm2.to.uri == "isbn:2983792873"
    assert unksm2.from_.uri == "http://www.example.com"
    novelsc = parse_message(load("novelsc"))
    assert isinstance(novelsc, Request)
    assert novelsc.uri == "soap.beep://192.0.2.103:3002"


def test_inv2543_without_max_forwards_or_branch_is_accepted() -> None:
    msg = parse_message(load("inv2543"))
    assert msg.max_forwards is None
    assert msg.top_via.branch is None


def test_badvers_is_answered_505() -> None:
    result = verdict(load("badvers"))
    assert result.status == 505


@pytest.mark.parametrize(("name", "expected"), sorted(EXPECTED.items()))
def test_verdict_is_the_same_when_the_values_were_seen_before(name: str, expected: VerdictKind) -> None:
    # Values that passed their check are recognised the second time (parsing._CheckedValues):
    # the verdict and its reason must not change.
    first, second = verdict(load(name)), verdict(load(name))
    assert (second.kind, second.reason) == (first.kind, first.reason)
    assert second.kind is expected
