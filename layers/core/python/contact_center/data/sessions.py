"""Edge-side state shared by the fleet: SIP dialogs, edge task heartbeats, idempotency records."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import DeleteError, DoesNotExist, PutError

from contact_center.data import keys
from contact_center.data.conditions import is_condition_failure
from contact_center.data.models import DialogItem, EdgeTaskItem, IdempotencyItem, items_of


def dialog_item(
    dialog_key: str,
    *,
    contact_id: str | None,
    owner: str | None,
    state: str,
    legs: dict[str, Any],
    now: int,
    ttl_seconds: int,
) -> DialogItem:
    """A dialog as stored: saved alone by the edge, or in the router's answer transaction."""
    return DialogItem(
        pk=keys.dialog_pk(dialog_key),
        sk=keys.DIALOG_SK,
        dialog_key=dialog_key,
        contact_id=contact_id,
        owner=owner,
        state=state,
        legs=legs,
        updated_at=now,
        expires_at=now + ttl_seconds,
    )


def dialog_ref(dialog_key: str) -> DialogItem:
    return DialogItem(pk=keys.dialog_pk(dialog_key), sk=keys.DIALOG_SK)


class DialogItems:
    def save(self, dialog: DialogItem) -> None:
        """Write a dialog made by ``dialog_item`` (a newer one replaces it)."""
        dialog.save()

    def get(self, dialog_key: str, now: int) -> DialogItem | None:
        """The dialog, unless it expired (TTL deletion is lazy, so expiry is checked here)."""
        try:
            item = DialogItem.get(keys.dialog_pk(dialog_key), keys.DIALOG_SK, consistent_read=True)
        except DoesNotExist:
            return None
        if item.expires_at is not None and item.expires_at <= now:
            return None
        return item

    def delete(self, dialog_key: str) -> None:
        dialog_ref(dialog_key).delete()

    def delete_all(self, dialog_keys: Iterable[str]) -> None:
        with DialogItem.batch_write() as batch:
            for dialog_key in dialog_keys:
                batch.delete(dialog_ref(dialog_key))


# A lost task's heartbeat stays this long after its last beat, for the fleet to act on the loss.
LOST_TASK_KEPT_SECONDS = 86_400


class EdgeTaskItems:
    def heartbeat(
        self,
        task_id: str,
        address: str,
        now: int,
        ttl_seconds: int = 30,
        region: str | None = None,
        active_calls: int = 0,
    ) -> None:
        """The task is alive for ``ttl_seconds`` from ``now``."""
        EdgeTaskItem(
            pk=keys.edge_pk(task_id),
            sk=keys.EDGE_SK,
            gsi1pk=keys.EDGES_INDEX_PK,
            gsi1sk=task_id,
            task_id=task_id,
            address=address,
            region=region,
            heartbeat_at=now,
            active_calls=active_calls,
            alive_until=now + ttl_seconds,
            expires_at=now + LOST_TASK_KEPT_SECONDS,
        ).save()

    def live(self, now: int) -> list[EdgeTaskItem]:
        return [item for item in self._all() if _alive(item, now)]

    def lost(self, now: int) -> list[EdgeTaskItem]:
        """Tasks whose heartbeat stopped: their items are kept until the fleet has acted on them."""
        return [item for item in self._all() if item.alive_until is not None and not _alive(item, now)]

    def silent_in(self, region: str, since: int) -> list[str]:
        """The ids of ``region``'s tasks whose last beat was before ``since`` (epoch seconds)."""
        return [item.task_id for item in self._all() if item.region == region and item.heartbeat_at < since]

    def get(self, task_id: str, now: int) -> EdgeTaskItem | None:
        try:
            item = EdgeTaskItem.get(keys.edge_pk(task_id), keys.EDGE_SK)
        except DoesNotExist:
            return None
        return item if _alive(item, now) else None

    def forget(self, task_id: str, heartbeat_at: int) -> bool:
        """Delete a lost task's heartbeat once its loss is handled; False if it beat again since."""
        try:
            EdgeTaskItem(pk=keys.edge_pk(task_id), sk=keys.EDGE_SK).delete(
                condition=EdgeTaskItem.heartbeat_at == heartbeat_at
            )
        except DeleteError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    def _all(self) -> list[EdgeTaskItem]:
        return items_of(EdgeTaskItem, EdgeTaskItem.gsi1.query(keys.EDGES_INDEX_PK))


def _alive(item: EdgeTaskItem, now: int) -> bool:
    # Items written before ``alive_until`` existed live as long as their TTL (a rolling deploy).
    until = item.alive_until if item.alive_until is not None else item.expires_at
    return (until or 0) > now


class IdempotencyItems:
    """Remembers the first result of a request made with an Idempotency-Key."""

    def claim(self, scope: str, key: str, request_hash: str, now: int, ttl_seconds: int = 86400) -> bool:
        """True if this is the first request with the key; False if one was already made."""
        try:
            # Invariant: one first request per (scope, key); retries find it instead of creating twice.
            IdempotencyItem(
                pk=keys.idempotency_pk(scope, key),
                sk=keys.IDEMPOTENCY_SK,
                request_hash=request_hash,
                created_at=now,
                expires_at=now + ttl_seconds,
            ).save(condition=IdempotencyItem.pk.does_not_exist())
            return True
        except PutError as exc:
            if is_condition_failure(exc):
                return False
            raise

    def get(self, scope: str, key: str, now: int) -> IdempotencyItem | None:
        try:
            item = IdempotencyItem.get(
                keys.idempotency_pk(scope, key), keys.IDEMPOTENCY_SK, consistent_read=True
            )
        except DoesNotExist:
            return None
        return item if (item.expires_at or 0) > now else None

    def complete(self, scope: str, key: str, status_code: int, response: str) -> None:
        IdempotencyItem(pk=keys.idempotency_pk(scope, key), sk=keys.IDEMPOTENCY_SK).update(
            actions=[IdempotencyItem.status_code.set(status_code), IdempotencyItem.response.set(response)]
        )

    def release(self, scope: str, key: str) -> None:
        """Forget a claim whose request failed, so a retry can run it again."""
        IdempotencyItem(pk=keys.idempotency_pk(scope, key), sk=keys.IDEMPOTENCY_SK).delete()
