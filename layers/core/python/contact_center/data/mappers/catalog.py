"""Queue, number and trunk items."""

from __future__ import annotations

from typing import Any

from contact_center.data.mappers.common import as_dict, optional_int
from contact_center.data.models import NumberItem, QueueItem, TrunkItem
from contact_center.domain.queueing import (
    AnswerMode,
    Overflow,
    OverflowKind,
    QueueConfig,
    QueueMedia,
    RoutingStrategy,
)
from contact_center.domain.skills import SkillRequirement
from contact_center.services.records import PhoneNumber, Queue, Trunk
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
    )


def media_map(media: QueueMedia) -> dict[str, Any]:
    return {
        "answer": media.answer.value,
        "greeting": media.greeting,
        "announce_every_seconds": media.announce_every_seconds,
    }


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
    }


def queue_item(queue: Queue) -> QueueItem:
    attributes = {name: value for name, value in queue_attributes(queue).items() if value is not None}
    return QueueItem(
        merchant_id=queue.merchant_id, queue_id=queue.queue_id, created_at=queue.created_at, **attributes
    )


def number_from_item(item: NumberItem) -> PhoneNumber:
    return PhoneNumber(item.number, item.merchant_id, item.queue_id, int(item.created_at))


def number_route_from_item(item: NumberItem) -> NumberRoute:
    return NumberRoute(
        number=item.number,
        merchant_id=item.merchant_id,
        queue_id=item.queue_id,
        legacy_trunk=item.legacy_trunk,
        priority=optional_int(item.priority),
    )


def number_item(number: PhoneNumber) -> NumberItem:
    return NumberItem(
        number=number.number,
        merchant_id=number.merchant_id,
        queue_id=number.queue_id,
        created_at=number.created_at,
    )


def trunk_from_item(item: TrunkItem) -> Trunk:
    return Trunk(
        item.trunk_id, item.name, tuple(item.source_cidrs or ()), bool(item.legacy), int(item.created_at)
    )


def trunk_item(trunk: Trunk) -> TrunkItem:
    return TrunkItem(
        trunk_id=trunk.trunk_id,
        name=trunk.name,
        source_cidrs=list(trunk.source_cidrs),
        legacy=trunk.legacy,
        created_at=trunk.created_at,
    )
