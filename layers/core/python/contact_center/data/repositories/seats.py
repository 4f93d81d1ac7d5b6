"""Seats: as the API manages them (``services.ports.SeatPort``) and as the router reads and
reserves them (``services.routing.ports.AgentSeats``)."""

from __future__ import annotations

from contact_center.data import availability, keys
from contact_center.data.mappers.seats import (
    agent_seat_from_item,
    queue_map,
    seat_from_item,
    seat_state_from_snapshot,
)
from contact_center.data.ownership import RegionFence
from contact_center.data.repositories.paging import mapped_page
from contact_center.data.seats import SeatItems, SipUserItems, new_seat, new_sip_user
from contact_center.domain.agent_state import AgentSnapshot
from contact_center.services import records
from contact_center.services.routing.ports import AgentSeat


class SeatRepository:
    def __init__(self, fence: RegionFence | None = None) -> None:
        self._items = SeatItems(fence)
        self._sip_users = SipUserItems()

    def create(self, seat: records.Seat, sip_user: records.SipUser) -> None:
        item = new_seat(
            seat.merchant_id,
            seat.seat_id,
            seat.display_name,
            seat.sip_username,
            dict(seat.skills),
            queue_map(seat.queue_ids),
            seat.created_at,
            ring_timeout_seconds=seat.ring_timeout_seconds,
        )
        user = new_sip_user(
            sip_user.username, sip_user.merchant_id, sip_user.seat_id, sip_user.realm, sip_user.ha1
        )
        self._items.create(item, user)

    def get(self, merchant_id: str, seat_id: str) -> records.Seat:
        return seat_from_item(self._items.get(merchant_id, seat_id))

    def page(self, merchant_id: str, limit: int, next_token: str | None) -> records.Page[records.Seat]:
        return mapped_page(
            lambda token: self._items.page(merchant_id, limit, token),
            seat_from_item,
            next_token,
            ("pk", keys.seat_partitions(merchant_id)),
        )

    def all_for_merchant(self, merchant_id: str) -> list[records.Seat]:
        return [seat_from_item(item) for item in self._items.all_for_merchant(merchant_id)]

    def update_profile(
        self,
        merchant_id: str,
        seat_id: str,
        *,
        display_name: str,
        skills: dict[str, int],
        queue_ids: tuple[str, ...],
        ring_timeout_seconds: int,
    ) -> None:
        fields = {
            "display_name": display_name,
            "skills": dict(skills),
            "queues": queue_map(queue_ids),
            "ring_timeout_seconds": ring_timeout_seconds,
        }
        self._items.update_profile(merchant_id, seat_id, fields)

    def delete(self, merchant_id: str, seat_id: str) -> None:
        self._items.delete(merchant_id, seat_id)

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        self._items.save_state(merchant_id, seat_id, expected_version, seat_state_from_snapshot(agent))

    def set_ha1(self, username: str, ha1: dict[str, str]) -> None:
        self._sip_users.set_ha1(username, ha1)


class AgentSeatRepository:
    def __init__(self, fence: RegionFence | None = None) -> None:
        self._items = SeatItems(fence)

    def get(self, merchant_id: str, seat_id: str) -> AgentSeat:
        return agent_seat_from_item(self._items.get(merchant_id, seat_id))

    def relist(self, merchant_id: str) -> list[str]:
        return self._items.relist(merchant_id)

    def available_for_queue(self, merchant_id: str, queue_id: str, limit: int | None) -> list[AgentSeat]:
        return [
            agent_seat_from_item(entry)
            for entry in availability.available_for_queue(merchant_id, queue_id, limit)
        ]

    def all_for_merchant(self, merchant_id: str) -> list[AgentSeat]:
        return [agent_seat_from_item(item) for item in self._items.all_for_merchant(merchant_id)]

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        self._items.save_state(merchant_id, seat_id, expected_version, seat_state_from_snapshot(agent))
