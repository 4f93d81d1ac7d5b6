"""Who is calling, and what they may see.

Three kinds of credentials, one ``Principal`` (``domain.access``) out of each:
- the platform admin key (its SHA-256 in a secret): the platform admin;
- a merchant API key (``api_keys``): that merchant's admin;
- a session token (``tokens``), from a person's sign-in: a supervisor or an agent of one merchant.

Any caller but the platform admin sees only its own merchant: any other merchant id answers
NotFound, exactly as an id that does not exist, so credentials can never learn whether another
merchant exists. Inside its merchant, an agent reaches only its seat and a supervisor only its
queues (and the seats serving them); anything else is Forbidden.
"""

from __future__ import annotations

import hmac

from contact_center.domain.access import PLATFORM_ADMIN, Principal, Role

from .api_keys import hash_secret
from .errors import AuthenticationError, ForbiddenError, NotFoundError
from .ports import ApiKeyPort, MerchantPort, SeatPort
from .tokens import TOKEN_PREFIX, TokenSigner

BEARER = "bearer"
ADMIN = PLATFORM_ADMIN

__all__ = ["ADMIN", "Authenticator", "Principal"]


class Authenticator:
    def __init__(
        self,
        keys: ApiKeyPort,
        merchants: MerchantPort,
        admin_key_sha256: str | None,
        tokens: TokenSigner | None = None,
        seats: SeatPort | None = None,
    ) -> None:
        self._keys = keys
        self._merchants = merchants
        self._admin_key_sha256 = admin_key_sha256.lower() if admin_key_sha256 else None
        self._tokens = tokens
        self._seats = seats

    def authenticate(self, authorization: str | None) -> Principal:
        secret = _bearer_token(authorization)
        if secret.startswith(TOKEN_PREFIX) and self._tokens is not None:
            return self._tokens.verify(secret)
        secret_hash = hash_secret(secret)
        # Constant-time comparison: the admin hash must not leak through response timing.
        if self._admin_key_sha256 is not None and hmac.compare_digest(secret_hash, self._admin_key_sha256):
            return ADMIN
        key = self._keys.find_by_hash(secret_hash)
        if key is None:
            raise AuthenticationError("the API key is not valid")
        return Principal(role=Role.MERCHANT_ADMIN, merchant_id=key.merchant_id, key_id=key.key_id)

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

    def authorize_seat(self, principal: Principal, merchant_id: str, seat_id: str) -> None:
        """Forbidden unless the caller may reach the seat (its own, or one serving its queues)."""
        if principal.role is Role.SUPERVISOR and self._seats is not None:
            # NotFound for a seat that does not exist, as for any caller of the merchant.
            queues = frozenset(self._seats.get(merchant_id, seat_id).queue_ids)
            if principal.may_reach_seat_serving(seat_id, queues):
                return
        elif principal.may_reach_seat(seat_id):
            return
        raise ForbiddenError("these credentials do not reach this seat", "seat_id")

    @staticmethod
    def authorize_queue(principal: Principal, queue_id: str) -> None:
        if not principal.may_reach_queue(queue_id):
            raise ForbiddenError("these credentials do not reach this queue", "queue_id")

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
