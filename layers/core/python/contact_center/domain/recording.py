"""Which calls are recorded, and where each recording is kept.

A queue records ``recording_percent`` of the calls its agents answer. The choice is a pure
function of the contact id: the first eight bytes of SHA-256(contact id), read as an unsigned
big-endian integer, modulo 100, give the contact a bucket from 0 to 99; the call is recorded when
its bucket is below the percent. The same contact always falls in the same bucket, so a re-offer
after a missed ring, a retried request or a second region all decide alike, and over many contacts
the share recorded is the percent (contact ids are random). 0 records nothing, 100 everything.

A recording's key is ``<merchant id>/<contact id>.wav``: one prefix per merchant, so a merchant's
recordings can be listed, expired or exported together, and a key names its contact.
"""

from __future__ import annotations

import hashlib
import re

from .errors import ValidationError

__all__ = [
    "RECORDING_PERCENT_MAX",
    "check_recording_percent",
    "is_recording_key",
    "recording_bucket",
    "recording_key",
    "recording_key_for",
    "records_contact",
]

RECORDING_PERCENT_MAX = 100
_PART = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}"
_KEY = re.compile(rf"({_PART})/({_PART})\.wav")


def check_recording_percent(value: object, field: str = "recording_percent") -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= RECORDING_PERCENT_MAX:
        raise ValidationError(field, f"must be an integer from 0 to {RECORDING_PERCENT_MAX}")
    return value


def recording_bucket(contact_id: str) -> int:
    """The contact's bucket, 0..99 (see the module's docstring)."""
    digest = hashlib.sha256(contact_id.encode()).digest()
    return int.from_bytes(digest[:8], "big") % 100


def records_contact(contact_id: str, percent: int) -> bool:
    return recording_bucket(contact_id) < percent


def recording_key(merchant_id: str, contact_id: str) -> str:
    key = f"{merchant_id}/{contact_id}.wav"
    if not is_recording_key(key):
        raise ValidationError("contact_id", "cannot name a recording")
    return key


def is_recording_key(key: str) -> bool:
    """Only keys this module makes: no "..", no leading "/", safe as a path under a directory."""
    match = _KEY.fullmatch(key)
    return match is not None and ".." not in key


def recording_key_for(merchant_id: str | None, contact_id: str, percent: int) -> str | None:
    """The key of the contact's recording when its queue records it, else None."""
    if merchant_id is None or not records_contact(contact_id, percent):
        return None
    return recording_key(merchant_id, contact_id)
