"""A small contact centre over the in-memory routing fakes: given-helpers for the routing rules' tests.

The same vocabulary as the moto-backed ``World`` of ``tests/functional/routing``: queues, numbers,
seats logged in and available at a given time, registered phones, agents' own commands.
"""

from __future__ import annotations

from typing import Any

from contact_center.domain.agent_state import (
    AgentCommand,
    AgentSnapshot,
    GoAvailable,
    GoNotReady,
    LogIn,
    apply,
)
from contact_center.domain.callbacks import CallbackPolicy
from contact_center.domain.contact import Channel
from contact_center.domain.menus import Menu, MenuChoice
from contact_center.domain.queueing import Overflow, QueueConfig, RoutingStrategy
from contact_center.domain.skills import SkillRequirement
from contact_center.services.routing import RoutingPolicy, RoutingService
from contact_center.services.routing.decisions import Arrival, Connect
from contact_center.services.routing.ports import AgentTarget, ContactRecord, LiveContact, NumberRoute

from .routing_fakes import FakeRoutingPorts, utc_day

NOW = 1_790_000_000_000
DOMAIN = "sip.test"
EDGE = "edge-1"
MERCHANT = "m1"
NUMBER = "+15550100"


class RecordedPushes:
    """The ``OfferPush`` port, keeping every offer pushed and the task it went to."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Connect]] = []

    def offered(self, edge_task_id: str, offer: Connect) -> bool:
        self.sent.append((edge_task_id, offer))
        return True


class FakeCentre:
    def __init__(self, policy: RoutingPolicy | None = None) -> None:
        self.ports = FakeRoutingPorts()
        # The rules' tests read the strict longest-idle order; the spread of concurrent routers over
        # the head of the index has its own (tests/unit/services/routing/test_spread.py).
        self.service = self.build(policy)

    def build(self, policy: RoutingPolicy | None = None, **more: Any) -> RoutingService:
        """The service over these ports; ``more``: the optional ports a test adds (push, runners...)."""
        ports = self.ports
        return RoutingService(
            ports.catalog,
            ports.seats,
            ports.contacts,
            ports.registrations,
            ports.events,
            policy or RoutingPolicy(sip_domain=DOMAIN, spread_candidates=1),
            metrics=ports.metrics,
            **more,
        )

    # Given

    def queue(
        self,
        queue_id: str = "q1",
        *,
        skills: tuple[tuple[str, int], ...] = (),
        priority: int = 5,
        strategy: RoutingStrategy = RoutingStrategy.LONGEST_IDLE,
        max_wait: int = 60,
        overflow: Overflow | None = None,
        wrap_up: int = 0,
        recording_percent: int = 0,
        callback: CallbackPolicy | None = None,
    ) -> None:
        self.ports.catalog.add_queue(
            MERCHANT,
            QueueConfig(
                queue_id=queue_id,
                name=queue_id,
                required_skills=tuple(SkillRequirement(name, level) for name, level in skills),
                priority=priority,
                strategy=strategy,
                max_wait_seconds=max_wait,
                overflow=overflow,
                wrap_up_seconds=wrap_up,
                recording_percent=recording_percent,
                callback=callback,
            ),
        )

    def number(
        self,
        e164: str = NUMBER,
        queue_id: str | None = "q1",
        legacy_trunk: str | None = None,
        menu: Menu | None = None,
    ) -> None:
        self.ports.catalog.add_number(NumberRoute(e164, MERCHANT, queue_id, legacy_trunk, menu=menu))

    def seat(
        self,
        seat_id: str,
        *,
        skills: dict[str, int] | None = None,
        queues: dict[str, int] | None = None,
        available_at: int | None = NOW - 60_000,
        registered: bool = True,
        ring_timeout: int = 20,
    ) -> None:
        created = NOW - 3_600_000
        self.ports.seats.add(
            MERCHANT,
            seat_id,
            created,
            skills if skills is not None else {"english": 3},
            queues if queues is not None else {"q1": 1},
            f"u-{seat_id}",
            ring_timeout,
        )
        self.command(seat_id, LogIn(), created)
        if available_at is not None:
            self.command(seat_id, GoAvailable(), available_at)
        if registered:
            self.register(seat_id)

    def register(self, seat_id: str, expires_at_s: int = NOW // 1000 + 3600) -> None:
        self.ports.registrations.register(
            self.aor(seat_id),
            AgentTarget(f"sip:u-{seat_id}@10.0.0.9:5062;transport=tcp", "198.51.100.7:40000", "TCP", EDGE),
            expires_at_s,
        )

    def command(self, seat_id: str, command: AgentCommand, at: int) -> AgentSnapshot:
        """An agent's own action, as the HTTP API applies it (read, apply, write over the version)."""
        seat = self.ports.seats.get(MERCHANT, seat_id)
        transition = apply(seat.agent, command, at)
        if transition.changed:
            self.ports.seats.save_state(MERCHANT, seat_id, seat.agent.version, transition.agent)
        return transition.agent

    def not_ready(self, seat_id: str, at: int = NOW) -> None:
        self.command(seat_id, GoNotReady("break"), at)

    # When

    def call(
        self,
        contact_id: str = "c1",
        number: str = NUMBER,
        at: int = NOW,
        priority: int | None = None,
        menu: MenuChoice | None = None,
    ) -> Arrival:
        return self.service.new_contact(
            number, "+4930123", EDGE, contact_id, at, Channel.VOICE, priority, menu
        )

    # Then

    @staticmethod
    def aor(seat_id: str) -> str:
        return f"sip:u-{seat_id}@{DOMAIN}"

    def agent(self, seat_id: str) -> AgentSnapshot:
        return self.ports.seats.get(MERCHANT, seat_id).agent

    def contact(self, contact_id: str) -> LiveContact | None:
        return self.ports.contacts.get(contact_id)

    def record(self, contact_id: str) -> ContactRecord:
        record = self.ports.contacts.record(contact_id)
        assert record is not None, f"no record of {contact_id}"
        return record

    def stats(self, queue_id: str = "q1", at: int = NOW) -> dict[str, int]:
        return self.ports.table.stats(queue_id, utc_day(at))
