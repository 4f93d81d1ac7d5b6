"""A merchant's queues: routing settings the ACD reads."""

from __future__ import annotations

from dataclasses import replace

from contact_center.domain.queueing import OverflowKind

from .commands import PageRequest, QueuePatch, QueueSettings
from .ids import new_id
from .ports import Clock, QueuePort
from .prompts import PromptPort, check_queue_prompts
from .records import Page, Queue


class QueueService:
    def __init__(self, queues: QueuePort, clock: Clock, prompts: PromptPort | None = None) -> None:
        self._queues = queues
        self._clock = clock
        # The merchant's uploaded prompts, which a queue's media may name (None: no check, as in
        # tests of queues alone).
        self._prompts = prompts

    def create(self, merchant_id: str, settings: QueueSettings) -> Queue:
        queue_id = new_id("que")
        settings.check(queue_id)
        self._check_references(merchant_id, settings)
        queue = _queue(merchant_id, queue_id, self._clock(), settings)
        self._queues.create(queue)
        return queue

    def get(self, merchant_id: str, queue_id: str) -> Queue:
        return self._queues.get(merchant_id, queue_id)

    def list(self, merchant_id: str, page: PageRequest) -> Page[Queue]:
        return self._queues.page(merchant_id, page.limit, page.next_token)

    def update(self, merchant_id: str, queue_id: str, patch: QueuePatch) -> Queue:
        current = self._queues.get(merchant_id, queue_id)
        settings = replace(_settings(current), **patch.values)
        settings.check(queue_id)
        self._check_references(merchant_id, settings)
        updated = _queue(current.merchant_id, current.queue_id, current.created_at, settings)
        self._queues.replace(updated)
        return updated

    def delete(self, merchant_id: str, queue_id: str) -> None:
        self._queues.delete(merchant_id, queue_id)

    def _check_references(self, merchant_id: str, settings: QueueSettings) -> None:
        # A queue may only overflow into another queue of the same merchant.
        if settings.overflow is not None and settings.overflow.kind is OverflowKind.QUEUE:
            self._queues.get(merchant_id, settings.overflow.target)
        if self._prompts is not None:
            check_queue_prompts(self._prompts, merchant_id, settings.media)


def _queue(merchant_id: str, queue_id: str, created_at: int, settings: QueueSettings) -> Queue:
    return Queue(
        merchant_id=merchant_id,
        queue_id=queue_id,
        name=settings.name,
        skills=settings.skills,
        priority=settings.priority,
        strategy=settings.strategy,
        max_wait_seconds=settings.max_wait_seconds,
        overflow=settings.overflow,
        wrap_up_seconds=settings.wrap_up_seconds,
        created_at=created_at,
        media=settings.media,
        service_level_seconds=settings.service_level_seconds,
        recording_percent=settings.recording_percent,
        callback=settings.callback,
    )


def _settings(queue: Queue) -> QueueSettings:
    return QueueSettings(
        name=queue.name,
        skills=queue.skills,
        priority=queue.priority,
        strategy=queue.strategy,
        max_wait_seconds=queue.max_wait_seconds,
        overflow=queue.overflow,
        wrap_up_seconds=queue.wrap_up_seconds,
        media=queue.media,
        service_level_seconds=queue.service_level_seconds,
        recording_percent=queue.recording_percent,
        callback=queue.callback,
    )
