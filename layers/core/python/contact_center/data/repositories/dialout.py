"""The router's outbound ports over the table: which seat a phone is, what its merchant may dial,
and where the merchant's outbound calls go.

``TrunkOutbound`` reads today's trunks, which name only the addresses a carrier calls from: the
first platform trunk whose first range is a single address is taken as the carrier's signalling
address (port 5060, UDP), and the merchant's first number as its caller ID. Trunks with a
signalling address of their own replace that guess.
"""

from __future__ import annotations

import ipaddress

from contact_center.data.catalog import NumberItems, TrunkItems
from contact_center.data.merchants import MerchantItems
from contact_center.data.seats import SipUserItems
from contact_center.services.errors import NotFoundError
from contact_center.services.routing.dialout import DialPermissions, OutboundTrunk

SIP_PORT = 5060


class SeatDialers:
    def __init__(self) -> None:
        self._users = SipUserItems()
        self._merchants = MerchantItems()

    def seat_of(self, sip_username: str) -> tuple[str, str] | None:
        user = self._users.get(sip_username)
        return None if user is None else (str(user.merchant_id), str(user.seat_id))

    def permissions(self, merchant_id: str) -> DialPermissions:
        try:
            prefixes = tuple(self._merchants.get(merchant_id).dial_prefixes or ())
        except NotFoundError:
            return DialPermissions(())
        return DialPermissions(prefixes) if prefixes else DialPermissions()


class TrunkOutbound:
    def __init__(self) -> None:
        self._trunks = TrunkItems()
        self._numbers = NumberItems()

    def outbound_trunk(self, merchant_id: str) -> OutboundTrunk | None:
        numbers = sorted(str(item.number) for item in self._numbers.all_for_merchant(merchant_id))
        if not numbers:
            return None  # no caller ID to show
        for trunk in sorted(self._trunks.all(), key=lambda item: (int(item.created_at), str(item.trunk_id))):
            host = _single_host(list(trunk.source_cidrs or ()))
            if host is not None and not trunk.legacy:
                address = f"[{host}]:{SIP_PORT}" if ":" in host else f"{host}:{SIP_PORT}"
                return OutboundTrunk(str(trunk.trunk_id), address, "udp", numbers[0])
        return None


def _single_host(cidrs: list[str]) -> str | None:
    if not cidrs:
        return None
    try:
        network = ipaddress.ip_network(cidrs[0], strict=False)
    except ValueError:
        return None
    return str(network.network_address) if network.num_addresses == 1 else None
