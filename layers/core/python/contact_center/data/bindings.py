"""Registrar bindings (location service): address-of-record -> contacts, with expiry and flow owner."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypedDict, Unpack

from contact_center.aws.dynamodb import shared_client
from contact_center.data import keys, table
from contact_center.data.batch_writer import BatchWriter, shared_writer
from contact_center.data.encoding import ItemEncoder
from contact_center.data.models import BindingItem, items_of

# DynamoDB's most partition keys in one PartiQL statement (its documented limit for IN).
PARTIQL_KEY_LIMIT = 50

# Encodes binding values straight from BindingItem's declarations (write-behind: no model per item).
_ENCODER = ItemEncoder(BindingItem)


def binding_key(contact_uri: str, instance_id: str | None = None) -> str:
    """One binding per device: the RFC 5626 instance id when given, else the Contact URI."""
    return hashlib.sha256((instance_id or contact_uri).encode()).hexdigest()[:32]


class BindingOptions(TypedDict, total=False):
    """A binding's optional attributes. ``key``: the binding key when the caller holds it already
    (``binding_key`` of the same URI and instance id), so that a write and a later removal by that
    key name the same item."""

    received: str | None
    transport: str  # default UDP
    flow_owner: str | None
    path: list[str] | None
    instance_id: str | None
    reg_id: int | None
    call_id: str | None
    cseq: int | None
    user_agent: str | None
    q: float | None
    key: str | None


def binding_values(
    aor: str, contact_uri: str, expires_at: int, **options: Unpack[BindingOptions]
) -> dict[str, Any]:
    """A binding's attribute values, by BindingItem attribute name."""
    flow_owner = options.get("flow_owner")
    key = options.get("key") or binding_key(contact_uri, options.get("instance_id"))
    return {
        "pk": keys.aor_pk(aor),
        "sk": keys.binding_sk(key),
        "gsi2pk": keys.flow_index_pk(flow_owner) if flow_owner else None,
        "gsi2sk": aor if flow_owner else None,
        "aor": aor,
        "contact_uri": contact_uri,
        "expires_at": expires_at,
        "received": options.get("received"),
        "transport": options.get("transport", "UDP"),
        "flow_owner": flow_owner,
        "path": options.get("path") or [],
        "instance_id": options.get("instance_id"),
        "reg_id": options.get("reg_id"),
        "call_id": options.get("call_id"),
        "cseq": options.get("cseq"),
        "user_agent": options.get("user_agent"),
        "q": options.get("q"),
    }


def new_binding(
    aor: str, contact_uri: str, expires_at: int, **options: Unpack[BindingOptions]
) -> BindingItem:
    return BindingItem(**binding_values(aor, contact_uri, expires_at, **options))


class BindingItems:
    def __init__(self, writer: BatchWriter | None = None) -> None:
        self._writer = writer

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

    def current_many(self, aors: Sequence[str], now: int) -> dict[str, list[BindingItem]]:
        """Unexpired bindings of many AORs (a registration storm's first registrations), 50 AORs per
        request rather than one Query each: a PartiQL ``IN`` over their partition keys, which
        DynamoDB runs as reads of those partitions (not a scan; an ``OR`` of equalities was a scan
        in DynamoDB Local, 40 times slower). Expiry is filtered here, as TTL deletes lazily.
        Strongly consistent, as ``current``. moto (5.2) answers an ``IN`` with the first key's
        items alone: run storms against DynamoDB Local, as the local stack does by default."""
        found: dict[str, list[BindingItem]] = {aor: [] for aor in aors}
        client = shared_client(table.BINDING.region, table.BINDING.host)
        for start in range(0, len(aors), PARTIQL_KEY_LIMIT):
            chunk = aors[start : start + PARTIQL_KEY_LIMIT]
            params: dict[str, Any] = {
                "Statement": f'SELECT * FROM "{table.BINDING.table_name}" WHERE pk IN ['
                + ",".join(["?"] * len(chunk))
                + "]",
                "Parameters": [{"S": keys.aor_pk(aor)} for aor in chunk],
                "ConsistentRead": True,
            }
            while True:
                answer = client.call("ExecuteStatement", **params)
                for raw in answer.get("Items", []):
                    item = BindingItem.from_raw_data(raw)
                    if (item.expires_at or 0) > now and item.aor in found:
                        found[item.aor].append(item)
                token = answer.get("NextToken")
                if not token:
                    break
                params["NextToken"] = token
        return found

    def owned_by(self, edge_task_id: str, now: int) -> list[BindingItem]:
        """Bindings whose NAT flow an edge task holds (the ones it must keep alive)."""
        return items_of(
            BindingItem,
            BindingItem.gsi2.query(
                keys.flow_index_pk(edge_task_id), filter_condition=BindingItem.expires_at > now
            ),
        )

    def write_batch(
        self,
        upserts: Iterable[BindingItem | Mapping[str, Any]],
        removals: Iterable[tuple[str, str]],
    ) -> None:
        """Write-behind flush: many binding changes in few requests (BatchWriteItem, 25 per call).

        ``upserts`` are models or ``binding_values`` mappings (no model built: the edge's path).
        Last writer wins per binding, which is the registrar's semantics: the newest REGISTER holds.
        Raises BatchWriteError when some change may not have been written.
        """
        puts = [
            item.serialize() if isinstance(item, BindingItem) else _ENCODER.encode(item) for item in upserts
        ]
        deletes = [
            _ENCODER.key({"pk": keys.aor_pk(aor), "sk": keys.binding_sk(key)}) for aor, key in removals
        ]
        self._batch_writer().write(puts, deletes)

    def _batch_writer(self) -> BatchWriter:
        # Looked up per call: tests rebind the models to another table or endpoint at run time.
        return self._writer or shared_writer(
            table.BINDING.table_name, table.BINDING.region, table.BINDING.host
        )
