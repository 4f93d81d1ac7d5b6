"""Seats (agents): profile, SIP credentials, live state, and the licence counter they consume."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import Attribute
from pynamodb.exceptions import DoesNotExist, TransactWriteError, UpdateError

from contact_center.aws.dynamodb import shared_client
from contact_center.data import availability, keys, table
from contact_center.data.conditions import is_condition_failure
from contact_center.data.mappers.common import optional_int
from contact_center.data.models import MerchantItem, SeatItem, SipUserItem
from contact_center.data.ownership import RegionFence, stamp
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.seat_state import SeatState
from contact_center.data.transactions import (
    CONDITION_FAILED,
    TRANSACTION_CONFLICT,
    failed_keys,
    key_of,
    transaction,
)
from contact_center.domain.agent_state import AgentState
from contact_center.domain.errors import SeatLicenceExhaustedError
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS
from contact_center.services.errors import (
    AlreadyExistsError,
    ConcurrentUpdateError,
    InUseError,
    NotFoundError,
)

BATCH_GET_ATTEMPTS = 6


class BatchGetError(Exception):
    """DynamoDB kept returning some keys of a batch read as unprocessed."""


# A seat in these states is bound to a live contact and cannot be deleted under it.
BUSY_STATES = (AgentState.RESERVED, AgentState.ON_CONTACT)
IDLE_STATES = tuple(s for s in AgentState if s not in BUSY_STATES)
PROFILE_ATTEMPTS = 3  # a profile update racing the seat's state changes reads and tries again


@dataclass(frozen=True)
class SeatFromState:
    """The seat a state change was computed from, without reading it: written only if it is still so.

    Used where a transaction changes a seat together with the contact it holds: the condition is
    the from-state of the transition (state, contact, version), so the write is the transition.
    """

    merchant_id: str
    seat_id: str
    state: str
    version: int
    contact_id: str | None


def seat_ref(merchant_id: str, seat_id: str) -> SeatItem:
    return SeatItem(pk=keys.seat_pk(merchant_id, seat_id), sk=keys.seat_sk(seat_id))


def from_state_condition(seat: SeatFromState) -> Any:
    """The seat is still in ``seat.state``, for ``seat.contact_id``, at ``seat.version``."""
    held = (
        SeatItem.contact_id == seat.contact_id
        if seat.contact_id is not None
        else SeatItem.contact_id.does_not_exist()
    )
    return (SeatItem.state == seat.state) & held & (SeatItem.version == seat.version)


def new_seat(
    merchant_id: str,
    seat_id: str,
    display_name: str,
    sip_username: str,
    skills: dict[str, int],
    queues: dict[str, int],
    created_at: int,
    home_region: str | None = None,
    ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS,
) -> SeatItem:
    return SeatItem(
        pk=keys.seat_pk(merchant_id, seat_id),
        sk=keys.seat_sk(seat_id),
        merchant_id=merchant_id,
        seat_id=seat_id,
        display_name=display_name,
        sip_username=sip_username,
        skills=skills,
        queues=queues,
        state=AgentState.OFFLINE.value,
        state_since=created_at,
        version=1,
        created_at=created_at,
        home_region=home_region,
        ring_timeout_seconds=ring_timeout_seconds,
    )


def new_sip_user(
    username: str, merchant_id: str, seat_id: str, realm: str, ha1: dict[str, str]
) -> SipUserItem:
    return SipUserItem(
        pk=keys.sip_user_pk(username),
        sk=keys.SIP_USER_SK,
        username=username,
        merchant_id=merchant_id,
        seat_id=seat_id,
        realm=realm,
        ha1=ha1,
        credentials_version=1,
    )


def _merchant_ref(merchant_id: str) -> MerchantItem:
    return MerchantItem(pk=keys.merchant_pk(merchant_id), sk=keys.MERCHANT_SK)


class SeatItems:
    def __init__(self, fence: RegionFence | None = None) -> None:
        # None: one region, no ownership to check (tests of one region, a single-region deploy).
        self._fence = fence

    def create(self, seat: SeatItem, sip_user: SipUserItem) -> None:
        """Take one licence, create the seat and its SIP user: all three or none."""
        merchant = _merchant_ref(seat.merchant_id)
        try:
            with transaction() as tx:
                # Invariant: seats_used < seat_licenses — concurrent creations can never exceed the licence.
                tx.update(
                    merchant,
                    actions=[MerchantItem.seats_used.add(1)],
                    condition=MerchantItem.pk.exists()
                    & (MerchantItem.seats_used < MerchantItem.seat_licenses),
                )
                # Invariant: seat ids are unique within the merchant.
                tx.save(seat, condition=SeatItem.pk.does_not_exist())
                # Invariant: SIP usernames are unique platform-wide (they are the digest identity).
                tx.save(sip_user, condition=SipUserItem.pk.does_not_exist())
        except TransactWriteError as exc:
            failed = failed_keys(tx, exc)
            if key_of(merchant) in failed:
                try:
                    current = MerchantItem.get(merchant.pk, merchant.sk, consistent_read=True)
                except DoesNotExist:
                    raise NotFoundError("merchant", seat.merchant_id) from exc
                raise SeatLicenceExhaustedError(int(current.seat_licenses), int(current.seats_used)) from exc
            if key_of(seat) in failed:
                raise AlreadyExistsError("seat", seat.seat_id) from exc
            if key_of(sip_user) in failed:
                raise AlreadyExistsError("sip user", sip_user.username) from exc
            raise

    def get(self, merchant_id: str, seat_id: str, consistent: bool = True) -> SeatItem:
        try:
            return SeatItem.get(
                keys.seat_pk(merchant_id, seat_id), keys.seat_sk(seat_id), consistent_read=consistent
            )
        except DoesNotExist as exc:
            raise NotFoundError("seat", seat_id) from exc

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[SeatItem]:
        """Up to ``limit`` seats, the merchant's partitions read in turn; the token is the last key
        read (in the partition it names), or the start of the next partition."""
        partitions = keys.seat_partitions(merchant_id)
        start = decode_token(next_token)
        index = partitions.index(start["pk"]["S"]) if start else 0
        items: list[SeatItem] = []
        while index < len(partitions):
            result = SeatItem.query(
                partitions[index],
                SeatItem.sk.startswith(keys.SEAT_SK_PREFIX),
                limit=limit - len(items),
                last_evaluated_key=start,
            )
            items += list(result)
            start = result.last_evaluated_key
            if len(items) >= limit:
                if start is None and index + 1 < len(partitions):
                    start = {"pk": {"S": partitions[index + 1]}, "sk": {"S": keys.SEAT_SK_PREFIX}}
                return Page(items, encode_token(start))
            if start is None:
                index += 1
        return Page(items, None)

    def all_for_merchant(self, merchant_id: str) -> list[SeatItem]:
        return [
            seat
            for partition in keys.seat_partitions(merchant_id)
            for seat in SeatItem.query(partition, SeatItem.sk.startswith(keys.SEAT_SK_PREFIX))
        ]

    def update_profile(self, merchant_id: str, seat_id: str, fields: dict[str, Any]) -> SeatItem:
        seat = SeatItem(pk=keys.seat_pk(merchant_id, seat_id), sk=keys.seat_sk(seat_id))
        # The version moves with the profile: a state change computed from the profile before this
        # one then fails its version condition, so it cannot list the seat under queues it left.
        actions = [getattr(SeatItem, name).set(value) for name, value in fields.items()]
        actions.append(SeatItem.version.add(1))
        # Every queue the seat served in any read: one that turned AVAILABLE between a read and the
        # write below was listed under the queues it served then, which this update may drop.
        served: set[str] = set()
        for attempt in range(1, PROFILE_ATTEMPTS + 1):
            current = self.get(merchant_id, seat_id)
            served.update(availability.served_queues(current))
            if current.state != AgentState.AVAILABLE.value:
                try:
                    # Invariant: a profile update never creates a seat without its licence and SIP user.
                    seat.update(actions=actions, condition=SeatItem.pk.exists())
                except UpdateError as exc:
                    if is_condition_failure(exc):
                        raise NotFoundError("seat", seat_id) from exc
                    raise
                if seat.state != AgentState.AVAILABLE.value:
                    return seat
                continue  # it became AVAILABLE meanwhile, listed under its old queues: list it again
            version = int(current.version)
            profile = SeatItem(**{**current.attribute_values, **fields})
            after = SeatState(
                state=current.state,
                version=version + 1,
                state_since=int(current.state_since),
                reason=current.state_reason,
                idle_since=optional_int(current.idle_since),
            )
            try:
                with transaction() as tx:
                    # Invariant: the seat's availability entries match its queues at its version.
                    tx.update(seat, actions=actions, condition=SeatItem.version == version)
                    availability.stage(
                        tx,
                        merchant_id,
                        seat_id,
                        sorted(served),  # an entry that does not exist is deleted without error
                        availability.entries(profile, after),
                    )
            except TransactWriteError as exc:
                if attempt < PROFILE_ATTEMPTS and failed_keys(
                    tx, exc, (CONDITION_FAILED, TRANSACTION_CONFLICT)
                ):
                    continue
                raise
            return self.get(merchant_id, seat_id)
        raise ConcurrentUpdateError("seat", seat_id, "kept changing during a profile update")

    def delete(self, merchant_id: str, seat_id: str) -> None:
        """Delete the seat, its SIP user, and give its licence back — all or nothing."""
        seat = self.get(merchant_id, seat_id)
        try:
            with transaction() as tx:
                # Whatever its state now: deleting an entry that does not exist is no error.
                for queue_id in availability.served_queues(seat):
                    tx.delete(availability.entry_ref(merchant_id, seat_id, queue_id))
                # Invariant: a seat bound to a live contact is not deleted under the call.
                tx.delete(
                    seat,
                    condition=SeatItem.pk.exists() & SeatItem.state.is_in(*(s.value for s in IDLE_STATES)),
                )
                tx.delete(SipUserItem(pk=keys.sip_user_pk(seat.sip_username), sk=keys.SIP_USER_SK))
                tx.update(
                    _merchant_ref(merchant_id),
                    actions=[MerchantItem.seats_used.add(-1)],
                    condition=MerchantItem.seats_used > 0,
                )
        except TransactWriteError as exc:
            if key_of(seat) in failed_keys(tx, exc):
                current = self.get(merchant_id, seat_id)
                raise InUseError("seat", seat_id, f"it is {current.state}") from exc
            raise

    def relist(self, merchant_id: str) -> list[str]:
        """List the merchant's AVAILABLE seats written before the per-queue availability index in
        their queues' indexes; their ids. A seat that changed meanwhile is left to its own change."""
        listed: list[str] = []
        for item in availability.unlisted_seats(merchant_id):
            seat = SeatItem(pk=item.pk, sk=item.sk)
            state = SeatState(
                state=item.state,
                version=int(item.version),
                state_since=int(item.state_since),
                reason=item.state_reason,
                idle_since=optional_int(item.idle_since),
            )
            try:
                with transaction() as tx:
                    # Invariant: the entries are those of the seat at the version read, AVAILABLE.
                    tx.update(
                        seat,
                        actions=[SeatItem.gsi1pk.remove(), SeatItem.gsi1sk.remove()],
                        condition=(SeatItem.version == state.version)
                        & (SeatItem.state == AgentState.AVAILABLE.value),
                    )
                    availability.stage(tx, merchant_id, item.seat_id, (), availability.entries(item, state))
            except TransactWriteError as exc:
                if failed_keys(tx, exc, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                    continue
                raise
            listed.append(item.seat_id)
        return listed

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, new: SeatState) -> None:
        """Write a state change computed from the snapshot at ``expected_version``."""
        seat = SeatItem(pk=keys.seat_pk(merchant_id, seat_id), sk=keys.seat_sk(seat_id))
        moved = ConcurrentUpdateError("seat", seat_id, f"expected version {expected_version}")
        if new.state != AgentState.AVAILABLE.value and self._fence is None:
            try:
                # Invariant: state changes are serialised per seat; a writer that read an older version
                # loses. Written alone only while the seat has no availability entries to drop.
                seat.update(
                    actions=state_update_actions(merchant_id, seat_id, new),
                    condition=(SeatItem.version == expected_version)
                    & (SeatItem.state != AgentState.AVAILABLE.value),
                )
                return
            except UpdateError as exc:
                if not is_condition_failure(exc):
                    raise
        # Into or out of AVAILABLE, or fenced: the entries follow the profile at the version written
        # over, and the merchant's ownership is checked in the same transaction.
        try:
            current = self.get(merchant_id, seat_id)
        except NotFoundError as exc:
            raise moved from exc
        if int(current.version) != expected_version:
            raise moved
        fence = self._fence
        try:
            with transaction() as tx:
                stamped: list[Any] = []
                if fence is not None:
                    # Invariant: only the merchant's home region, at its epoch, changes its agents.
                    stamped = stamp(SeatItem, fence.stage(tx, merchant_id))
                # Invariant: state changes are serialised per seat; a writer that read an older version
                # loses — and with it the availability entries computed from that version's profile.
                tx.update(
                    seat,
                    actions=[*state_update_actions(merchant_id, seat_id, new), *stamped],
                    condition=SeatItem.version == expected_version,
                )
                availability.stage(
                    tx,
                    merchant_id,
                    seat_id,
                    availability.listed_queues(current),
                    availability.entries(current, new),
                )
        except TransactWriteError as exc:
            if fence is not None:
                fence.check_failed(tx, exc, merchant_id)
            if failed_keys(tx, exc, (CONDITION_FAILED, TRANSACTION_CONFLICT)):
                raise moved from exc
            raise


