"""The use cases' storage ports (``contact_center.services.ports``) over this package's repositories.

Each adapter turns service values into items, items back into service values, and this package's
named errors into the services' (or the domain's licence errors), so the use cases never see
PynamoDB or a DynamoDB exception.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Any, TypeVar

from pynamodb.exceptions import PynamoDBException

from contact_center.data import errors as data_errors
from contact_center.data import keys
from contact_center.data.catalog import NumberRepository, QueueRepository, TrunkRepository
from contact_center.data.contacts import ContactRepository
from contact_center.data.merchants import ApiKeyRepository, MerchantRepository, new_api_key, new_merchant
from contact_center.data.models import (
    ApiKeyItem,
    MerchantItem,
    NumberItem,
    QueueItem,
    SeatItem,
    TrunkItem,
)
from contact_center.data.pagination import BadPageTokenError, Page, decode_token
from contact_center.data.seats import SeatRepository, SeatState, SipUserRepository, new_seat, new_sip_user
from contact_center.data.sessions import IdempotencyRepository
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.domain.errors import LicenceBelowUsageError, SeatLicenceExhaustedError, ValidationError
from contact_center.domain.queueing import Overflow, OverflowKind, RoutingStrategy
from contact_center.domain.skills import SkillRequirement
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS
from contact_center.services import commands, records
from contact_center.services import errors as service_errors

T = TypeVar("T")
R = TypeVar("R")

# Seats belong to queues with a per-agent priority in storage; the API does not expose it yet.
DEFAULT_AGENT_QUEUE_PRIORITY = 1


@contextmanager
def translated() -> Iterator[None]:
    """This package's errors as the services' errors; storage faults propagate unchanged."""
    try:
        yield
    except data_errors.NotFoundError as exc:
        raise service_errors.NotFoundError(exc.entity, exc.key) from exc
    except data_errors.AlreadyExistsError as exc:
        raise service_errors.AlreadyExistsError(exc.entity, exc.key) from exc
    except data_errors.InUseError as exc:
        raise service_errors.InUseError(exc.entity, exc.key, exc.detail) from exc
    except data_errors.ConcurrentUpdateError as exc:
        raise service_errors.ConcurrentUpdateError(exc.entity, exc.key) from exc
    except data_errors.LicenceExhaustedError as exc:
        raise SeatLicenceExhaustedError(exc.licensed, exc.used) from exc
    except data_errors.LicenceBelowUsageError as exc:
        raise LicenceBelowUsageError(exc.used, exc.to_remove) from exc
    except BadPageTokenError as exc:
        raise ValidationError("next_token", "is not a token this API issued") from exc


def _checked_token(token: str | None, partition_attribute: str, partition_value: str) -> str | None:
    """Refuse a token that does not continue this very listing.

    A token is the last evaluated key; one edited or taken from another listing would make
    DynamoDB fail the query (a 500) rather than the client's request (a 400).
    """
    if token is None:
        return None
    value = decode_token(token)
    if (
        not value
        or not all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in value.values()
        )
        or value.get(partition_attribute) != {"S": partition_value}
        or not {"pk", "sk"} <= set(value)
        or not set(value) <= {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}
    ):
        raise BadPageTokenError("next_token is not a token this API issued")
    return token


def _page(page: Page[T], convert: Callable[[T], R]) -> records.Page[R]:
    return records.Page([convert(item) for item in page.items], page.next_token)


def _list(
    fetch: Callable[[str | None], Page[T]],
    convert: Callable[[T], R],
    token: str | None,
    partition: tuple[str, str],
) -> records.Page[R]:
    with translated():
        checked = _checked_token(token, *partition)
        try:
            return _page(fetch(checked), convert)
        except PynamoDBException as exc:
            if "ValidationException" in str(getattr(exc, "cause_response_code", "")) and checked is not None:
                raise BadPageTokenError("next_token is not a token this API issued") from exc
            raise


# Merchants and keys


def merchant_from_item(item: MerchantItem) -> records.Merchant:
    return records.Merchant(
        merchant_id=item.merchant_id,
        name=item.name,
        contact_email=item.contact_email,
        seat_licenses=int(item.seat_licenses),
        seats_used=int(item.seats_used or 0),
        created_at=int(item.created_at),
    )


def api_key_from_item(item: ApiKeyItem) -> records.ApiKey:
    return records.ApiKey(item.key_id, item.merchant_id, item.prefix, item.name, int(item.created_at))


def _api_key_item(key: records.ApiKey, secret_hash: str) -> ApiKeyItem:
    return new_api_key(secret_hash, key.key_id, key.merchant_id, key.prefix, key.created_at, key.name)


class DynamoMerchantStore:
    def __init__(self) -> None:
        self._repo = MerchantRepository()

    def create(self, merchant: records.Merchant, first_key: records.ApiKey, secret_hash: str) -> None:
        item = new_merchant(
            merchant.merchant_id,
            merchant.name,
            merchant.contact_email,
            merchant.seat_licenses,
            merchant.created_at,
        )
        with translated():
            self._repo.create(item, _api_key_item(first_key, secret_hash))

    def get(self, merchant_id: str) -> records.Merchant:
        with translated():
            return merchant_from_item(self._repo.get(merchant_id))

    def list(self, limit: int, next_token: str | None) -> records.Page[records.Merchant]:
        return _list(
            lambda token: self._repo.list(limit, token),
            merchant_from_item,
            next_token,
            ("gsi1pk", keys.MERCHANTS_INDEX_PK),
        )

    def update_profile(self, merchant_id: str, *, name: str | None, contact_email: str | None) -> None:
        with translated():
            self._repo.update_profile(merchant_id, name=name, contact_email=contact_email)

    def set_seat_licenses(self, merchant_id: str, seat_licenses: int) -> None:
        with translated():
            self._repo.set_seat_licenses(merchant_id, seat_licenses)


class DynamoApiKeyStore:
    def __init__(self) -> None:
        self._repo = ApiKeyRepository()

    def create(self, key: records.ApiKey, secret_hash: str) -> None:
        with translated():
            self._repo.create(_api_key_item(key, secret_hash))

    def find_by_hash(self, secret_hash: str) -> records.ApiKey | None:
        item = self._repo.find_by_hash(secret_hash)
        return api_key_from_item(item) if item is not None else None

    def list_for_merchant(
        self, merchant_id: str, limit: int, next_token: str | None
    ) -> records.Page[records.ApiKey]:
        return _list(
            lambda token: self._repo.list_for_merchant(merchant_id, limit, token),
            api_key_from_item,
            next_token,
            ("gsi1pk", keys.merchant_keys_index_pk(merchant_id)),
        )

    def delete(self, merchant_id: str, key_id: str) -> None:
        with translated():
            self._repo.delete(merchant_id, key_id)


# Queues, numbers, trunks


def _overflow_from_map(value: Any) -> Overflow | None:
    if not value:
        return None
    data = value.as_dict() if hasattr(value, "as_dict") else dict(value)
    return Overflow(OverflowKind(data["type"]), str(data["target"]))


def queue_from_item(item: QueueItem) -> records.Queue:
    return records.Queue(
        merchant_id=item.merchant_id,
        queue_id=item.queue_id,
        name=item.name,
        skills=tuple(
            SkillRequirement(str(s["name"]), int(s.get("min_proficiency", 1))) for s in (item.skills or [])
        ),
        priority=int(item.priority),
        strategy=RoutingStrategy(item.strategy),
        max_wait_seconds=int(item.max_wait_seconds),
        overflow=_overflow_from_map(item.overflow),
        wrap_up_seconds=int(item.wrap_up_seconds),
        created_at=int(item.created_at),
    )


def _queue_attributes(queue: records.Queue) -> dict[str, Any]:
    return {
        "name": queue.name,
        "skills": [{"name": s.name, "min_proficiency": s.min_proficiency} for s in queue.skills],
        "priority": queue.priority,
        "strategy": queue.strategy.value,
        "max_wait_seconds": queue.max_wait_seconds,
        "overflow": (
            {"type": queue.overflow.kind.value, "target": queue.overflow.target} if queue.overflow else None
        ),
        "wrap_up_seconds": queue.wrap_up_seconds,
    }


class DynamoQueueStore:
    def __init__(self) -> None:
        self._repo = QueueRepository()

    def create(self, queue: records.Queue) -> None:
        attributes = _queue_attributes(queue)
        if attributes["overflow"] is None:
            del attributes["overflow"]
        item = QueueItem(
            merchant_id=queue.merchant_id, queue_id=queue.queue_id, created_at=queue.created_at, **attributes
        )
        with translated():
            self._repo.create(item)

    def get(self, merchant_id: str, queue_id: str) -> records.Queue:
        with translated():
            return queue_from_item(self._repo.get(merchant_id, queue_id))

    def list(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[records.Queue]:
        return _list(
            lambda token: self._repo.list(merchant_id, limit, token),
            queue_from_item,
            next_token,
            ("pk", keys.merchant_pk(merchant_id)),
        )

    def replace(self, queue: records.Queue) -> None:
        with translated():
            self._repo.update(queue.merchant_id, queue.queue_id, _queue_attributes(queue))

    def delete(self, merchant_id: str, queue_id: str) -> None:
        with translated():
            self._repo.delete(merchant_id, queue_id)


def number_from_item(item: NumberItem) -> records.PhoneNumber:
    return records.PhoneNumber(item.number, item.merchant_id, item.queue_id, int(item.created_at))


class DynamoNumberStore:
    def __init__(self) -> None:
        self._repo = NumberRepository()

    def create(self, number: records.PhoneNumber) -> None:
        item = NumberItem(
            number=number.number,
            merchant_id=number.merchant_id,
            queue_id=number.queue_id,
            created_at=number.created_at,
        )
        with translated():
            self._repo.create(item)

    def list(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[records.PhoneNumber]:
        return _list(
            lambda token: self._repo.list(merchant_id, limit, token),
            number_from_item,
            next_token,
            ("gsi1pk", keys.merchant_numbers_index_pk(merchant_id)),
        )

    def delete(self, merchant_id: str, number: str) -> None:
        with translated():
            self._repo.delete(merchant_id, number)


def trunk_from_item(item: TrunkItem) -> records.Trunk:
    return records.Trunk(
        item.trunk_id, item.name, tuple(item.source_cidrs or ()), bool(item.legacy), int(item.created_at)
    )


class DynamoTrunkStore:
    def __init__(self) -> None:
        self._repo = TrunkRepository()

    def create(self, trunk: records.Trunk) -> None:
        # The record's fields are the item's, the networks as a list.
        item = TrunkItem(**{**asdict(trunk), "source_cidrs": list(trunk.source_cidrs)})
        with translated():
            self._repo.create(item)

    def update(self, trunk_id: str, change: commands.UpdateTrunk) -> records.Trunk:
        with translated():
            item = self._repo.update(trunk_id, change.name, change.source_cidrs, change.legacy)
        return trunk_from_item(item)

    def delete(self, trunk_id: str) -> None:
        with translated():
            self._repo.delete(trunk_id)

    def list(self, limit: int, next_token: str | None) -> records.Page[records.Trunk]:
        return _list(
            lambda token: self._repo.list(limit, token),
            trunk_from_item,
            next_token,
            ("gsi1pk", keys.TRUNKS_INDEX_PK),
        )


# Seats


def snapshot_from_item(item: SeatItem) -> AgentSnapshot:
    return AgentSnapshot(
        seat_id=item.seat_id,
        state=AgentState(str(item.state).lower()),
        version=int(item.version),
        state_since_ms=int(item.state_since or 0),
        reason=item.state_reason,
        idle_since_ms=int(item.idle_since) if item.idle_since is not None else None,
        contact_id=item.contact_id,
        wrap_up_deadline_ms=int(item.wrap_up_until) if item.wrap_up_until is not None else None,
    )


def seat_state_from_snapshot(agent: AgentSnapshot) -> SeatState:
    return SeatState(
        state=agent.state.value,
        version=agent.version,
        state_since=agent.state_since_ms,
        reason=agent.reason,
        idle_since=agent.idle_since_ms,
        contact_id=agent.contact_id,
        wrap_up_until=agent.wrap_up_deadline_ms,
    )


def seat_from_item(item: SeatItem) -> records.Seat:
    skills = item.skills.as_dict() if hasattr(item.skills, "as_dict") else dict(item.skills or {})
    queues = item.queues.as_dict() if hasattr(item.queues, "as_dict") else dict(item.queues or {})
    return records.Seat(
        merchant_id=item.merchant_id,
        seat_id=item.seat_id,
        display_name=item.display_name,
        sip_username=item.sip_username,
        agent=snapshot_from_item(item),
        skills={name: int(level) for name, level in skills.items()},
        queue_ids=tuple(sorted(queues)),
        ring_timeout_seconds=_ring_timeout(item.ring_timeout_seconds),
        created_at=int(item.created_at),
    )


def _ring_timeout(stored: Any) -> int:
    # Seats written before the setting existed carry no value: they ring for the default.
    return int(stored) if stored is not None else DEFAULT_RING_TIMEOUT_SECONDS


def _queue_map(queue_ids: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(queue_ids, DEFAULT_AGENT_QUEUE_PRIORITY)


class DynamoSeatStore:
    def __init__(self) -> None:
        self._repo = SeatRepository()
        self._sip_users = SipUserRepository()

    def create(self, seat: records.Seat, sip_user: records.SipUser) -> None:
        item = new_seat(
            seat.merchant_id,
            seat.seat_id,
            seat.display_name,
            seat.sip_username,
            dict(seat.skills),
            _queue_map(seat.queue_ids),
            seat.created_at,
            ring_timeout_seconds=seat.ring_timeout_seconds,
        )
        user = new_sip_user(
            sip_user.username, sip_user.merchant_id, sip_user.seat_id, sip_user.realm, sip_user.ha1
        )
        with translated():
            self._repo.create(item, user)

    def get(self, merchant_id: str, seat_id: str) -> records.Seat:
        with translated():
            return seat_from_item(self._repo.get(merchant_id, seat_id))

    def list(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[records.Seat]:
        return _list(
            lambda token: self._repo.list(merchant_id, limit, token),
            seat_from_item,
            next_token,
            ("pk", keys.merchant_pk(merchant_id)),
        )

    def all_for_merchant(self, merchant_id: str) -> list[records.Seat]:
        return [seat_from_item(item) for item in self._repo.all_for_merchant(merchant_id)]

    def update_profile(
        self,
        merchant_id: str,
        seat_id: str,
        *,
        display_name: str,
        skills: dict[str, int],
        queue_ids: tuple[str, ...],
        ring_timeout_seconds: int,
    ) -> None:
        fields = {
            "display_name": display_name,
            "skills": dict(skills),
            "queues": _queue_map(queue_ids),
            "ring_timeout_seconds": ring_timeout_seconds,
        }
        with translated():
            self._repo.update_profile(merchant_id, seat_id, fields)

    def delete(self, merchant_id: str, seat_id: str) -> None:
        with translated():
            self._repo.delete(merchant_id, seat_id)

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        with translated():
            self._repo.save_state(merchant_id, seat_id, expected_version, seat_state_from_snapshot(agent))

    def set_ha1(self, username: str, ha1: dict[str, str]) -> None:
        with translated():
            self._sip_users.set_ha1(username, ha1)


# Queue activity and idempotency


class DynamoQueueActivityStore:
    def __init__(self) -> None:
        self._contacts = ContactRepository()

    def waiting_since(self, queue_id: str) -> list[int]:
        return [int(c.enqueued_at) for c in self._contacts.waiting(queue_id) if c.enqueued_at is not None]

    def daily_counts(self, queue_id: str, day: str) -> tuple[int, int, int]:
        stats = self._contacts.stats(queue_id, day)
        if stats is None:
            return (0, 0, 0)
        return (int(stats.offered or 0), int(stats.answered or 0), int(stats.abandoned or 0))


class DynamoIdempotencyStore:
    def __init__(self) -> None:
        self._repo = IdempotencyRepository()

    def claim(self, scope: str, key: str, request_hash: str, now: int, ttl_seconds: int) -> bool:
        return self._repo.claim(scope, key, request_hash, now, ttl_seconds)

    def get(self, scope: str, key: str, now: int) -> records.IdempotencyRecord | None:
        item = self._repo.get(scope, key, now)
        if item is None:
            return None
        return records.IdempotencyRecord(
            request_hash=item.request_hash,
            status_code=int(item.status_code) if item.status_code is not None else None,
            response=item.response,
            created_at=int(item.created_at),
        )

    def complete(self, scope: str, key: str, status_code: int, response: str) -> None:
        self._repo.complete(scope, key, status_code, response)

    def release(self, scope: str, key: str) -> None:
        self._repo.release(scope, key)
