"""Pushing a claimed offer to the edge task holding its caller: the router's side of
``contracts.offer_push`` (the edge's is ``sip_edge/app/calls/offer_push.py``).

The task's address is the one its heartbeat advertises (``data.sessions.EdgeTaskItems``), read once
and kept for ``address_ttl`` seconds per task, so a warm environment pays one read per task, not per
offer. One datagram goes to it and this waits briefly for the answer, resending at ``resend_after``
(RFC 3261's timer E, shortened for a private network where a round trip takes a millisecond): a
task that answers is told within a few milliseconds, and the router never waits more than
``give_up_after`` for one that is gone. A push that got no 2xx is left to the task's safety-net
poll, so nothing here raises.

A task in another region is not pushed to: its private address is not reachable from here, and its
poll asks every region.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from contact_center.contracts import offer_push
from contact_center.data.sessions import EdgeTaskItems
from contact_center.services.routing.decisions import Connect

__all__ = [
    "EdgeOfferPush",
    "LiveTaskRunners",
    "TaskAddress",
    "TaskAnswer",
    "exchange",
    "live_addresses_reader",
    "live_tasks_reader",
    "task_address_reader",
]

log = logging.getLogger("contact_center.edge_push")


@dataclass(frozen=True, slots=True)
class TaskAddress:
    address: str  # host:port, as the task advertises it
    region: str | None


TaskAddressReader = Callable[[str, int], TaskAddress | None]


def task_address_reader(tasks: EdgeTaskItems | None = None) -> TaskAddressReader:
    """Task id -> its advertised address, from the live heartbeats in the table."""
    items = tasks or EdgeTaskItems()

    def read(task_id: str, now_s: int) -> TaskAddress | None:
        item = items.get(task_id, now_s)
        return None if item is None or not item.address else TaskAddress(item.address, item.region)

    return read


LiveTasksReader = Callable[[int], list[tuple[str, str | None]]]
LiveAddressesReader = Callable[[int], list[tuple[str, TaskAddress]]]


def live_addresses_reader(tasks: EdgeTaskItems | None = None) -> LiveAddressesReader:
    """Epoch seconds -> (id, address) of every edge task whose heartbeat is live and advertises an
    address."""
    items = tasks or EdgeTaskItems()

    def read(now_s: int) -> list[tuple[str, TaskAddress]]:
        return [
            (item.task_id, TaskAddress(item.address, item.region))
            for item in items.live(now_s)
            if item.address
        ]

    return read


def live_tasks_reader(tasks: EdgeTaskItems | None = None) -> LiveTasksReader:
    """Epoch seconds -> the (id, region) of every edge task whose heartbeat is live and advertises
    an address (one an offer can be pushed to)."""
    items = tasks or EdgeTaskItems()

    def read(now_s: int) -> list[tuple[str, str | None]]:
        return [(item.task_id, item.region) for item in items.live(now_s) if item.address]

    return read


class LiveTaskRunners:
    """The routing service's ``CallbackRunners`` port: a live task of this region runs a callback.

    The same contact always maps to the same task while the fleet stays the same (a stable hash), so
    a retried claim does not wander; the list is read once per ``ttl`` seconds, as task addresses are.
    """

    def __init__(
        self,
        tasks: LiveTasksReader | None = None,
        *,
        region: str | None = None,
        ttl: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tasks = tasks or live_tasks_reader()
        self._region = region
        self._ttl = ttl
        self._clock = clock
        self._cached: tuple[list[str], float] = ([], 0.0)

    def pick(self, contact_id: str, now_ms: int) -> str | None:
        ids = self._live()
        if not ids:
            return None
        spread = int.from_bytes(hashlib.sha256(contact_id.encode()).digest()[:8], "big")
        return ids[spread % len(ids)]

    def _live(self) -> list[str]:
        now = self._clock()
        ids, until = self._cached
        if until > now:
            return ids
        try:
            found = self._tasks(int(now))
        except Exception:
            log.exception("reading the live edge tasks failed")
            return ids  # the last list read: a callback waits rather than fails
        # Another region's task is not pushed to (``EdgeOfferPush``): it could not be told.
        ids = sorted(task for task, region in found if self._region is None or region in (None, self._region))
        self._cached = (ids, now + self._ttl)
        return ids


def _host_port(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class EdgeOfferPush:
    """The routing service's ``OfferPush`` port, over UDP."""

    def __init__(
        self,
        fleet_key: str,
        addresses: TaskAddressReader | None = None,
        *,
        region: str | None = None,
        address_ttl: float = 10.0,
        resend_after: float = 0.02,
        give_up_after: float = 0.15,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = offer_push.push_key(fleet_key)
        self._addresses = addresses or task_address_reader()
        self._region = region
        self._address_ttl = address_ttl
        self._resend_after = resend_after
        self._give_up_after = give_up_after
        self._clock = clock
        self._cache: dict[str, tuple[TaskAddress | None, float]] = {}
        self.sent = 0
        self.answered = 0

    def offered(self, edge_task_id: str, offer: Connect) -> bool:
        """Push ``offer`` to ``edge_task_id``; True when the task answered 2xx."""
        try:
            target = self._address_of(edge_task_id)
            if target is None or (self._region is not None and target.region not in (None, self._region)):
                return False
            answered = self._send(target.address, offer)
        except Exception:
            log.exception(
                "pushing the offer of contact %s to edge task %s failed", offer.contact_id, edge_task_id
            )
            return False
        if not answered:
            log.warning(
                "edge task %s did not acknowledge the offer of contact %s; its poll will find it",
                edge_task_id,
                offer.contact_id,
            )
        return answered

    def _address_of(self, task_id: str) -> TaskAddress | None:
        now = self._clock()
        cached = self._cache.get(task_id)
        if cached is not None and cached[1] > now:
            return cached[0]
        found = self._addresses(task_id, int(now))
        # A task not found may be starting: look again soon rather than after a whole ttl.
        self._cache[task_id] = (found, now + (self._address_ttl if found is not None else 1.0))
        return found

    def _send(self, address: str, offer: Connect) -> bool:
        def data(sender: str) -> bytes:
            return offer_push.message(
                [offer.to_dict()],
                self._key,
                int(self._clock()),
                task_address=address,
                sender=sender,
                branch=secrets.token_hex(12),
            )

        answer = exchange(address, data, self._resend_after, self._give_up_after)
        self.sent += 1
        answered = answer is not None and answer.status // 100 == 2
        self.answered += answered
        return answered


@dataclass(frozen=True, slots=True)
class TaskAnswer:
    """A task's final answer to a MESSAGE: its status, the Warning's text, if any, and its body."""

    status: int
    warning: str | None = None
    body: bytes = b""


def _answer_of(data: bytes) -> TaskAnswer | None:
    raw_head, _, body = data.partition(b"\r\n\r\n")
    head = raw_head.decode(errors="replace").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return None
    warning = None
    for line in head[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "warning":
            warning = value.strip().split(" ", 2)[-1].strip('"')
    return TaskAnswer(int(parts[1]), warning, body)


def exchange(
    address: str, data: Callable[[str], bytes], resend_after: float, give_up_after: float
) -> TaskAnswer | None:
    """Send the datagram ``data(sender)`` to ``address`` (resent with RFC 3261's doubling) and wait
    for the final answer; None when none came within ``give_up_after`` seconds."""
    host, port = _host_port(address)
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.connect((host, port))
        local = sock.getsockname()
        sender = f"[{local[0]}]:{local[1]}" if family == socket.AF_INET6 else f"{local[0]}:{local[1]}"
        message = data(sender)
        start = time.monotonic()
        deadline = start + give_up_after
        interval = resend_after
        next_send = start
        while True:
            now = time.monotonic()
            if now >= deadline:
                return None
            if now >= next_send:
                sock.send(message)
                next_send = now + interval
                interval *= 2
            ready, _, _ = select.select([sock], [], [], max(0.0, min(next_send, deadline) - now))
            if not ready:
                continue
            try:
                answer = _answer_of(sock.recv(65535))
            except OSError:
                return None  # ICMP port unreachable: nobody listens there any more
            if answer is not None and answer.status < 200:
                continue  # provisional; wait for the final answer
            return answer
