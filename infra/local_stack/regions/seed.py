"""The drill's contact centre: merchants homed in each region, a queue and a number each, agents
logged in, available and registered through an edge task of their merchant's home region."""

from __future__ import annotations

import time
from dataclasses import dataclass

from contact_center.data import table
from contact_center.data.bindings import BindingItems, new_binding
from contact_center.data.catalog import NumberItems, QueueItems
from contact_center.data.merchants import MerchantItems, new_api_key, new_merchant
from contact_center.data.models import NumberItem, QueueItem
from contact_center.data.ownership import OwnershipItems
from contact_center.data.repositories.seats import AgentSeatRepository
from contact_center.data.seats import SeatItems, new_seat, new_sip_user
from contact_center.domain.agent_state import GoAvailable, LogIn, apply
from contact_center.domain.ownership import Ownership

SIP_DOMAIN = "sip.drill"
MAX_WAIT_SECONDS = 120


@dataclass(frozen=True)
class Merchant:
    merchant_id: str
    home: str
    number: str
    seats: tuple[str, ...]


def aor(seat_id: str) -> str:
    return f"sip:u-{seat_id}@{SIP_DOMAIN}"


def register(seat_id: str, edge: str, now_s: int) -> None:
    """The agent's phone registers through ``edge`` (a binding with its flow there)."""
    binding = new_binding(
        aor(seat_id),
        f"sip:u-{seat_id}@192.0.2.10:5060",
        now_s + 3600,
        received="192.0.2.10:5060",
        transport="UDP",
        flow_owner=edge,
        path=[f"<sip:{edge}.internal;lr>"],
    )
    BindingItems().write_batch([binding], [])


def seed(endpoint: str, merchants_per_region: int, agents_per_merchant: int) -> list[Merchant]:
    """Write the centre into one region's database (the replicator copies it to the other)."""
    table.bind(table_name="switchboard", host=endpoint, region="us-east-1")
    now = time.time_ns() // 1_000_000
    seats = AgentSeatRepository()
    merchants: list[Merchant] = []
    for index, home in enumerate(("east", "west") * merchants_per_region):
        merchant_id = f"m-{home}-{index // 2}"
        number = f"+1555{index:07d}"
        MerchantItems().create(
            new_merchant(merchant_id, merchant_id, "ops@drill.test", agents_per_merchant, now),
            new_api_key(f"h-{merchant_id}", f"k-{merchant_id}", merchant_id, "sk_", now),
        )
        OwnershipItems().move(None, Ownership(merchant_id, home, 1, 0, home), now)
        QueueItems().create(
            QueueItem(
                merchant_id=merchant_id,
                queue_id=f"q-{merchant_id}",
                name="support",
                max_wait_seconds=MAX_WAIT_SECONDS,
                wrap_up_seconds=0,
                created_at=now,
            )
        )
        NumberItems().create(
            NumberItem(number=number, merchant_id=merchant_id, queue_id=f"q-{merchant_id}", created_at=now)
        )
        seat_ids = tuple(f"{merchant_id}-a{n}" for n in range(agents_per_merchant))
        for seat_id in seat_ids:
            SeatItems().create(
                new_seat(merchant_id, seat_id, seat_id, f"u-{seat_id}", {}, {f"q-{merchant_id}": 1}, now),
                new_sip_user(f"u-{seat_id}", merchant_id, seat_id, SIP_DOMAIN, {"MD5": "x"}),
            )
            for command in (LogIn(), GoAvailable()):
                agent = seats.get(merchant_id, seat_id).agent
                seats.save_state(merchant_id, seat_id, agent.version, apply(agent, command, now).agent)
            register(seat_id, f"edge-{home}-1", now // 1000)
        merchants.append(Merchant(merchant_id, home, number, seat_ids))
    return merchants
