"""Queue, number and trunk items."""

from __future__ import annotations

from typing import Any

from contact_center.data.mappers.common import as_dict, optional_int
from contact_center.data.models import NumberAuditItem, NumberItem, QueueItem, TrunkItem
from contact_center.domain.callbacks import CallbackPolicy
from contact_center.domain.menus import Menu
from contact_center.domain.migration import NumberMode, NumberRouting
from contact_center.domain.queueing import (
    DEFAULT_SERVICE_LEVEL_SECONDS,
    AnswerMode,
    Overflow,
    OverflowKind,
    QueueConfig,
    QueueMedia,
    RoutingStrategy,
)
from contact_center.domain.skills import SkillRequirement
from contact_center.domain.trunks import CallerIdRule, OutboundAuth, Transport, TrunkAddress, parse_address
from contact_center.services.records import NumberAudit, NumberChange, PhoneNumber, Queue, Trunk
from contact_center.services.routing.ports import NumberRoute


def overflow_from_map(value: Any) -> Overflow | None:
    """The stored overflow: written as ``{"type": <OverflowKind value>, "target": ...}``. Older items
    say ``"kind"`` for the key and ``"legacy"`` for the legacy trunk; both are read as meant."""
    data = as_dict(value)
    if not data:
        return None
    kind = str(data.get("type") or data.get("kind"))
    return Overflow(
        OverflowKind.LEGACY_TRUNK if kind == "legacy" else OverflowKind(kind), str(data["target"])
    )


def overflow_map(overflow: Overflow | None) -> dict[str, str] | None:
    return {"type": overflow.kind.value, "target": overflow.target} if overflow else None


def media_from_map(value: Any) -> QueueMedia:
    """A queue stored before it had media settings has the defaults."""
    data = as_dict(value) if value else {}
    defaults = QueueMedia()
    every = optional_int(data.get("announce_every_seconds"))
    return QueueMedia(
        answer=AnswerMode(data.get("answer") or defaults.answer.value),
        greeting=data.get("greeting", defaults.greeting),
        announce_every_seconds=every if every is not None else defaults.announce_every_seconds,
        greeting_prompt=data.get("greeting_prompt"),
        music_prompt=data.get("music_prompt"),
    )


def callback_from_map(value: Any) -> CallbackPolicy | None:
    """A queue stored before callbacks existed, or with them off, has none."""
    if not value:
        return None
    data = as_dict(value)
    # The table's numbers may come back as Decimal: the policy checks for int.
    return CallbackPolicy.from_value(
        {key: int(field) if key != "digit" else field for key, field in data.items()}
    )


def media_map(media: QueueMedia) -> dict[str, Any]:
    return media.as_dict()


def queue_config_from_item(item: QueueItem) -> QueueConfig:
    return QueueConfig(
        queue_id=item.queue_id,
        name=item.name or "",
        required_skills=tuple(
            SkillRequirement(str(s["name"]), int(s.get("min_proficiency", 1))) for s in (item.skills or [])
        ),
        priority=int(item.priority),
        strategy=RoutingStrategy(item.strategy),
        max_wait_seconds=int(item.max_wait_seconds),
        overflow=overflow_from_map(item.overflow),
        wrap_up_seconds=int(item.wrap_up_seconds or 0),
        media=media_from_map(item.media),
        recording_percent=int(item.recording_percent or 0),
        callback=callback_from_map(item.callback),
    )


def queue_from_item(item: QueueItem) -> Queue:
    config = queue_config_from_item(item)
    return Queue(
        merchant_id=item.merchant_id,
        queue_id=config.queue_id,
        name=config.name,
        skills=config.required_skills,
        priority=config.priority,
        strategy=config.strategy,
        max_wait_seconds=config.max_wait_seconds,
        overflow=config.overflow,
        wrap_up_seconds=config.wrap_up_seconds,
        created_at=int(item.created_at),
        media=config.media,
        service_level_seconds=int(item.service_level_seconds or DEFAULT_SERVICE_LEVEL_SECONDS),
        recording_percent=config.recording_percent,
        callback=config.callback,
    )


