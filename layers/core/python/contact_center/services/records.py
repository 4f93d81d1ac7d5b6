"""What the use cases read and return: plain immutable values, free of any storage type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

from contact_center.domain.agent_state import AgentSnapshot
from contact_center.domain.callbacks import CallbackPolicy
from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberMode, NumberRouting
from contact_center.domain.queueing import (
    DEFAULT_SERVICE_LEVEL_SECONDS,
    Overflow,
    QueueMedia,
    RoutingStrategy,
)
from contact_center.domain.skills import SkillRequirement
from contact_center.domain.trunks import CallerIdRule, OutboundAuth, TrunkAddress
from contact_center.domain.validation import DEFAULT_RING_TIMEOUT_SECONDS

T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_token: str | None


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    name: str
    contact_email: str
    seat_licenses: int
    seats_used: int
    created_at: int  # epoch ms
    # E.164 prefixes its agents may call out to; empty: any number (emergency numbers always).
    dial_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    merchant_id: str
    prefix: str  # the first characters of the secret, so a merchant can tell its keys apart
    name: str | None
    created_at: int


@dataclass(frozen=True)
class IssuedApiKey:
    """A new key with its secret: the only time the secret exists outside the caller."""

    key: ApiKey
    secret: str


@dataclass(frozen=True)
class MerchantSignup:
    merchant: Merchant
    api_key: IssuedApiKey


@dataclass(frozen=True)
class Queue:
    merchant_id: str
    queue_id: str
    name: str
    skills: tuple[SkillRequirement, ...] = ()
    priority: int = 5
    strategy: RoutingStrategy = RoutingStrategy.LONGEST_IDLE
    max_wait_seconds: int = 300
    overflow: Overflow | None = None
    wrap_up_seconds: int = 0
    created_at: int = 0
    media: QueueMedia = field(default_factory=QueueMedia)
    # The wallboard's service level: the share of contacts answered within this many seconds.
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS
    recording_percent: int = 0  # the share of answered calls recorded
    callback: CallbackPolicy | None = None  # None: the queue's callers cannot leave a callback


@dataclass(frozen=True)
class PhoneNumber:
    number: str
    merchant_id: str
    queue_id: str | None
    created_at: int
    mode: NumberMode = NumberMode.SWITCHBOARD
    legacy_trunk_id: str | None = None
    switchboard_percent: int = 100
    fallback_trunk_id: str | None = None
    menu: Menu | None = None


@dataclass(frozen=True)
class NumberChange:
    """One number's move: from ``previous`` to ``routing``."""

    number: str
    routing: NumberRouting
    previous: NumberRouting


@dataclass(frozen=True)
class NumberAudit:
    """One all-or-nothing write of number modes (a PATCH, or one transaction of a batch), as logged.

    ``batch_id`` ties the transactions of one batch request together; ``rollback_of`` names the
    audit entry a rollback undid."""

    audit_id: str
    merchant_id: str
    changed_at: int
    actor: str
    changes: tuple[NumberChange, ...]
    batch_id: str | None = None
    rollback_of: str | None = None


@dataclass(frozen=True)
class Seat:
    merchant_id: str
    seat_id: str
    display_name: str
    sip_username: str
    agent: AgentSnapshot  # the live state, at the version the store holds
    skills: dict[str, int] = field(default_factory=dict)
    queue_ids: tuple[str, ...] = ()
    ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS  # how long an offer rings before RONA
    created_at: int = 0


@dataclass(frozen=True)
class SipUser:
    """A seat's digest identity: HA1 per algorithm, never the password."""

    username: str
    merchant_id: str
    seat_id: str
    realm: str
    ha1: dict[str, str]


@dataclass(frozen=True)
class SipCredentials:
    username: str
    password: str
    domain: str
    registrar: str


@dataclass(frozen=True)
class CreatedSeat:
    seat: Seat
    sip: SipCredentials


@dataclass(frozen=True)
class Trunk:
    """A carrier's or a merchant's trunk (see ``services.trunk_commands`` for each field)."""

    trunk_id: str
    name: str
    source_cidrs: tuple[str, ...]
    legacy: bool
    created_at: int
    merchant_id: str | None = None  # None: the platform's carrier; else the merchant's own (its PBX)
    address: TrunkAddress | None = None  # where calls over it are sent; None: inbound only
    max_concurrent_calls: int | None = None
    caller_id_rules: tuple[CallerIdRule, ...] = ()
    auth: OutboundAuth | None = None


@dataclass(frozen=True)
class QueueStats:
    queue_id: str
    day: str  # UTC, yyyy-mm-dd
    waiting: int
    oldest_wait_seconds: int
    agents: dict[str, int]
    offered: int
    answered: int
    abandoned: int  # the caller hung up while waiting
    timed_out: int  # the queue gave up at max wait (rejected, or overflowed to the legacy trunk)


@dataclass(frozen=True)
class IdempotencyRecord:
    request_hash: str
    status_code: int | None  # None while the first request is still running
    response: str | None
    created_at: int
