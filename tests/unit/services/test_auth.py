"""Tenant scoping holds for any path a client can send, non-ASCII included."""

from __future__ import annotations

import pytest

from contact_center.domain.access import Principal, Role
from contact_center.services.api_keys import hash_secret
from contact_center.services.auth import Authenticator
from contact_center.services.errors import NotFoundError
from contact_center.services.records import ApiKey, Merchant

NOW = 1_790_000_000_000
MERCHANT = Merchant("m1", "Acme", "ops@acme.test", seat_licenses=5, seats_used=0, created_at=NOW)


class Keys:
    def find_by_hash(self, secret_hash: str) -> ApiKey | None:
        return ApiKey("key1", "m1", "sbk_abc", None, NOW) if secret_hash == hash_secret("secret") else None


class Merchants:
    def get(self, merchant_id: str) -> Merchant:
        if merchant_id != MERCHANT.merchant_id:
            raise NotFoundError("merchant", merchant_id)
        return MERCHANT


@pytest.fixture
def auth() -> Authenticator:
    return Authenticator(Keys(), Merchants(), hash_secret("admin"))  # type: ignore[arg-type]


@pytest.mark.parametrize("path_id", ["mé1", "m1\u00a0", "日本", "m1\ud800", "\x00", ""])
def test_a_non_ascii_merchant_id_in_the_path_is_not_found(auth: Authenticator, path_id: str) -> None:
    merchant = auth.authenticate("Bearer secret")
    with pytest.raises(NotFoundError):
        auth.authorize_merchant(merchant, path_id)


def test_a_merchant_key_still_reaches_its_own_merchant(auth: Authenticator) -> None:
    assert auth.authorize_merchant(Principal(Role.MERCHANT_ADMIN, "m1", "key1"), "m1") == "m1"


def test_a_merchant_key_is_its_merchants_admin(auth: Authenticator) -> None:
    principal = auth.authenticate("Bearer secret")
    assert (principal.role, principal.merchant_id, principal.key_id) == (Role.MERCHANT_ADMIN, "m1", "key1")
