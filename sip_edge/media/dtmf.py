"""Digits a caller pressed: RFC 4733 telephone-events as rtpengine reports them, and SIP INFO.

rtpengine detects RFC 4733 events in the RTP it relays and, given ``--dtmf-log-dest=HOST:PORT``,
sends one JSON datagram per event when the event ends (its ``daemon/dtmf.c``): ``callid``,
``source_tag`` (the leg that pressed), ``event`` (0-9, 10 = ``*``, 11 = ``#``), ``duration`` (ms).
`DtmfListener` receives them and hands each call's digits to whoever waits for that call.
Phones that send digits as SIP INFO (``application/dtmf-relay``: ``Signal=5``) are read by
`digit_of_info` and fed to the same waiters, so a menu does not care how a digit came.
On the media fleet each relay's agent receives the reports and forwards each to the edge task whose
``report_label`` the call's leg carries (``media_relay.agent.KeyForwarder``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

__all__ = ["DtmfEvent", "DtmfListener", "digit_of_event", "digit_of_info", "parse_event"]

log = logging.getLogger("sip_edge.media")

_EVENT_KEYS = "0123456789*#"
DTMF_RELAY = "application/dtmf-relay"


@dataclass(frozen=True, slots=True)
class DtmfEvent:
    call_id: str
    source_tag: str
    digit: str
    duration_ms: int


def digit_of_event(event: int) -> str | None:
    """The key of an RFC 4733 event code (0-11); None for the tones that are not keys (A-D, flash)."""
    return _EVENT_KEYS[event] if 0 <= event < len(_EVENT_KEYS) else None


def parse_event(datagram: bytes) -> DtmfEvent | None:
    """One of rtpengine's DTMF log datagrams; None when it is not one or names no key."""
    try:
        data = json.loads(datagram)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("type") != "DTMF":
        return None
    event, call_id = data.get("event"), data.get("callid")
    if not isinstance(event, int) or not isinstance(call_id, str):
        return None
    digit = digit_of_event(event)
    if digit is None:
        return None
    duration = data.get("duration")
    return DtmfEvent(
        call_id, str(data.get("source_tag", "")), digit, duration if isinstance(duration, int) else 0
    )


def digit_of_info(content_type: str | None, body: bytes) -> str | None:
    """The key of a SIP INFO's ``application/dtmf-relay`` body (``Signal=5\\r\\nDuration=160``);
    None for another body or a signal that is not a key."""
    if content_type is None or content_type.split(";", 1)[0].strip().lower() != DTMF_RELAY:
        return None
    for line in body.decode("utf-8", "replace").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal":
            signal = value.strip()
            if signal.isdigit() and len(signal) == 2:  # some phones send the event code: 10, 11
                return digit_of_event(int(signal))
            return signal if len(signal) == 1 and signal in _EVENT_KEYS else None
    return None


class DtmfListener(asyncio.DatagramProtocol):
    """Receives rtpengine's DTMF datagrams on one UDP address; `digits` is the queue of one call's
    keys (by Call-ID) while someone listens for it (`forget` when done). Digits of calls nobody
    listens for are dropped: a key pressed outside a menu means nothing."""

    def __init__(self, report_label: str | None = None) -> None:
        self._calls: dict[str, asyncio.Queue[str]] = {}
        # The ng label an anchored call's leg carries so that a media fleet relay's agent, which
        # receives every call's reports, forwards them here (contracts.media_relays.key_report_label).
        self.report_label = report_label
        self._transport: asyncio.DatagramTransport | None = None
        self.received = 0

    async def start(self, host: str, port: int) -> tuple[str, int]:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(host, port))
        self._transport = transport
        address: tuple[str, int] = transport.get_extra_info("sockname")[:2]
        return address

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def digits(self, call_id: str) -> asyncio.Queue[str]:
        return self._calls.setdefault(call_id, asyncio.Queue())

    def forget(self, call_id: str) -> None:
        self._calls.pop(call_id, None)

    def pressed(self, call_id: str, digit: str) -> None:
        """A key from any source (rtpengine's report, a SIP INFO) for ``call_id``."""
        waiting = self._calls.get(call_id)
        if waiting is not None:
            waiting.put_nowait(digit)

    def datagram_received(self, data: bytes, addr: Any) -> None:
        event = parse_event(data)
        if event is None:
            log.debug("not a DTMF event from %s: %r", addr, data[:80])
            return
        self.received += 1
        self.pressed(event.call_id, event.digit)
