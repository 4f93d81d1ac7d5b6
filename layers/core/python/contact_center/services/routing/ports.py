"""What the routing use cases read and write, as values and typing.Protocol ports.

``contact_center.data.repositories`` implements the ports over the table. Every method raises the
named errors of ``services.errors`` (NotFoundError, AlreadyExistsError, ConcurrentUpdateError with
``entity`` naming the item whose condition failed), never a storage exception.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from contact_center.domain.acd import AgentCandidate
from contact_center.domain.agent_state import AgentSnapshot, AgentTransition
from contact_center.domain.contact import ContactSnapshot
from contact_center.domain.events import AgentStateChanged, DomainEvent
from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberMode, NumberRouting
from contact_center.domain.prompts import QueuePrompts
from contact_center.domain.queueing import QueueConfig
from contact_center.domain.recording import recording_key_for
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS


@dataclass(frozen=True, slots=True)
class NumberRoute:
    """Where calls to a number go: a queue of a merchant, or straight to the legacy trunk."""

    number: str
    merchant_id: str
    queue_id: str | None = None
    legacy_trunk: str | None = None
    priority: int | None = None
    routing: NumberRouting | None = None  # the migration mode; None: as queue_id and legacy_trunk say
    menu: Menu | None = None  # played to Switchboard-side callers; its choice replaces queue_id

    @property
    def mode(self) -> NumberRouting:
        """The number's mode (``domain.migration``), from the fields when none was stored."""
        if self.routing is not None:
            return self.routing
        if self.queue_id is None and self.legacy_trunk is not None:
            return NumberRouting(NumberMode.LEGACY, None, self.legacy_trunk, 0)
        return NumberRouting(NumberMode.SWITCHBOARD, self.queue_id, self.legacy_trunk, 100)


@dataclass(frozen=True, slots=True)
class RoutingQueue:
    merchant_id: str
    config: QueueConfig
    round_robin_cursor: str | None = None
    # The stored versions of the uploaded prompts its media names, read with the queue.
    prompts: QueuePrompts = field(default_factory=QueuePrompts)

    @property
    def queue_id(self) -> str:
        return self.config.queue_id

    def recording_key(self, contact_id: str) -> str | None:
        """Where the contact's call is recorded when this queue's agent answers it; None: not recorded."""
        return recording_key_for(self.merchant_id, contact_id, self.config.recording_percent)


@dataclass(frozen=True, slots=True)
class AgentSeat:
    """A seat as the router needs it: live state at a version, skills, queues and its phone."""

    merchant_id: str
    candidate: AgentCandidate
    sip_username: str
    ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS

    @property
    def seat_id(self) -> str:
        return self.candidate.seat_id

    @property
    def agent(self) -> AgentSnapshot:
        return self.candidate.agent


@dataclass(frozen=True, slots=True)
class SeatProfile:
    """What the router reads of a seat besides its state, as it stood when a contact was offered to
    it: the profile its availability entries carry. A profile edit bumps the seat's version, so a
    write on the seat conditioned on the version the contact recorded holds this profile too."""

    skills: Mapping[str, int]
    queues: Mapping[str, int]
    sip_username: str
    ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS

    @classmethod
    def of(cls, seat: AgentSeat) -> SeatProfile:
        candidate = seat.candidate
        return cls(
            dict(candidate.skills), dict(candidate.queues), seat.sip_username, seat.ring_timeout_seconds
        )

    def seat(self, merchant_id: str, agent: AgentSnapshot) -> AgentSeat:
        """The seat with this profile in ``agent``'s state."""
        return AgentSeat(
            merchant_id,
            AgentCandidate(agent, dict(self.skills), dict(self.queues)),
            self.sip_username,
            self.ring_timeout_seconds,
        )


@dataclass(frozen=True, slots=True)
class AgentTarget:
    """One registered device of an agent: where the edge sends the agent leg's INVITE."""

    contact_uri: str
    received: str | None = None  # "ip:port" the REGISTER came from (behind NAT)
    transport: str = "UDP"
    flow_owner: str | None = None  # the edge task holding the device's flow or connection
    path: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "contact_uri": self.contact_uri,
            "received": self.received,
            "transport": self.transport,
            "flow_owner": self.flow_owner,
            "path": list(self.path),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AgentTarget:
        return cls(
            contact_uri=str(data["contact_uri"]),
            received=data.get("received"),
            transport=str(data.get("transport") or "UDP"),
            flow_owner=data.get("flow_owner"),
            path=tuple(data.get("path") or ()),
        )


