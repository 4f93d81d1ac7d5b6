"""Whether a failed request is sent again, and after how long: botocore's standard retry mode itself.

The decision is botocore's own ``StandardRetryConditions`` (throttling and transient error codes,
500/502/503/504, 429 without a modeled error, the operation's modeled retryable errors, DynamoDB's
CRC32 mismatch, lost connections) and the wait is its ``ExponentialBackoff`` (full jitter, one
second for throttling, 25 ms for DynamoDB's other failures), asked with a ``RetryContext`` built
from our answer, so the rules cannot drift from the SDK's as botocore changes them.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.awsrequest import HeadersDict
from botocore.model import ServiceModel
from botocore.retries import standard

__all__ = ["UNAVAILABLE_ERROR_CODES", "Attempt", "StandardRetries"]

# Error codes that mean "cannot answer now, try later" (throttled or transient), as botocore's standard
# mode lists them, plus DynamoDB's own codes for the same; a caller that maps failures to 503 reads these.
UNAVAILABLE_ERROR_CODES = frozenset(
    [
        *standard.ThrottledRetryableChecker._THROTTLED_ERROR_CODES,
        *standard.TransientRetryableChecker._TRANSIENT_ERROR_CODES,
        "TransactionInProgressException",
        "InternalServerError",
        "ServiceUnavailable",
    ]
)


@dataclass(frozen=True)
class _Answer:
    """The part of botocore's ``AWSResponse`` its retry checkers read."""

    status_code: int
    headers: HeadersDict
    content: bytes


@dataclass(frozen=True)
class Attempt:
    """One failed attempt: the answer (status, headers, body and its parsed error), or the
    exception that stood for an answer (a lost connection)."""

    operation: str
    number: int  # 1-based, as botocore counts
    status: int | None = None
    headers: Mapping[str, str] | None = None
    body: bytes = b""
    error: Mapping[str, Any] | None = None  # botocore's parsed error: {"Error": {"Code", "Message"}}
    exception: Exception | None = None


class StandardRetries:
    """botocore's standard mode for one service: the attempts it makes, whether one more is due,
    and the wait before it."""

    def __init__(
        self,
        service_model: ServiceModel,
        *,
        max_attempts: int | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        name = service_model.service_id.hyphenize()
        self._service_model = service_model
        self.max_attempts: int = max_attempts or _default_max_attempts(name)
        self._conditions = standard.StandardRetryConditions(max_attempts=self.max_attempts)
        # Whatever the attempt limit, for callers that count attempts (and deadlines) themselves.
        self._retryable = standard.StandardRetryConditions(max_attempts=2)
        self._backoff = standard.ExponentialBackoff(
            service_name=name,
            throttling_detector=standard.ThrottlingErrorDetector(standard.RetryEventAdapter()),
            random=jitter,
        )

    def delay(self, attempt: Attempt) -> float | None:
        """Seconds to wait before the next attempt, or None when botocore would not send another."""
        context = self._context(attempt, attempt.number)
        if not self._conditions.is_retryable(context):
            return None
        delay: float = self._backoff.delay_amount(context)
        return delay

    def is_retryable(self, attempt: Attempt) -> bool:
        """Whether botocore would send the request again, attempts left aside."""
        retryable: bool = self._retryable.is_retryable(self._context(attempt, 1))
        return retryable

    def _context(self, attempt: Attempt, number: int) -> standard.RetryContext:
        answer = None
        if attempt.status is not None:
            answer = _Answer(attempt.status, HeadersDict(attempt.headers or {}), attempt.body)
        return standard.RetryContext(
            attempt_number=number,
            operation_model=self._service_model.operation_model(attempt.operation),
            parsed_response=dict(attempt.error) if attempt.error is not None else None,
            http_response=answer,
            caught_exception=attempt.exception,
        )


def _default_max_attempts(service: str) -> int:
    # DynamoDB and DynamoDB Streams get 4 attempts in botocore, other services 3.
    per_service: dict[str, int] = getattr(standard, "_SERVICE_MAX_ATTEMPTS", {})
    attempts: int = per_service.get(service, standard.DEFAULT_MAX_ATTEMPTS)
    return attempts
