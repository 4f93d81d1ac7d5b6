"""Signing in: a person's password (or an invite) for a session token scoped to its role.

A wrong password, an unknown user and a user with no password yet all answer the same 401 after
the same work (``passwords.verify_password`` hashes even when there is nothing to compare), so the
answer reveals which user ids exist to no one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from contact_center.domain.access import Principal
from contact_center.domain.errors import ValidationError
from contact_center.domain.validation import validate_identifier

from .errors import AuthenticationError, TooManyAttemptsError
from .passwords import DEFAULT_COST, ScryptCost, hash_password, validate_password, verify_password
from .people import User, UserPort, invite_hash
from .ports import Clock
from .tokens import SessionToken, TokenSigner

INVALID_CREDENTIALS = "the merchant, user or password is not valid"
# Failed sign-ins allowed per user in one window: a person mistyping gets through, a guesser gets
# ten guesses per quarter hour (scrypt makes each cost the attacker too, but this costs us less).
FAILURES_PER_WINDOW = 10
WINDOW_MS = 15 * 60_000


class SignInAttemptPort(Protocol):
    def failures(self, merchant_id: str, user_id: str, window: int) -> int: ...
    def count_failure(self, merchant_id: str, user_id: str, window: int, expires_at_s: int) -> None: ...


@dataclass(frozen=True)
class SignIn:
    merchant_id: str
    user_id: str
    password: str


@dataclass(frozen=True)
class AcceptInvite:
    token: str
    password: str


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    return body


def parse_sign_in(body: object) -> SignIn:
    data = _object(body)
    password = data.get("password")
    if not isinstance(password, str) or not password:
        raise ValidationError("password", "must be a non-empty string")
    return SignIn(
        merchant_id=validate_identifier(data.get("merchant_id"), "merchant_id"),
        user_id=validate_identifier(data.get("user_id"), "user_id"),
        # Not held to today's length rules: a password set under other rules still signs in.
        password=password[:1024],
    )


def parse_accept_invite(body: object) -> AcceptInvite:
    data = _object(body)
    token = data.get("token")
    if not isinstance(token, str) or not token or len(token) > 256:
        raise ValidationError("token", "must be the invite token")
    return AcceptInvite(token=token, password=validate_password(data.get("password")))


def principal_of(user: User) -> Principal:
    return Principal(
        role=user.role,
        merchant_id=user.merchant_id,
        user_id=user.user_id,
        seat_id=user.seat_id,
        queue_ids=frozenset(user.queue_ids),
    )


class SignInService:
    def __init__(
        self,
        users: UserPort,
        signer: TokenSigner,
        clock: Clock,
        attempts: SignInAttemptPort,
        cost: ScryptCost = DEFAULT_COST,
    ) -> None:
        self._users = users
        self._signer = signer
        self._clock = clock
        self._attempts = attempts
        self._cost = cost

    def sign_in(self, command: SignIn) -> SessionToken:
        """A session token, or 401; after ``FAILURES_PER_WINDOW`` failures in a window, 429 until the
        next (the right password too: a guesser must not learn when it guessed)."""
        now = self._clock()
        window = now // WINDOW_MS
        if self._attempts.failures(command.merchant_id, command.user_id, window) >= FAILURES_PER_WINDOW:
            raise TooManyAttemptsError(((window + 1) * WINDOW_MS - now + 999) // 1000)
        found = self._users.credentials(command.merchant_id, command.user_id)
        user, stored = found if found is not None else (None, None)
        if not verify_password(command.password, stored, self._cost) or user is None:
            expires_at_s = (window + 2) * WINDOW_MS // 1000
            self._attempts.count_failure(command.merchant_id, command.user_id, window, expires_at_s)
            raise AuthenticationError(INVALID_CREDENTIALS)
        return self._signer.issue(principal_of(user))

    def accept_invite(self, command: AcceptInvite) -> SessionToken:
        """Set the password the invite's user chose and sign it in; the invite is then spent."""
        password_hash = hash_password(command.password, self._cost)
        user = self._users.redeem_invite(invite_hash(command.token), self._clock(), password_hash)
        return self._signer.issue(principal_of(user))
