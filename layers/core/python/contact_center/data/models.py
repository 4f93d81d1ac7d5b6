"""PynamoDB models: one class per entity, all in the one table described in ``schema``.

The models are storage shapes only; invariants live in the repositories' conditions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar, TypeVar

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
)
from pynamodb.connection import TableConnection
from pynamodb.constants import NULL
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from contact_center.contracts import media_relays
from contact_center.data import schema
from contact_center.data.attribute_plans import plan_of
from contact_center.data.table import BINDING, on_item_connection


def _map(**options: Any) -> MapAttribute[str, Any]:
    """A map attribute of any values (PynamoDB's constructor carries no annotations)."""
    return MapAttribute(**options)  # type: ignore[no-untyped-call]


def _strings() -> ListAttribute[str]:
    """A list of strings, each stored as DynamoDB's S (PynamoDB types ``of`` as the element type,
    where it takes the element's attribute class)."""
    return ListAttribute(of=UnicodeAttribute, default=list)  # type: ignore[arg-type]


class _Gsi1(GlobalSecondaryIndex["TableItem"]):  # type: ignore[no-untyped-call]  # PynamoDB's hook
    class Meta:
        index_name = schema.GSI1.name
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class _Gsi2(GlobalSecondaryIndex["TableItem"]):  # type: ignore[no-untyped-call]  # PynamoDB's hook
    class Meta:
        index_name = schema.GSI2.name
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class TableItem(Model):
    """Attributes every item has: keys, the entity name (for stream consumers) and the TTL."""

    class Meta:
        table_name = BINDING.table_name
        host = BINDING.host
        region = BINDING.region

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    entity = UnicodeAttribute()
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)

    gsi1: ClassVar[_Gsi1] = _Gsi1()
    gsi2: ClassVar[_Gsi2] = _Gsi2()

    ENTITY: ClassVar[str] = ""

    def __init__(
        self, hash_key: Any = None, range_key: Any = None, _user_instantiated: bool = True, **attributes: Any
    ) -> None:
        """PynamoDB's ``Model.__init__``, each default and value stored as its descriptor would store
        it (about 30 us less per item built; ``tests/functional/data/test_item_reads.py`` holds the
        two equal for every model)."""
        attributes.setdefault("entity", self.ENTITY)
        if hash_key is not None:
            attributes["pk"] = hash_key
        if range_key is not None:
            attributes["sk"] = range_key
        plan = plan_of(type(self))
        values: dict[str, Any] = {}
        self.attribute_values = values
        for name, attribute, plain in plan.attributes:
            default = attribute.default_for_new if _user_instantiated else None
            if default is None:
                default = attribute.default
            value = default() if callable(default) else default
            if value is not None:
                plan.store(self, values, name, value, plain)
        for name, value in attributes.items():
            as_given = plan.plain.get(name)
            if as_given is None:
                raise ValueError(f"Attribute {name} specified does not exist")
            plan.store(self, values, name, value, as_given)

    @classmethod
    def _instantiate(cls: type[_Item], attribute_values: dict[str, dict[str, Any]]) -> _Item:
        """An item read from the table: PynamoDB's ``_instantiate`` done once. Its own sets every
        default twice (constructor, then deserializer) and every value through its descriptor, about
        80 us per contact read on the reference machine; here the values it would store are stored
        (``tests/functional/data/test_item_reads.py`` holds the two equal for every model)."""
        instance = cls.__new__(cls)
        values: dict[str, Any] = {}
        instance.attribute_values = values
        plan = plan_of(cls)
        for name, attribute, plain in plan.attributes:
            raw = attribute_values.get(attribute.attr_name)
            if raw and NULL not in raw:
                value = attribute.deserialize(attribute.get_value(raw))
            else:
                default = attribute.default
                value = default() if callable(default) else default
                if value is None:
                    continue
            plan.store(instance, values, name, value, plain)
        return instance

    @classmethod
    def _get_connection(cls) -> TableConnection:
        return on_item_connection(super()._get_connection())


_Item = TypeVar("_Item", bound=TableItem)


class MerchantItem(TableItem):
    ENTITY = "merchant"
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute()
    contact_email = UnicodeAttribute()
    seat_licenses = NumberAttribute()
    seats_used = NumberAttribute(default=0)
    created_at = NumberAttribute()
    home_region = UnicodeAttribute(null=True)
    # E.164 prefixes the merchant's agents may call out to (empty: any number).
    dial_prefixes = _strings()
    version = NumberAttribute(default=1)