def state_update_actions(merchant_id: str, seat_id: str, new: SeatState) -> list[Any]:
    """The update actions of a state change (also used by transactions that change other items)."""
    actions: list[Any] = [
        SeatItem.state.set(new.state),
        SeatItem.version.set(new.version),
        SeatItem.state_since.set(new.state_since),
    ]
    optional: list[tuple[Attribute[Any], str | int | None]] = [
        (SeatItem.state_reason, new.reason),
        (SeatItem.idle_since, new.idle_since),
        (SeatItem.contact_id, new.contact_id),
        (SeatItem.wrap_up_until, new.wrap_up_until),
    ]
    for attr, value in optional:
        actions.append(attr.set(value) if value is not None else attr.remove())
    # The router reads availability per queue (``availability``); seats written when it read one
    # index per merchant leave it at their next change.
    actions += [SeatItem.gsi1pk.remove(), SeatItem.gsi1sk.remove()]
    return actions


class SipUserItems:
    # DynamoDB's most keys in one BatchGetItem.
    BATCH_GET_LIMIT = 100

    def get(self, username: str) -> SipUserItem | None:
        try:
            return SipUserItem.get(keys.sip_user_pk(username), keys.SIP_USER_SK)
        except DoesNotExist:
            return None

    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, dict[str, str] | None]:
        """The HA1s (algorithm -> hex) of many users, 100 per BatchGetItem (a registration storm's
        first registrations); None for a user that does not exist. Eventually consistent, as ``get``."""
        found: dict[str, dict[str, str] | None] = dict.fromkeys(usernames)
        client = shared_client(table.BINDING.region, table.BINDING.host)
        for start in range(0, len(usernames), self.BATCH_GET_LIMIT):
            request: dict[str, Any] = {
                table.BINDING.table_name: {
                    "Keys": [
                        {"pk": {"S": keys.sip_user_pk(name)}, "sk": {"S": keys.SIP_USER_SK}}
                        for name in usernames[start : start + self.BATCH_GET_LIMIT]
                    ],
                    "ProjectionExpression": "#u, #h",
                    "ExpressionAttributeNames": {"#u": "username", "#h": "ha1"},
                }
            }
            for attempt in range(BATCH_GET_ATTEMPTS):
                if attempt:
                    time.sleep(0.05 * 2 ** (attempt - 1))  # DynamoDB returns keys it could not serve
                answer = client.call("BatchGetItem", RequestItems=request)
                for item in answer.get("Responses", {}).get(table.BINDING.table_name, []):
                    ha1 = item.get("ha1", {}).get("M", {})
                    found[item["username"]["S"]] = {str(k): str(v["S"]) for k, v in ha1.items()}
                request = answer.get("UnprocessedKeys") or {}
                if not request:
                    break
            else:
                raise BatchGetError(f"BatchGetItem left keys unread after {BATCH_GET_ATTEMPTS} attempts")
        return found

    def set_ha1(self, username: str, ha1: dict[str, str]) -> SipUserItem:
        user = SipUserItem(pk=keys.sip_user_pk(username), sk=keys.SIP_USER_SK)
        try:
            user.update(
                actions=[SipUserItem.ha1.set(ha1), SipUserItem.credentials_version.add(1)],
                condition=SipUserItem.pk.exists(),
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("sip user", username) from exc
            raise
        return user
