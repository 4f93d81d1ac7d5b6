"""Registrar bindings (location service): address-of-record -> contacts, with expiry and flow owner."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from contact_center.data import keys
from contact_center.data.models import BindingItem


def binding_key(contact_uri: str, instance_id: str | None = None) -> str:
    """One binding per device: the RFC 5626 instance id when given, else the Contact URI."""
    return hashlib.sha256((instance_id or contact_uri).encode()).hexdigest()[:32]


def new_binding(
    aor: str,
    contact_uri: str,
    expires_at: int,
    *,
    received: str | None = None,
    transport: str = "UDP",
    flow_owner: str | None = None,
    path: list[str] | None = None,
    instance_id: str | None = None,
    reg_id: int | None = None,
    call_id: str | None = None,
    cseq: int | None = None,
    user_agent: str | None = None,
    q: float | None = None,
) -> BindingItem:
    return BindingItem(
        pk=keys.aor_pk(aor),
        sk=keys.binding_sk(binding_key(contact_uri, instance_id)),
        gsi2pk=keys.flow_index_pk(flow_owner) if flow_owner else None,
        gsi2sk=aor if flow_owner else None,
        aor=aor,
        contact_uri=contact_uri,
        expires_at=expires_at,
        received=received,
        transport=transport,
        flow_owner=flow_owner,
        path=path or [],
        instance_id=instance_id,
        reg_id=reg_id,
        call_id=call_id,
        cseq=cseq,
        user_agent=user_agent,
        q=q,
    )


class BindingRepository:
    def current(self, aor: str, now: int) -> list[BindingItem]:
        """Unexpired bindings of an AOR. DynamoDB's TTL deletes lazily, so expiry is filtered here."""
        return list(
            BindingItem.query(
                keys.aor_pk(aor),
                BindingItem.sk.startswith(keys.BINDING_SK_PREFIX),
                filter_condition=BindingItem.expires_at > now,
                consistent_read=True,
            )
        )

    def owned_by(self, edge_task_id: str, now: int) -> list[BindingItem]:
        """Bindings whose NAT flow an edge task holds (the ones it must keep alive)."""
        return list(
            BindingItem.gsi2.query(
                keys.flow_index_pk(edge_task_id), filter_condition=BindingItem.expires_at > now
            )
        )

    def write_batch(self, upserts: Iterable[BindingItem], removals: Iterable[tuple[str, str]]) -> None:
        """Write-behind flush: many binding changes in few requests (BatchWriteItem, 25 per call).

        Last writer wins per binding, which is the registrar's semantics: the newest REGISTER holds.
        """
        with BindingItem.batch_write() as batch:
            for item in upserts:
                batch.save(item)
            for aor, key in removals:
                batch.delete(BindingItem(pk=keys.aor_pk(aor), sk=keys.binding_sk(key)))
