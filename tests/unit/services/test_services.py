"""Use-case logic with in-memory ports: no I/O."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contact_center.domain.agent_state import AgentSnapshot, AgentState, GoAvailable, GoNotReady
from contact_center.domain.credentials import digest_ha1, digest_ha1_set
from contact_center.domain.errors import IllegalTransitionError, LicenceBelowUsageError, ValidationError
from contact_center.domain.ownership import Ownership
from contact_center.services import commands
from contact_center.services.agent_state import AgentStateService
from contact_center.services.api_keys import hash_secret
from contact_center.services.auth import Authenticator
from contact_center.services.errors import (
    AuthenticationError,
    ConcurrentUpdateError,
    ForbiddenError,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
    NotFoundError,
)
from contact_center.services.idempotency import IdempotencyService, StoredResponse
from contact_center.services.merchants import MerchantService
from contact_center.services.records import ApiKey, IdempotencyRecord, Merchant, Page, Seat

NOW = 1_790_000_000_000


def clock() -> int:
    return NOW


# Fakes


class FakeSeats:
    def __init__(self, seat: Seat, conflicts: int = 0) -> None:
        self.seat = seat
        self.conflicts = conflicts
        self.saves = 0

    def get(self, merchant_id: str, seat_id: str) -> Seat:
        return self.seat

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        self.saves += 1
        if self.conflicts:
            self.conflicts -= 1
            # Someone else wrote in between: the stored version moved on.
            self.seat = replace(
                self.seat, agent=replace(self.seat.agent, version=self.seat.agent.version + 1)
            )
            raise ConcurrentUpdateError("seat", seat_id)
        assert expected_version == self.seat.agent.version
        self.seat = replace(self.seat, agent=agent)


class FakeIdempotency:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], IdempotencyRecord] = {}

    def claim(self, scope: str, key: str, request_hash: str, now: int, ttl_seconds: int) -> bool:
        if (scope, key) in self.records:
            return False
        self.records[(scope, key)] = IdempotencyRecord(request_hash, None, None, now)
        return True

    def get(self, scope: str, key: str, now: int) -> IdempotencyRecord | None:
        return self.records.get((scope, key))

    def complete(self, scope: str, key: str, status_code: int, response: str) -> None:
        self.records[(scope, key)] = replace(
            self.records[(scope, key)], status_code=status_code, response=response
        )

    def release(self, scope: str, key: str) -> None:
        del self.records[(scope, key)]


class FakeMerchants:
    def __init__(self, merchant: Merchant) -> None:
        self.merchant = merchant
        self.calls: list[str] = []

    def get(self, merchant_id: str) -> Merchant:
        if merchant_id != self.merchant.merchant_id:
            raise NotFoundError("merchant", merchant_id)
        return self.merchant

    def set_seat_licenses(self, merchant_id: str, seat_licenses: int) -> None:
        self.calls.append("licences")
        self.merchant = replace(self.merchant, seat_licenses=seat_licenses)

    def update_profile(self, merchant_id: str, *, name: str | None, contact_email: str | None) -> None:
        self.calls.append("profile")
        self.merchant = replace(self.merchant, name=name or self.merchant.name)

    def set_dial_prefixes(self, merchant_id: str, prefixes: tuple[str, ...]) -> None:
        self.calls.append("prefixes")
        self.merchant = replace(self.merchant, dial_prefixes=prefixes)

    def create(
        self, merchant: Merchant, first_key: ApiKey, secret_hash: str, home: Ownership | None = None
    ) -> None:
        raise NotImplementedError

    def page(self, limit: int, next_token: str | None) -> Page[Merchant]:
        raise NotImplementedError


class FakeKeys:
    def __init__(self, keys: dict[str, ApiKey]) -> None:
        self.keys = keys

    def find_by_hash(self, secret_hash: str) -> ApiKey | None:
        return self.keys.get(secret_hash)


def seat(state: AgentState = AgentState.NOT_READY, version: int = 3) -> Seat:
    return Seat("m1", "s1", "Ada", "alice", AgentSnapshot("s1", state, version, NOW - 1000, reason="break"))


MERCHANT = Merchant("m1", "Acme", "ops@acme.test", seat_licenses=5, seats_used=3, created_at=NOW)


# change_agent_state


def test_change_applies_the_machine_and_writes_over_the_version_read() -> None:
    seats = FakeSeats(seat())
    result = AgentStateService(seats, clock).change("m1", "s1", GoAvailable())  # type: ignore[arg-type]
    assert (result.agent.state, result.agent.version, result.agent.idle_since_ms) == (
        AgentState.AVAILABLE,
        4,
        NOW,
    )
    assert seats.seat.agent.state is AgentState.AVAILABLE


def test_change_retries_once_after_a_concurrent_write() -> None:
    seats = FakeSeats(seat(), conflicts=1)
    result = AgentStateService(seats, clock).change("m1", "s1", GoAvailable())  # type: ignore[arg-type]
    assert seats.saves == 2 and result.agent.version == 5


def test_change_gives_up_after_the_retry() -> None:
    seats = FakeSeats(seat(), conflicts=2)
    with pytest.raises(ConcurrentUpdateError):
        AgentStateService(seats, clock).change("m1", "s1", GoAvailable())  # type: ignore[arg-type]
    assert seats.saves == 2


def test_an_illegal_transition_names_the_current_state_and_writes_nothing() -> None:
    seats = FakeSeats(seat(AgentState.ON_CONTACT))
    with pytest.raises(IllegalTransitionError) as caught:
        AgentStateService(seats, clock).change("m1", "s1", GoAvailable())  # type: ignore[arg-type]
    assert caught.value.state == "on_contact" and seats.saves == 0


def test_a_change_to_the_same_state_writes_nothing() -> None:
    seats = FakeSeats(seat())
    AgentStateService(seats, clock).change("m1", "s1", GoNotReady("break"))  # type: ignore[arg-type]
    assert seats.saves == 0


# Idempotency


def test_idempotency_replays_the_first_response() -> None:
    service = IdempotencyService(FakeIdempotency(), clock)
    runs: list[int] = []

    def action() -> StoredResponse:
        runs.append(1)
        return StoredResponse(201, '{"id": 1}')

    first = service.run("merchant:m1", "k", "h", action)
    again = service.run("merchant:m1", "k", "h", action)
    assert (first.replayed, again.replayed, again.response, len(runs)) == (False, True, first.response, 1)
    with pytest.raises(IdempotencyKeyReusedError):
        service.run("merchant:m1", "k", "other request", action)


def test_idempotency_releases_the_key_when_the_first_request_fails() -> None:
    store = FakeIdempotency()
    service = IdempotencyService(store, clock)

    def failing() -> StoredResponse:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        service.run("admin", "k", "h", failing)
    assert store.records == {}
    assert service.run("admin", "k", "h", lambda: StoredResponse(200, "{}")).replayed is False


def test_idempotency_reports_a_first_request_still_running() -> None:
    store = FakeIdempotency()
    store.claim("admin", "k", "h", 0, 60)
    with pytest.raises(IdempotencyInProgressError):
        IdempotencyService(store, clock).run("admin", "k", "h", lambda: StoredResponse(200, "{}"))


# Merchants and auth


def test_lowering_licences_below_usage_is_refused_before_any_write() -> None:
    merchants = FakeMerchants(MERCHANT)
    with pytest.raises(LicenceBelowUsageError) as caught:
        MerchantService(merchants, clock).update(  # type: ignore[arg-type]
            "m1", commands.UpdateMerchant(name="New", seat_licenses=1), by_platform_admin=True
        )
    assert caught.value.to_remove == 2 and merchants.calls == []


def test_only_the_platform_admin_changes_licences_and_nothing_is_written_otherwise() -> None:
    merchants = FakeMerchants(MERCHANT)
    with pytest.raises(ForbiddenError) as caught:
        MerchantService(merchants, clock).update(  # type: ignore[arg-type]
            "m1", commands.UpdateMerchant(name="New", seat_licenses=9), by_platform_admin=False
        )
    assert caught.value.field == "seat_licenses" and merchants.calls == []


def test_licences_change_before_the_profile() -> None:
    merchants = FakeMerchants(MERCHANT)
    updated = MerchantService(merchants, clock).update(  # type: ignore[arg-type]
        "m1", commands.UpdateMerchant(name="New", seat_licenses=9), by_platform_admin=True
    )
    assert merchants.calls == ["licences", "profile"] and updated.seat_licenses == 9


def test_authentication_and_tenant_scoping() -> None:
    key = ApiKey("key1", "m1", "sbk_abc", None, NOW)
    auth = Authenticator(
        FakeKeys({hash_secret("merchant-secret"): key}), FakeMerchants(MERCHANT), hash_secret("admin")
    )  # type: ignore[arg-type]
    admin = auth.authenticate("Bearer admin")
    merchant = auth.authenticate("bearer merchant-secret")
    assert admin.is_admin and merchant.merchant_id == "m1"
    assert auth.authorize_merchant(merchant, "m1") == "m1"
    with pytest.raises(NotFoundError):
        auth.authorize_merchant(merchant, "m2")
    with pytest.raises(NotFoundError):
        auth.authorize_merchant(admin, "m2")  # the admin too gets 404 for a merchant that does not exist
    with pytest.raises(ForbiddenError):
        auth.require_admin(merchant)
    for header in (None, "", "Bearer", "Token admin", "Bearer wrong"):
        with pytest.raises(AuthenticationError):
            auth.authenticate(header)


def test_no_admin_key_configured_means_no_admin() -> None:
    auth = Authenticator(FakeKeys({}), FakeMerchants(MERCHANT), None)  # type: ignore[arg-type]
    with pytest.raises(AuthenticationError):
        auth.authenticate("Bearer anything")


# Commands and credentials


def test_state_change_commands_come_from_the_domain() -> None:
    assert commands.parse_state_change({"state": "available"}) == GoAvailable()
    assert commands.parse_state_change({"state": "not_ready", "reason": " lunch "}) == GoNotReady("lunch")
    with pytest.raises(ValidationError) as caught:
        commands.parse_state_change({"state": "reserved"})
    assert caught.value.field == "state"


def test_seat_skills_list_becomes_a_map_and_names_bad_items() -> None:
    profile = commands.parse_create_seat(
        {"display_name": "Ada", "skills": [{"name": "English", "proficiency": 4}], "queue_ids": ["q1", "q1"]}
    )
    assert profile.skills == {"english": 4} and profile.queue_ids == ("q1",)
    with pytest.raises(ValidationError) as caught:
        commands.parse_create_seat({"display_name": "Ada", "skills": [{"name": "en", "proficiency": 0}]})
    assert caught.value.field == "skills[0].proficiency"


def test_seat_ring_timeout_defaults_on_create_and_is_left_alone_by_a_patch_without_it() -> None:
    assert commands.parse_create_seat({"display_name": "Ada"}).ring_timeout_seconds == 20
    created = commands.parse_create_seat({"display_name": "Ada", "ring_timeout_seconds": 7})
    assert created.ring_timeout_seconds == 7
    assert commands.parse_update_seat({"ring_timeout_seconds": 45}) == commands.SeatPatch(
        ring_timeout_seconds=45
    )
    assert commands.parse_update_seat({"display_name": "Ada"}).ring_timeout_seconds is None
    assert commands.parse_update_seat({"ring_timeout_seconds": None}).ring_timeout_seconds is None


@pytest.mark.parametrize("value", [4, 121, True, "20", 20.0])
def test_seat_ring_timeout_refused_names_the_field(value: object) -> None:
    for parse, body in (
        (commands.parse_create_seat, {"display_name": "Ada", "ring_timeout_seconds": value}),
        (commands.parse_update_seat, {"ring_timeout_seconds": value}),
    ):
        with pytest.raises(ValidationError) as caught:
            parse(body)
        assert caught.value.field == "ring_timeout_seconds"


def test_page_parameters() -> None:
    assert commands.parse_page({"limit": "10", "next_token": "t"}) == commands.PageRequest(10, "t")
    assert commands.parse_page(None) == commands.PageRequest()
    for bad in ("0", "101", "-1", "1.5", "x"):
        with pytest.raises(ValidationError):
            commands.parse_page({"limit": bad})


def test_digest_ha1_matches_the_rfc_2617_example() -> None:
    # RFC 2617 §3.5: Mufasa / testrealm@host.com / "Circle Of Life".
    assert digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == "939e7578ed9e3c518a452acee763bce9"
    both = digest_ha1_set("Mufasa", "testrealm@host.com", "Circle Of Life")
    assert set(both) == {"MD5", "SHA-256"} and len(both["SHA-256"]) == 64
    with pytest.raises(ValidationError):
        digest_ha1("u", "r", "p", "SHA-512")
