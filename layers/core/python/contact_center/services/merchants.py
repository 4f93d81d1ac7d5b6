"""Merchant sign-up and account changes (profile, purchased seat licences)."""

from __future__ import annotations

from contact_center.domain.licensing import check_licence_change
from contact_center.domain.ownership import Ownership

from .api_keys import mint_key
from .commands import CreateMerchant, PageRequest, UpdateMerchant
from .errors import ForbiddenError
from .ids import new_id
from .ports import Clock, MerchantPort
from .records import Merchant, MerchantSignup, Page

FIRST_KEY_NAME = "default"


class MerchantService:
    def __init__(self, merchants: MerchantPort, clock: Clock, region: str | None = None) -> None:
        self._merchants = merchants
        self._clock = clock
        # Two regions: the region serving the sign-up becomes the merchant's home (epoch 1).
        self._region = region

    def sign_up(self, command: CreateMerchant) -> MerchantSignup:
        """The merchant, its first API key and (two regions) its home are written together, so no
        merchant is ever keyless or homeless."""
        now = self._clock()
        merchant = Merchant(
            merchant_id=new_id("mer"),
            name=command.name,
            contact_email=command.contact_email,
            seat_licenses=command.seat_licenses,
            seats_used=0,
            created_at=now,
        )
        issued, secret_hash = mint_key(merchant.merchant_id, FIRST_KEY_NAME, now)
        home = None
        if self._region:
            # Owned from its first write: without a home no region could write its seats or contacts.
            home = Ownership(merchant.merchant_id, self._region, 1, 0, self._region)
        self._merchants.create(merchant, issued.key, secret_hash, home)
        return MerchantSignup(merchant, issued)

    def get(self, merchant_id: str) -> Merchant:
        return self._merchants.get(merchant_id)

    def list(self, page: PageRequest) -> Page[Merchant]:
        return self._merchants.page(page.limit, page.next_token)

    def update(self, merchant_id: str, command: UpdateMerchant, *, by_platform_admin: bool) -> Merchant:
        """Change the profile; ``seat_licenses`` only for the platform admin, who sells them: a
        merchant raising its own licences would make licensing meaningless."""
        if command.seat_licenses is not None and not by_platform_admin:
            raise ForbiddenError("only the platform admin changes seat_licenses", "seat_licenses")
        # Licences first: it is the change that can be refused (409), and refusing it must leave the
        # profile untouched too.
        if command.seat_licenses is not None:
            current = self._merchants.get(merchant_id)
            check_licence_change(command.seat_licenses, current.seats_used)
            # The store re-checks atomically: a seat created since the read still wins.
            self._merchants.set_seat_licenses(merchant_id, command.seat_licenses)
        if command.dial_prefixes is not None:
            self._merchants.set_dial_prefixes(merchant_id, command.dial_prefixes)
        if command.name is not None or command.contact_email is not None:
            self._merchants.update_profile(
                merchant_id, name=command.name, contact_email=command.contact_email
            )
        return self._merchants.get(merchant_id)