@dataclass(frozen=True, slots=True)
class Segment:
    """One leg of a contact's life: a stay in a queue or an offer to an agent, with its outcome."""

    # "menu" | "queue" | "agent" | "trunk" | "outbound" (an agent's own call) | "callback" (the
    # caller left one) | "dial" (one dial of a callback's customer, ``domain.callbacks``)
    kind: str
    started_at_ms: int
    ended_at_ms: int
    # answered, no_answer, busy, rejected, unreachable, overflow, abandoned, ...; a menu's:
    # chosen, timeout, invalid (``domain.menus``)
    outcome: str
    queue_id: str | None = None
    seat_id: str | None = None
    trunk_id: str | None = None
    digit: str | None = None  # the key a menu (or the queue, for a callback) was left with
    status: int | None = None  # a dial's final SIP status (None: it never had one)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "kind": self.kind,
            "started_at": self.started_at_ms,
            "ended_at": self.ended_at_ms,
            "outcome": self.outcome,
        }
        for name, value in (
            ("queue_id", self.queue_id),
            ("seat_id", self.seat_id),
            ("trunk_id", self.trunk_id),
            ("digit", self.digit),
            ("status", self.status),
        ):
            if value is not None:
                data[name] = value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Segment:
        return cls(
            kind=str(data["kind"]),
            started_at_ms=int(data["started_at"]),
            ended_at_ms=int(data["ended_at"]),
            outcome=str(data["outcome"]),
            queue_id=data.get("queue_id"),
            seat_id=data.get("seat_id"),
            trunk_id=data.get("trunk_id"),
            digit=data.get("digit"),
            status=int(data["status"]) if data.get("status") is not None else None,
        )


@dataclass(frozen=True, slots=True)
class LiveContact:
    """A live contact: the domain snapshot plus what the record and the edge need."""

    snapshot: ContactSnapshot
    called: str
    caller: str
    merchant_id: str | None = None
    edge_task_id: str | None = None
    offered_at_ms: int | None = None
    segments: tuple[Segment, ...] = ()
    # The offered (then connected) seat's version as this contact's offer or connection left it.
    seat_version: int | None = None
    # QUEUED but not in its queue's index yet: its own router is still looking for an agent (see
    # ``routing``). Saving a QUEUED contact lists it.
    unlisted: bool = False
    # Set when an agent answers a call its queue records: where the recording is kept.
    recording_key: str | None = None
    # The offered (then connected) seat's profile at ``seat_version``: its release into AVAILABLE
    # is written, and the seat offered its next contact, without reading the seat again.
    seat_profile: SeatProfile | None = None

    @property
    def contact_id(self) -> str:
        return self.snapshot.contact_id

    @property
    def version(self) -> int:
        return self.snapshot.version

    def recently_offered_to(self, now_ms: int, cooldown_ms: int) -> frozenset[str]:
        """Seats that had this contact within ``cooldown_ms``: it is not bounced straight back to them."""
        return frozenset(
            segment.seat_id
            for segment in self.segments
            if segment.kind == "agent" and segment.seat_id and now_ms - segment.ended_at_ms < cooldown_ms
        )


@dataclass(frozen=True, slots=True)
class SeatTransition:
    """A seat's change written together with its contact's: ``after`` is the domain's transition from
    ``before``, and is written only while the seat is still in ``before``'s state, for its contact, at
    its version (the transition's from-state as a condition)."""

    merchant_id: str
    before: AgentSnapshot
    after: AgentSnapshot
    event: AgentStateChanged | None = None  # published once written
    # The seat as read at ``before``'s version, when the writer read it: a release into AVAILABLE
    # lists the seat for its queues from this profile instead of reading it again.
    profile: AgentSeat | None = None

    @classmethod
    def of(
        cls,
        merchant_id: str,
        before: AgentSnapshot,
        transition: AgentTransition,
        profile: AgentSeat | None = None,
    ) -> SeatTransition:
        return cls(merchant_id, before, transition.agent, transition.event, profile)

    def released_seat(self) -> AgentSeat | None:
        """The seat as this transition left it, when its profile was read with it; else None."""
        if self.profile is None:
            return None
        candidate = self.profile.candidate
        return replace(
            self.profile,
            candidate=AgentCandidate(self.after, dict(candidate.skills), dict(candidate.queues)),
        )

    @property
    def seat_id(self) -> str:
        return self.before.seat_id


