"""The edge's adapters to the data layer: credentials, bindings, trunks, dialogs and heartbeats."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from contact_center.data.bindings import BindingItems, binding_values
from contact_center.data.catalog import TrunkItems
from contact_center.data.mappers.catalog import trunk_from_item
from contact_center.data.media_relays import MediaRelayItems
from contact_center.data.models import BindingItem
from contact_center.data.seats import SipUserItems
from contact_center.data.sessions import DialogItems, EdgeTaskItems, dialog_item
from contact_center.domain.media_relays import RelayBeat
from sip_edge.app.calls.dialogs import StoredCall
from sip_edge.app.calls.trunks import Trunk
from sip_edge.sip.registration import Binding


class TableCredentialSource:
    def __init__(self, users: SipUserItems | None = None) -> None:
        self._users = users or SipUserItems()

    def ha1s_many(self, usernames: Sequence[str]) -> Mapping[str, Mapping[str, str] | None]:
        return self._users.ha1s_many(usernames)


class TableBindingStore:
    def __init__(self, bindings: BindingItems | None = None) -> None:
        self._bindings = bindings or BindingItems()

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        # Plain values, not models: the write-behind encodes them straight into request items.
        self._bindings.write_batch([binding_item_values(b) for b in upserts], removals)

    def load(self, aor: str, now: float) -> list[Binding]:
        return [_from_item(item) for item in self._bindings.current(aor, int(now))]

    def load_many(self, aors: Sequence[str], now: float) -> Mapping[str, list[Binding]]:
        found = self._bindings.current_many(aors, int(now))
        return {aor: [_from_item(item) for item in items] for aor, items in found.items()}


def binding_item_values(binding: Binding) -> dict[str, Any]:
    """The binding as BindingItem attribute values (what the write-behind encodes)."""
    return binding_values(
        binding.aor,
        binding.contact_uri,
        int(binding.expires_at),
        received=binding.received,
        transport=binding.transport,
        flow_owner=binding.flow_owner,
        path=list(binding.path),
        instance_id=binding.instance_id,
        reg_id=binding.reg_id,
        call_id=binding.call_id,
        cseq=binding.cseq,
        user_agent=binding.user_agent,
        key=binding.key,  # the key removals use too
    )


def _from_item(item: BindingItem) -> Binding:
    return Binding(
        aor=item.aor,
        key=item.sk.split("#", 1)[1],
        contact_uri=item.contact_uri,
        expires_at=float(item.expires_at or 0),
        received=item.received or "",
        transport=item.transport,
        flow_owner=item.flow_owner or "",
        call_id=item.call_id or "",
        cseq=int(item.cseq or 0),
        instance_id=item.instance_id,
        reg_id=int(item.reg_id) if item.reg_id is not None else None,
        user_agent=item.user_agent,
        path=tuple(item.path or ()),
    )


class TableTrunkSource:
    def __init__(self, trunks: TrunkItems | None = None) -> None:
        self._trunks = trunks or TrunkItems()

    def trunks(self) -> list[Trunk]:
        trunks = [trunk_from_item(item) for item in self._trunks.all()]
        return [
            Trunk(t.trunk_id, t.source_cidrs, t.address, t.auth, t.max_concurrent_calls, t.merchant_id)
            for t in trunks
        ]


class TableDialogStore:
    def __init__(self, dialogs: DialogItems | None = None) -> None:
        self._dialogs = dialogs or DialogItems()

    def save(self, key: str, call: StoredCall, now: int, ttl_seconds: int) -> None:
        self._dialogs.save(
            dialog_item(
                key,
                contact_id=call.contact_id,
                owner=call.owner,
                state="confirmed",
                legs=call.legs_dict(),
                now=now,
                ttl_seconds=ttl_seconds,
            )
        )

    def load(self, key: str, now: int) -> StoredCall | None:
        item = self._dialogs.get(key, now)
        if item is None or not item.contact_id:
            return None
        legs = _plain(item.legs)
        return StoredCall.from_legs(key, item.contact_id, item.owner, legs, recovered=True)

    def delete(self, key: str) -> None:
        self._dialogs.delete(key)


class TableEdgeDirectory:
    def __init__(self, tasks: EdgeTaskItems | None = None, region: str | None = None) -> None:
        self._tasks = tasks or EdgeTaskItems()
        self._region = region

    def heartbeat(self, task_id: str, address: str, now: int, active_calls: int) -> None:
        self._tasks.heartbeat(task_id, address, now, region=self._region, active_calls=active_calls)

    def address_of(self, task_id: str, now: int) -> str | None:
        item = self._tasks.get(task_id, now)
        return None if item is None else item.address

    def lost(self, now: int) -> list[tuple[str, int]]:
        return [(item.task_id, int(item.heartbeat_at)) for item in self._tasks.lost(now)]

    def forget(self, task_id: str, heartbeat_at: int) -> bool:
        return self._tasks.forget(task_id, heartbeat_at)


class TableRelaySource:
    """The beats of one region's media relays (`sip_edge.app.media.registry.RelaySource`)."""

    def __init__(self, region: str, relays: MediaRelayItems | None = None) -> None:
        self._region = region
        self._relays = relays or MediaRelayItems()

    def beats(self) -> list[RelayBeat]:
        return self._relays.beats(self._region)


def _plain(value: Any) -> Any:
    """A raw MapAttribute read back as plain dicts, lists and numbers."""
    if hasattr(value, "as_dict"):
        value = value.as_dict()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == int(value) else float(value)
    return value