def queue_attributes(queue: Queue) -> dict[str, Any]:
    """The queue's configuration as attributes; ``overflow`` None means "none" (removed on update)."""
    return {
        "name": queue.name,
        "skills": [{"name": s.name, "min_proficiency": s.min_proficiency} for s in queue.skills],
        "priority": queue.priority,
        "strategy": queue.strategy.value,
        "max_wait_seconds": queue.max_wait_seconds,
        "overflow": overflow_map(queue.overflow),
        "wrap_up_seconds": queue.wrap_up_seconds,
        "media": media_map(queue.media),
        "service_level_seconds": queue.service_level_seconds,
        "recording_percent": queue.recording_percent,
        "callback": queue.callback.as_dict() if queue.callback is not None else None,
    }


def queue_item(queue: Queue) -> QueueItem:
    attributes = {name: value for name, value in queue_attributes(queue).items() if value is not None}
    return QueueItem(
        merchant_id=queue.merchant_id, queue_id=queue.queue_id, created_at=queue.created_at, **attributes
    )


def number_routing_from_item(item: NumberItem) -> NumberRouting:
    """The stored mode; an item written before modes existed is legacy when it has no queue."""
    if item.mode is not None:
        mode = NumberMode(item.mode)
    else:
        mode = NumberMode.LEGACY if item.queue_id is None and item.legacy_trunk else NumberMode.SWITCHBOARD
    percent = optional_int(item.switchboard_percent)
    return NumberRouting(
        mode,
        item.queue_id,
        item.legacy_trunk,
        percent if percent is not None else (0 if mode is NumberMode.LEGACY else 100),
        item.fallback_trunk,
    )


def number_routing_attributes(routing: NumberRouting) -> dict[str, Any]:
    """The number's mode attributes (None: removed)."""
    return {
        "mode": routing.mode.value,
        "queue_id": routing.queue_id,
        "legacy_trunk": routing.legacy_trunk_id,
        "switchboard_percent": routing.switchboard_percent,
        "fallback_trunk": routing.fallback_trunk_id,
    }


def menu_from_map(value: Any) -> Menu | None:
    """The number's stored menu; None when it has none."""
    data = as_dict(value)
    if not data:
        return None
    return Menu(
        prompt=str(data["prompt"]),
        default_queue=str(data["default_queue"]),
        options={str(digit): str(queue) for digit, queue in as_dict(data.get("options")).items()},
        timeout_seconds=int(data["timeout_seconds"]),
        retries=int(data["retries"]),
    )


def menu_map(menu: Menu) -> dict[str, Any]:
    return menu.to_dict()


def menu_queue_ids(item: NumberItem) -> set[str]:
    """The queues the number's menu routes to (none without a menu)."""
    menu = menu_from_map(item.menu)
    return menu.queue_ids() if menu is not None else set()


def number_from_item(item: NumberItem) -> PhoneNumber:
    routing = number_routing_from_item(item)
    return PhoneNumber(
        item.number,
        item.merchant_id,
        item.queue_id,
        int(item.created_at),
        routing.mode,
        routing.legacy_trunk_id,
        routing.switchboard_percent,
        routing.fallback_trunk_id,
        menu_from_map(item.menu),
    )


def number_route_from_item(item: NumberItem) -> NumberRoute:
    return NumberRoute(
        number=item.number,
        merchant_id=item.merchant_id,
        queue_id=item.queue_id,
        legacy_trunk=item.legacy_trunk,
        priority=optional_int(item.priority),
        # Only a mode the item stores: without one, ``NumberRoute.mode`` reads it from the fields.
        routing=number_routing_from_item(item) if item.mode is not None else None,
        menu=menu_from_map(item.menu),
    )


def routing_map(routing: NumberRouting) -> dict[str, Any]:
    return {
        "mode": routing.mode.value,
        "queue_id": routing.queue_id,
        "legacy_trunk_id": routing.legacy_trunk_id,
        "switchboard_percent": routing.switchboard_percent,
        "fallback_trunk_id": routing.fallback_trunk_id,
    }


