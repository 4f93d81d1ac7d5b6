"""Phone numbers (DIDs): each routes to one queue of one merchant, unique platform-wide, and each is
in a migration mode (``domain.migration``): all Switchboard, all legacy, or a sticky split.

A change of modes is all or nothing. One DynamoDB transaction holds at most 100 items (a number,
plus one check per trunk and queue named, plus the audit entry), so a bigger batch is written as
several transactions in order; when one fails, those already written are undone in reverse order,
each by a transaction that restores the previous modes on the condition that nobody changed the
numbers since (each undo is in the audit log too, naming what it undid). Calls that arrive between
two of them see a partly moved batch for that long: a few milliseconds per transaction. If an undo
itself fails (a number changed meanwhile), the error says so and the audit log shows exactly which
transactions stand.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberRouting

from .commands import CreateNumber, PageRequest
from .errors import ConcurrentUpdateError, ServiceError
from .ids import new_id
from .number_commands import SetNumberMode
from .ports import Clock, NumberPort
from .records import NumberAudit, NumberChange, Page, PhoneNumber

log = logging.getLogger("contact_center.numbers")

TRANSACTION_ITEMS = 100  # DynamoDB's limit on the items of one TransactWriteItems


def items_needed(routings: Iterable[NumberRouting]) -> int:
    """Items of a transaction writing these modes: the numbers, a check per distinct trunk and queue
    they name, and the audit entry."""
    listed = list(routings)
    trunks = {t for r in listed for t in (r.legacy_trunk_id, r.fallback_trunk_id) if t}
    queues = {r.queue_id for r in listed if r.queue_id}
    return len(listed) + len(trunks) + len(queues) + 1


class NumberService:
    def __init__(self, numbers: NumberPort, clock: Clock) -> None:
        self._numbers = numbers
        self._clock = clock

    def claim(self, merchant_id: str, command: CreateNumber) -> PhoneNumber:
        number = PhoneNumber(command.number, merchant_id, command.queue_id, self._clock())
        # The store claims the number and checks the queue in one transaction: a taken number is
        # AlreadyExists, a queue that is not the merchant's is NotFound, and neither writes anything.
        self._numbers.create(number)
        return number

    def list(self, merchant_id: str, page: PageRequest) -> Page[PhoneNumber]:
        return self._numbers.page(merchant_id, page.limit, page.next_token)

    def release(self, merchant_id: str, number: str) -> None:
        self._numbers.delete(merchant_id, number)

    def set_menu(self, merchant_id: str, number: str, menu: Menu | None) -> Menu | None:
        """The menu Switchboard-side callers of the number hear from its next call (None: none, the
        number's queue takes them). NotFoundError for a number or a queue not the merchant's."""
        self._numbers.set_menu(merchant_id, number, menu)
        return menu

    def set_modes(
        self, merchant_id: str, commands: Iterable[SetNumberMode], actor: str
    ) -> Sequence[NumberAudit]:
        """Move every number to its new mode, all or nothing; the audit entries written, in order.

        NotFoundError for a number, trunk or queue that is not the merchant's (a trunk may also be
        the platform's); ValidationError for a mode missing what it needs; nothing is changed then.
        """
        changes: list[NumberChange] = []
        versions: dict[str, int] = {}
        for command in commands:
            previous, versions[command.number] = self._numbers.routing_of(merchant_id, command.number)
            routing = NumberRouting.of(
                command.mode,
                command.queue_id or previous.queue_id,
                command.legacy_trunk_id or previous.legacy_trunk_id,
                command.switchboard_percent,
                command.fallback_trunk_id if command.fallback_given else previous.fallback_trunk_id,
            )
            changes.append(NumberChange(command.number, routing, previous))
        chunks = _chunks(changes)
        batch_id = new_id("batch") if len(chunks) > 1 else None
        written: list[NumberAudit] = []
        try:
            for chunk in chunks:
                audit = NumberAudit(new_id("aud"), merchant_id, self._clock(), actor, tuple(chunk), batch_id)
                self._numbers.apply(audit, versions)
                written.append(audit)
        except ServiceError:
            self._undo(written, versions, actor)
            raise
        return written

    def audit(self, merchant_id: str, page: PageRequest) -> Page[NumberAudit]:
        return self._numbers.audit_page(merchant_id, page.limit, page.next_token)

    def _undo(self, written: Sequence[NumberAudit], versions: Mapping[str, int], actor: str) -> None:
        for audit in reversed(written):
            undo = NumberAudit(
                new_id("aud"),
                audit.merchant_id,
                self._clock(),
                actor,
                tuple(NumberChange(c.number, c.previous, c.routing) for c in audit.changes),
                audit.batch_id,
                rollback_of=audit.audit_id,
            )
            try:
                # The previous targets existed when they were in use; a deleted one must not keep
                # the batch half-applied, so they are not checked again.
                self._numbers.apply(undo, {n: v + 1 for n, v in versions.items()}, check_targets=False)
            except ServiceError as exc:
                log.error(
                    "batch %s: undoing %s failed (%s); it stays applied", audit.batch_id, audit.audit_id, exc
                )
                raise ConcurrentUpdateError(
                    "number batch", str(audit.batch_id), f"{audit.audit_id} could not be undone"
                ) from exc


def _chunks(changes: list[NumberChange]) -> list[list[NumberChange]]:
    chunks: list[list[NumberChange]] = [[]]
    for change in changes:
        if chunks[-1] and items_needed(c.routing for c in [*chunks[-1], change]) > TRANSACTION_ITEMS:
            chunks.append([])
        chunks[-1].append(change)
    return chunks
