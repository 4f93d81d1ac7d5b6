"""Idempotent requests: a retry with the same Idempotency-Key gets the first result, nothing twice.

The first request claims the key with a conditional write, runs, and stores its response. A retry
finds the stored response and returns it. A failed first request releases the claim, so the retry
runs again (a failure wrote nothing). The same key with a different request is refused.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from .errors import IdempotencyInProgressError, IdempotencyKeyReusedError
from .ports import Clock, IdempotencyPort

# Clients retry within minutes; a day covers retries across an outage and bounds what is kept.
TTL_SECONDS = 24 * 3600


@dataclass(frozen=True)
class StoredResponse:
    status_code: int
    body: str  # the response body as sent (JSON text)


@dataclass(frozen=True)
class IdempotentResult:
    response: StoredResponse
    replayed: bool


def request_fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(
            len(part).to_bytes(8, "big")
        )  # length-prefixed: no two requests collide by concatenation
        digest.update(part)
    return digest.hexdigest()


class IdempotencyService:
    def __init__(self, store: IdempotencyPort, clock: Clock, ttl_seconds: int = TTL_SECONDS) -> None:
        self._store = store
        self._clock = clock
        self._ttl_seconds = ttl_seconds

    def run(
        self, scope: str, key: str, fingerprint: str, action: Callable[[], StoredResponse]
    ) -> IdempotentResult:
        now = self._clock() // 1000
        replay = self._replay(scope, key, fingerprint, now)
        if replay is not None:
            return replay
        if not self._store.claim(scope, key, fingerprint, now, self._ttl_seconds):
            # Another request claimed the key between our read and our claim.
            replay = self._replay(scope, key, fingerprint, now)
            if replay is not None:
                return replay
            raise IdempotencyInProgressError()
        try:
            response = action()
        except BaseException:
            self._store.release(scope, key)
            raise
        self._store.complete(scope, key, response.status_code, response.body)
        return IdempotentResult(response, replayed=False)

    def _replay(self, scope: str, key: str, fingerprint: str, now: int) -> IdempotentResult | None:
        record = self._store.get(scope, key, now)
        if record is None:
            return None
        if record.request_hash != fingerprint:
            raise IdempotencyKeyReusedError()
        if record.status_code is None or record.response is None:
            raise IdempotencyInProgressError()
        return IdempotentResult(StoredResponse(record.status_code, record.response), replayed=True)
