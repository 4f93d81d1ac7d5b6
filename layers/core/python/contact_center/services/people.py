"""People who sign in: a merchant admin creates supervisors and agents, sets a password or sends an
invite; the person signs in (``sign_in``) for a short-lived token of its role.

A user id is the name the person signs in with, unique within its merchant. An agent holds one seat
of the merchant, a supervisor a set of its queues: both are checked to exist when the user is
written, so a token can never name a seat or queue the merchant does not have at that moment.
Invites are one-time tokens (``sbi_...``) stored as their SHA-256 only and valid for
``INVITE_TTL_SECONDS``; redeeming one sets the password and deletes it in one transaction.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.access import PERSON_ROLES, Role
from contact_center.domain.errors import ValidationError
from contact_center.domain.validation import validate_identifier

from .commands import PageRequest
from .errors import NotFoundError
from .passwords import DEFAULT_COST, ScryptCost, hash_password, validate_password
from .ports import Clock, QueuePort, SeatPort
from .records import Page

INVITE_PREFIX = "sbi_"
INVITE_BYTES = 32
INVITE_TTL_SECONDS = 7 * 24 * 3600
SUPERVISED_QUEUES_MAX = 50


@dataclass(frozen=True)
class User:
    merchant_id: str
    user_id: str
    role: Role
    seat_id: str | None
    queue_ids: tuple[str, ...]
    created_at: int
    password_set: bool = False


@dataclass(frozen=True)
class Invite:
    token: str  # shown once, to the merchant admin who passes it on
    expires_at: int  # epoch ms


@dataclass(frozen=True)
class CreatedUser:
    user: User
    invite: Invite | None  # when no password was given


class UserPort(Protocol):
    def create(self, user: User, password_hash: str | None) -> None: ...
    def get(self, merchant_id: str, user_id: str) -> User: ...
    def credentials(self, merchant_id: str, user_id: str) -> tuple[User, str | None] | None:
        """The user and its password hash, or None when there is no such user."""
        ...

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[User]: ...
    def delete(self, merchant_id: str, user_id: str) -> None: ...
    def set_password(self, merchant_id: str, user_id: str, password_hash: str) -> None: ...
    def create_invite(self, invite_hash: str, merchant_id: str, user_id: str, expires_at: int) -> None: ...
    def redeem_invite(self, invite_hash: str, now: int, password_hash: str) -> User:
        """Set the invited user's password and delete the invite, or AuthenticationError."""
        ...


# Commands


@dataclass(frozen=True)
class CreateUser:
    user_id: str
    role: Role
    seat_id: str | None = None
    queue_ids: tuple[str, ...] = ()
    password: str | None = None


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    return body


def parse_create_user(body: object) -> CreateUser:
    data = _object(body)
    role_value = data.get("role")
    if role_value not in {role.value for role in PERSON_ROLES}:
        raise ValidationError("role", f"must be one of {sorted(role.value for role in PERSON_ROLES)}")
    role = Role(role_value)
    seat_id = data.get("seat_id")
    queue_ids = data.get("queue_ids", [])
    if role is Role.AGENT:
        seat_id = validate_identifier(seat_id, "seat_id")
        if queue_ids:
            raise ValidationError("queue_ids", "only for a supervisor")
    else:
        if seat_id is not None:
            raise ValidationError("seat_id", "only for an agent")
        if not isinstance(queue_ids, list) or not 1 <= len(queue_ids) <= SUPERVISED_QUEUES_MAX:
            raise ValidationError("queue_ids", f"must be a list of 1 to {SUPERVISED_QUEUES_MAX} queue ids")
    password = data.get("password")
    return CreateUser(
        user_id=validate_identifier(data.get("user_id"), "user_id"),
        role=role,
        seat_id=seat_id,
        queue_ids=tuple(sorted({validate_identifier(q, "queue_ids") for q in queue_ids})),
        password=None if password is None else validate_password(password),
    )


def parse_password(body: object) -> str:
    return validate_password(_object(body).get("password"))


def invite_hash(token: str) -> str:
    # 32 random bytes: unguessable, so an unsalted hash is enough to look it up by (as API keys).
    return hashlib.sha256(token.encode()).hexdigest()


class PeopleService:
    def __init__(
        self,
        users: UserPort,
        seats: SeatPort,
        queues: QueuePort,
        clock: Clock,
        cost: ScryptCost = DEFAULT_COST,
    ) -> None:
        self._users = users
        self._seats = seats
        self._queues = queues
        self._clock = clock
        self._cost = cost

    def create(self, merchant_id: str, command: CreateUser) -> CreatedUser:
        # Checked when written, so a token never names a seat or queue the merchant lacked then.
        try:
            if command.seat_id is not None:
                self._seats.get(merchant_id, command.seat_id)
        except NotFoundError:
            raise ValidationError("seat_id", "names no seat of this merchant") from None
        for queue_id in command.queue_ids:
            try:
                self._queues.get(merchant_id, queue_id)
            except NotFoundError:
                raise ValidationError("queue_ids", f"{queue_id} names no queue of this merchant") from None
        user = User(
            merchant_id=merchant_id,
            user_id=command.user_id,
            role=command.role,
            seat_id=command.seat_id,
            queue_ids=command.queue_ids,
            created_at=self._clock(),
            password_set=command.password is not None,
        )
        password_hash = hash_password(command.password, self._cost) if command.password else None
        self._users.create(user, password_hash)
        invite = None if command.password is not None else self.invite(merchant_id, user.user_id)
        return CreatedUser(user, invite)

    def get(self, merchant_id: str, user_id: str) -> User:
        return self._users.get(merchant_id, user_id)

    def list(self, merchant_id: str, page: PageRequest) -> Page[User]:
        return self._users.page(merchant_id, page.limit, page.next_token)

    def delete(self, merchant_id: str, user_id: str) -> None:
        self._users.delete(merchant_id, user_id)

    def set_password(self, merchant_id: str, user_id: str, password: str) -> None:
        self._users.set_password(merchant_id, user_id, hash_password(password, self._cost))

    def invite(self, merchant_id: str, user_id: str) -> Invite:
        """A new one-time link token for the user (earlier ones stay valid until used or expired)."""
        self._users.get(merchant_id, user_id)
        token = INVITE_PREFIX + secrets.token_urlsafe(INVITE_BYTES)
        expires_at = self._clock() + INVITE_TTL_SECONDS * 1000
        self._users.create_invite(invite_hash(token), merchant_id, user_id, expires_at)
        return Invite(token, expires_at)
