"""force_release: which contact is ended, and where the seat goes, decided without a database."""

from __future__ import annotations

from dataclasses import replace

import pytest

from contact_center.domain.agent_state import AgentSnapshot, AgentState, GoAvailable, GoNotReady
from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.agent_state import AgentStateService
from contact_center.services.errors import NotFoundError
from contact_center.services.records import Seat

NOW = 1_790_000_000_000


class Seats:
    def __init__(self, agent: AgentSnapshot) -> None:
        self.seat = Seat("m1", "s1", "Ada", "alice", agent)
        self.saves = 0

    def get(self, merchant_id: str, seat_id: str) -> Seat:
        return self.seat

    def save_state(self, merchant_id: str, seat_id: str, expected_version: int, agent: AgentSnapshot) -> None:
        assert expected_version == self.seat.agent.version
        self.saves += 1
        self.seat = replace(self.seat, agent=agent)


class Router:
    """Ends a contact as the router does: the seat let go of in the same write (``then`` decides how)."""

    def __init__(self, seats: Seats, then: AgentSnapshot | None = None, missing: bool = False) -> None:
        self.seats, self.then, self.missing = seats, then, missing
        self.ended: list[tuple[str, HangupSide, HangupCause]] = []

    def contact_ended(self, contact_id: str, side: HangupSide, cause: HangupCause, now_ms: int) -> object:
        self.ended.append((contact_id, side, cause))
        if self.missing:
            raise NotFoundError("contact", contact_id)
        if self.then is not None:
            self.seats.seat = replace(self.seats.seat, agent=self.then)
        return None


def service(seats: Seats, router: Router) -> AgentStateService:
    return AgentStateService(seats, lambda: NOW, router)  # type: ignore[arg-type]  # the two methods it uses


def agent(state: AgentState, contact_id: str | None = "c-1", version: int = 7) -> AgentSnapshot:
    return AgentSnapshot(
        "s1", state, version, NOW - 60_000, contact_id=contact_id, idle_since_ms=NOW - 90_000
    )


def test_a_talking_seat_has_its_contact_ended_as_forced_and_goes_not_ready() -> None:
    seats = Seats(agent(AgentState.ON_CONTACT))
    router = Router(seats, then=agent(AgentState.AVAILABLE, None, version=8))
    seat = service(seats, router).force_release("m1", "s1", GoNotReady("forced_release"))
    assert router.ended == [("c-1", HangupSide.SYSTEM, HangupCause.FORCED_RELEASE)]
    assert (seat.agent.state, seat.agent.reason, seat.agent.contact_id) == (
        AgentState.NOT_READY,
        "forced_release",
        None,
    )
    assert seats.seat.agent == seat.agent


def test_an_offer_made_right_after_the_release_is_left_alone() -> None:
    seats = Seats(agent(AgentState.ON_CONTACT))
    # The router released the seat and at once offered it the next waiting contact.
    router = Router(seats, then=agent(AgentState.RESERVED, "c-2", version=9))
    seat = service(seats, router).force_release("m1", "s1", GoNotReady("forced_release"))
    assert (seat.agent.state, seat.agent.contact_id, seats.saves) == (AgentState.RESERVED, "c-2", 0)


@pytest.mark.parametrize("state", [AgentState.RESERVED, AgentState.ON_CONTACT])
def test_a_seat_holding_a_contact_that_exists_nowhere_is_let_go_of(state: AgentState) -> None:
    seats = Seats(agent(state, "c-ghost"))
    router = Router(seats, missing=True)
    seat = service(seats, router).force_release("m1", "s1", GoAvailable())
    assert (seat.agent.state, seat.agent.contact_id) == (AgentState.AVAILABLE, None)
    assert seats.saves == 1  # the release and the target state in one write


@pytest.mark.parametrize("state", [AgentState.NOT_RESPONDING, AgentState.AFTER_CONTACT_WORK])
def test_a_seat_that_holds_no_live_contact_ends_none(state: AgentState) -> None:
    # A not-responding seat's last contact lives on in its queue: ending it would hang up a caller.
    seats = Seats(agent(state, "c-1"))
    router = Router(seats)
    seat = service(seats, router).force_release("m1", "s1", GoAvailable())
    assert router.ended == []
    assert seat.agent.state is AgentState.AVAILABLE
