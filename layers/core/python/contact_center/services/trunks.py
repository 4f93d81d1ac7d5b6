"""Carrier trunks: the source networks whose INVITEs the edge accepts."""

from __future__ import annotations

from .commands import CreateTrunk, PageRequest
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