@dataclass(frozen=True, slots=True)
class CallDialog:
    """The edge's SIP dialog of an answered call, stored with the answer so that any edge task can
    end or refresh the call. Opaque here: ``legs`` is the edge's own JSON, stored under each key."""

    keys: tuple[str, ...]
    legs: Mapping[str, Any]
    owner: str | None
    ttl_seconds: int


@dataclass(frozen=True, slots=True)
class ContactRecord:
    """The contact record (CDR), written once when the contact ends."""

    contact_id: str
    channel: str
    called: str
    caller: str
    merchant_id: str | None
    queue_id: str | None
    seat_id: str | None
    trunk_id: str | None
    created_at_ms: int
    enqueued_at_ms: int | None
    offered_at_ms: int | None
    answered_at_ms: int | None
    ended_at_ms: int
    hangup_side: str | None
    hangup_cause: str | None
    rona_attempts: int
    segments: tuple[Segment, ...] = field(default_factory=tuple)
    side: str = "switchboard"  # the call centre that handled it (domain.migration.Side)
    recording_key: str | None = None  # the call's recording (``domain.recording``), if recorded


class RoutingCatalog(Protocol):
    def number(self, number: str) -> NumberRoute | None: ...
    def queue(self, merchant_id: str, queue_id: str) -> RoutingQueue | None: ...
    def set_round_robin_cursor(self, merchant_id: str, queue_id: str, seat_id: str) -> None:
        """Last writer wins: the cursor only spreads work, it guards no invariant."""
        ...

    def merchant_ids(self) -> list[str]:
        """Every merchant's id (what the scheduled sweep walks)."""
        ...


class AgentSeats(Protocol):
    def get(self, merchant_id: str, seat_id: str) -> AgentSeat:
        """Strongly consistent read; NotFoundError when the seat does not exist."""
        ...

    def available_for_queue(self, merchant_id: str, queue_id: str, limit: int | None) -> list[AgentSeat]:
        """AVAILABLE seats serving ``queue_id``, longest idle first, at most ``limit`` (None: all).

        An index with one partition per queue (may be slightly stale): what it costs to read does not
        depend on how many agents of other queues are free.
        """
        ...

    def all_for_merchant(self, merchant_id: str) -> list[AgentSeat]: ...

    def relist(self, merchant_id: str) -> list[str]:
        """List in ``available_for_queue`` the AVAILABLE seats a table written before that index
        holds; their ids (none once done)."""
        ...

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        """Write ``agent`` only over ``expected_version``; ConcurrentUpdateError otherwise."""
        ...


