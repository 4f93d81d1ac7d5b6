"""Merchant and API key items."""

from __future__ import annotations

from contact_center.data.merchants import new_api_key, new_merchant
from contact_center.data.models import ApiKeyItem, MerchantItem
from contact_center.services.records import ApiKey, Merchant


def merchant_from_item(item: MerchantItem) -> Merchant:
    return Merchant(
        merchant_id=item.merchant_id,
        name=item.name,
        contact_email=item.contact_email,
        seat_licenses=int(item.seat_licenses),
        seats_used=int(item.seats_used or 0),
        created_at=int(item.created_at),
        dial_prefixes=tuple(str(prefix) for prefix in item.dial_prefixes or ()),
    )


def merchant_item(merchant: Merchant) -> MerchantItem:
    return new_merchant(
        merchant.merchant_id,
        merchant.name,
        merchant.contact_email,
        merchant.seat_licenses,
        merchant.created_at,
    )


def api_key_from_item(item: ApiKeyItem) -> ApiKey:
    return ApiKey(item.key_id, item.merchant_id, item.prefix, item.name, int(item.created_at))


def api_key_item(key: ApiKey, secret_hash: str) -> ApiKeyItem:
    return new_api_key(secret_hash, key.key_id, key.merchant_id, key.prefix, key.created_at, key.name)
