"""Onboarding through the harness's HTTP API: a merchant, a queue, a number, a trunk, seats."""

from __future__ import annotations

import time
from dataclasses import dataclass

from local_stack.topology.harness import Harness
from local_stack.topology.network import CARRIER
from tests.integration.calls_support import TRUNK_TAKES_CALLS_AFTER


@dataclass(frozen=True)
class Seat:
    seat_id: str
    username: str
    password: str


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    key: str
    number: str
    seats: tuple[Seat, ...]

    @property
    def credentials(self) -> list[tuple[str, str]]:
        return [(seat.username, seat.password) for seat in self.seats]


_trunk_added: set[int] = set()


def onboard(harness: Harness, number: str, seats: int) -> Merchant:
    if id(harness) not in _trunk_added:
        status, trunk = harness.http(
            "POST", "/trunks", {"name": "carrier", "source_cidrs": [f"{CARRIER}/32"]}
        )
        assert status == 201, trunk
        _trunk_added.add(id(harness))
        time.sleep(TRUNK_TAKES_CALLS_AFTER)
    status, merchant = harness.http(
        "POST", "/merchants", {"name": "Acme", "seat_licenses": seats, "contact_email": "ops@acme.test"}
    )
    assert status == 201, merchant
    mid, key = merchant["merchant_id"], merchant["api_key"]
    status, queue = harness.http(
        "POST", f"/merchants/{mid}/queues", {"name": "Support", "max_wait_seconds": 60}, key
    )
    assert status == 201, queue
    status, claimed = harness.http(
        "POST", f"/merchants/{mid}/numbers", {"number": number, "queue_id": queue["queue_id"]}, key
    )
    assert status == 201, claimed
    made = []
    for index in range(seats):
        status, seat = harness.http(
            "POST",
            f"/merchants/{mid}/seats",
            {"display_name": f"Agent {index}", "queue_ids": [queue["queue_id"]]},
            key,
        )
        assert status == 201, seat
        made.append(Seat(seat["seat_id"], seat["sip"]["username"], seat["sip"]["password"]))
    return Merchant(mid, key, number, tuple(made))


def make_available(harness: Harness, merchant: Merchant) -> None:
    for seat in merchant.seats:
        path = f"/merchants/{merchant.merchant_id}/seats/{seat.seat_id}/state"
        status, answer = harness.http("PUT", path, {"state": "available"}, merchant.key)
        assert status == 200, answer
    # Routing reads availability from the table; the agent-events stream settles within moments.
    time.sleep(0.5)
