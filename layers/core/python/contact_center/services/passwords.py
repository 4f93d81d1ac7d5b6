"""Passwords of people who sign in: stored as scrypt hashes (stdlib), verified in constant time.

scrypt is memory-hard (n * r * 128 bytes per guess: 16 MiB at the default), so a stolen table costs
an attacker that much memory and tens of milliseconds per guess. The parameters are stored with
each hash, so raising the cost later leaves existing hashes verifiable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from contact_center.domain.errors import ValidationError

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256  # scrypt hashes any length; a bound keeps one request's cost bounded
SALT_BYTES = 16
HASH_BYTES = 32
SCHEME = "scrypt"


@dataclass(frozen=True)
class ScryptCost:
    n: int = 2**14
    r: int = 8
    p: int = 1

    @property
    def memory_bytes(self) -> int:
        return 128 * self.n * self.r * self.p


DEFAULT_COST = ScryptCost()


def validate_password(value: object, field: str = "password") -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if not PASSWORD_MIN_LENGTH <= len(value) <= PASSWORD_MAX_LENGTH:
        raise ValidationError(
            field, f"must be {PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters long"
        )
    return value


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, cost: ScryptCost) -> bytes:
    return hashlib.scrypt(
        password.encode(),
        salt=salt,
        n=cost.n,
        r=cost.r,
        p=cost.p,
        maxmem=cost.memory_bytes + 1024 * 1024,
        dklen=HASH_BYTES,
    )


def hash_password(password: str, cost: ScryptCost = DEFAULT_COST) -> str:
    """``scrypt$n$r$p$salt$hash``: everything verification needs, nothing else."""
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _derive(password, salt, cost)
    return f"{SCHEME}${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None, cost: ScryptCost = DEFAULT_COST) -> bool:
    """Whether ``password`` matches ``stored``. With nothing stored (no such user, no password set
    yet) a hash is still computed, so the answer takes as long and tells no one which it was."""
    parts = (stored or "").split("$")
    if len(parts) != 6 or parts[0] != SCHEME:
        _derive(password, b"\0" * SALT_BYTES, cost)
        return False
    try:
        stored_cost = ScryptCost(int(parts[1]), int(parts[2]), int(parts[3]))
        salt, expected = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        return False
    return hmac.compare_digest(_derive(password, salt, stored_cost), expected)
