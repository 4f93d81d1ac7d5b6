"""Building SIP messages: fresh tags, branches and Call-IDs, and responses to a request (RFC 3261 8.2.6)."""

from __future__ import annotations

from collections.abc import Iterable

from .entropy import token_hex
from .errors import SipParseError
from .headers import Headers, canonical_name
from .message import MAGIC_COOKIE, Request, Response, reason_phrase

__all__ = ["generate_branch", "generate_call_id", "generate_tag", "make_response"]


# --- building -----------------------------------------------------------------------------------


def generate_tag() -> str:
    """A From/To tag with 64 random bits (RFC 3261 19.3 asks for at least 32)."""
    return token_hex(8)


def generate_branch() -> str:
    """An RFC 3261 branch: the magic cookie plus 80 random bits."""
    return MAGIC_COOKIE + token_hex(10)


def generate_call_id(host: str | None = None) -> str:
    token = token_hex(12)
    return f"{token}@{host}" if host else token


def _to_with_tag(request: Request, to_value: str, to_tag: str) -> str:
    try:
        if request.to_tag is not None:
            return to_value
    except SipParseError:
        # Answering a malformed request (400): keep its To as it came, tagged.
        pass
    return f"{to_value};tag={to_tag}"


# Copied into every response, in this order after the Vias (RFC 3261 8.2.6.2).
_COPIED_INTO_RESPONSES = ("from", "to", "call-id", "cseq")


def make_response(
    request: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """RFC 3261 8.2.6: a response that copies every Via (in order, as received), From, To (adding
    ``to_tag`` when To has none), Call-ID and CSeq; a 100 also copies Timestamp (8.2.6.1)."""
    # One pass over the request's lines; entries are copied as they are (same key, spelling and
    # value), which is what adding them again by name would produce.
    entries: list[tuple[str, str, str]] = []
    firsts: dict[str, tuple[str, str, str]] = {}
    for entry in request.headers._entries:
        key = entry[0]
        if key == "via":
            entries.append(entry)
        elif key not in firsts:
            firsts[key] = entry
    for key in _COPIED_INTO_RESPONSES:
        found = firsts.get(key)
        if found is None:
            continue
        if key == "to" and to_tag is not None:
            found = (key, found[1], _to_with_tag(request, found[2], to_tag))
        entries.append(found)
    if status == 100:
        timestamp = firsts.get("timestamp")
        if timestamp is not None:
            entries.append(timestamp)
    for name, value in headers:
        key, spelled = canonical_name(name)
        entries.append((key, spelled, value))
    out = Headers._from_entries(entries)
    return Response(status, reason if reason is not None else reason_phrase(status), "SIP/2.0", out, body)
