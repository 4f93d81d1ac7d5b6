"""A client of rtpengine's ng control protocol over UDP.

Each message is ``<cookie> <bencoded dictionary>``; the reply carries the request's cookie, so
one socket serves any number of outstanding commands. UDP loses datagrams, so a command is sent
again every ``retransmit`` seconds (doubling) until ``timeout``: rtpengine remembers the replies
by cookie for a while and answers a retransmission with the same reply, without doing the work
twice (a second ``offer`` would otherwise allocate ports again). No reply within ``timeout`` is
`NgTimeoutError`, the sign of a dead or unreachable relay; ``"result": "error"`` is
`NgRefusedError` with rtpengine's reason.

Commands and keys are those of rtpengine's docs/ng_control_protocol.md (10.5): ``offer``,
``answer``, ``delete``, ``play media``, ``stop media``, ``block DTMF``, ``unblock DTMF``,
``ping``, ``query``, ``start recording``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sip_edge.media.bencode import BencodeError, Value, decode, encode

__all__ = [
    "NgClient",
    "NgError",
    "NgRefusedError",
    "NgTimeoutError",
    "PlayResult",
    "SdpOptions",
    "SdpResult",
    "parse_addresses",
]


class NgError(Exception):
    """A command did not succeed."""


class NgRefusedError(NgError):
    """rtpengine answered ``"result": "error"`` (``reason``: its ``error-reason``)."""

    def __init__(self, command: str, reason: str) -> None:
        super().__init__(f"{command}: {reason}")
        self.command = command
        self.reason = reason


class NgTimeoutError(NgError):
    """No reply within the timeout, retransmissions included: the relay is dead or unreachable."""


@dataclass(frozen=True, slots=True)
class SdpOptions:
    """How rtpengine rewrites an SDP in ``offer``/``answer`` (keys of the protocol's dictionary)."""

    flags: Sequence[str] = ()
    replace: Sequence[str] = ()
    ice: str | None = None
    # ("IP4", "192.0.2.1"): where the SIP message came from, for the ``SIP source address`` flag.
    received_from: tuple[str, str] | None = None
    extra: Mapping[str, Value] = field(default_factory=dict)

    def keys(self) -> dict[str, Value]:
        out: dict[str, Value] = dict(self.extra)
        if self.flags:
            out["flags"] = list(self.flags)
        if self.replace:
            out["replace"] = list(self.replace)
        if self.ice is not None:
            out["ICE"] = self.ice
        if self.received_from is not None:
            out["received from"] = list(self.received_from)
        return out


@dataclass(frozen=True, slots=True)
class SdpResult:
    """The SDP rtpengine rewrote, to send on in place of the one given."""

    sdp: bytes
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class PlayResult:
    """``duration_ms``: the media file's length when rtpengine could tell it."""

    duration_ms: int | None


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, client: NgClient) -> None:
        self._client = client

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self._client._received(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable on a connected socket: nobody listens; retransmissions then time out.
        pass


class NgClient:
    """Commands to one rtpengine at ``address`` (its ``--listen-ng``)."""

    def __init__(
        self,
        address: tuple[str, int],
        *,
        timeout: float = 2.0,
        retransmit: float = 0.25,
        as_json: bool = False,
    ) -> None:
        """``as_json``: dictionaries in JSON rather than bencode (rtpengine takes both and answers in
        kind; the relay's agent speaks JSON only)."""
        self.address = address
        self._json = as_json
        self._timeout = timeout
        self._retransmit = retransmit
        self._prefix = secrets.token_hex(4)
        self._serial = 0
        self._pending: dict[bytes, asyncio.Future[dict[str, Value]]] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self.sent = 0  # datagrams sent, retransmissions included

    async def _open(self) -> asyncio.DatagramTransport:
        if self._transport is None or self._transport.is_closing():
            loop = asyncio.get_running_loop()
            self._transport, _ = await loop.create_datagram_endpoint(
                lambda: _Protocol(self), remote_addr=self.address
            )
        return self._transport

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
        for future in self._pending.values():
            if not future.done():
                future.set_exception(NgError("client closed"))
        self._pending.clear()

    def _received(self, data: bytes) -> None:
        cookie, _, body = data.partition(b" ")
        future = self._pending.get(cookie)
        if future is None or future.done():
            return  # a reply to a retransmission already answered, or to a command given up on
        try:
            reply = json.loads(body) if self._json else decode(body)
        except (BencodeError, ValueError) as exc:
            future.set_exception(NgError(f"undecodable reply: {exc}"))
            return
        if not isinstance(reply, dict):
            future.set_exception(NgError("reply is not a dictionary"))
            return
        future.set_result(reply)

    async def command(
        self, name: str, params: Mapping[str, Value] | None = None, timeout: float | None = None
    ) -> dict[str, Value]:
        """Send one command and return its reply dictionary (``result`` ok, pong or error checked);
        ``timeout`` overrides the client's for this command."""
        transport = await self._open()
        self._serial += 1
        cookie = f"{self._prefix}_{self._serial}".encode()
        request: dict[str, Value] = {"command": name, **(params or {})}
        message = cookie + b" " + (json.dumps(request).encode() if self._json else encode(request))
        future: asyncio.Future[dict[str, Value]] = asyncio.get_running_loop().create_future()
        self._pending[cookie] = future
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (self._timeout if timeout is None else timeout)
        wait = self._retransmit
        try:
            while True:
                transport.sendto(message)
                self.sent += 1
                left = deadline - loop.time()
                if left <= 0:
                    raise NgTimeoutError(f"{name}: no reply from {self.address[0]}:{self.address[1]}")
                with contextlib.suppress(TimeoutError):
                    reply = await asyncio.wait_for(asyncio.shield(future), min(wait, left))
                    break
                wait *= 2
        finally:
            self._pending.pop(cookie, None)
            if not future.done():
                future.cancel()
        result = reply.get("result")
        if result == "error":
            raise NgRefusedError(name, str(reply.get("error-reason", "no reason given")))
        if result not in ("ok", "pong"):
            raise NgError(f"{name}: unexpected result {result!r}")
        return reply

    # --- the commands -------------------------------------------------------------------------

    async def ping(self, timeout: float | None = None) -> None:
        await self.command("ping", timeout=timeout)

    async def offer(
        self,
        call_id: str,
        from_tag: str,
        sdp: bytes,
        options: SdpOptions,
        to_tag: str | None = None,
        label: str | None = None,
    ) -> SdpResult:
        """``to_tag``: for an offer inside an established dialog (a re-INVITE). ``label``: kept by
        rtpengine on the ``from_tag`` leg and returned by ``query``."""
        keys: dict[str, Value] = {**options.keys(), "call-id": call_id, "from-tag": from_tag, "sdp": sdp}
        if to_tag is not None:
            keys["to-tag"] = to_tag
        if label is not None:
            keys["label"] = label
        return _sdp_result(await self.command("offer", keys))

    async def answer(
        self, call_id: str, from_tag: str, to_tag: str, sdp: bytes, options: SdpOptions
    ) -> SdpResult:
        keys: dict[str, Value] = {
            **options.keys(),
            "call-id": call_id,
            "from-tag": from_tag,
            "to-tag": to_tag,
            "sdp": sdp,
        }
        return _sdp_result(await self.command("answer", keys))

    async def delete(self, call_id: str, from_tag: str | None = None, to_tag: str | None = None) -> None:
        """End the call's media (or one branch with ``to_tag``). An unknown call is not an error:
        rtpengine answers it with a warning, and deleting twice is harmless."""
        keys: dict[str, Value] = {"call-id": call_id}
        if from_tag is not None:
            keys["from-tag"] = from_tag
        if to_tag is not None:
            keys["to-tag"] = to_tag
        await self.command("delete", keys)

    async def query(self, call_id: str) -> dict[str, Value]:
        return await self.command("query", {"call-id": call_id})

    async def play_media(
        self, call_id: str, from_tag: str, file: str, *, repeat_times: int = 1
    ) -> PlayResult:
        """Play ``file`` (a path on the relay's machine) to the party of ``from_tag``."""
        keys: dict[str, Value] = {
            "call-id": call_id,
            "from-tag": from_tag,
            "file": file,
            "repeat-times": repeat_times,
        }
        reply = await self.command("play media", keys)
        duration = reply.get("duration")
        return PlayResult(duration if isinstance(duration, int) else None)

    async def start_recording(self, call_id: str, metadata: str) -> None:
        """Record the whole call (both directions) from now until it is deleted. ``metadata`` is
        written at the end of the recording's metadata file (``--recording-dir``/metadata)."""
        await self.command("start recording", {"call-id": call_id, "metadata": metadata})

    async def stop_media(self, call_id: str, from_tag: str) -> None:
        await self.command("stop media", {"call-id": call_id, "from-tag": from_tag})

    async def block_dtmf(self, call_id: str, from_tag: str | None = None) -> None:
        await self.command("block DTMF", _party(call_id, from_tag))

    async def unblock_dtmf(self, call_id: str, from_tag: str | None = None) -> None:
        await self.command("unblock DTMF", _party(call_id, from_tag))


def parse_addresses(text: str) -> tuple[tuple[str, int], ...]:
    """``host:port[,host:port...]`` (the ng control addresses) into pairs; ValueError naming the bad one."""
    relays = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        host, _, port = item.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"not a host:port: {item!r}")
        relays.append((host.strip("[]"), int(port)))
    return tuple(relays)


def _party(call_id: str, from_tag: str | None) -> dict[str, Value]:
    keys: dict[str, Value] = {"call-id": call_id}
    if from_tag is not None:
        keys["from-tag"] = from_tag
        keys["flags"] = ["directional"]
    return keys


def _sdp_result(reply: Mapping[str, Value]) -> SdpResult:
    sdp = reply.get("sdp")
    if isinstance(sdp, str):
        sdp = sdp.encode()
    if not isinstance(sdp, bytes):
        raise NgError("reply carries no SDP")
    warning = reply.get("warning")
    return SdpResult(sdp, warning if isinstance(warning, str) else None)
