"""Pruning a stale binding through the location service (`StaleBindings` for the calls).

The router reads a seat's bindings from the table; a device that never answered an INVITE (a
softphone restarted on a new port leaves its old binding behind until it expires, up to an hour)
would be rung, in vain, by every call. The ring reports it and this removes it: found by its
Contact URI and the address it registered from among the AOR's bindings in the table (the binding
key may be the device's instance id, which the router does not pass on), then removed through
the location service's write-behind, as an unREGISTER would be.

A binding whose device registered again from another address meanwhile is left alone: it is not
the one that failed. The read and the removal are not one conditional write, so a refresh landing
in between (within one flush interval) can be lost; the phone's next refresh restores it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from contact_center.services.routing.ports import AgentTarget
from sip_edge.app.registration.location import BindingStore, LocationService

__all__ = ["LocationStaleBindings"]

log = logging.getLogger("sip_edge.calls")


class LocationStaleBindings:
    def __init__(
        self, location: LocationService, store: BindingStore, now: Callable[[], float] = time.time
    ) -> None:
        self._location = location
        self._store = store
        self._now = now
        self._running: set[asyncio.Task[None]] = set()

    def forget(self, aor: str, target: AgentTarget) -> None:
        task = asyncio.get_running_loop().create_task(self._forget(aor, target))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _forget(self, aor: str, target: AgentTarget) -> None:
        try:
            bindings = await asyncio.to_thread(self._store.load, aor, self._now())
        except Exception as exc:
            log.warning("cannot read the bindings of %s to prune one: %s", aor, exc)
            return
        # This task's memory is newer than the table when the device registered through it.
        newest = {binding.key: binding for binding in bindings}
        newest.update({binding.key: binding for binding in self._location.current(aor)})
        for binding in newest.values():
            same_device = binding.contact_uri == target.contact_uri
            if same_device and (target.received is None or binding.received == target.received):
                self._location.remove(aor, binding.key)
