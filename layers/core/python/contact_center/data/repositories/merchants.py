"""Merchants and their API keys (``services.ports.MerchantPort`` and ``ApiKeyPort``)."""

from __future__ import annotations

from contact_center.data import keys
from contact_center.data.mappers.merchants import (
    api_key_from_item,
    api_key_item,
    merchant_from_item,
    merchant_item,
)
from contact_center.data.merchants import ApiKeyItems, MerchantItems
from contact_center.data.repositories.paging import mapped_page
from contact_center.domain.ownership import Ownership
from contact_center.services import records


class MerchantRepository:
    def __init__(self) -> None:
        self._items = MerchantItems()

    def create(
        self,
        merchant: records.Merchant,
        first_key: records.ApiKey,
        secret_hash: str,
        home: Ownership | None = None,
    ) -> None:
        self._items.create(merchant_item(merchant), api_key_item(first_key, secret_hash), home)

    def get(self, merchant_id: str) -> records.Merchant:
        return merchant_from_item(self._items.get(merchant_id))

    def page(self, limit: int, next_token: str | None) -> records.Page[records.Merchant]:
        return mapped_page(
            lambda token: self._items.page(limit, token),
            merchant_from_item,
            next_token,
            ("gsi1pk", keys.MERCHANTS_INDEX_PK),
        )

    def update_profile(self, merchant_id: str, *, name: str | None, contact_email: str | None) -> None:
        self._items.update_profile(merchant_id, name=name, contact_email=contact_email)

    def set_seat_licenses(self, merchant_id: str, seat_licenses: int) -> None:
        self._items.set_seat_licenses(merchant_id, seat_licenses)

    def set_dial_prefixes(self, merchant_id: str, prefixes: tuple[str, ...]) -> None:
        self._items.set_dial_prefixes(merchant_id, list(prefixes))


class ApiKeyRepository:
    def __init__(self) -> None:
        self._items = ApiKeyItems()

    def create(self, key: records.ApiKey, secret_hash: str) -> None:
        self._items.create(api_key_item(key, secret_hash))

    def find_by_hash(self, secret_hash: str) -> records.ApiKey | None:
        item = self._items.find_by_hash(secret_hash)
        return api_key_from_item(item) if item is not None else None

    def list_for_merchant(
        self, merchant_id: str, limit: int, next_token: str | None
    ) -> records.Page[records.ApiKey]:
        return mapped_page(
            lambda token: self._items.list_for_merchant(merchant_id, limit, token),
            api_key_from_item,
            next_token,
            ("gsi1pk", keys.merchant_keys_index_pk(merchant_id)),
        )

    def delete(self, merchant_id: str, key_id: str) -> None:
        self._items.delete(merchant_id, key_id)
