"""The fields of the routing function's requests: each read and checked, InvalidRoutingRequestError
naming the field that is wrong."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import ServiceError


class InvalidRoutingRequestError(ServiceError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def text(event: Mapping[str, Any], name: str, required: bool = True) -> str | None:
    value = event.get(name)
    if value is None or value == "":
        if required:
            raise InvalidRoutingRequestError(name, "is required")
        return None
    if not isinstance(value, str):
        raise InvalidRoutingRequestError(name, "must be a string")
    return value


def required(event: Mapping[str, Any], name: str) -> str:
    value = text(event, name)
    assert value is not None
    return value


def choice(event: Mapping[str, Any], name: str, kind: Any, default: Any = None) -> Any:
    value = event.get(name)
    if value is None and default is not None:
        return default
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(member.value for member in kind)
        raise InvalidRoutingRequestError(name, f"must be one of {allowed}") from None


def epoch_ms(event: Mapping[str, Any], name: str) -> int | None:
    value = event.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidRoutingRequestError(name, "must be a non-negative integer (epoch milliseconds)")
    return value


def flag(event: Mapping[str, Any], name: str) -> bool:
    value = event.get(name, False)
    if not isinstance(value, bool):
        raise InvalidRoutingRequestError(name, "must be true or false")
    return value
