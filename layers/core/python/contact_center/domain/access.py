"""Who may do what: the four roles and the scope each one carries.

- platform admin: runs the platform (merchants, trunks, licences); one key, its hash in a secret.
- merchant admin: one merchant, all of it; the merchant's API keys.
- supervisor: one merchant, reading the queues it supervises (and the seats serving them).
- agent: one merchant, one seat: its own state and its own contacts.

Supervisors and agents are people who sign in (``services.sign_in``); admins hold API keys. Which
role may call which HTTP route is one table in the API (``chalicelib/policy.py``); what a role may
reach inside a merchant it may address is decided here, so every adapter asks the same question.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    PLATFORM_ADMIN = "platform_admin"
    MERCHANT_ADMIN = "merchant_admin"
    SUPERVISOR = "supervisor"
    AGENT = "agent"


# The roles a merchant admin may give a person who signs in.
PERSON_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.AGENT})


@dataclass(frozen=True)
class Principal:
    """The caller of one request, as its credentials prove it.

    ``seat_id`` is set for an agent, ``queue_ids`` for a supervisor; ``user_id`` for either (a person
    who signed in), ``key_id`` for a merchant admin's API key.
    """

    role: Role
    merchant_id: str | None = None  # None only for the platform admin
    key_id: str | None = None
    user_id: str | None = None
    seat_id: str | None = None
    queue_ids: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if (self.merchant_id is None) != (self.role is Role.PLATFORM_ADMIN):
            raise ValueError("every role but the platform admin belongs to one merchant")
        if self.role is Role.AGENT and not self.seat_id:
            raise ValueError("an agent holds one seat")

    @property
    def is_admin(self) -> bool:
        """The platform admin."""
        return self.role is Role.PLATFORM_ADMIN

    @property
    def scope(self) -> str:
        """A namespace for what this caller writes (idempotency keys are per caller)."""
        if self.merchant_id is None:
            return "admin"
        if self.user_id is not None:
            return f"user:{self.merchant_id}:{self.user_id}"
        return f"merchant:{self.merchant_id}"

    def may_reach_seat(self, seat_id: str) -> bool:
        """Within its merchant: an agent reaches its own seat only; a supervisor, through the queues
        the seat serves (``may_reach_seat_serving``); admins every seat."""
        if self.role is Role.AGENT:
            return seat_id == self.seat_id
        return self.role is not Role.SUPERVISOR

    def may_reach_seat_serving(self, seat_id: str, queue_ids: frozenset[str] | set[str]) -> bool:
        """``may_reach_seat`` once the seat's queues are known: a supervisor sees a seat serving one
        of its queues."""
        if self.role is Role.SUPERVISOR:
            return bool(self.queue_ids & set(queue_ids))
        return self.may_reach_seat(seat_id)

    def may_reach_queue(self, queue_id: str) -> bool:
        """Within its merchant: a supervisor reaches its queues only; agents none; admins all."""
        if self.role is Role.SUPERVISOR:
            return queue_id in self.queue_ids
        return self.role is not Role.AGENT


PLATFORM_ADMIN = Principal(role=Role.PLATFORM_ADMIN)