def routing_from_map(value: Any) -> NumberRouting:
    data = as_dict(value)
    return NumberRouting(
        NumberMode(str(data["mode"])),
        str(data["queue_id"]) if data.get("queue_id") else None,
        str(data["legacy_trunk_id"]) if data.get("legacy_trunk_id") else None,
        int(data["switchboard_percent"]),
        str(data["fallback_trunk_id"]) if data.get("fallback_trunk_id") else None,
    )


def audit_item(audit: NumberAudit) -> NumberAuditItem:
    return NumberAuditItem(
        audit_id=audit.audit_id,
        merchant_id=audit.merchant_id,
        changed_at=audit.changed_at,
        actor=audit.actor,
        changes=[
            {"number": c.number, "routing": routing_map(c.routing), "previous": routing_map(c.previous)}
            for c in audit.changes
        ],
        batch_id=audit.batch_id,
        rollback_of=audit.rollback_of,
    )


def audit_from_item(item: NumberAuditItem) -> NumberAudit:
    changes = [as_dict(change) for change in item.changes or ()]
    return NumberAudit(
        audit_id=item.audit_id,
        merchant_id=item.merchant_id,
        changed_at=int(item.changed_at),
        actor=item.actor,
        changes=tuple(
            NumberChange(str(c["number"]), routing_from_map(c["routing"]), routing_from_map(c["previous"]))
            for c in changes
        ),
        batch_id=item.batch_id,
        rollback_of=item.rollback_of,
    )


def number_item(number: PhoneNumber) -> NumberItem:
    return NumberItem(
        number=number.number,
        merchant_id=number.merchant_id,
        queue_id=number.queue_id,
        created_at=number.created_at,
    )


def trunk_from_item(item: TrunkItem) -> Trunk:
    address = None
    if item.address:
        address = parse_address(item.address, Transport(item.transport or Transport.UDP.value))
    auth = None
    if item.auth_username and item.auth_realm:
        auth = OutboundAuth(
            item.auth_username, item.auth_realm, {str(k): str(v) for k, v in as_dict(item.auth_ha1).items()}
        )
    return Trunk(
        trunk_id=item.trunk_id,
        name=item.name,
        source_cidrs=tuple(item.source_cidrs or ()),
        legacy=bool(item.legacy),
        created_at=int(item.created_at),
        merchant_id=item.merchant_id,
        address=address,
        max_concurrent_calls=optional_int(item.max_concurrent_calls),
        caller_id_rules=tuple(
            CallerIdRule(str(rule["prefix"]), str(rule["caller_id"]))
            for rule in (as_dict(r) for r in item.caller_id_rules or ())
        ),
        auth=auth,
    )


def trunk_attributes(
    address: TrunkAddress | None = None,
    max_concurrent_calls: int | None = None,
    caller_id_rules: tuple[CallerIdRule, ...] | None = None,
    auth: OutboundAuth | None = None,
) -> dict[str, Any]:
    """The optional attributes given (None: not given)."""
    attributes: dict[str, Any] = {}
    if address is not None:
        attributes |= {"address": str(address), "transport": address.transport.value}
    if max_concurrent_calls is not None:
        attributes["max_concurrent_calls"] = max_concurrent_calls
    if caller_id_rules is not None:
        attributes["caller_id_rules"] = [
            {"prefix": r.prefix, "caller_id": r.caller_id} for r in caller_id_rules
        ]
    if auth is not None:
        attributes |= {"auth_username": auth.username, "auth_realm": auth.realm, "auth_ha1": dict(auth.ha1)}
    return attributes


# The attributes each clearable field of a PATCH removes (``trunk_commands.CLEARABLE``).
TRUNK_CLEARED_ATTRIBUTES = {
    "address": ("address", "transport"),
    "max_concurrent_calls": ("max_concurrent_calls",),
    "credentials": ("auth_username", "auth_realm", "auth_ha1"),
}


def trunk_item(trunk: Trunk) -> TrunkItem:
    return TrunkItem(
        trunk_id=trunk.trunk_id,
        name=trunk.name,
        source_cidrs=list(trunk.source_cidrs),
        legacy=trunk.legacy,
        created_at=trunk.created_at,
        merchant_id=trunk.merchant_id,
        **trunk_attributes(trunk.address, trunk.max_concurrent_calls, trunk.caller_id_rules, trunk.auth),
    )
