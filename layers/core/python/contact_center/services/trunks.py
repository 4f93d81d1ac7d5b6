"""Carrier trunks: the source networks whose INVITEs the edge accepts.

Which networks a trunk may name is the domain's rule (``domain.trunks``), applied when a request
is parsed. Edge tasks re-read the trunk list every 10 s (``sip_edge.app.trunks``), so a change or a
deletion reaches every task within that.
"""

from __future__ import annotations

from .commands import CreateTrunk, PageRequest, UpdateTrunk
from .ids import new_id
from .ports import Clock, TrunkPort
from .records import Page, Trunk


class TrunkService:
    def __init__(self, trunks: TrunkPort, clock: Clock) -> None:
        self._trunks = trunks
        self._clock = clock

    def create(self, command: CreateTrunk) -> Trunk:
        trunk = Trunk(new_id("trk"), command.name, command.source_cidrs, command.legacy, self._clock())
        self._trunks.create(trunk)
        return trunk

    def list(self, page: PageRequest) -> Page[Trunk]:
        return self._trunks.page(page.limit, page.next_token)

    def update(self, trunk_id: str, command: UpdateTrunk) -> Trunk:
        return self._trunks.update(trunk_id, command)

    def delete(self, trunk_id: str) -> None:
        self._trunks.delete(trunk_id)
