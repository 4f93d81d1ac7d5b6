"""Registrar bindings as the router reads them, and idempotency records."""

from __future__ import annotations

from contact_center.data.models import BindingItem, IdempotencyItem
from contact_center.services.records import IdempotencyRecord
from contact_center.services.routing.ports import AgentTarget


def target_from_binding(item: BindingItem) -> AgentTarget:
    return AgentTarget(
        contact_uri=item.contact_uri,
        received=item.received,
        transport=item.transport or "UDP",
        flow_owner=item.flow_owner,
        path=tuple(item.path or ()),
    )


def idempotency_record_from_item(item: IdempotencyItem) -> IdempotencyRecord:
    return IdempotencyRecord(
        request_hash=item.request_hash,
        status_code=int(item.status_code) if item.status_code is not None else None,
        response=item.response,
        created_at=int(item.created_at),
    )
