"""People who sign in (``services.people``): their items, passwords and one-time invites."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist, PutError, TransactWriteError, UpdateError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import TableItem, _strings
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.repositories.paging import mapped_page
from contact_center.data.table import BINDING
from contact_center.data.transactions import failed_keys, key_of, transaction
from contact_center.domain.access import Role
from contact_center.services import records
from contact_center.services.errors import AlreadyExistsError, AuthenticationError, NotFoundError
from contact_center.services.people import User

INVITE_NOT_VALID = "the invite is not valid, was already used or has expired"


class UserItem(TableItem):
    ENTITY = "user"
    merchant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    role = UnicodeAttribute()
    seat_id = UnicodeAttribute(null=True)
    queue_ids = _strings()
    password_hash = UnicodeAttribute(null=True)  # scrypt, parameters included; never the password
    created_at = NumberAttribute()


class InviteItem(TableItem):
    ENTITY = "invite"
    merchant_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    expires_at_ms = NumberAttribute()


class SignInFailuresItem(TableItem):
    """Failed sign-ins of one user in one window (``services.sign_in``), gone by TTL after it."""

    ENTITY = "sign_in_failures"
    failures = NumberAttribute(default=0)


BINDING.register(UserItem, InviteItem, SignInFailuresItem)


def _user_ref(merchant_id: str, user_id: str) -> UserItem:
    return UserItem(pk=keys.merchant_pk(merchant_id), sk=keys.user_sk(user_id))


def _user_of(item: UserItem) -> User:
    return User(
        merchant_id=item.merchant_id,
        user_id=item.user_id,
        role=Role(item.role),
        seat_id=item.seat_id,
        queue_ids=tuple(item.queue_ids or ()),
        created_at=int(item.created_at),
        password_set=item.password_hash is not None,
    )


class UserRepository:
    """``services.people.UserPort`` over the table."""

    def create(self, user: User, password_hash: str | None) -> None:
        item = UserItem(
            pk=keys.merchant_pk(user.merchant_id),
            sk=keys.user_sk(user.user_id),
            merchant_id=user.merchant_id,
            user_id=user.user_id,
            role=user.role.value,
            seat_id=user.seat_id,
            queue_ids=list(user.queue_ids),
            password_hash=password_hash,
            created_at=user.created_at,
        )
        try:
            # Invariant: a user id names one person within its merchant (it is what they sign in with).
            item.save(condition=UserItem.pk.does_not_exist())
        except PutError as exc:
            if is_condition_failure(exc):
                raise AlreadyExistsError("user", user.user_id) from exc
            raise

    def _item(self, merchant_id: str, user_id: str) -> UserItem | None:
        try:
            return UserItem.get(keys.merchant_pk(merchant_id), keys.user_sk(user_id), consistent_read=True)
        except DoesNotExist:
            return None

    def get(self, merchant_id: str, user_id: str) -> User:
        item = self._item(merchant_id, user_id)
        if item is None:
            raise NotFoundError("user", user_id)
        return _user_of(item)

    def credentials(self, merchant_id: str, user_id: str) -> tuple[User, str | None] | None:
        item = self._item(merchant_id, user_id)
        return None if item is None else (_user_of(item), item.password_hash)

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[User]:
        def fetch(token: str | None) -> Page[UserItem]:
            result = UserItem.query(
                keys.merchant_pk(merchant_id),
                UserItem.sk.startswith(keys.USER_SK_PREFIX),
                limit=limit,
                last_evaluated_key=decode_token(token),
            )
            items = list(result)
            return Page(items, encode_token(result.last_evaluated_key))

        return mapped_page(fetch, _user_of, next_token, ("pk", keys.merchant_pk(merchant_id)))

    def delete(self, merchant_id: str, user_id: str) -> None:
        try:
            _user_ref(merchant_id, user_id).delete(condition=UserItem.pk.exists())
        except Exception as exc:
            if is_condition_failure(exc):
                raise NotFoundError("user", user_id) from exc
            raise

    def set_password(self, merchant_id: str, user_id: str, password_hash: str) -> None:
        try:
            # Invariant: setting a password never creates a user.
            _user_ref(merchant_id, user_id).update(
                actions=[UserItem.password_hash.set(password_hash)], condition=UserItem.pk.exists()
            )
        except UpdateError as exc:
            if is_condition_failure(exc):
                raise NotFoundError("user", user_id) from exc
            raise

    def create_invite(self, invite_hash: str, merchant_id: str, user_id: str, expires_at: int) -> None:
        InviteItem(
            pk=keys.invite_pk(invite_hash),
            sk=keys.INVITE_SK,
            merchant_id=merchant_id,
            user_id=user_id,
            expires_at_ms=expires_at,
            expires_at=expires_at // 1000,
        ).save(condition=InviteItem.pk.does_not_exist())

    def redeem_invite(self, invite_hash: str, now: int, password_hash: str) -> User:
        try:
            invite = InviteItem.get(keys.invite_pk(invite_hash), keys.INVITE_SK, consistent_read=True)
        except DoesNotExist as exc:
            raise AuthenticationError(INVITE_NOT_VALID) from exc
        user = _user_ref(invite.merchant_id, invite.user_id)
        try:
            with transaction() as tx:
                # Invariant: an invite is used once, before it expires (TTL deletes it only lazily).
                tx.delete(invite, condition=InviteItem.pk.exists() & (InviteItem.expires_at_ms > now))
                # Invariant: an invite for a user deleted since sets nobody's password.
                tx.update(
                    user, actions=[UserItem.password_hash.set(password_hash)], condition=UserItem.pk.exists()
                )
        except TransactWriteError as exc:
            if failed_keys(tx, exc) & {key_of(invite), key_of(user)}:
                raise AuthenticationError(INVITE_NOT_VALID) from exc
            raise
        return self.get(invite.merchant_id, invite.user_id)


class SignInAttemptRepository:
    """``services.sign_in.SignInAttemptPort``: a counter per user and window."""

    def failures(self, merchant_id: str, user_id: str, window: int) -> int:
        try:
            item = SignInFailuresItem.get(
                keys.sign_in_failures_pk(merchant_id, user_id), keys.window_sk(window)
            )
        except DoesNotExist:
            return 0
        return int(item.failures)

    def count_failure(self, merchant_id: str, user_id: str, window: int, expires_at_s: int) -> None:
        # An ADD, never read-then-write: concurrent guesses each count.
        SignInFailuresItem(
            pk=keys.sign_in_failures_pk(merchant_id, user_id), sk=keys.window_sk(window)
        ).update(
            actions=[
                SignInFailuresItem.failures.add(1),
                SignInFailuresItem.entity.set(SignInFailuresItem.ENTITY),
                SignInFailuresItem.expires_at.set(expires_at_s),
            ]
        )
