"""Reading the digits a caller pressed: rtpengine's DTMF reports and SIP INFO bodies; the label that
sends a media fleet relay's reports of a call to the edge task holding it."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from contact_center.contracts.media_relays import key_report_label
from sip_edge.app.media.anchor import RelayMedia
from sip_edge.app.media.prompts import PromptSet
from sip_edge.app.media.relays import RelayPool
from sip_edge.media.bencode import Value
from sip_edge.media.dtmf import DtmfEvent, DtmfListener, digit_of_info, parse_event
from tests.unit.test_media_relays import FakeRelay

# As rtpengine 10.5's daemon/dtmf.c prints it.
REPORT = (
    b'{"callid":"c-1","source_tag":"caller","source_label":"","tags":["caller","edge"],'
    b'"type":"DTMF","timestamp":1790000000,"source_ip":"127.0.0.1","event":11,"duration":100,"volume":10}'
)


def test_a_report_of_the_relay_names_the_call_the_leg_and_the_key() -> None:
    assert parse_event(REPORT) == DtmfEvent("c-1", "caller", "#", 100)
    assert parse_event(REPORT.replace(b'"event":11', b'"event":3')) == DtmfEvent("c-1", "caller", "3", 100)


def test_what_is_not_a_key_report_is_ignored() -> None:
    assert parse_event(b"not json") is None
    assert parse_event(b"[1, 2]") is None
    assert parse_event(REPORT.replace(b'"type":"DTMF"', b'"type":"RTCP"')) is None
    assert parse_event(REPORT.replace(b'"event":11', b'"event":16')) is None  # flash: not a key


def test_a_sip_info_dtmf_relay_body_gives_its_key() -> None:
    assert digit_of_info("application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n") == "5"
    assert digit_of_info("Application/DTMF-Relay; x=y", b"Signal= *\r\nDuration=160") == "*"
    assert digit_of_info("application/dtmf-relay", b"Signal=11\r\nDuration=160") == "#"
    assert digit_of_info("application/dtmf-relay", b"Signal=E\r\n") is None
    assert digit_of_info("application/dtmf", b"5") is None
    assert digit_of_info(None, b"Signal=5") is None


def test_the_listener_hands_each_call_its_own_keys_and_drops_the_others() -> None:
    async def scenario() -> tuple[list[str], int]:
        listener = DtmfListener()
        keys = listener.digits("c-1")
        listener.datagram_received(REPORT, ("127.0.0.1", 9))
        listener.datagram_received(REPORT.replace(b"c-1", b"c-2"), ("127.0.0.1", 9))
        listener.pressed("c-1", "7")  # a SIP INFO of the same call
        listener.forget("c-1")
        listener.pressed("c-1", "8")  # nobody listens any more
        return [keys.get_nowait() for _ in range(keys.qsize())], listener.received

    assert asyncio.run(scenario()) == (["#", "7"], 2)


class OfferingRelay(FakeRelay):
    def __init__(self) -> None:
        super().__init__("fleet")
        self.labels: list[str | None] = []

    async def command(
        self, name: str, params: Mapping[str, Value] | None = None, timeout: float | None = None
    ) -> dict[str, Value]:
        """rtpengine's reply to an offer: the SDP given back; the offer's label (if any) kept."""
        assert name == "offer" and params is not None
        label = params.get("label")
        self.labels.append(label if isinstance(label, str) else None)
        return {"result": "ok", "sdp": params["sdp"]}


def test_the_first_offer_labels_the_callers_leg_with_where_its_key_reports_go() -> None:
    relay = OfferingRelay()
    label = key_report_label("10.0.3.7", 5070)
    media = RelayMedia(RelayPool([relay]), PromptSet("build/prompts"), DtmfListener(label))

    async def scenario() -> None:
        call = media.for_call("call-1", "caller", "edge", "203.0.113.5")
        await call.offer(b"v=0\r\n")
        await call.offer(b"v=0\r\n", from_caller=False)  # a re-INVITE from the agent's side
        await call.offer(b"v=0\r\n")

    asyncio.run(scenario())
    assert relay.labels == [label, None, None]  # rtpengine keeps the first offer's label
