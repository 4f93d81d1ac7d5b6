"""Pages of a listing: tokens checked against the listing they continue, items mapped."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pynamodb.exceptions import PynamoDBException

from contact_center.data.pagination import BadPageTokenError, Page, decode_token
from contact_center.domain.errors import ValidationError
from contact_center.services import records

T = TypeVar("T")
R = TypeVar("R")

_KEY_ATTRIBUTES = frozenset({"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"})


@contextmanager
def client_token_errors() -> Iterator[None]:
    """A page token this API did not issue is the client's validation error."""
    try:
        yield
    except BadPageTokenError as exc:
        raise ValidationError("next_token", "is not a token this API issued") from exc


def checked_token(
    token: str | None, partition_attribute: str, partition_value: str | Collection[str]
) -> str | None:
    """Refuse a token that does not continue this very listing (one of its partitions, when the
    listing reads several).

    A token is the last evaluated key; one edited or taken from another listing would make
    DynamoDB fail the query (a 500) rather than the client's request (a 400).
    """
    if token is None:
        return None
    allowed = {partition_value} if isinstance(partition_value, str) else set(partition_value)
    value = decode_token(token)
    if (
        not value
        or not all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in value.values()
        )
        or value.get(partition_attribute, {}).get("S") not in allowed
        or not {"pk", "sk"} <= set(value)
        or not set(value) <= _KEY_ATTRIBUTES
    ):
        raise BadPageTokenError("next_token is not a token this API issued")
    return token


def mapped_page(
    fetch: Callable[[str | None], Page[T]],
    convert: Callable[[T], R],
    token: str | None,
    partition: tuple[str, str | Collection[str]],
) -> records.Page[R]:
    """One page of ``fetch``'s listing (items converted), continuing from a checked ``token``."""
    with client_token_errors():
        checked = checked_token(token, *partition)
        try:
            page = fetch(checked)
        except PynamoDBException as exc:
            if "ValidationException" in str(getattr(exc, "cause_response_code", "")) and checked is not None:
                raise BadPageTokenError("next_token is not a token this API issued") from exc
            raise
        return records.Page([convert(item) for item in page.items], page.next_token)
