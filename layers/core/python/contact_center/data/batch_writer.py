"""BatchWriteItem for write-behind paths, straight from encoded items.

Constructing and serializing PynamoDB models costs about 45 us per item (``encoding``); a writer of
thousands of bindings a second sends items already encoded, 25 per request, on the data layer's own
request path (``contact_center.aws.dynamodb``). Nothing is dropped: ``UnprocessedItems``, throttling, 5xx answers
and connection errors are retried with exponential backoff, and a write that still fails raises
:class:`BatchWriteError`, so the caller keeps the changes and writes them again later.
"""

from __future__ import annotations

import functools
import json
import random
import time
from collections.abc import Sequence
from typing import Any

import botocore.session
from botocore.exceptions import ClientError

from contact_center.aws.dynamodb import DynamoDBClient, RetryableError
from contact_center.data.encoding import AttributeMap

BATCH_LIMIT = 25  # DynamoDB's maximum number of requests in one BatchWriteItem


class BatchWriteError(Exception):
    """Some writes of a batch were not done; none of them may be taken as written."""


class BatchWriter:
    """Puts and deletes on one table, 25 per BatchWriteItem request. Thread-safe."""

    def __init__(
        self,
        table_name: str,
        *,
        region: str,
        endpoint_url: str | None = None,
        session: botocore.session.Session | None = None,
        attempts: int = 6,
        backoff: float = 0.05,
        timeout: float = 10.0,
    ) -> None:
        self._client = DynamoDBClient(
            region=region, endpoint_url=endpoint_url, session=session, timeout=timeout
        )
        self._table = table_name
        self._attempts = attempts
        self._backoff = backoff

    def write(self, puts: Sequence[AttributeMap], deletes: Sequence[AttributeMap] = ()) -> None:
        """Put whole items and delete by key. A key may appear once per call (DynamoDB's rule)."""
        writes = [{"DeleteRequest": {"Key": key}} for key in deletes]
        writes += [{"PutRequest": {"Item": item}} for item in puts]
        for start in range(0, len(writes), BATCH_LIMIT):
            self._write_all(writes[start : start + BATCH_LIMIT])

    def _write_all(self, writes: list[dict[str, Any]]) -> None:
        # Its own retry loop rather than the client's: unprocessed items are retried the same way.
        reason = ""
        for attempt in range(self._attempts):
            if attempt:
                # Jittered: requests throttled together (a flush sends several at once) come back apart.
                time.sleep(self._backoff * 2 ** (attempt - 1) * random.uniform(0.5, 1.5))
            body = json.dumps({"RequestItems": {self._table: writes}}).encode()
            try:
                answer = self._client.call_once("BatchWriteItem", body)
            except RetryableError as exc:
                reason = str(exc)
                continue
            except ClientError as exc:
                error = exc.response.get("Error", {})
                raise BatchWriteError(
                    f"BatchWriteItem on {self._table}: {error.get('Code')}: {error.get('Message')}"
                ) from exc
            writes = answer.get("UnprocessedItems", {}).get(self._table) or []
            if not writes:
                return
            reason = "unprocessed items"
        raise BatchWriteError(
            f"{len(writes)} writes to {self._table} not done after {self._attempts} attempts ({reason})"
        )


@functools.lru_cache(maxsize=4)
def shared_writer(table_name: str, region: str, endpoint_url: str | None) -> BatchWriter:
    """One writer (one connection pool) per table and endpoint in the process."""
    return BatchWriter(table_name, region=region, endpoint_url=endpoint_url)
