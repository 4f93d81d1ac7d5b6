"""The fleet of edge tasks: this task's heartbeat, the others' addresses, and which one to go through.

Every task writes its advertised SIP address every ``interval`` seconds (a TTL makes a dead task
disappear within ``ttl``). A call for an agent whose phone registered through another task must
reach the phone through that task: only it holds the NAT pinhole (UDP) or the connection (TCP/TLS)
the phone opened. `agent_route` is that decision; `OwnerAddresses` finds the owner's address.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from contact_center.services.routing_ports import AgentTarget
from sip_edge.app.legs import split_hostport
from sip_edge.app.periodic import Periodic
from sip_edge.sip.message import SipParseError, parse_uri
from sip_edge.sip.stack import Destination

__all__ = [
    "AgentRoute",
    "EdgeDirectory",
    "Heartbeat",
    "LostEdgeSweeper",
    "OwnerAddresses",
    "agent_route",
    "decode_flow",
    "encode_flow",
    "use_flow_key",
]

log = logging.getLogger("sip_edge.fleet")


class EdgeDirectory(Protocol):
    """Heartbeats of the fleet (the table in production). Blocking: runs in a worker thread."""

    def heartbeat(self, task_id: str, address: str, now: int, active_calls: int) -> None: ...

    def address_of(self, task_id: str, now: int) -> str | None: ...

    def lost(self, now: int) -> list[tuple[str, int]]:
        """Tasks whose heartbeat lapsed and whose loss nobody has handled: (task id, last beat)."""
        ...

    def forget(self, task_id: str, heartbeat_at: int) -> bool:
        """The loss is handled; False if the task beat again since ``heartbeat_at``."""
        ...


class LostContacts(Protocol):
    """The routing function's side: end the ringing and queued contacts a task no longer holds."""

    async def edge_lost(
        self, edge_task_id: str, held: Sequence[str] = (), initiated_before_ms: int | None = None
    ) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class AgentRoute:
    """Where the agent leg's requests go, and the Route that makes the owner task relay them."""

    destination: Destination
    route: tuple[str, ...] = ()
    via_owner: str | None = None  # the task relaying, when not this one


# Flow tokens are signed: the owner relays whatever a Route naming it carries, so an unsigned
# token would let anyone make the edge send SIP to any address it can reach. The fleet's key
# (SIP_NONCE_KEY) replaces this one at start (`use_flow_key`), so any task verifies another's.
_flow_key = secrets.token_bytes(32)


def use_flow_key(fleet_key: bytes) -> None:
    global _flow_key
    # A key of its own, derived: a flow token and a digest nonce never share a MAC key.
    _flow_key = hmac.new(fleet_key, b"switchboard flow token", hashlib.sha256).digest()


