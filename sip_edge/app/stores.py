"""The edge's adapters to the data layer: seat credentials and registrar bindings in DynamoDB."""

from __future__ import annotations

from collections.abc import Mapping

from contact_center.data.bindings import BindingRepository, new_binding
from contact_center.data.models import BindingItem
from contact_center.data.seats import SipUserRepository
from sip_edge.app.location import Binding


class TableCredentialSource:
    def __init__(self, users: SipUserRepository | None = None) -> None:
        self._users = users or SipUserRepository()

    def ha1s(self, username: str) -> Mapping[str, str] | None:
        user = self._users.get(username)
        return None if user is None else {str(k): str(v) for k, v in user.ha1.as_dict().items()}


class TableBindingStore:
    def __init__(self, bindings: BindingRepository | None = None) -> None:
        self._bindings = bindings or BindingRepository()

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        self._bindings.write_batch([_to_item(b) for b in upserts], removals)

    def load(self, aor: str, now: float) -> list[Binding]:
        return [_from_item(item) for item in self._bindings.current(aor, int(now))]


def _to_item(binding: Binding) -> BindingItem:
    item = new_binding(
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
    )
    return item


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
