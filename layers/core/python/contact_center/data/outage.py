"""Whether a failure comes from storage that cannot answer now, as opposed to a request it refused.

The API answers the first with 503 and Retry-After; the SDK's exceptions stay inside this layer.
"""

from __future__ import annotations

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from contact_center.aws.retries import UNAVAILABLE_ERROR_CODES

__all__ = ["storage_unavailable"]


def storage_unavailable(error: BaseException) -> bool:
    """Whether ``error`` comes from storage that cannot answer now (down, unreachable, throttled, 5xx),
    as opposed to a request storage refused. PynamoDB wraps the SDK's error (``cause``) and the data
    layer chains its own: the whole chain is searched."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, HTTPClientError | BotocoreConnectionError):
            return True
        if isinstance(current, ClientError):
            code = current.response.get("Error", {}).get("Code")
            status = current.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in UNAVAILABLE_ERROR_CODES or status >= 500:
                return True
        cause = getattr(current, "cause", None)
        current = cause if isinstance(cause, BaseException) else current.__cause__ or current.__context__
    return False
