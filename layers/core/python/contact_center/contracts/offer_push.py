"""An offer pushed by the router to the edge task holding the caller: the one format both sides use.

The router that claims a queued contact for a freed agent (the seat stream's handler, or the routing
function ending a wrap-up or a call) tells the edge task holding the caller at once, instead of the
task finding out by polling. The push is a SIP MESSAGE over UDP to the task's own advertised SIP
address, the address its heartbeat already records for the flow-owner relay: no listener, port or
address is added, and the edge's transaction layer absorbs a retransmitted push. The body holds the
offers as ``pending_offers`` answers them. One header signs the body and the time it was sent with a
key derived from the fleet key (HMAC-SHA256, as flow tokens are signed), so only a holder of the key
can make a task ring an agent, and a push replayed after ``MAX_AGE_SECONDS`` is refused.

Delivery is best effort: the edge applies an offer only to a caller it still holds and only once, and
its slow poll of ``pending_offers`` finds any offer whose push was lost.

The same signed MESSAGE carries commands to the task holding a call (``COMMAND_CONTENT_TYPE``): the
API's transfer of a contact (``TRANSFER``: ``contact_id`` and ``target``, a queue, seat or number of
the merchant). The task's final answer is the command's outcome: 202 accepted, else the refusal's
status with a Warning naming why.

A region that takes over another's merchants asks its own tasks which of some contacts they hold
(``HELD``: ``contact_ids``, at most ``MAX_HELD_QUERY``): a seat the dead region left held by a contact
this replica never received may belong to a call still talking on one of them. The answer is 200
with a JSON body ``{"held": [the asked ids the task is setting up or bridging]}`` (``held_body``,
``decode_held``); asking again is harmless (it changes nothing on the task).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = [
    "COMMAND_CONTENT_TYPE",
    "CONTENT_TYPE",
    "HELD",
    "HELD_CONTENT_TYPE",
    "MAX_AGE_SECONDS",
    "MAX_HELD_QUERY",
    "SIGNATURE_HEADER",
    "TRANSFER",
    "command_message",
    "decode",
    "decode_command",
    "decode_held",
    "held_body",
    "message",
    "push_key",
    "sign",
    "verify",
]

CONTENT_TYPE = "application/vnd.switchboard.offers+json"
COMMAND_CONTENT_TYPE = "application/vnd.switchboard.command+json"
TRANSFER = "transfer"  # {"command": "transfer", "contact_id", "target"}
HELD = "held"  # {"command": "held", "contact_ids": [...]}
HELD_CONTENT_TYPE = "application/vnd.switchboard.held+json"
# Contact ids asked in one HELD command: the question and its answer stay a few kilobytes, one
# datagram on the fleet's private network.
MAX_HELD_QUERY = 50
SIGNATURE_HEADER = "X-Switchboard-Signature"
# Older pushes are refused: a replay cannot ring an agent for an offer long since settled. Well
# under the router's re-offer cooldown, so a push can never be mistaken for a later offer.
MAX_AGE_SECONDS = 10
_KEY_PURPOSE = b"switchboard offer push v1"


def push_key(fleet_key: str) -> bytes:
    """The signing key, derived from the fleet key so that a push signature is never also valid as
    a digest nonce or a flow token (those are signed with the fleet key itself)."""
    return hmac.new(fleet_key.encode(), _KEY_PURPOSE, hashlib.sha256).digest()


def _mac(body: bytes, key: bytes, sent_at: int) -> str:
    return hmac.new(key, str(sent_at).encode() + b"." + body, hashlib.sha256).hexdigest()


def sign(body: bytes, key: bytes, now_s: int) -> str:
    """The signature header's value for ``body`` sent at ``now_s`` (Unix seconds)."""
    return f"t={now_s};sig={_mac(body, key, now_s)}"


def verify(header: str | None, body: bytes, key: bytes, now_s: float) -> bool:
    """True when ``header`` signs ``body`` with ``key`` and was made within ``MAX_AGE_SECONDS``."""
    if not header:
        return False
    fields = dict(part.strip().partition("=")[::2] for part in header.split(";"))
    try:
        sent_at = int(fields.get("t", ""))
    except ValueError:
        return False
    # A little of the future too: the router's and the task's clocks differ by a few milliseconds.
    if not -2 <= now_s - sent_at <= MAX_AGE_SECONDS:
        return False
    return hmac.compare_digest(fields.get("sig", ""), _mac(body, key, sent_at))


def decode(body: bytes) -> list[dict[str, Any]]:
    """The offers a push carries (each a ``Connect.to_dict``); ValueError when malformed."""
    document = json.loads(body)
    offers = document.get("offers") if isinstance(document, dict) else None
    if not isinstance(offers, list) or not all(isinstance(offer, dict) for offer in offers):
        raise ValueError("an offer push holds {'offers': [objects]}")
    return offers


def decode_command(body: bytes) -> dict[str, Any]:
    """A command (``{"command": kind, ...}``); ValueError when malformed."""
    document = json.loads(body)
    if not isinstance(document, dict) or not isinstance(document.get("command"), str):
        raise ValueError("a command is {'command': kind, ...}")
    return document


def held_body(contact_ids: Sequence[str]) -> bytes:
    """A task's answer to ``HELD``: the asked contacts it holds."""
    return json.dumps({"held": list(contact_ids)}, separators=(",", ":")).encode()


def decode_held(body: bytes) -> list[str]:
    """The contact ids of a ``HELD`` answer; ValueError when malformed."""
    document = json.loads(body)
    held = document.get("held") if isinstance(document, dict) else None
    if not isinstance(held, list) or not all(isinstance(contact_id, str) for contact_id in held):
        raise ValueError("a held answer is {'held': [contact ids]}")
    return held


def message(
    offers: Sequence[Mapping[str, Any]],
    key: bytes,
    now_s: int,
    *,
    task_address: str,
    sender: str,
    branch: str,
) -> bytes:
    """The SIP MESSAGE carrying ``offers`` to the task at ``task_address`` (host:port), sent from
    ``sender`` (host:port of the sending socket, where the answer goes). ``branch`` is unique per
    push (RFC 3261's magic cookie is added); the same branch resent is the same transaction."""
    body = json.dumps({"offers": list(offers)}, separators=(",", ":")).encode()
    return _signed("offers", CONTENT_TYPE, body, key, now_s, task_address, sender, branch)


def command_message(
    command: Mapping[str, Any],
    key: bytes,
    now_s: int,
    *,
    task_address: str,
    sender: str,
    branch: str,
) -> bytes:
    """The SIP MESSAGE carrying ``command`` (with its ``"command"`` kind), as ``message`` does offers."""
    body = json.dumps(dict(command), separators=(",", ":")).encode()
    return _signed("commands", COMMAND_CONTENT_TYPE, body, key, now_s, task_address, sender, branch)


def _signed(
    user: str,
    content_type: str,
    body: bytes,
    key: bytes,
    now_s: int,
    task_address: str,
    sender: str,
    branch: str,
) -> bytes:
    lines = [
        f"MESSAGE sip:{user}@{task_address} SIP/2.0",
        f"Via: SIP/2.0/UDP {sender};branch=z9hG4bK{branch};rport",
        "Max-Forwards: 1",
        f"From: <sip:router@{sender}>;tag={branch[:16]}",
        f"To: <sip:{user}@{task_address}>",
        f"Call-ID: {branch}",
        "CSeq: 1 MESSAGE",
        f"Content-Type: {content_type}",
        f"{SIGNATURE_HEADER}: {sign(body, key, now_s)}",
        f"Content-Length: {len(body)}",
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
