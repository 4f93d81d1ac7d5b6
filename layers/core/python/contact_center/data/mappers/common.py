"""Readings shared by every item kind: PynamoDB's map attributes and optional numbers."""

from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """A map attribute (PynamoDB's MapAttribute, or a plain dict from a raw item) as a dict."""
    if not value:
        return {}
    return dict(value.as_dict() if hasattr(value, "as_dict") else value)


def optional_int(value: Any) -> int | None:
    return int(value) if value is not None else None
