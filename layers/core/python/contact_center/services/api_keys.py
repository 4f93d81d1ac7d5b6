"""Merchant API keys: issued with a secret shown once, stored and looked up by its SHA-256 only."""

from __future__ import annotations

import hashlib
import secrets

from .commands import CreateApiKey, PageRequest
from .ids import new_id
from .ports import ApiKeyPort, Clock
from .records import ApiKey, IssuedApiKey, Page

SECRET_PREFIX = "sbk_"
# 32 random bytes: a key cannot be guessed, so a plain (unsalted) hash is safe to look it up by.
SECRET_BYTES = 32
DISPLAY_PREFIX_LENGTH = 10


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def mint_key(merchant_id: str, name: str | None, now_ms: int) -> tuple[IssuedApiKey, str]:
    """A new key and the hash to store it under (nothing is written)."""
    secret = SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
    key = ApiKey(
        key_id=new_id("key"),
        merchant_id=merchant_id,
        prefix=secret[:DISPLAY_PREFIX_LENGTH],
        name=name,
        created_at=now_ms,
    )
    return IssuedApiKey(key, secret), hash_secret(secret)


class ApiKeyService:
    def __init__(self, keys: ApiKeyPort, clock: Clock) -> None:
        self._keys = keys
        self._clock = clock

    def issue(self, merchant_id: str, command: CreateApiKey) -> IssuedApiKey:
        issued, secret_hash = mint_key(merchant_id, command.name, self._clock())
        self._keys.create(issued.key, secret_hash)
        return issued

    def list(self, merchant_id: str, page: PageRequest) -> Page[ApiKey]:
        return self._keys.list_for_merchant(merchant_id, page.limit, page.next_token)

    def revoke(self, merchant_id: str, key_id: str) -> None:
        self._keys.delete(merchant_id, key_id)
