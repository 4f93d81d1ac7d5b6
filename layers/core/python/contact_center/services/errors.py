"""Named outcomes of the use cases that are not domain rules: lookups, conflicts, access.

The repositories raise these directly when a condition fails, so a use case never sees a storage
exception and the HTTP adapter maps one family of errors to statuses in one place.
"""

from __future__ import annotations


class ServiceError(Exception):
    """Base of the use cases' named errors."""


class NotFoundError(ServiceError):
    """``field``: the request field that named the missing item, when a request did."""

    def __init__(self, entity: str, key: str, field: str | None = None) -> None:
        super().__init__(f"{entity} {key} not found")
        self.entity = entity
        self.key = key
        self.field = field


class AlreadyExistsError(ServiceError):
    def __init__(self, entity: str, key: str) -> None:
        super().__init__(f"{entity} {key} already exists")
        self.entity = entity
        self.key = key


class InUseError(ServiceError):
    """The item is referenced or busy (a queue that numbers route to, a seat on a call)."""

    def __init__(self, entity: str, key: str, detail: str) -> None:
        super().__init__(f"{entity} {key} is in use: {detail}")
        self.entity = entity
        self.key = key
        self.detail = detail


class ConcurrentUpdateError(ServiceError):
    """The item kept changing under the request; the client may retry.

    ``detail`` says which condition failed (for logs); the message a client sees stays the same.
    """

    def __init__(self, entity: str, key: str, detail: str = "") -> None:
        super().__init__(f"{entity} {key} changed concurrently; retry the request")
        self.entity = entity
        self.key = key
        self.detail = detail


class AuthenticationError(ServiceError):
    """No credentials, or credentials that match no key."""


class ForbiddenError(ServiceError):
    """Valid credentials that may not do this: a route its role may not call, another seat's state, a
    field only the platform admin changes (``field`` names it, so the client sees what was refused)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class TooManyAttemptsError(ServiceError):
    """Too many failed sign-ins for one user lately; the client may try again after ``retry_after``."""

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__("too many failed sign-ins for this user; try again later")
        self.retry_after_seconds = retry_after_seconds


class IdempotencyKeyReusedError(ServiceError):
    """The Idempotency-Key was first used for a different request."""

    def __init__(self) -> None:
        super().__init__("this Idempotency-Key was used for a different request")


class IdempotencyInProgressError(ServiceError):
    """The first request with this Idempotency-Key has not finished yet."""

    def __init__(self) -> None:
        super().__init__("a request with this Idempotency-Key is still in progress; retry later")