class LiveContacts(Protocol):
    def create(self, contact: LiveContact) -> None:
        """AlreadyExistsError when the contact id is taken (a retried new_contact).

        A contact created QUEUED has reached its queue: it is counted in the queue's "offered" for
        the day in the same write (so a retry neither counts it twice nor loses the count). It is
        listed in the queue's index (``queue_heads``) unless it is ``unlisted``.
        """
        ...

    def get(self, contact_id: str) -> LiveContact | None: ...

    def queue_heads(self, queue_id: str, limit: int) -> list[LiveContact]:
        """The most urgent, oldest QUEUED contacts of a queue (an index: may be slightly stale)."""
        ...

    def offer(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot, now_ms: int) -> None:
        """Atomically: seat AVAILABLE@version -> ``reserved``, contact @version -> OFFERED to the seat.

        ConcurrentUpdateError whose ``entity`` is "seat" or "contact" names the loser of the race.
        """
        ...

    def create_offered(self, contact: LiveContact, seat: AgentSeat, reserved: AgentSnapshot) -> None:
        """Atomically: a new contact, written already OFFERED to the seat (``contact``, which has
        reached its queue: counted "offered" there, as ``create`` counts it), and the seat
        AVAILABLE@version -> ``reserved``. One write where ``create`` then ``offer`` are two.

        AlreadyExistsError when the contact id is taken (a retried new_contact);
        ConcurrentUpdateError naming "seat" when the seat is no longer available at its version.
        """
        ...

    def save(self, expected_version: int, contact: LiveContact, count_offered: bool = False) -> None:
        """Write the contact's new state (queue index membership follows the state).

        ``count_offered``: the contact has just entered its queue (an overflow), and is counted in
        that queue's "offered" for the day in the same write.
        """
        ...

    def connect(
        self,
        expected_version: int,
        contact: LiveContact,
        seat: SeatTransition,
        dialog: CallDialog | None = None,
        now_ms: int = 0,
    ) -> None:
        """Atomically: the contact @version -> ``contact``, the seat's ``seat`` transition, and the
        call's ``dialog`` stored.

        ConcurrentUpdateError whose ``entity`` is "contact" (it changed) or "seat" (not in the from-state).
        """
        ...

    def end(
        self,
        contact: LiveContact,
        record: ContactRecord,
        outcome: str | None,
        seat: SeatTransition | None = None,
        dialog_keys: Sequence[str] = (),
    ) -> None:
        """Record and remove the contact, release its agent (``seat``) and delete the call's stored
        dialog (``dialog_keys``), in one step.

        ConcurrentUpdateError whose ``entity`` is "contact" when it changed meanwhile, or "seat" when
        only the seat is no longer in the release's from-state.
        """
        ...

    def record(self, contact_id: str) -> ContactRecord | None: ...

    def recent_answers(self, queue_id: str, since_ms: int, now_ms: int) -> list[int]:
        """When the queue's contacts that ended since ``since_ms`` were answered (those answered
        since then; a call still talking counts once it ends)."""
        ...

    def drop_dialogs(self, dialog_keys: Sequence[str]) -> None:
        """Delete stored dialogs of a contact that ended without them (a report that came late)."""
        ...

    def owned_by_edge(self, edge_task_id: str, state: str) -> list[LiveContact]: ...


class CallbackRunners(Protocol):
    """Picks the live edge task that runs a callback once an agent is claimed for it: nobody holds
    the caller's call, so any task may ring the agent and dial the customer."""

    def pick(self, contact_id: str, now_ms: int) -> str | None:
        """A live task's id (spread by ``contact_id``); None when no task is live (the callback
        keeps its place and is offered again later)."""
        ...


@dataclass(frozen=True, slots=True)
class HeldByTasks:
    held: frozenset[str]  # the asked contacts whose calls this region's live edge tasks hold
    complete: bool  # every live task answered (else a silent one may hold any of the others)


class HeldCalls(Protocol):
    """Which of ``contact_ids`` this region's live edge tasks hold (``contracts.offer_push.HELD``).
    Bounded in time; never raises (an error is a task that did not answer)."""

    def held(self, contact_ids: Sequence[str], now_ms: int) -> HeldByTasks: ...


class Registrations(Protocol):
    def targets(self, aor: str, now_ms: int) -> list[AgentTarget]:
        """Unexpired registrar bindings of an address-of-record."""
        ...


class EventSink(Protocol):
    def publish(self, event: DomainEvent, **context: str | None) -> None: ...


class RoutingMetrics(Protocol):
    """Figures for the operators' dashboard (``contracts.metrics``): written, never read back, and
    never allowed to fail a call. High-cardinality ids are context, not dimensions."""

    def queue_waited(
        self,
        outcome: str,
        wait_ms: int,
        *,
        merchant_id: str | None,
        queue_id: str,
        contact_id: str,
        at_ms: int,
    ) -> None:
        """A queued contact's wait ended: an agent answered, or the caller gave up (``outcome``)."""
        ...

    def agents_counted(self, by_state: Mapping[str, int], at_ms: int) -> None:
        """Every seat's state, counted (every state named, zeros included)."""
        ...


class NoMetrics:
    """Local mode and tests: figures go nowhere."""

    def queue_waited(
        self,
        outcome: str,
        wait_ms: int,
        *,
        merchant_id: str | None,
        queue_id: str,
        contact_id: str,
        at_ms: int,
    ) -> None:
        return None

    def agents_counted(self, by_state: Mapping[str, int], at_ms: int) -> None:
        return None
