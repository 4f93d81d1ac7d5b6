"""In-memory stand-ins for the outbound ports of the router: where a merchant's calls go out, and
which seat a phone is and what its merchant may dial."""

from __future__ import annotations

from contact_center.services.routing.dialout import DialPermissions, OutboundTrunk


class FakeOutboundTrunks:
    def __init__(self) -> None:
        self.trunks: dict[str, OutboundTrunk] = {}

    def outbound_trunk(self, merchant_id: str, dialled: str) -> OutboundTrunk | None:
        return self.trunks.get(merchant_id)


class FakeDialers:
    def __init__(self) -> None:
        self.seats: dict[str, tuple[str, str]] = {}
        self.prefixes: dict[str, tuple[str, ...]] = {}

    def seat_of(self, sip_username: str) -> tuple[str, str] | None:
        return self.seats.get(sip_username)

    def permissions(self, merchant_id: str) -> DialPermissions:
        prefixes = self.prefixes.get(merchant_id)
        return DialPermissions() if prefixes is None else DialPermissions(prefixes)
