"""Bridged calls as stored data: what another edge task needs to end or refresh a call it never saw.

A call's dialog state is written when it is answered (both legs confirmed; by the routing function,
in the answer's transaction), after a target refresh (re-INVITE, by the edge) and deleted at teardown
(by the routing function, in the end's transaction); in between it lives in memory. Any edge task that receives an
in-dialog request addressed to a dialog key it does not hold (the task that set the call up was
replaced, or the load balancer chose another task) reads it back from the table, so the call
survives the loss of its task. Writes and reads are blocking (PynamoDB) and run in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from sip_edge.sip.dialog import AGENT, CALLER, Leg

__all__ = ["DialogBook", "DialogStore", "MemoryDialogStore", "StoredCall", "stored_keys"]

log = logging.getLogger("sip_edge.dialogs")

# Longer than any call; a dialog whose teardown was lost expires on its own (the table's TTL).
DIALOG_TTL_SECONDS = 12 * 3600


@dataclass(slots=True)
class StoredCall:
    key: str
    contact_id: str
    caller: Leg
    agent: Leg
    seat_id: str | None = None
    merchant_id: str | None = None
    owner: str | None = None  # the edge task that wrote it last

    def legs_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            CALLER: self.caller.to_dict(),
            AGENT: self.agent.to_dict(),
            "seat_id": self.seat_id,
            "merchant_id": self.merchant_id,
        }

    @classmethod
    def from_legs(
        cls, key: str, contact_id: str, owner: str | None, legs: dict[str, Any], *, recovered: bool
    ) -> StoredCall:
        return cls(
            key=str(legs.get("key") or key),
            contact_id=contact_id,
            caller=Leg.from_dict(legs[CALLER], recovered=recovered),
            agent=Leg.from_dict(legs[AGENT], recovered=recovered),
            seat_id=legs.get("seat_id"),
            merchant_id=legs.get("merchant_id"),
            owner=owner,
        )


class DialogStore(Protocol):
    """Durable dialogs (the table in production). Blocking: called from a worker thread."""

    def save(self, key: str, call: StoredCall, now: int, ttl_seconds: int) -> None:
        """Store ``call`` under ``key`` (its own key or an alias: its legs name the real key)."""
        ...

    def load(self, key: str, now: int) -> StoredCall | None: ...

    def delete(self, key: str) -> None: ...


class MemoryDialogStore:
    """The store for tests and for an edge without a table: shared by tasks of one process only."""

    def __init__(self) -> None:
        self.items: dict[str, tuple[dict[str, Any], str, str | None]] = {}

    def save(self, key: str, call: StoredCall, now: int, ttl_seconds: int) -> None:
        self.items[key] = (call.legs_dict(), call.contact_id, call.owner)

    def load(self, key: str, now: int) -> StoredCall | None:
        item = self.items.get(key)
        if item is None:
            return None
        legs, contact_id, owner = item
        return StoredCall.from_legs(key, contact_id, owner, legs, recovered=True)

    def delete(self, key: str) -> None:
        self.items.pop(key, None)


def call_id_alias(call_id: str) -> str:
    """The second key a dialog is stored under: the caller leg's Call-ID, for the carriers whose
    in-dialog requests do not come back to our Contact (a Request-URI without the dialog key)."""
    return "c" + hashlib.sha256(call_id.encode("utf-8", "surrogateescape")).hexdigest()[:31]


def stored_keys(key: str, caller_call_id: str | None) -> list[str]:
    """Every key a call's dialog is stored under."""
    return [key] if caller_call_id is None else [key, call_id_alias(caller_call_id)]


class DialogBook:
    """The async face of a `DialogStore`: off the event loop, bounded in time, failures logged.

    A failed write is logged, not raised: the call in memory is fine, only its survival of this
    task's loss is at risk, and a SIP transaction must not wait on a retry loop.
    """

    def __init__(
        self,
        store: DialogStore,
        *,
        timeout: float = 3.0,
        now: Callable[[], float] = time.time,
        ttl_seconds: int = DIALOG_TTL_SECONDS,
    ) -> None:
        self._store = store
        self._timeout = timeout
        self._now = now
        self._ttl = ttl_seconds
        self.saves = 0
        self.failures = 0

    async def save(self, call: StoredCall) -> bool:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._save_both, call), self._timeout)
        except Exception:
            self.failures += 1
            log.exception("storing dialog %s of contact %s failed", call.key, call.contact_id)
            return False
        self.saves += 1
        return True

    def for_router(self, call: StoredCall) -> dict[str, Any]:
        """The dialog as the routing function stores it with the answer (``offer_result``): one
        write fewer per call than saving it here, and never a dialog for a call not connected."""
        return {
            "keys": stored_keys(call.key, call.caller.call_id),
            "legs": call.legs_dict(),
            "owner": call.owner,
            "ttl_seconds": self._ttl,
        }

    def _save_both(self, call: StoredCall) -> None:
        now = int(self._now())
        # The same legs under every key: they name the real key, so either finds the call.
        for key in stored_keys(call.key, call.caller.call_id):
            self._store.save(key, call, now, self._ttl)

    def _delete_both(self, key: str, caller_call_id: str | None) -> None:
        for stored in stored_keys(key, caller_call_id):
            self._store.delete(stored)

    async def load(self, key: str) -> StoredCall | None:
        try:
            return await asyncio.wait_for(
                asyncio.to_thread(self._store.load, key, int(self._now())), self._timeout
            )
        except Exception:
            self.failures += 1
            log.exception("reading dialog %s failed", key)
            return None

    async def delete(self, key: str, caller_call_id: str | None = None) -> None:
        try:
            await asyncio.wait_for(asyncio.to_thread(self._delete_both, key, caller_call_id), self._timeout)
        except Exception:
            self.failures += 1
            log.exception("deleting dialog %s failed", key)
