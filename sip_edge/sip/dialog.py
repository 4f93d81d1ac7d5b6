"""Dialogs as a B2BUA keeps them: one `Leg` per side, its route set, CSeqs and in-dialog requests.

A B2BUA is the UAS of the caller's dialog and the UAC of the agent's dialog (RFC 7092 §3). Each
leg is therefore an ordinary RFC 3261 §12 dialog seen from our side: Call-ID, our tag and URI
(`local`), the peer's (`remote`), the CSeq we send next, the peer's last CSeq, the peer's remote
target and route set. `Leg` holds exactly that, plus where the leg's requests physically go
(`transport`, `destination`): the address the peer's messages came from, not the host in its
Contact. For the agent that is the NAT pinhole the registration opened; for a carrier it is the
signalling address it used. Everything is plain data so a leg can be stored (`to_dict`) and
rebuilt by another edge task (`from_dict`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import SipParseError
from .hostport import format_hostport, split_hostport
from .message import Headers, Request, Response, parse_name_addr
from .stack import Destination

__all__ = [
    "AGENT",
    "CALLER",
    "Leg",
    "contact_uri",
    "contact_user",
    "new_dialog_key",
    "parse_contact_user",
]

CALLER = "caller"
AGENT = "agent"
_SIDE_CODE = {CALLER: "c", AGENT: "a"}
_CODE_SIDE = {code: side for side, code in _SIDE_CODE.items()}
_PREFIX = "d-"

# After a restart another edge task sends on a dialog whose stored CSeq may be behind what the dead
# task sent (only setup and teardown are written). RFC 3261 §12.2.1.1 only asks that CSeq grows,
# so a recovered leg jumps ahead by more than any call makes requests.
RECOVERY_CSEQ_STEP = 1000


def new_dialog_key() -> str:
    """64 random bits: unguessable, so a stranger cannot address a BYE to someone else's call."""
    return secrets.token_hex(8)


def contact_user(dialog_key: str, side: str) -> str:
    """The user part of our Contact on one leg: names the call and the side, e.g. ``d-1f..e2.a``."""
    return f"{_PREFIX}{dialog_key}.{_SIDE_CODE[side]}"


def contact_uri(dialog_key: str, side: str, transport: str, sent_by: tuple[str, int]) -> str:
    """Our Contact on one leg: the transport's advertised address, the dialog key and the side."""
    suffix = "" if transport.upper() == "UDP" else f";transport={transport.lower()}"
    return f"sip:{contact_user(dialog_key, side)}@{format_hostport(*sent_by)}{suffix}"


def parse_contact_user(user: str | None) -> tuple[str, str] | None:
    """(dialog key, side) from a Request-URI user written by `contact_user`, else None."""
    if not user or not user.startswith(_PREFIX):
        return None
    key, dot, code = user[len(_PREFIX) :].rpartition(".")
    side = _CODE_SIDE.get(code)
    if not dot or side is None or not key or not all(c in "0123456789abcdef" for c in key):
        return None
    return key, side


@dataclass(slots=True)
class Leg:
    side: str  # CALLER or AGENT
    call_id: str
    local: str  # our From (agent leg) / To (caller leg) header value, with our tag
    remote: str  # the peer's, with its tag once the dialog is confirmed
    local_cseq: int  # the CSeq of the last request we sent on this leg
    remote_cseq: int  # the CSeq of the last request the peer sent
    remote_target: str  # the peer's Contact URI: the Request-URI of our requests
    transport: str  # UDP | TCP | TLS
    destination: str  # "host:port" every request of ours on this leg is sent to
    contact: str  # our Contact URI on this leg (names the dialog key and side)
    route_set: list[str] = field(default_factory=list)

    @property
    def remote_tag(self) -> str | None:
        return _tag_of(self.remote)

    def destination_of(self) -> Destination:
        host, port = split_hostport(self.destination)
        return Destination(self.transport, host, port)

    def request(
        self,
        method: str,
        *,
        body: bytes = b"",
        headers: Iterable[tuple[str, str]] = (),
        cseq: int | None = None,
    ) -> Request:
        """An in-dialog request (§12.2.1.1). CSeq grows unless given (an ACK reuses its INVITE's)."""
        if cseq is None:
            self.local_cseq += 1
            cseq = self.local_cseq
        out = Headers()
        for route in self.route_set:
            out.add("Route", route)
        out.add("From", self.local)
        out.add("To", self.remote)
        out.add("Call-ID", self.call_id)
        out.add("CSeq", f"{cseq} {method}")
        if method in ("INVITE", "UPDATE"):
            out.add("Contact", f"<{self.contact}>")
        for name, value in headers:
            out.add(name, value)
        return Request(method, self.remote_target, "SIP/2.0", out, body)

    def learn_target(self, message: Request | Response) -> None:
        """A target refresh (§12.2): a re-INVITE/UPDATE or its 2xx may carry a new Contact."""
        try:
            contacts = message.contacts
        except SipParseError:
            return
        if contacts:
            self.remote_target = str(contacts[0].uri)

    def to_dict(self) -> dict[str, Any]:
        return {
            "side": self.side,
            "call_id": self.call_id,
            "local": self.local,
            "remote": self.remote,
            "local_cseq": self.local_cseq,
            "remote_cseq": self.remote_cseq,
            "remote_target": self.remote_target,
            "transport": self.transport,
            "destination": self.destination,
            "contact": self.contact,
            "route_set": list(self.route_set),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, recovered: bool = False) -> Leg:
        return cls(
            side=str(data["side"]),
            call_id=str(data["call_id"]),
            local=str(data["local"]),
            remote=str(data["remote"]),
            local_cseq=int(data["local_cseq"]) + (RECOVERY_CSEQ_STEP if recovered else 0),
            remote_cseq=int(data["remote_cseq"]),
            remote_target=str(data["remote_target"]),
            transport=str(data["transport"]),
            destination=str(data["destination"]),
            contact=str(data["contact"]),
            route_set=[str(route) for route in data.get("route_set") or ()],
        )


def _tag_of(value: str) -> str | None:
    try:
        return parse_name_addr(value).tag
    except SipParseError:
        return None
