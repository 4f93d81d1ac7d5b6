"""Automatic contact distribution: who may take a queue's contacts, in which order, and which
waiting contact an agent who just became available takes first.

Everything here only ranks; claiming is the data layer's conditional write on the agent's version.
Callers walk the ranked list and move on to the next candidate when a claim loses a race.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

from .agent_state import AgentSnapshot, AgentState, accepts_offers
from .contact import PRIORITY_LEAST_URGENT, PRIORITY_MOST_URGENT
from .errors import ValidationError
from .queueing import QueueConfig, QueuedContact, RoutingStrategy
from .skills import Skills, is_valid_proficiency, meets_requirements, proficiency_score

DEFAULT_AGENT_QUEUE_PRIORITY = 1


@dataclass(frozen=True, slots=True)
class AgentCandidate:
    """An agent as the ACD sees it: live state plus skills and the queues it serves.

    ``queues`` maps queue id -> the agent-side priority of that queue for this agent (1 = serve
    first), like a routing profile: a billing specialist can also help with sales when billing is
    quiet.
    """

    agent: AgentSnapshot
    skills: Skills = field(default_factory=dict)
    queues: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, proficiency in self.skills.items():
            if not is_valid_proficiency(proficiency):
                raise ValidationError("skills", f"proficiency of {name!r} must be an integer from 1 to 5")
        for queue_id, priority in self.queues.items():
            if isinstance(priority, bool) or not PRIORITY_MOST_URGENT <= priority <= PRIORITY_LEAST_URGENT:
                raise ValidationError("queues", f"priority of {queue_id!r} must be an integer from 1 to 10")
        # Read-only copies: a candidate is shared across ranking calls and must not change under them.
        object.__setattr__(self, "skills", MappingProxyType(dict(self.skills)))
        object.__setattr__(self, "queues", MappingProxyType(dict(self.queues)))

    @property
    def seat_id(self) -> str:
        return self.agent.seat_id

    @property
    def state(self) -> AgentState:
        return self.agent.state

    @property
    def idle_since_ms(self) -> int | None:
        return self.agent.idle_since_ms

    def serves(self, queue_id: str) -> bool:
        return queue_id in self.queues


def is_eligible(candidate: AgentCandidate, queue: QueueConfig) -> bool:
    """The agent serves ``queue`` and meets every required skill at its minimum proficiency.

    State is not considered: eligibility is a standing fact used by admin screens and reports;
    ``can_take`` adds "available right now".
    """
    return candidate.serves(queue.queue_id) and meets_requirements(candidate.skills, queue.required_skills)


def can_take(candidate: AgentCandidate, queue: QueueConfig) -> bool:
    return accepts_offers(candidate.state) and is_eligible(candidate, queue)


def _idle_key(candidate: AgentCandidate) -> tuple[bool, int, str]:
    # An available agent without idle_since should not exist; if one does, it goes last rather than
    # jumping the line. seat_id makes equal timestamps deterministic across Lambda invocations.
    idle = candidate.idle_since_ms
    return (idle is None, idle if idle is not None else 0, candidate.seat_id)


def _round_robin(candidates: list[AgentCandidate], cursor: str | None) -> list[AgentCandidate]:
    ordered = sorted(candidates, key=lambda candidate: candidate.seat_id)
    if cursor is None:
        return ordered
    after = [candidate for candidate in ordered if candidate.seat_id > cursor]
    return after + [candidate for candidate in ordered if candidate.seat_id <= cursor]


def rank_agents(
    queue: QueueConfig,
    candidates: Iterable[AgentCandidate],
    strategy: RoutingStrategy | None = None,
    round_robin_cursor: str | None = None,
) -> list[AgentCandidate]:
    """The agents that can take a contact of ``queue`` now, best first.

    Only AVAILABLE agents eligible for the queue are returned. ``strategy`` defaults to the queue's.

    - LONGEST_IDLE: oldest ``idle_since_ms`` first.
    - ROUND_ROBIN: agents in seat-id order, starting after ``round_robin_cursor`` (the seat id last
      served in this queue) and wrapping around. Storing the chosen seat id as the next cursor
      gives every eligible agent one contact per turn, whatever the order candidates arrive in.
    - MOST_SKILLED: highest summed proficiency over the queue's required skills first; ties go to
      the longest idle.

    Every strategy ends on seat id, so the ranking is deterministic.
    """
    chosen = strategy or queue.strategy
    eligible = [candidate for candidate in candidates if can_take(candidate, queue)]
    if chosen is RoutingStrategy.ROUND_ROBIN:
        return _round_robin(eligible, round_robin_cursor)
    if chosen is RoutingStrategy.MOST_SKILLED:
        return sorted(
            eligible,
            key=lambda candidate: (
                -proficiency_score(candidate.skills, queue.required_skills),
                *_idle_key(candidate),
            ),
        )
    return sorted(eligible, key=_idle_key)


def _rendezvous(contact_id: str, seat_id: str) -> bytes:
    return hashlib.blake2b(f"{contact_id}/{seat_id}".encode(), digest_size=8).digest()


def spread_near_ties(
    ranked: Sequence[AgentCandidate], contact_id: str, window_ms: int, at_least: int = 1
) -> list[AgentCandidate]:
    """A longest-idle ranking with its head rotated per contact, so concurrent routers differ.

    Contacts routed at the same moment all see the same longest-idle agent first; all but one lose
    the reservation race and each loss costs a write and another look-up. The agents idle within
    ``window_ms`` of the longest-idle one count as tied, and so do the first ``at_least`` whatever
    their idle times: each contact starts at a different one of them (a stable hash of its id),
    then takes the rest in order. With ``at_least`` 1 an agent idle more than the window longer than
    another is still always offered first; a larger head trades that strictness (the longest-idle
    agent may wait for one more call) for routers that rarely collide.
    """
    if len(ranked) < 2 or (window_ms <= 0 and at_least <= 1) or ranked[0].idle_since_ms is None:
        return list(ranked)
    first = ranked[0].idle_since_ms
    tied = min(max(1, at_least), len(ranked))
    while tied < len(ranked):
        idle = ranked[tied].idle_since_ms
        if idle is None or idle - first > window_ms:
            break
        tied += 1
    # Each contact orders the head by its own hash of every agent (rendezvous hashing): routers
    # start at different agents, and one that loses a race moves to an agent picked the same way,
    # not to the next one in line, which a neighbour most likely took.
    # (blake2b, not crc32: crc32 is linear, so ids that differ in one character order alike.)
    head = sorted(ranked[:tied], key=lambda agent: _rendezvous(contact_id, agent.seat_id))
    return [*head, *ranked[tied:]]


def choose_contact_for_agent(
    agent: AgentCandidate,
    queued_heads: Sequence[QueuedContact],
    queues: Mapping[str, QueueConfig],
) -> QueuedContact | None:
    """The waiting contact to offer ``agent`` when it becomes available, or None.

    Considered: contacts in queues the agent serves, whose configuration is known, and whose
    required skills the agent meets; nothing when the agent does not accept offers. Among them the
    order is, each key breaking ties of the one before:

    1. contact priority (1 = most urgent) -- an urgent caller is never passed over for queue policy;
    2. the agent's own priority for the queue (1 first) -- the operator's routing profile for
       this agent;
    3. queue priority (1 first) -- the centre-wide importance of the queue;
    4. enqueue time, oldest first;
    5. contact id, so concurrent routers agree on the same choice.
    """
    if not accepts_offers(agent.state):
        return None
    best: QueuedContact | None = None
    best_key: tuple[int, int, int, int, str] | None = None
    for contact in queued_heads:
        queue = queues.get(contact.queue_id)
        if queue is None or not is_eligible(agent, queue):
            continue
        key = (
            contact.priority,
            agent.queues[contact.queue_id],
            queue.priority,
            contact.enqueued_at_ms,
            contact.contact_id,
        )
        if best_key is None or key < best_key:
            best, best_key = contact, key
    return best
