"""Commands to the edge task holding a call: the API's side of ``contracts.offer_push`` commands
(the edge's is ``sip_edge/app/calls/offer_push.py``).

One signed MESSAGE to the task's advertised address (as offers are pushed, ``edge_push``), and the
task's final answer is the outcome. Unlike an offer push, the answer is awaited: the task asks the
router before it answers, so this waits up to ``give_up_after`` seconds (resending as RFC 3261's
timer E would, for a lost datagram; the task's transaction layer absorbs the repeats).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

from contact_center.contracts import offer_push
from contact_center.edge_push import TaskAddressReader, TaskAnswer, exchange, task_address_reader

__all__ = ["EdgeCommands"]

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
        address = found.address

        def data(sender: str) -> bytes:
            return offer_push.command_message(
                command,
                self._key,
                int(self._clock()),
                task_address=address,
                sender=sender,
                branch=secrets.token_hex(12),
            )

        try:
            return exchange(address, data, self._resend_after, self._give_up_after)
        except OSError as exc:
            log.warning("command to edge task %s at %s failed: %s", edge_task_id, address, exc)
            return None
