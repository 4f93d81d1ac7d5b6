"""Multi-item writes as one DynamoDB transaction, with cancellation reasons made readable."""

from __future__ import annotations

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


def failed_keys(tx: TransactWrite, error: TransactWriteError) -> set[ItemKey]:
    """The items whose condition failed in a cancelled transaction.

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
        if reason is not None and reason.code == "ConditionalCheckFailed":
            key = operation.get("Key") or operation["Item"]
            failed.add((key["pk"]["S"], key["sk"]["S"]))
    return failed