class OwnershipItem(TableItem):
    """Which region decides for a merchant (``domain.ownership``); every owned write checks it."""

    ENTITY = "ownership"
    merchant_id = UnicodeAttribute()
    home_region = UnicodeAttribute()
    epoch = NumberAttribute()
    active_from = NumberAttribute(default=0)  # epoch ms: the new home decides from then on
    preferred_region = UnicodeAttribute(null=True)  # where a failback moves the home
    updated_at = NumberAttribute()


class ApiKeyItem(TableItem):
    ENTITY = "api_key"
    key_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    prefix = UnicodeAttribute()
    created_at = NumberAttribute()


class SeatItem(TableItem):
    """An agent seat: profile, SIP username and live state (state machine in the domain)."""

    ENTITY = "seat"
    merchant_id = UnicodeAttribute()
    seat_id = UnicodeAttribute()
    display_name = UnicodeAttribute()
    skills = _map(default=dict)  # skill name -> proficiency 1..5
    queues = _map(default=dict)  # queue id -> the agent's priority for it
    sip_username = UnicodeAttribute()
    state = UnicodeAttribute(default="offline")
    state_reason = UnicodeAttribute(null=True)
    state_since = NumberAttribute(default=0)  # epoch ms
    idle_since = NumberAttribute(null=True)  # epoch ms when it last became AVAILABLE
    contact_id = UnicodeAttribute(null=True)
    wrap_up_until = NumberAttribute(null=True)
    ring_timeout_seconds = NumberAttribute(default=20)
    home_region = UnicodeAttribute(null=True)
    epoch = NumberAttribute(default=0)
    version = NumberAttribute(default=1)
    created_at = NumberAttribute()


class SeatQueueItem(TableItem):
    """A seat's entry in the availability index of one queue it serves: it exists exactly while the
    seat is AVAILABLE (written in the transaction of the seat's change), keyed to the queue's index
    partition in longest-idle order, and carries the seat as the router reads it at that version."""

    ENTITY = "seat_queue"
    merchant_id = UnicodeAttribute()
    seat_id = UnicodeAttribute()
    queue_id = UnicodeAttribute()
    skills = _map(default=dict)
    queues = _map(default=dict)
    sip_username = UnicodeAttribute()
    state = UnicodeAttribute()
    state_reason = UnicodeAttribute(null=True)
    state_since = NumberAttribute(default=0)
    idle_since = NumberAttribute(null=True)
    ring_timeout_seconds = NumberAttribute(default=20)
    version = NumberAttribute()


class SipUserItem(TableItem):
    """Digest credentials of a seat: HA1 per algorithm, never the password."""

    ENTITY = "sip_user"
    username = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    seat_id = UnicodeAttribute()
    realm = UnicodeAttribute()
    ha1 = _map(default=dict)  # "MD5" / "SHA-256" -> hex
    credentials_version = NumberAttribute(default=1)


class QueueItem(TableItem):
    ENTITY = "queue"
    merchant_id = UnicodeAttribute()
    queue_id = UnicodeAttribute()
    name = UnicodeAttribute()
    skills = ListAttribute[Any](default=list)  # [{"name": ..., "min_proficiency": n}]
    priority = NumberAttribute(default=5)
    strategy = UnicodeAttribute(default="longest_idle")
    max_wait_seconds = NumberAttribute(default=300)
    overflow = _map(null=True)  # {"type": "queue"|"legacy_trunk", "target": ...}
    wrap_up_seconds = NumberAttribute(default=0)
    media = _map(null=True)  # {"answer", "greeting", "announce_every_seconds"}; absent: the defaults
    service_level_seconds = NumberAttribute(null=True)  # absent: the default (20)
    recording_percent = NumberAttribute(null=True)  # absent: 0, nothing recorded
    callback = _map(null=True)  # domain.callbacks.CallbackPolicy.as_dict(); absent: no callbacks
    rr_cursor = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    version = NumberAttribute(default=1)


class NumberItem(TableItem):
    ENTITY = "number"
    number = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    queue_id = UnicodeAttribute(null=True)
    legacy_trunk = UnicodeAttribute(null=True)  # the legacy PBX's trunk during the cut-over
    fallback_trunk = UnicodeAttribute(null=True)  # where Switchboard-side calls go when the queue cannot
    # switchboard | legacy | split (domain.migration); absent: legacy when there is no queue
    mode = UnicodeAttribute(null=True)
    switchboard_percent = NumberAttribute(null=True)
    priority = NumberAttribute(null=True)  # contact priority for calls to this number (default 5)
    # domain.menus.Menu.to_dict(): {"prompt", "options": {digit: queue id}, "default_queue",
    # "timeout_seconds", "retries"}; absent: no menu
    menu = _map(null=True)
    created_at = NumberAttribute()
    version = NumberAttribute(null=True)  # absent = 0; every mode change adds 1


