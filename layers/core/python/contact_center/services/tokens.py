"""Short-lived session tokens for people who signed in: a signed claim of role, merchant and scope.

``sbt_<payload>.<signature>``: the payload is base64url JSON (role, merchant, user, seat or queues,
expiry), the signature HMAC-SHA256 over it. Verifying needs no table read, so an agent's desk
polling its state costs one request and nothing more. The price of that: a token lives until it
expires (``TOKEN_TTL_SECONDS``) even if its user is deleted or re-scoped meanwhile; hence short.

The signing key is derived from the platform admin key's hash, the one secret the API already reads
(``SWITCHBOARD_ADMIN_KEY_SHA256_SECRET_ARN``): no second secret to deploy, rotate or forget.
Rotating the admin key therefore signs every person out, which is what a rotation after a leak
wants anyway.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

from contact_center.domain.access import PERSON_ROLES, Principal, Role

from .errors import AuthenticationError
from .ports import Clock

TOKEN_PREFIX = "sbt_"
TOKEN_TTL_SECONDS = 3600
# Derivation label: the same secret keys other things later without one signature ever standing in
# for another.
KEY_LABEL = b"switchboard/session-token/v1"


def signing_key(admin_key_sha256: str) -> bytes:
    return hmac.new(bytes.fromhex(admin_key_sha256), KEY_LABEL, hashlib.sha256).digest()


@dataclass(frozen=True)
class SessionToken:
    token: str
    expires_at: int  # epoch ms
    principal: Principal


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, key: bytes | None, clock: Clock, ttl_seconds: int = TOKEN_TTL_SECONDS) -> None:
        # None: no admin key configured, so no signing key either; nobody can sign in.
        self._key = key
        self._clock = clock
        self._ttl_ms = ttl_seconds * 1000

    def issue(self, principal: Principal) -> SessionToken:
        if self._key is None:
            raise AuthenticationError("sign-in is not configured on this deployment")
        if principal.role not in PERSON_ROLES or principal.user_id is None:
            raise ValueError("session tokens are for people who sign in")
        expires_at = self._clock() + self._ttl_ms
        claims: dict[str, Any] = {
            "r": principal.role.value,
            "m": principal.merchant_id,
            "u": principal.user_id,
            "exp": expires_at,
        }
        if principal.seat_id is not None:
            claims["s"] = principal.seat_id
        if principal.queue_ids:
            claims["q"] = sorted(principal.queue_ids)
        payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        return SessionToken(f"{TOKEN_PREFIX}{payload}.{self._sign(payload)}", expires_at, principal)

    def verify(self, token: str) -> Principal:
        """The principal a token names; AuthenticationError for a forged, altered or expired one."""
        invalid = AuthenticationError("the session token is not valid or has expired")
        if self._key is None or not token.startswith(TOKEN_PREFIX):
            raise invalid
        payload, _, signature = token.removeprefix(TOKEN_PREFIX).partition(".")
        if not hmac.compare_digest(self._sign(payload), signature):
            raise invalid
        try:
            claims = json.loads(_unb64(payload))
            principal = Principal(
                role=Role(claims["r"]),
                merchant_id=str(claims["m"]),
                user_id=str(claims["u"]),
                seat_id=claims.get("s"),
                queue_ids=frozenset(str(q) for q in claims.get("q", ())),
            )
            expires_at = int(claims["exp"])
        except (ValueError, KeyError, TypeError) as exc:
            raise invalid from exc
        if principal.role not in PERSON_ROLES or expires_at <= self._clock():
            raise invalid
        return principal

    def _sign(self, payload: str) -> str:
        assert self._key is not None
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
