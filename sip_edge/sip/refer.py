"""REFER (RFC 3515) and Replaces (RFC 3891): what a transferring phone asks, and the progress it hears.

A phone transfers the far party of its call by sending REFER in that dialog with ``Refer-To``
naming the new party. Blind: a plain URI. Attended: the URI carries an escaped ``Replaces`` header
naming a dialog the phone set up first (its consult call); the new party must take over that
dialog rather than ring afresh. The recipient answers 202 and reports how the referenced request
fares in NOTIFYs of the implicit ``refer`` subscription, each body a ``message/sipfrag``
(RFC 3420) status line: ``SIP/2.0 100 Trying`` while it runs, the final status at the end with
``Subscription-State: terminated``.

Mechanism only: parsing and building. What a transfer does to a call is the application's.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

from .errors import SipParseError
from .message import Request, parse_name_addr, reason_phrase
from .uri import SipUri

__all__ = [
    "SIPFRAG",
    "ReferTarget",
    "Replaces",
    "notify_headers",
    "parse_refer_to",
    "parse_replaces",
    "sipfrag",
]

SIPFRAG = "message/sipfrag;version=2.0"


@dataclass(frozen=True, slots=True)
class Replaces:
    """The dialog a new request takes over (RFC 3891 §6.1): its Call-ID and both tags, named as
    the header's sender sees them from the dialog's far end."""

    call_id: str
    to_tag: str
    from_tag: str
    early_only: bool = False


@dataclass(frozen=True, slots=True)
class ReferTarget:
    """Who the REFER names: ``user`` (a number, a queue's or seat's name), ``host``, the URI as
    sent without its headers, and the dialog to replace for an attended transfer."""

    uri: str
    user: str | None
    host: str
    replaces: Replaces | None = None


def parse_replaces(value: str) -> Replaces:
    """A Replaces header value: ``call-id;to-tag=..;from-tag=..[;early-only]``.

    Raises SipParseError when the Call-ID or either tag is missing.
    """
    call_id, *params = (part.strip() for part in value.split(";"))
    if not call_id:
        raise SipParseError("Replaces without a Call-ID")
    tags: dict[str, str] = {}
    early_only = False
    for param in params:
        name, equals, tag = param.partition("=")
        name = name.strip().lower()
        if name == "early-only":
            early_only = True
        elif equals and name in ("to-tag", "from-tag"):
            tags[name] = tag.strip()
    if not tags.get("to-tag") or not tags.get("from-tag"):
        raise SipParseError("Replaces needs both to-tag and from-tag")
    return Replaces(call_id, tags["to-tag"], tags["from-tag"], early_only)


def parse_refer_to(request: Request) -> ReferTarget:
    """The one ``Refer-To`` of a REFER (RFC 3515 §2.4.1: exactly one), as a SIP target.

    Raises SipParseError when it is missing, repeated, or not a sip/sips URI, or when its
    embedded Replaces is malformed.
    """
    values = request.headers.get_lines("Refer-To")
    if len(values) != 1:
        raise SipParseError("REFER needs exactly one Refer-To")
    address = parse_name_addr(values[0])
    uri = address.sip_uri
    if uri is None:
        raise SipParseError("Refer-To is not a sip or sips URI")
    replaces = None
    for name, value in uri.headers.items():
        if name.lower() == "replaces":
            replaces = parse_replaces(unquote(value))
    bare = SipUri(uri.scheme, uri.user, None, uri.host, uri.port, dict(uri.params))
    user = unquote(uri.user) if uri.user else None
    return ReferTarget(str(bare), user, uri.host, replaces)


def sipfrag(status: int, reason: str | None = None) -> bytes:
    """The body of a progress NOTIFY: the referenced request's status line (RFC 3515 §2.4.5)."""
    return f"SIP/2.0 {status} {reason or reason_phrase(status)}\r\n".encode()


def notify_headers(status: int, refer_cseq: int | None = None) -> list[tuple[str, str]]:
    """Headers of a NOTIFY reporting ``status``: a final status ends the subscription (§2.4.5).

    ``refer_cseq``: the REFER's CSeq, as ``Event: refer;id=`` when the dialog saw several REFERs.
    """
    event = "refer" if refer_cseq is None else f"refer;id={refer_cseq}"
    state = "active;expires=60" if status < 200 else "terminated;reason=noresource"
    return [("Event", event), ("Subscription-State", state), ("Content-Type", SIPFRAG)]
