"""Registrations as the router reads them (``services.routing.ports.Registrations``) and
idempotency records (``services.ports.IdempotencyPort``)."""

from __future__ import annotations

from contact_center.data.bindings import BindingItems
from contact_center.data.mappers.sessions import idempotency_record_from_item, target_from_binding
from contact_center.data.sessions import IdempotencyItems
from contact_center.services.records import IdempotencyRecord
from contact_center.services.routing.ports import AgentTarget


class RegistrationRepository:
    def __init__(self) -> None:
        self._items = BindingItems()

    def targets(self, aor: str, now_ms: int) -> list[AgentTarget]:
        # Binding expiry is in epoch seconds (the TTL attribute's unit).
        return [target_from_binding(item) for item in self._items.current(aor, now_ms // 1000)]


class IdempotencyRepository:
    def __init__(self) -> None:
        self._items = IdempotencyItems()

    def claim(self, scope: str, key: str, request_hash: str, now: int, ttl_seconds: int) -> bool:
        return self._items.claim(scope, key, request_hash, now, ttl_seconds)

    def get(self, scope: str, key: str, now: int) -> IdempotencyRecord | None:
        item = self._items.get(scope, key, now)
        return idempotency_record_from_item(item) if item is not None else None

    def complete(self, scope: str, key: str, status_code: int, response: str) -> None:
        self._items.complete(scope, key, status_code, response)

    def release(self, scope: str, key: str) -> None:
        self._items.release(scope, key)
