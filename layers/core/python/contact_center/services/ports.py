"""The storage the use cases need, as ports; ``contact_center.data.repositories`` implements them.

Every method raises the named errors of ``services.errors`` (or the domain's licence errors) and
never a storage exception. Lists take an opaque ``next_token`` and return a ``Page``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

from contact_center.domain.agent_state import AgentSnapshot
from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberRouting
from contact_center.domain.ownership import Ownership
from contact_center.domain.trunks import OutboundAuth

from .records import (
    ApiKey,
    IdempotencyRecord,
    Merchant,
    NumberAudit,
    Page,
    PhoneNumber,
    Queue,
    Seat,
    SipUser,
    Trunk,
)
from .trunk_commands import UpdateTrunk

Clock = Callable[[], int]
"""Now, in epoch milliseconds."""


class MerchantPort(Protocol):
    def create(
        self, merchant: Merchant, first_key: ApiKey, secret_hash: str, home: Ownership | None = None
    ) -> None:
        """The merchant, its first key and (two regions) its first home, in one write."""
        ...

    def get(self, merchant_id: str) -> Merchant: ...
    def page(self, limit: int, next_token: str | None) -> Page[Merchant]: ...
    def update_profile(self, merchant_id: str, *, name: str | None, contact_email: str | None) -> None: ...
    def set_seat_licenses(self, merchant_id: str, seat_licenses: int) -> None: ...
    def set_dial_prefixes(self, merchant_id: str, prefixes: tuple[str, ...]) -> None: ...


class ApiKeyPort(Protocol):
    def create(self, key: ApiKey, secret_hash: str) -> None: ...
    def find_by_hash(self, secret_hash: str) -> ApiKey | None: ...
    def list_for_merchant(self, merchant_id: str, limit: int, next_token: str | None) -> Page[ApiKey]: ...
    def delete(self, merchant_id: str, key_id: str) -> None: ...


class QueuePort(Protocol):
    def create(self, queue: Queue) -> None: ...
    def get(self, merchant_id: str, queue_id: str) -> Queue: ...
    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[Queue]: ...
    def replace(self, queue: Queue) -> None: ...
    def delete(self, merchant_id: str, queue_id: str) -> None: ...


class NumberPort(Protocol):
    def create(self, number: PhoneNumber) -> None: ...
    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[PhoneNumber]: ...
    def delete(self, merchant_id: str, number: str) -> None: ...
    def routing_of(self, merchant_id: str, number: str) -> tuple[NumberRouting, int]:
        """The number's mode and version; NotFoundError when it is not the merchant's."""
        ...

    def apply(self, audit: NumberAudit, versions: Mapping[str, int], check_targets: bool = True) -> None:
        """Write every change of ``audit`` and the audit entry in ONE transaction, each number on the
        condition that it is still at ``versions[number]``; with ``check_targets``, every trunk named
        must be the merchant's or the platform's and every queue the merchant's (NotFoundError)."""
        ...

    def audit_page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[NumberAudit]: ...

    def set_menu(self, merchant_id: str, number: str, menu: Menu | None) -> None:
        """The number's menu (None: none), written with a check that every queue it names is the
        merchant's; NotFoundError (naming the menu's field for a queue) otherwise."""
        ...


class SeatPort(Protocol):
    def create(self, seat: Seat, sip_user: SipUser) -> None: ...
    def get(self, merchant_id: str, seat_id: str) -> Seat: ...
    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[Seat]: ...
    def all_for_merchant(self, merchant_id: str) -> list[Seat]: ...
    def update_profile(
        self,
        merchant_id: str,
        seat_id: str,
        *,
        display_name: str,
        skills: dict[str, int],
        queue_ids: tuple[str, ...],
        ring_timeout_seconds: int,
    ) -> None: ...
    def delete(self, merchant_id: str, seat_id: str) -> None: ...
    def save_state(
        self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot
    ) -> None: ...
    def set_ha1(self, username: str, ha1: dict[str, str]) -> None: ...


class TrunkPort(Protocol):
    """``owner`` scopes a request: a merchant id reaches only that merchant's trunks (another's is
    NotFoundError), None (the platform admin) reaches every trunk."""

    def create(self, trunk: Trunk) -> None: ...
    def get(self, trunk_id: str, owner: str | None) -> Trunk: ...
    def update(
        self, trunk_id: str, owner: str | None, change: UpdateTrunk, auth: OutboundAuth | None
    ) -> Trunk:
        """The trunk as changed (only the fields given; ``auth`` replaces the credentials when
        given); NotFoundError when there is none."""
        ...

    def delete(self, trunk_id: str, owner: str | None) -> None: ...
    def page(self, limit: int, next_token: str | None) -> Page[Trunk]: ...
    def page_for_merchant(self, merchant_id: str, limit: int, next_token: str | None) -> Page[Trunk]: ...


class QueueActivityPort(Protocol):
    def waiting_since(self, queue_id: str) -> list[int]:
        """Enqueue times (epoch ms) of the contacts waiting in the queue now."""
        ...

    def daily_counts(self, queue_id: str, day: str) -> tuple[int, int, int, int]:
        """(offered, answered, abandoned, timed_out) of the queue on a UTC day."""
        ...


class IdempotencyPort(Protocol):
    def claim(self, scope: str, key: str, request_hash: str, now: int, ttl_seconds: int) -> bool: ...
    def get(self, scope: str, key: str, now: int) -> IdempotencyRecord | None: ...
    def complete(self, scope: str, key: str, status_code: int, response: str) -> None: ...
    def release(self, scope: str, key: str) -> None: ...
