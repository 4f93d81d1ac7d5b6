"""The drill's callers, agents' phones, edge tasks and entry point, as the routing function sees them.

Each call is a thread doing what an edge task does for a carrier's INVITE (``sip_edge/app``): ask
its region's routing function (``new_contact``), ring the agent it is told to (``offer_result``),
wait in the queue for an offer (the edge task's ``pending_offers`` poll), talk, and report the end
(``contact_ended``). SIP itself is not spoken: the drill is about which region decides, not about
the wire. A call dies when the region of its caller's edge task or of its agent's registration dies.

``Phones`` is the agents' side: a phone that rings while it holds another call is a double offer.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from local_stack.regions.harness import PEER
from local_stack.regions.seed import Merchant


def now() -> float:
    return time.time()


@dataclass
class Call:
    contact_id: str
    merchant: Merchant
    entry: str  # the region of the caller's edge task
    started: float
    seat: str | None = None
    agent_region: str | None = None
    answered_at: float | None = None
    talking: bool = False
    ended_ok: bool = False
    created: bool = False
    failed: str | None = None  # why the caller was not served (reject, timeout, error)
    died: str | None = None  # the region that took the call down with it
    disturbed: bool = False  # its agent's phone was rung for another call while on this one
    queued: bool = False
    done: bool = False
    last_action: str = "new_contact"
    talk_ended_at: float | None = None


class Phones:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: dict[str, Call] = {}
        self.double_offers: list[tuple[float, str, str, str]] = []

    def ring(self, seat: str, call: Call) -> bool:
        with self._lock:
            held = self._held.get(seat)
            if held is not None and held is not call:
                self.double_offers.append((now(), seat, held.contact_id, call.contact_id))
                held.disturbed = True
                return False
            self._held[seat] = call
            return True

    def hang_up(self, seat: str, call: Call) -> None:
        with self._lock:
            if self._held.get(seat) is call:
                del self._held[seat]


def invoke(url: str, event: dict[str, Any], timeout: float = 10.0) -> dict[str, Any] | None:
    """The routing function of a region; None when the region does not answer."""
    request = urllib.request.Request(
        f"{url}/2015-03-31/functions/routing/invocations", data=json.dumps(event).encode(), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read() or b"{}")
            return answer
    except OSError:
        return None


@dataclass
class World:
    lambda_urls: dict[str, str]
    merchants: list[Merchant]
    talk_seconds: tuple[float, float]
    home_share: float = 0.7  # callers near their merchant's home region
    alive: dict[str, bool] = field(default_factory=lambda: {"east": True, "west": True})
    # The entry point's view (health checks): a dead region keeps receiving calls until it notices.
    routable: dict[str, bool] = field(default_factory=lambda: {"east": True, "west": True})
    agent_region: dict[str, str] = field(default_factory=dict)
    phones: Phones = field(default_factory=Phones)
    calls: list[Call] = field(default_factory=list)
    waiting: dict[str, Callable[[dict[str, Any]], None]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopped: threading.Event = field(default_factory=threading.Event)

    def entry_for(self, merchant: Merchant) -> str:
        near = merchant.home if random.random() < self.home_share else PEER[merchant.home]
        return near if self.routable[near] else PEER[near]

    def ask(self, call: Call, event: dict[str, Any], patience: float = 12.0) -> dict[str, Any] | None:
        """Ask the call's region, again after retryable errors (a handoff, a failover under way)."""
        deadline = now() + patience
        call.last_action = str(event.get("action"))
        while True:
            if not self.alive[call.entry]:
                return None
            answer = invoke(self.lambda_urls[call.entry], event)
            error = (answer or {}).get("error")
            if answer is not None and not (error and error.get("retryable")):
                return answer
            if now() > deadline:
                return answer
            time.sleep(0.3)

    def held_by(self, region: str) -> list[str]:
        """The contacts the edge task of ``region`` holds: its callers' calls that are not over."""
        with self.lock:
            calls = list(self.calls)
        return [
            call.contact_id for call in calls if call.entry == region and not call.done and call.died is None
        ]

    # Edge tasks: one poller per region hands queued callers the offers made to them

    def poll_offers(self, region: str) -> None:
        rounds = 0
        while not self.stopped.is_set():
            if self.alive[region]:
                event: dict[str, Any] = {"action": "pending_offers", "edge_task_id": f"edge-{region}-1"}
                rounds += 1
                if rounds % 6 == 0:
                    event["retry_queued"] = True
                answer = invoke(self.lambda_urls[region], event)
                offers = (answer or {}).get("offers")
                for offer in offers if isinstance(offers, list) else []:
                    with self.lock:
                        deliver = self.waiting.pop(str(offer.get("contact_id")), None)
                    if deliver is not None:
                        deliver(offer)
            time.sleep(0.5)

    # A call

    def place(self, merchant: Merchant) -> None:
        call = Call(uuid.uuid4().hex[:16], merchant, self.entry_for(merchant), now())
        with self.lock:
            self.calls.append(call)
        event = {
            "action": "new_contact",
            "called": merchant.number,
            "caller": "+4930123456",
            "contact_id": call.contact_id,
            "edge_task_id": f"edge-{call.entry}-1",
        }
        decision = self.ask(call, event)
        if decision is None and not self.alive[call.entry]:
            # The carrier tries again through the entry point, which now sends it elsewhere.
            call.entry = self.entry_for(merchant)
            event["edge_task_id"] = f"edge-{call.entry}-1"
            decision = self.ask(call, event)
        try:
            self._follow(call, decision)
        finally:
            call.done = True

    def _follow(self, call: Call, decision: dict[str, Any] | None) -> None:
        while True:
            if call.died:
                return
            kind = (decision or {}).get("decision")
            if kind is not None:
                call.created = True
            if kind == "connect":
                assert decision is not None
                decision = self._ring(call, decision)
                if decision is None:
                    return  # answered and over, or died
            elif kind == "queue":
                assert decision is not None
                call.queued = True
                decision = self._wait_in_queue(call, decision)
            else:
                if not call.died:
                    reason = kind or str((decision or {}).get("error", {}).get("code", "no answer"))
                    call.failed = f"{call.last_action}:{reason}"
                    if call.created and kind is None:
                        self._give_up(call)
                return

    def _give_up(self, call: Call) -> None:
        """The edge task gives up on a caller it could not route (a 5xx to the carrier) and says so,
        as ``sip_edge``'s own sweep of the contacts it no longer holds would: the contact must not
        keep an agent reserved or a place in line with nobody on the line."""
        event = {
            "action": "contact_ended",
            "contact_id": call.contact_id,
            "side": "system",
            "cause": "system_error",
        }
        self.ask(call, event, patience=30.0)

    def _wait_in_queue(self, call: Call, queued: dict[str, Any]) -> dict[str, Any] | None:
        offered: list[dict[str, Any]] = []
        arrived = threading.Event()

        def deliver(offer: dict[str, Any]) -> None:
            offered.append(offer)
            arrived.set()

        with self.lock:
            self.waiting[call.contact_id] = deliver
        deadline_ms = queued.get("deadline_ms")
        deadline = deadline_ms / 1000 if isinstance(deadline_ms, int) else now() + 120
        while not arrived.wait(0.5):
            if not self.alive[call.entry]:
                call.died = call.entry
                return None
            if now() > deadline:
                with self.lock:
                    self.waiting.pop(call.contact_id, None)
                return self.ask(call, {"action": "queue_timeout", "contact_id": call.contact_id})
        return {**offered[0], "decision": "connect"}

    def _ring(self, call: Call, connect: dict[str, Any]) -> dict[str, Any] | None:
        seat = str(connect["seat_id"])
        # The edge forks the INVITE to every registered device of the agent: the phone rings if any
        # flow to it is held by a live edge task (one through a dead region fails on its own).
        regions = [self._region_of(target) or call.entry for target in connect.get("targets") or [{}]]
        agent_region = next((region for region in regions if self.alive[region]), regions[0])
        call.seat, call.agent_region = seat, agent_region
        if not self.phones.ring(seat, call):
            outcome = "busy"
        elif not self.alive[agent_region]:
            time.sleep(2.0)  # the INVITE through a dead edge task times out (transport failure)
            self.phones.hang_up(seat, call)
            outcome = "unreachable"
        else:
            time.sleep(random.uniform(0.2, 0.6))
            outcome = "answered"
        if not self.alive[call.entry]:
            self.phones.hang_up(seat, call)
            call.died = call.entry
            return None
        event = {"action": "offer_result", "contact_id": call.contact_id, "seat_id": seat, "outcome": outcome}
        result = self.ask(call, event)
        if outcome != "answered":
            return result
        if (result or {}).get("decision") != "ack":
            self.phones.hang_up(seat, call)
            return result
        call.answered_at, call.talking = now(), True
        self._talk(call, seat)
        return None

    @staticmethod
    def _region_of(target: dict[str, Any]) -> str | None:
        flow = str(target.get("flow_owner") or "")
        return flow.split("-")[1] if flow.count("-") >= 2 else None

    def _talk(self, call: Call, seat: str) -> None:
        until = now() + random.uniform(*self.talk_seconds)
        cause = None
        while now() < until:
            if not self.alive[call.entry] or not self.alive[call.agent_region or call.entry]:
                call.died = call.entry if not self.alive[call.entry] else call.agent_region
                cause = "network_failure"
                break
            time.sleep(0.25)
        call.talking, call.talk_ended_at = False, now()
        self.phones.hang_up(seat, call)
        if not self.alive[call.entry]:
            return  # the caller's edge task died with its region: nobody is left to report
        side = "agent" if cause else "customer"
        event = {"action": "contact_ended", "contact_id": call.contact_id, "side": side}
        if cause:
            event["cause"] = cause
        answer = self.ask(call, event, patience=60.0)
        call.ended_ok = (answer or {}).get("decision") == "ack" and not cause

    # Load

    def run_load(self, rate: float) -> None:
        gap = 1.0 / rate
        next_at = now()
        while not self.stopped.is_set():
            merchant = random.choice(self.merchants)
            threading.Thread(target=self.place, args=(merchant,), daemon=True).start()
            next_at += gap
            time.sleep(max(0.0, next_at - now()))
