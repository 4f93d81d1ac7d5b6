"""Commands to the edge task holding a call: the API's and the router's side of
``contracts.offer_push`` commands (the edge's is ``sip_edge/app/calls/offer_push.py``).

One signed MESSAGE to the task's advertised address (as offers are pushed, ``edge_push``), and the
task's final answer is the outcome. Unlike an offer push, the answer is awaited: the task asks the
router before it answers, so this waits up to ``give_up_after`` seconds (resending as RFC 3261's
timer E would, for a lost datagram; the task's transaction layer absorbs the repeats).

``EdgeHeldCalls`` asks every live task of this region at once (a thread each, at most ``workers``)
which of some contacts it holds; a task that gives no answer within ``give_up_after`` makes the
answer incomplete, and the caller decides what that means (the takeover frees nothing then).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from contact_center.contracts import offer_push
from contact_center.edge_push import (
    LiveAddressesReader,
    TaskAddressReader,
    TaskAnswer,
    exchange,
    live_addresses_reader,
    task_address_reader,
)
from contact_center.services.routing.ports import HeldByTasks

__all__ = ["EdgeCommands", "EdgeHeldCalls"]

log = logging.getLogger("contact_center.edge_commands")


class EdgeCommands:
    """The API's ``EdgeCommandPort`` (``services.contact_transfers``), over UDP."""

    def __init__(
        self,
        fleet_key: str,
        addresses: TaskAddressReader | None = None,
        *,
        resend_after: float = 0.1,
        give_up_after: float = 4.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = offer_push.push_key(fleet_key)
        self._addresses = addresses or task_address_reader()
        self._resend_after = resend_after
        self._give_up_after = give_up_after
        self._clock = clock

    def transfer(self, edge_task_id: str, contact_id: str, target: str) -> TaskAnswer | None:
        """Ask ``edge_task_id`` to transfer the caller of ``contact_id``; its answer, or None when the
        task is unknown or did not answer."""
        command = {"command": offer_push.TRANSFER, "contact_id": contact_id, "target": target}
        return self._send(edge_task_id, command)

    def _send(self, edge_task_id: str, command: Mapping[str, Any]) -> TaskAnswer | None:
        found = self._addresses(edge_task_id, int(self._clock()))
        if found is None:
            return None
        return _ask(
            edge_task_id,
            found.address,
            command,
            self._key,
            self._clock,
            self._resend_after,
            self._give_up_after,
        )


def _ask(
    edge_task_id: str,
    address: str,
    command: Mapping[str, Any],
    key: bytes,
    clock: Callable[[], float],
    resend_after: float,
    give_up_after: float,
) -> TaskAnswer | None:
    def data(sender: str) -> bytes:
        return offer_push.command_message(
            command, key, int(clock()), task_address=address, sender=sender, branch=secrets.token_hex(12)
        )

    try:
        return exchange(address, data, resend_after, give_up_after)
    except OSError as exc:
        log.warning("command to edge task %s at %s failed: %s", edge_task_id, address, exc)
        return None


class EdgeHeldCalls:
    """The routing service's ``HeldCalls`` port, over UDP to this region's live tasks."""

    def __init__(
        self,
        fleet_key: str,
        tasks: LiveAddressesReader | None = None,
        *,
        region: str | None = None,
        resend_after: float = 0.05,
        give_up_after: float = 1.0,
        workers: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = offer_push.push_key(fleet_key)
        self._tasks = tasks or live_addresses_reader()
        self._region = region
        self._resend_after = resend_after
        self._give_up_after = give_up_after
        self._workers = workers
        self._clock = clock

    def held(self, contact_ids: Sequence[str], now_ms: int) -> HeldByTasks:
        if not contact_ids:
            return HeldByTasks(frozenset(), complete=True)
        try:
            found = self._tasks(now_ms // 1000)
        except Exception:
            log.exception("reading the live edge tasks failed")
            return HeldByTasks(frozenset(), complete=False)
        # Another region's task is not reachable from here, and a dead region's holds nothing.
        tasks = [(task, where.address) for task, where in found if where.region in (None, self._region)]
        size = offer_push.MAX_HELD_QUERY
        asks = [
            (task, address, list(contact_ids[start : start + size]))
            for task, address in tasks
            for start in range(0, len(contact_ids), size)
        ]
        if not asks:
            return HeldByTasks(frozenset(), complete=True)
        with ThreadPoolExecutor(max_workers=min(self._workers, len(asks))) as pool:
            answers = list(pool.map(self._held_by, asks))
        held: set[str] = set()
        complete = True
        for (task, _, _), answer in zip(asks, answers, strict=True):
            if answer is None:
                log.warning("edge task %s did not say which calls it holds", task)
                complete = False
            else:
                held.update(answer)
        return HeldByTasks(frozenset(held), complete)

    def _held_by(self, ask: tuple[str, str, list[str]]) -> list[str] | None:
        task, address, contact_ids = ask
        command = {"command": offer_push.HELD, "contact_ids": contact_ids}
        answer = _ask(task, address, command, self._key, self._clock, self._resend_after, self._give_up_after)
        if answer is None or answer.status != 200:
            return None
        try:
            return offer_push.decode_held(answer.body)
        except ValueError:
            return None
