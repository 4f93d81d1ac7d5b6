"""Merchant ownership items, and the fence every owned write of a region passes through.

``RegionFence`` is what makes ``domain.ownership`` hold in the table: an owned write (a seat's state,
a contact's change, the offer that joins them) is a transaction that also checks the merchant's
ownership item for (home region == this region, epoch == the epoch this region acts under). A move
of the home is a conditional write on that item, so once it is in a region's replica every write of
the old home there fails with ``NotHomeRegionError`` and nothing of it is written.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError
from pynamodb.transactions import TransactWrite

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import OwnershipItem, items_of
from contact_center.data.transactions import failed_keys
from contact_center.domain.ownership import NotHomeRegionError, Ownership, StaleEpochError


def _ref(merchant_id: str) -> OwnershipItem:
    return OwnershipItem(pk=keys.merchant_pk(merchant_id), sk=keys.OWNERSHIP_SK)


def _ownership(item: OwnershipItem) -> Ownership:
    return Ownership(
        str(item.merchant_id),
        str(item.home_region),
        int(item.epoch),
        int(item.active_from or 0),
        str(item.preferred_region or ""),
    )


def _item(ownership: Ownership, now_ms: int) -> OwnershipItem:
    item = _ref(ownership.merchant_id)
    item.merchant_id = ownership.merchant_id
    item.home_region = ownership.home_region
    item.epoch = ownership.epoch
    item.active_from = ownership.active_from_ms
    item.preferred_region = ownership.preferred
    item.updated_at = now_ms
    item.gsi1pk = keys.OWNERSHIPS_INDEX_PK
    item.gsi1sk = ownership.merchant_id
    return item


class OwnershipItems:
    def get(self, merchant_id: str) -> Ownership | None:
        try:
            return _ownership(
                OwnershipItem.get(keys.merchant_pk(merchant_id), keys.OWNERSHIP_SK, consistent_read=True)
            )
        except DoesNotExist:
            return None

    def all(self) -> list[Ownership]:
        """Every merchant's ownership, from the index (eventually consistent: a move re-reads its own
        merchant's item strongly before writing)."""
        return [
            _ownership(item)
            for item in items_of(OwnershipItem, OwnershipItem.gsi1.query(keys.OWNERSHIPS_INDEX_PK))
        ]

    @staticmethod
    def stage_first(tx: TransactWrite, first: Ownership, now_ms: int) -> None:
        """Add a new merchant's first ownership to ``tx`` (the onboarding's write)."""
        # Invariant: a merchant gets its first home once; later homes are moves (``move``).
        tx.save(_item(first, now_ms), condition=OwnershipItem.pk.does_not_exist())

    def move(self, current: Ownership | None, moved: Ownership, now_ms: int) -> None:
        """Write ``moved`` only over ``current`` (None: the merchant has no ownership yet).

        StaleEpochError when the stored epoch is no longer ``current``'s: someone else moved it.
        """
        item = _item(moved, now_ms)
        # Invariant: one move per epoch; a region that read an older ownership cannot move it.
        condition = (
            OwnershipItem.pk.does_not_exist() if current is None else OwnershipItem.epoch == current.epoch
        )
        try:
            item.save(condition=condition)
        except PutError as exc:
            if is_condition_failure(exc):
                actual = self.get(moved.merchant_id)
                raise StaleEpochError(
                    moved.merchant_id, current.epoch if current else 0, actual.epoch if actual else 0
                ) from exc
            raise


class RegionFence:
    """The ownership check of one region's owned writes.

    Ownership is read strongly consistent and kept for ``cache_ms``: a move is seen by this region's
    writers within that time, and before that their condition check fails anyway.
    """

    def __init__(
        self,
        region: str,
        ownerships: OwnershipItems,
        clock: Callable[[], int],
        cache_ms: int = 1_000,
    ) -> None:
        self.region = region
        self._ownerships = ownerships
        self._clock = clock
        self._cache_ms = cache_ms
        self._cached: dict[str, tuple[int, Ownership | None]] = {}
        self._lock = threading.Lock()

    def current(self, merchant_id: str) -> Ownership | None:
        now = self._clock()
        with self._lock:
            hit = self._cached.get(merchant_id)
        if hit is not None and now - hit[0] < self._cache_ms:
            return hit[1]
        ownership = self._ownerships.get(merchant_id)
        with self._lock:
            self._cached[merchant_id] = (now, ownership)
        return ownership

    def forget(self, merchant_id: str) -> None:
        with self._lock:
            self._cached.pop(merchant_id, None)

    def owns(self, merchant_id: str) -> bool:
        ownership = self.current(merchant_id)
        return ownership is not None and ownership.decides_in(self.region, self._clock())

    def require(self, merchant_id: str) -> Ownership:
        """The ownership this region writes under; NotHomeRegionError when it does not decide now."""
        ownership = self.current(merchant_id)
        if ownership is None or not ownership.decides_in(self.region, self._clock()):
            raise self._refusal(merchant_id, ownership)
        return ownership

    def stage(self, tx: TransactWrite, merchant_id: str) -> Ownership:
        """Add the ownership check to ``tx``; the ownership it checks."""
        ownership = self.require(merchant_id)
        ref = _ref(merchant_id)
        # Invariant: only the home region, at the current epoch, writes a merchant's seats and contacts.
        tx.condition_check(
            OwnershipItem,
            ref.pk,
            ref.sk,
            condition=(OwnershipItem.home_region == self.region) & (OwnershipItem.epoch == ownership.epoch),
        )
        return ownership

    def check_failed(self, tx: TransactWrite, error: TransactWriteError, merchant_id: str) -> None:
        """Raise NotHomeRegionError when ``error`` is this fence's check failing (the home moved)."""
        ref = _ref(merchant_id)
        if (str(ref.pk), str(ref.sk)) in failed_keys(tx, error):
            self.forget(merchant_id)
            raise self._refusal(merchant_id, self.current(merchant_id)) from error

    def _refusal(self, merchant_id: str, ownership: Ownership | None) -> NotHomeRegionError:
        if ownership is None:
            return NotHomeRegionError(merchant_id, self.region, "", 0)
        return NotHomeRegionError(
            merchant_id, self.region, ownership.home_region, ownership.epoch, ownership.active_from_ms
        )


def stamp(item_class: Any, ownership: Ownership) -> list[Any]:
    """Update actions that stamp an owned item with the ownership it was written under."""
    return [item_class.home_region.set(ownership.home_region), item_class.epoch.set(ownership.epoch)]
