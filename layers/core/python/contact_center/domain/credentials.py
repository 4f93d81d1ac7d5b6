"""SIP digest credentials of a seat: a generated password and the HA1 values the registrar checks.

The password is shown to the merchant once; only HA1 = H(username:realm:password) is kept, one per
digest algorithm a softphone may choose (RFC 2617 MD5, RFC 7616 SHA-256). HA1 lets the registrar
verify a response without the password, and rotating the password replaces every HA1 at once.
"""

from __future__ import annotations

import hashlib
import secrets

from .errors import ValidationError

DIGEST_ALGORITHMS: tuple[str, ...] = ("MD5", "SHA-256")
# 24 URL-safe characters = 144 bits: far beyond online guessing, and still typeable into a phone.
PASSWORD_BYTES = 18
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


# Beginnings SIP tools misread: "-" is taken for an option by command-line softphones (pjsua,
# baresip's options, sipp -ap); "0x" makes sipp (3.6) read the password as hex, so its digest is wrong.
_MISREAD_PREFIXES = ("-", "0x", "0X")


def generate_password() -> str:
    """A random password that no SIP tool misreads (``_MISREAD_PREFIXES``). Drawing again keeps every
    other character uniform."""
    while True:
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        if not password.startswith(_MISREAD_PREFIXES):
            return password


def generate_username(prefix: str = "a") -> str:
    """A platform-unique SIP user name: random, so it reveals nothing about the merchant or seat."""
    return f"{prefix}{secrets.token_hex(8)}"


def digest_ha1(username: str, realm: str, password: str, algorithm: str = "MD5") -> str:
    """HA1 as RFC 7616 §3.4.2 defines it for the non-"-sess" algorithms: hex(H(user:realm:password))."""
    try:
        hash_function = _HASHES[algorithm]
    except KeyError:
        raise ValidationError("algorithm", f"must be one of {list(DIGEST_ALGORITHMS)}") from None
    # usedforsecurity=False: MD5 here is the protocol's HA1, not a choice of ours, and FIPS builds
    # of OpenSSL refuse MD5 unless told so.
    return hash_function(f"{username}:{realm}:{password}".encode(), usedforsecurity=False).hexdigest()


def digest_ha1_set(username: str, realm: str, password: str) -> dict[str, str]:
    """HA1 for every supported algorithm, keyed by the algorithm name as it appears in SIP headers."""
    return {algorithm: digest_ha1(username, realm, password, algorithm) for algorithm in DIGEST_ALGORITHMS}