def _flow_mac(text: str) -> str:
    return hmac.new(_flow_key, text.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()[:20]


def encode_flow(transport: str, received: str) -> str:
    """A URI-parameter-safe token naming a flow, signed: ``udp~10.0.0.7~5062~<mac>``."""
    host, port = split_hostport(received)
    text = f"{transport.lower()}~{host}~{port or ''}"
    return f"{text}~{_flow_mac(text)}"


def decode_flow(token: str) -> Destination | None:
    """The flow a token names; None when it is malformed or not signed with the fleet's key."""
    parts = token.split("~")
    if len(parts) != 4 or not parts[2].isdigit():
        return None
    if not hmac.compare_digest(parts[3], _flow_mac("~".join(parts[:3]))):
        return None
    return Destination(parts[0].upper(), parts[1], int(parts[2]))


def _direct(target: AgentTarget) -> Destination:
    if target.received:
        host, port = split_hostport(target.received)
        return Destination(target.transport, host, port)
    # No source address recorded (a static binding): the Contact URI itself.
    try:
        uri = parse_uri(target.contact_uri)
    except SipParseError:
        return Destination(target.transport, target.contact_uri)
    return Destination(uri.transport.upper() if uri.transport else target.transport, uri.host, uri.port)


def agent_route(target: AgentTarget, own_task_id: str, owner_address: str | None) -> AgentRoute:
    """How to reach one registered device.

    - Registered through this task (or nobody recorded): straight to the ``received`` address over
      the binding's transport (the pinhole, or the phone's connection in the transport's table).
    - Registered through another live task: to that task, with a loose Route naming the flow;
      the owner pops it and relays over its own pinhole/connection (see `B2bua` relay).
    - The owner is gone (no heartbeat): straight to ``received`` anyway. Over UDP the pinhole
      often still accepts packets from the same public address (the fleet shares it behind the
      NLB); over TCP a new connection is tried. The phone re-registers within its interval.
    """
    direct = _direct(target)
    if not target.flow_owner or target.flow_owner == own_task_id or not target.received:
        return AgentRoute(direct)
    if owner_address is None:
        return AgentRoute(direct)
    host, port = split_hostport(owner_address)
    flow = encode_flow(target.transport, target.received)
    hostport = f"[{host}]" if ":" in host else host
    route = f"<sip:{hostport}:{port};lr;flow={flow}>" if port else f"<sip:{hostport};lr;flow={flow}>"
    return AgentRoute(Destination(target.transport, host, port), (route,), target.flow_owner)


class OwnerAddresses:
    """Edge task id -> advertised address, read from the heartbeats and cached for ``ttl`` seconds."""

    def __init__(
        self, directory: EdgeDirectory, *, ttl: float = 10.0, now: Callable[[], float] = time.time
    ) -> None:
        self._directory = directory
        self._ttl = ttl
        self._now = now
        self._cache: dict[str, tuple[str | None, float]] = {}

    async def address_of(self, task_id: str) -> str | None:
        cached = self._cache.get(task_id)
        now = self._now()
        if cached is not None and now - cached[1] < self._ttl:
            return cached[0]
        try:
            address = await asyncio.wait_for(
                asyncio.to_thread(self._directory.address_of, task_id, int(now)), 2.0
            )
        except Exception:
            log.exception("looking up edge task %s failed", task_id)
            address = None
        self._cache[task_id] = (address, now)
        return address


class Heartbeat:
    """Writes this task's address and active call count every ``interval`` seconds."""

    def __init__(
        self,
        directory: EdgeDirectory,
        task_id: str,
        address: str,
        active_calls: Callable[[], int],
        *,
        interval: float = 10.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._task_id = task_id
        self.address = address
        self._active_calls = active_calls
        self._now = now
        self._loop = Periodic("edge-heartbeat", interval, self.beat, immediately=True)
        self.beats = 0

    async def beat(self) -> None:
        await asyncio.to_thread(
            self._directory.heartbeat, self._task_id, self.address, int(self._now()), self._active_calls()
        )
        self.beats += 1

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()


class LostEdgeSweeper:
    """Every ``interval`` seconds, ends the ringing and queued contacts nobody holds any more.

    - Of tasks that stopped beating: their callers' INVITE transactions died with them. Any task may
      do it, several at once harmlessly (ending a contact twice is a no-op); the first to finish
      forgets the loss so it is handled once.
    - Of this task, those it gave up on: a routing attempt that finished after this task had
      answered its caller. Only contacts older than ``grace`` are looked at, so a call being set up
      now is never among them.

    Without this their agents would stay reserved.
    """

    def __init__(
        self,
        directory: EdgeDirectory,
        routing: LostContacts,
        own_task_id: str,
        held: Callable[[], Sequence[str]] = list,
        *,
        has_routed: Callable[[], bool] = lambda: True,
        interval: float = 30.0,
        grace: float = 60.0,
        now: Callable[[], float] = time.time,
    ) -> None:
        self._directory = directory
        self._routing = routing
        # A task is taken as lost only this long after its lease lapsed: one that was merely slow
        # (a long pause, a throttled write) beats again first and keeps its calls.
        self._grace = grace
        self._own_task_id = own_task_id
        self._held = held
        # A task that never asked for a route (a registrar-only edge) has no contacts to check.
        self._has_routed = has_routed
        self._now = now
        self._loop = Periodic("lost-edge-sweep", interval, self.sweep)
        self.handled: list[str] = []

    async def sweep(self) -> None:
        now = self._now()
        if self._has_routed():
            try:
                await self._routing.edge_lost(
                    self._own_task_id, self._held(), initiated_before_ms=int((now - self._grace) * 1000)
                )
            except Exception:
                log.exception("ending the contacts this task gave up on failed; next sweep retries")
        lost = await asyncio.to_thread(self._directory.lost, int(now - self._grace))
        for task_id, heartbeat_at in lost:
            if task_id == self._own_task_id:
                continue  # this task stalled past its lease but lives: its next beat revives it
            try:
                ended = await self._routing.edge_lost(task_id)
            except Exception:
                log.exception("ending the calls of lost edge task %s failed; next sweep retries", task_id)
                continue
            if await asyncio.to_thread(self._directory.forget, task_id, heartbeat_at):
                self.handled.append(task_id)
                log.warning("edge task %s was lost; ended %d calls it held", task_id, len(ended))

    def start(self) -> None:
        self._loop.start()

    async def stop(self) -> None:
        await self._loop.stop()