class NumberAuditItem(TableItem):
    """One logged write of number modes (``services.records.NumberAudit``)."""

    ENTITY = "number_audit"
    audit_id = UnicodeAttribute()
    merchant_id = UnicodeAttribute()
    changed_at = NumberAttribute()
    actor = UnicodeAttribute()
    changes = ListAttribute(of=MapAttribute, default=list)
    batch_id = UnicodeAttribute(null=True)
    rollback_of = UnicodeAttribute(null=True)


class TrunkItem(TableItem):
    ENTITY = "trunk"
    trunk_id = UnicodeAttribute()
    name = UnicodeAttribute()
    source_cidrs = _strings()
    legacy = BooleanAttribute(default=False)
    created_at = NumberAttribute()
    merchant_id = UnicodeAttribute(null=True)  # absent: a platform carrier
    address = UnicodeAttribute(null=True)  # host, host:port or [v6]:port (see domain.trunks)
    transport = UnicodeAttribute(null=True)
    max_concurrent_calls = NumberAttribute(null=True)
    caller_id_rules = ListAttribute(of=MapAttribute, default=list)
    auth_username = UnicodeAttribute(null=True)
    auth_realm = UnicodeAttribute(null=True)
    auth_ha1 = _map(null=True)  # "MD5" / "SHA-256" -> hex, as a seat's; never the password


class BindingItem(TableItem):
    """A registrar binding: one Contact of an address-of-record."""

    ENTITY = "binding"
    aor = UnicodeAttribute()
    contact_uri = UnicodeAttribute()
    received = UnicodeAttribute(null=True)  # "ip:port" the REGISTER came from (NAT)
    transport = UnicodeAttribute(default="UDP")
    flow_owner = UnicodeAttribute(null=True)  # edge task holding the NAT flow / connection
    path = _strings()
    instance_id = UnicodeAttribute(null=True)
    reg_id = NumberAttribute(null=True)
    call_id = UnicodeAttribute(null=True)
    cseq = NumberAttribute(null=True)
    user_agent = UnicodeAttribute(null=True)
    q = NumberAttribute(null=True)


class ContactItem(TableItem):
    """A contact: one call (or chat, e-mail) through the centre, live state only."""

    ENTITY = "contact"
    contact_id = UnicodeAttribute()
    channel = UnicodeAttribute(default="voice")
    state = UnicodeAttribute()
    merchant_id = UnicodeAttribute(null=True)
    queue_id = UnicodeAttribute(null=True)
    priority = NumberAttribute(default=5)
    enqueued_at = NumberAttribute(null=True)  # epoch ms
    offered_at = NumberAttribute(null=True)
    answered_at = NumberAttribute(null=True)
    caller = UnicodeAttribute(null=True)
    called = UnicodeAttribute(null=True)
    offered_seat = UnicodeAttribute(null=True)
    # The offered (then connected) seat's version as the offer or the connection left it: the
    # router's next write on the seat is conditioned on it instead of reading the seat first.
    seat_version = NumberAttribute(null=True)
    owning_edge = UnicodeAttribute(null=True)
    rona_attempts = NumberAttribute(default=0)
    trunk_id = UnicodeAttribute(null=True)  # set once forwarded to the legacy trunk
    # Earlier legs of the contact (queues left, agents that missed it), carried into the record.
    segments = ListAttribute[Any](default=list)
    recording_key = UnicodeAttribute(null=True)  # set when an agent answers a recorded call
    # The offered seat's profile at ``seat_version`` (skills, queues, sip_username,
    # ring_timeout_seconds): the seat's release relists it without reading it.
    seat_profile = _map(null=True)
    created_at = NumberAttribute()
    # The region and epoch of its merchant's ownership when it was last written (stream consumers
    # act only on what their own region wrote as home).
    home_region = UnicodeAttribute(null=True)
    epoch = NumberAttribute(null=True)
    version = NumberAttribute(default=1)


class DialogItem(TableItem):
    """What an edge task needs to handle an in-dialog request for a call it did not set up."""

    ENTITY = "dialog"
    dialog_key = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)
    owner = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default="early")
    legs = _map(default=dict)  # leg name -> Call-ID, tags, CSeq, route set, target
    updated_at = NumberAttribute()


