"""Opaque page tokens for list endpoints: the last evaluated key, base64url-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class BadPageTokenError(ValueError):
    pass


def encode_token(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str | None) -> dict[str, Any] | None:
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise BadPageTokenError("next_token is not a token this API issued") from exc
    if not isinstance(value, dict):
        raise BadPageTokenError("next_token is not a token this API issued")
    return value


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None
