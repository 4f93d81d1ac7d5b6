"""The edge's part in recording: an answered call is recorded only when its Connect names a key and
its media is anchored, and a relay that refuses leaves the call going, unrecorded."""

from __future__ import annotations

import asyncio

from sip_edge.app.calls.anchoring import CallerMedia
from sip_edge.app.calls.media import MediaError, Unanchored
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message

SDP = b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"


def _invite() -> Request:
    head = (
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK1\r\n"
        "From: <sip:c@127.0.0.1>;tag=ft\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: call-1\r\nCSeq: 1 INVITE\r\n"
        f"Content-Type: application/sdp\r\nContent-Length: {len(SDP)}\r\n\r\n"
    )
    request = parse_message(head.encode() + SDP)
    assert isinstance(request, Request)
    return request


class Media(Unanchored):
    """An anchored call's media as far as recording goes (the rest passes through)."""

    def __init__(self, anchored: bool = True, refuses: bool = False) -> None:
        super().__init__()
        self.anchored = anchored
        self.refuses = refuses
        self.recorded: list[str] = []

    async def record(self, key: str) -> None:
        if self.refuses:
            raise MediaError("start recording: refused")
        self.recorded.append(key)


class Port:
    def __init__(self, media: Media) -> None:
        self.media = media

    def for_call(self, call_id: str, caller_tag: str, our_tag: str, source: str) -> Media:
        return self.media


def _record(media: Media, key: str | None) -> list[str]:
    caller = CallerMedia(Port(media), _invite(), "our", "127.0.0.1:5070", "c1")
    asyncio.run(caller.record(key))
    return media.recorded


def test_an_anchored_call_with_a_key_is_recorded_under_it() -> None:
    assert _record(Media(), "m1/c1.wav") == ["m1/c1.wav"]


def test_a_call_without_a_key_is_not_recorded() -> None:
    assert _record(Media(), None) == []


def test_an_unanchored_call_cannot_be_recorded_and_is_not_asked() -> None:
    assert _record(Media(anchored=False), "m1/c1.wav") == []


def test_a_relay_refusing_to_record_leaves_the_call_going() -> None:
    assert _record(Media(refuses=True), "m1/c1.wav") == []  # logged, not raised
