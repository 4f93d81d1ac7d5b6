"""Number modes (the migration from the legacy call centre) and their audit log, in the table.

A write of modes is ONE transaction: every number's update (conditioned on its version, so two
concurrent changes cannot both pass on the same reading), a condition check of every trunk and
queue the new modes name, and the audit item that logs it. Either all of it is written or none.
A transaction holds at most 100 items; the service splits a bigger batch (``services.numbers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pynamodb.exceptions import DoesNotExist, TransactWriteError

from contact_center.data import keys
from contact_center.data.catalog import ROUTING_CACHE, number_cache_key
from contact_center.data.mappers.catalog import (
    audit_item,
    number_routing_attributes,
    number_routing_from_item,
)
from contact_center.data.models import NumberAuditItem, NumberItem, QueueItem, TrunkItem, items_of
from contact_center.data.pagination import Page, decode_token, encode_token
from contact_center.data.transactions import failed_keys, transaction
from contact_center.domain.migration import NumberRouting
from contact_center.services.errors import ConcurrentUpdateError, NotFoundError
from contact_center.services.records import NumberAudit


class NumberModeItems:
    def routing_of(self, merchant_id: str, number: str) -> tuple[NumberRouting, int]:
        """The number's mode and version; NotFoundError when it is not the merchant's."""
        try:
            item = NumberItem.get(keys.number_pk(number), keys.NUMBER_SK)
        except DoesNotExist as exc:
            raise NotFoundError("number", number) from exc
        if item.merchant_id != merchant_id:
            raise NotFoundError("number", number)
        return number_routing_from_item(item), int(item.version or 0)

    def apply(self, audit: NumberAudit, versions: Mapping[str, int], check_targets: bool = True) -> None:
        """Write every change of ``audit`` and the audit item, all or nothing.

        NotFoundError names a trunk that is neither the merchant's nor the platform's, or a queue
        that is not the merchant's; ConcurrentUpdateError a number changed since it was read.
        """
        merchant = audit.merchant_id
        try:
            with transaction() as tx:
                for change in audit.changes:
                    item = NumberItem(pk=keys.number_pk(change.number), sk=keys.NUMBER_SK)
                    actions: list[Any] = [
                        getattr(NumberItem, name).set(value)
                        if value is not None
                        else getattr(NumberItem, name).remove()
                        for name, value in number_routing_attributes(change.routing).items()
                    ]
                    actions.append(NumberItem.version.set(versions[change.number] + 1))
                    version = versions[change.number]
                    # Invariant: a merchant moves only its own numbers, each from the mode it read
                    # (a concurrent change fails this one rather than being undone by it).
                    condition = (NumberItem.merchant_id == merchant) & (
                        (NumberItem.version == version) if version else NumberItem.version.does_not_exist()
                    )
                    tx.update(item, actions=actions, condition=condition)
                if check_targets:
                    named = {
                        t
                        for c in audit.changes
                        for t in (c.routing.legacy_trunk_id, c.routing.fallback_trunk_id)
                    }
                    for trunk_id in sorted(t for t in named if t):
                        # Invariant: a number forwards only over its merchant's own trunk or a platform one.
                        tx.condition_check(
                            TrunkItem,
                            keys.trunk_pk(trunk_id),
                            keys.TRUNK_SK,
                            condition=TrunkItem.pk.exists()
                            & (TrunkItem.merchant_id.does_not_exist() | (TrunkItem.merchant_id == merchant)),
                        )
                    for queue_id in sorted({c.routing.queue_id for c in audit.changes if c.routing.queue_id}):
                        # Invariant: a number never routes to a queue that does not exist.
                        tx.condition_check(
                            QueueItem,
                            keys.merchant_pk(merchant),
                            keys.queue_sk(queue_id),
                            condition=QueueItem.pk.exists(),
                        )
                entry = audit_item(audit)
                entry.pk = keys.number_audit_pk(merchant)
                entry.sk = keys.number_audit_sk(audit.changed_at, audit.audit_id)
                # Invariant: an audit entry is never overwritten.
                tx.save(entry, condition=NumberAuditItem.pk.does_not_exist())
        except TransactWriteError as exc:
            failed = failed_keys(tx, exc)
            for pk, _ in sorted(failed):
                if pk.startswith("TRUNK#"):
                    raise NotFoundError("trunk", pk.removeprefix("TRUNK#")) from exc
            for _, sk in sorted(failed):
                if sk.startswith(keys.QUEUE_SK_PREFIX):
                    raise NotFoundError("queue", sk.removeprefix(keys.QUEUE_SK_PREFIX)) from exc
            for pk, _ in sorted(failed):
                if pk.startswith("NUMBER#"):
                    raise ConcurrentUpdateError("number", pk.removeprefix("NUMBER#"), "mode changed") from exc
            raise
        finally:
            for change in audit.changes:
                ROUTING_CACHE.invalidate(number_cache_key(change.number))

    def audit_page(self, merchant_id: str, limit: int, next_token: str | None) -> Page[NumberAuditItem]:
        """Newest first."""
        result = NumberAuditItem.query(
            keys.number_audit_pk(merchant_id),
            scan_index_forward=False,
            limit=limit,
            last_evaluated_key=decode_token(next_token),
        )
        items = items_of(NumberAuditItem, result)
        return Page(items, encode_token(result.last_evaluated_key))
