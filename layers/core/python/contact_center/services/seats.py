"""Seats: an agent's profile, the licence it consumes and its SIP digest credentials."""

from __future__ import annotations

from dataclasses import replace

from contact_center.domain.agent_state import AgentSnapshot
from contact_center.domain.credentials import digest_ha1_set, generate_password, generate_username

from .commands import PageRequest, SeatPatch, SeatProfile
from .ids import new_id
from .ports import Clock, QueuePort, SeatPort
from .records import CreatedSeat, Page, Seat, SipCredentials, SipUser


class SeatService:
    def __init__(
        self, seats: SeatPort, queues: QueuePort, clock: Clock, sip_domain: str, sip_registrar: str
    ) -> None:
        self._seats = seats
        self._queues = queues
        self._clock = clock
        self._sip_domain = sip_domain
        self._sip_registrar = sip_registrar

    def create(self, merchant_id: str, profile: SeatProfile) -> CreatedSeat:
        """Take a licence and create the seat with fresh credentials: all of it, or nothing.

        The store does it in one transaction conditioned on the licence counter, so concurrent
        creations can never exceed the licences (the domain's SeatLicenceExhaustedError otherwise).
        """
        self._check_queues(merchant_id, profile.queue_ids)
        now = self._clock()
        seat_id = new_id("seat")
        username = generate_username()
        password = generate_password()
        seat = Seat(
            merchant_id=merchant_id,
            seat_id=seat_id,
            display_name=profile.display_name,
            sip_username=username,
            agent=AgentSnapshot.new(seat_id, now),
            skills=dict(profile.skills),
            queue_ids=profile.queue_ids,
            ring_timeout_seconds=profile.ring_timeout_seconds,
            created_at=now,
        )
        sip_user = SipUser(username, merchant_id, seat_id, self._sip_domain, self._ha1(username, password))
        self._seats.create(seat, sip_user)
        return CreatedSeat(self._seats.get(merchant_id, seat_id), self._credentials(username, password))

    def get(self, merchant_id: str, seat_id: str) -> Seat:
        return self._seats.get(merchant_id, seat_id)

    def list(self, merchant_id: str, page: PageRequest) -> Page[Seat]:
        return self._seats.page(merchant_id, page.limit, page.next_token)

    def update(self, merchant_id: str, seat_id: str, patch: SeatPatch) -> Seat:
        current = self._seats.get(merchant_id, seat_id)
        if patch.queue_ids is not None:
            self._check_queues(merchant_id, patch.queue_ids)
        updated = replace(
            current,
            display_name=patch.display_name if patch.display_name is not None else current.display_name,
            skills=patch.skills if patch.skills is not None else current.skills,
            queue_ids=patch.queue_ids if patch.queue_ids is not None else current.queue_ids,
            ring_timeout_seconds=(
                patch.ring_timeout_seconds
                if patch.ring_timeout_seconds is not None
                else current.ring_timeout_seconds
            ),
        )
        self._seats.update_profile(
            merchant_id,
            seat_id,
            display_name=updated.display_name,
            skills=updated.skills,
            queue_ids=updated.queue_ids,
            ring_timeout_seconds=updated.ring_timeout_seconds,
        )
        return updated

    def delete(self, merchant_id: str, seat_id: str) -> None:
        """Remove the seat and its SIP user and give the licence back; refused while on a contact."""
        self._seats.delete(merchant_id, seat_id)

    def rotate_credentials(self, merchant_id: str, seat_id: str) -> SipCredentials:
        """A new password; the old one stops working at once (every HA1 is replaced together)."""
        seat = self._seats.get(merchant_id, seat_id)
        password = generate_password()
        self._seats.set_ha1(seat.sip_username, self._ha1(seat.sip_username, password))
        return self._credentials(seat.sip_username, password)

    def _check_queues(self, merchant_id: str, queue_ids: tuple[str, ...]) -> None:
        for queue_id in queue_ids:
            self._queues.get(merchant_id, queue_id)  # NotFound names the queue

    def _ha1(self, username: str, password: str) -> dict[str, str]:
        return digest_ha1_set(username, self._sip_domain, password)

    def _credentials(self, username: str, password: str) -> SipCredentials:
        return SipCredentials(username, password, self._sip_domain, self._sip_registrar)
