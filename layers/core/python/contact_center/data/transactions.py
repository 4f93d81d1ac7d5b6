"""Multi-item writes as one DynamoDB transaction, with cancellation reasons made readable."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pynamodb.exceptions import TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from contact_center.data.table import BINDING

ItemKey = tuple[str, str]


@contextmanager
def transaction(client_request_token: str | None = None) -> Iterator[TransactWrite]:
    """All-or-nothing write of several items; raises TransactWriteError with per-item reasons."""
    with TransactWrite(connection=BINDING.connection(), client_request_token=client_request_token) as tx:
        yield tx


def key_of(item: Model) -> ItemKey:
    return (str(item.pk), str(item.sk))  # type: ignore[attr-defined]


CONDITION_FAILED = "ConditionalCheckFailed"
# Another transaction held one of the items: nothing was written, and a re-read and retry is the
# answer, as for a failed condition.
TRANSACTION_CONFLICT = "TransactionConflict"


# Attempts of a transaction that touches an item many writers share (a queue's counters for the day)
# when it is cancelled only because another transaction held an item: such a cancellation wrote
# nothing and says nothing about the conditions, so the same transaction is simply sent again.
CONFLICT_ATTEMPTS = 4


def retry_after_conflict(error: TransactWriteError, attempt: int) -> bool:
    """Whether to send the cancelled transaction again (after a short, jittered pause)."""
    reasons = [reason for reason in error.cancellation_reasons or [] if reason is not None]
    if attempt >= CONFLICT_ATTEMPTS or not reasons:
        return False
    if any(reason.code != TRANSACTION_CONFLICT for reason in reasons):
        return False
    time.sleep(random.uniform(0.005, 0.02) * attempt)
    return True


def failed_keys(
    tx: TransactWrite, error: TransactWriteError, codes: tuple[str, ...] = (CONDITION_FAILED,)
) -> set[ItemKey]:
    """The items whose condition failed (or that failed with another of ``codes``) in a cancelled transaction.

    DynamoDB reports reasons by position in the request, and PynamoDB sends operations grouped by kind
    (condition checks, deletes, puts, updates) rather than in the order they were staged, so the
    positions are mapped back through the same grouping.
    """
    operations: list[dict[str, Any]] = [
        *tx._condition_check_items,
        *tx._delete_items,
        *tx._put_items,
        *tx._update_items,
    ]
    failed: set[ItemKey] = set()
    for operation, reason in zip(operations, error.cancellation_reasons or [], strict=False):
        if reason is not None and reason.code in codes:
            key = operation.get("Key") or operation["Item"]
            failed.add((key["pk"]["S"], key["sk"]["S"]))
    return failed
