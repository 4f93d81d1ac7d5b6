"""Who is calling, and what they may see.

A platform admin key manages merchants and trunks. A merchant key sees only its own merchant: any
other merchant id answers NotFound, exactly as an id that does not exist, so a key can never learn
whether another merchant exists.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from .api_keys import hash_secret
from .errors import AuthenticationError, ForbiddenError, NotFoundError
from .ports import ApiKeyPort, MerchantPort

BEARER = "bearer"


@dataclass(frozen=True)
class Principal:
    merchant_id: str | None  # None for the platform admin
    key_id: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.merchant_id is None

    @property
    def scope(self) -> str:
        """A namespace for what this caller writes (idempotency keys are per caller)."""
        return "admin" if self.merchant_id is None else f"merchant:{self.merchant_id}"


ADMIN = Principal(merchant_id=None)


class Authenticator:
    def __init__(self, keys: ApiKeyPort, merchants: MerchantPort, admin_key_sha256: str | None) -> None:
        self._keys = keys
        self._merchants = merchants
        self._admin_key_sha256 = admin_key_sha256.lower() if admin_key_sha256 else None

    def authenticate(self, authorization: str | None) -> Principal:
        secret = _bearer_token(authorization)
        secret_hash = hash_secret(secret)
        # Constant-time comparison: the admin hash must not leak through response timing.
        if self._admin_key_sha256 is not None and hmac.compare_digest(secret_hash, self._admin_key_sha256):
            return ADMIN
        key = self._keys.find_by_hash(secret_hash)
        if key is None:
            raise AuthenticationError("the API key is not valid")
        return Principal(merchant_id=key.merchant_id, key_id=key.key_id)

    def authorize_merchant(self, principal: Principal, merchant_id: str) -> str:
        """The merchant id the caller may act on; NotFound for anything else."""
        if principal.is_admin:
            self._merchants.get(merchant_id)  # the admin may address any merchant that exists
            return merchant_id
        # Compared as UTF-8 bytes: compare_digest refuses str with non-ASCII characters, and a path
        # may hold any (surrogatepass: a path decoded with lone surrogates still compares unequal).
        own = (principal.merchant_id or "").encode()
        if not hmac.compare_digest(own, merchant_id.encode("utf-8", "surrogatepass")):
            raise NotFoundError("merchant", merchant_id)
        return merchant_id

    @staticmethod
    def require_admin(principal: Principal) -> None:
        if not principal.is_admin:
            raise ForbiddenError("this operation needs the platform admin key")


def _bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthenticationError("missing Authorization header: use 'Bearer <api key>'")
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != BEARER or not token:
        raise AuthenticationError("the Authorization header must be 'Bearer <api key>'")
    return token
