"""Merchants, their API keys and their seat-licence counter."""

from __future__ import annotations

from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError
from pynamodb.expressions.update import Action
from pynamodb.transactions import TransactWrite

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import ApiKeyItem, MerchantItem, items_of
from contact_center.data.ownership import OwnershipItems
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.transactions import failed_keys, transaction
from contact_center.domain.errors import LicenceBelowUsageError
from contact_center.domain.ownership import Ownership
from contact_center.services.errors import AlreadyExistsError, NotFoundError


def new_merchant(
    merchant_id: str, name: str, contact_email: str, seat_licenses: int, created_at: int
) -> MerchantItem:
    return MerchantItem(
        pk=keys.merchant_pk(merchant_id),
        sk=keys.MERCHANT_SK,
        gsi1pk=keys.MERCHANTS_INDEX_PK,
        gsi1sk=f"{created_at:015d}#{merchant_id}",
        merchant_id=merchant_id,
        name=name,
        contact_email=contact_email,
        seat_licenses=seat_licenses,
        seats_used=0,
        created_at=created_at,
    )


def new_api_key(
    secret_hash: str, key_id: str, merchant_id: str, prefix: str, created_at: int, name: str | None = None
) -> ApiKeyItem:
    return ApiKeyItem(
        pk=keys.api_key_pk(secret_hash),
        sk=keys.API_KEY_SK,
        gsi1pk=keys.merchant_keys_index_pk(merchant_id),
        gsi1sk=key_id,
        key_id=key_id,
        merchant_id=merchant_id,
        prefix=prefix,
        name=name,
        created_at=created_at,
    )


class MerchantItems:
    def create(self, merchant: MerchantItem, first_key: ApiKeyItem, home: Ownership | None = None) -> None:
        """Create a merchant, its first API key and (two regions) its first home together, or none."""
        try:
            with transaction() as tx:
                # Invariant: merchant ids are never reused.
                tx.save(merchant, condition=MerchantItem.pk.does_not_exist())
                ApiKeyItems.stage_create(tx, first_key)
                if home is not None:
                    OwnershipItems.stage_first(tx, home, int(merchant.created_at))
        except TransactWriteError as exc:
            if failed_keys(tx, exc):
                raise AlreadyExistsError("merchant", merchant.merchant_id) from exc
            raise

    def get(self, merchant_id: str) -> MerchantItem:
        try:
            return MerchantItem.get(keys.merchant_pk(merchant_id), keys.MERCHANT_SK, consistent_read=True)
        except DoesNotExist as exc:
            raise NotFoundError("merchant", merchant_id) from exc

    def page(self, limit: int, next_token: str | None) -> Page[MerchantItem]:
        result = MerchantItem.gsi1.query(
            keys.MERCHANTS_INDEX_PK, limit=limit, last_evaluated_key=decode_token(next_token)
        )
        items = items_of(MerchantItem, result)
        return Page(items, encode_token(result.last_evaluated_key))

    def update_profile(
        self, merchant_id: str, *, name: str | None, contact_email: str | None
    ) -> MerchantItem:
        merchant = MerchantItem(pk=keys.merchant_pk(merchant_id), sk=keys.MERCHANT_SK)
        actions: list[Action] = [MerchantItem.version.add(1)]
        if name is not None:
            actions.append(MerchantItem.name.set(name))
        if contact_email is not None:
            actions.append(MerchantItem.contact_email.set(contact_email))
        try:
            # Invariant: an update never creates a merchant (no upsert of a half item).
            merchant.update(actions=actions, condition=MerchantItem.pk.exists())
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("merchant", merchant_id) from exc
            raise
        return merchant

    def set_dial_prefixes(self, merchant_id: str, prefixes: list[str]) -> None:
        merchant = MerchantItem(pk=keys.merchant_pk(merchant_id), sk=keys.MERCHANT_SK)
        try:
            # Invariant: an update never creates a merchant (no upsert of a half item).
            merchant.update(
                actions=[MerchantItem.dial_prefixes.set(prefixes), MerchantItem.version.add(1)],
                condition=MerchantItem.pk.exists(),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("merchant", merchant_id) from exc
            raise

    def set_seat_licenses(self, merchant_id: str, seat_licenses: int) -> MerchantItem:
        merchant = MerchantItem(pk=keys.merchant_pk(merchant_id), sk=keys.MERCHANT_SK)
        try:
            # Invariant: seats in use never exceed seats licensed.
            merchant.update(
                actions=[MerchantItem.seat_licenses.set(seat_licenses), MerchantItem.version.add(1)],
                condition=MerchantItem.pk.exists() & (MerchantItem.seats_used <= seat_licenses),
            )
        except UpdateError as exc:
            if not is_condition_failure(exc):
                raise
            current = self.get(merchant_id)  # raises NotFoundError when that was the failed part
            used = int(current.seats_used)
            raise LicenceBelowUsageError(used, used - seat_licenses) from exc
        return merchant


class ApiKeyItems:
    """API keys are looked up by the SHA-256 of the secret; the secret itself is never stored."""

    @staticmethod
    def stage_create(tx: TransactWrite, key: ApiKeyItem) -> None:
        # Invariant: one key per secret hash (a collision would hand one merchant's rights to another).
        tx.save(key, condition=ApiKeyItem.pk.does_not_exist())

    def create(self, key: ApiKeyItem) -> None:
        try:
            key.save(condition=ApiKeyItem.pk.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                raise AlreadyExistsError("api key", key.key_id) from exc
            raise

    def find_by_hash(self, secret_hash: str) -> ApiKeyItem | None:
        try:
            return ApiKeyItem.get(keys.api_key_pk(secret_hash), keys.API_KEY_SK)
        except DoesNotExist:
            return None

    def list_for_merchant(self, merchant_id: str, limit: int, next_token: str | None) -> Page[ApiKeyItem]:
        result = ApiKeyItem.gsi1.query(
            keys.merchant_keys_index_pk(merchant_id), limit=limit, last_evaluated_key=decode_token(next_token)
        )
        items = items_of(ApiKeyItem, result)
        return Page(items, encode_token(result.last_evaluated_key))

    def delete(self, merchant_id: str, key_id: str) -> None:
        for key in ApiKeyItem.gsi1.query(
            keys.merchant_keys_index_pk(merchant_id), ApiKeyItem.gsi1sk == key_id
        ):
            key.delete()
            return
        raise NotFoundError("api key", key_id)