class RecordItem(TableItem):
    """A contact record (CDR): written once, when the contact ends."""

    ENTITY = "record"
    contact_id = UnicodeAttribute()
    channel = UnicodeAttribute(default="voice")
    merchant_id = UnicodeAttribute(null=True)
    queue_id = UnicodeAttribute(null=True)
    caller = UnicodeAttribute(null=True)
    called = UnicodeAttribute(null=True)
    seat_id = UnicodeAttribute(null=True)
    created_at = NumberAttribute()
    enqueued_at = NumberAttribute(null=True)
    offered_at = NumberAttribute(null=True)
    answered_at = NumberAttribute(null=True)
    ended_at = NumberAttribute()
    hangup_side = UnicodeAttribute(null=True)
    hangup_cause = UnicodeAttribute(null=True)
    rona_attempts = NumberAttribute(default=0)
    side = UnicodeAttribute(null=True)  # switchboard | legacy: which call centre handled it
    trunk_id = UnicodeAttribute(null=True)
    segments = ListAttribute[Any](default=list)
    wrap_up_code = UnicodeAttribute(null=True)  # picked by the agent at its desk after the call
    recording_key = UnicodeAttribute(null=True)  # the call's recording (``domain.recording``)


class QueueStatsItem(TableItem):
    """One shard of a queue's counters for one UTC day, a partition of its own (``keys.queue_stats_pk``:
    a contact's counts always go to the same shard; ``ContactItems.stats`` sums them).

    ``offered`` counts contacts that reached the queue that day (created into it, or moved into it by
    an overflow), in the same transaction as that write; ``answered``/``abandoned``/``timed_out``
    count ends, by the day of the end, in the end's transaction. A contact still waiting is offered
    but not yet anything else, so the three outcomes never exceed ``offered`` for long.
    """

    ENTITY = "queue_stats"
    queue_id = UnicodeAttribute()
    day = UnicodeAttribute()
    offered = NumberAttribute(default=0)
    answered = NumberAttribute(default=0)
    abandoned = NumberAttribute(default=0)
    timed_out = NumberAttribute(default=0)  # max wait reached with no overflow: rejected


class EdgeTaskItem(TableItem):
    ENTITY = "edge_task"
    task_id = UnicodeAttribute()
    address = UnicodeAttribute()
    region = UnicodeAttribute(null=True)
    heartbeat_at = NumberAttribute()
    active_calls = NumberAttribute(default=0)
    # Alive while this is in the future; the item itself is kept (``expires_at``) long enough for
    # another task to notice the loss and end the calls this one held.
    alive_until = NumberAttribute(null=True)


class MediaRelayItem(TableItem):
    """Written by a relay instance's agent, not by this package: names from the registry contract."""

    ENTITY = media_relays.ENTITY
    relay_id = UnicodeAttribute(attr_name=media_relays.Attributes.RELAY_ID)
    ng_address = UnicodeAttribute(attr_name=media_relays.Attributes.NG_ADDRESS)
    public_address = UnicodeAttribute(attr_name=media_relays.Attributes.PUBLIC_ADDRESS)
    heartbeat_at = NumberAttribute(attr_name=media_relays.Attributes.HEARTBEAT_AT)
    sessions = NumberAttribute(attr_name=media_relays.Attributes.SESSIONS, default=0)
    draining = BooleanAttribute(attr_name=media_relays.Attributes.DRAINING, default=False)
    agent_address = UnicodeAttribute(attr_name=media_relays.Attributes.AGENT_ADDRESS, null=True)


class IdempotencyItem(TableItem):
    ENTITY = "idempotency"
    request_hash = UnicodeAttribute()
    status_code = NumberAttribute(null=True)
    response = UnicodeAttribute(null=True)  # JSON
    created_at = NumberAttribute()


ALL_MODELS: tuple[type[TableItem], ...] = (
    TableItem,
    MerchantItem,
    OwnershipItem,
    ApiKeyItem,
    SeatItem,
    SeatQueueItem,
    SipUserItem,
    QueueItem,
    NumberItem,
    TrunkItem,
    BindingItem,
    ContactItem,
    DialogItem,
    RecordItem,
    QueueStatsItem,
    EdgeTaskItem,
    MediaRelayItem,
    IdempotencyItem,
)
# ``table.bind`` re-points these when a test or the local stack moves to another table.
BINDING.register(*ALL_MODELS)


M = TypeVar("M", bound=TableItem)


def items_of(model: type[M], results: Iterable[TableItem]) -> list[M]:
    """An index query's items, typed as the model queried. The indexes are declared once, on
    ``TableItem``, so their results are typed ``TableItem``; PynamoDB builds each as the subclass the
    query was made on, and this keeps only those."""
    return [item for item in results if isinstance(item, model)]
