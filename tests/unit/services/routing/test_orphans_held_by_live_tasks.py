"""After a takeover the survivor frees a seat held by a contact its replica lacks only when none of its
own live edge tasks holds that call: the dead home may have created the contact already offered,
with the seat's reservation, for a caller on a task of this region, and the call may still be talking
here while the contact item never arrived."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from contact_center.domain.agent_state import AgentState
from contact_center.domain.contact import ContactState
from contact_center.services.routing.decisions import Connect, OfferOutcome
from contact_center.services.routing.ports import HeldByTasks
from tests.support.routing_centre import MERCHANT, NOW, FakeCentre

TAKEN_AT = NOW + 10_000


@dataclass
class TasksHolding:
    """This region's live edge tasks as the takeover asks them: the calls they hold, or silence."""

    calls: set[str] = field(default_factory=set)
    silent: bool = False
    asked: list[list[str]] = field(default_factory=list)

    def held(self, contact_ids: Sequence[str], now_ms: int) -> HeldByTasks:
        self.asked.append(list(contact_ids))
        if self.silent:
            return HeldByTasks(frozenset(), complete=False)
        return HeldByTasks(frozenset(set(contact_ids) & self.calls), complete=True)


def _centre(tasks: TasksHolding, *seats: str) -> FakeCentre:
    centre = FakeCentre()
    centre.service = centre.build(held_calls=tasks)
    centre.queue(max_wait=600)
    centre.number()
    for seat in seats:
        centre.seat(seat)
    return centre


def _talking_without_its_contact(centre: FakeCentre, contact_id: str) -> str:
    """The seat talking: the dead home connected the call; the seat's writes replicated, the
    contact's never did."""
    offer = centre.call(contact_id)
    assert isinstance(offer, Connect)
    centre.service.offer_result(contact_id, offer.seat_id, OfferOutcome.ANSWERED, NOW + 1000)
    del centre.ports.table.contacts[contact_id]
    return offer.seat_id


def test_a_seat_whose_call_a_live_task_holds_keeps_it_and_is_offered_no_second_call() -> None:
    tasks = TasksHolding(calls={"talking"})
    centre = _centre(tasks, "a1")
    assert _talking_without_its_contact(centre, "talking") == "a1"

    freed = centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT)

    assert freed == []
    assert tasks.asked == [["talking"]]
    agent = centre.agent("a1")
    assert (agent.state, agent.contact_id) == (AgentState.ON_CONTACT, "talking")
    # A new caller waits in line instead of ringing the agent who is talking
    centre.call("next", at=TAKEN_AT + 100)
    waiting = centre.contact("next")
    assert waiting is not None and waiting.snapshot.state is ContactState.QUEUED
    assert centre.agent("a1").contact_id == "talking"


def test_a_seat_whose_call_no_live_task_holds_is_freed_as_before() -> None:
    tasks = TasksHolding(calls={"another"})
    centre = _centre(tasks, "a1")
    assert _talking_without_its_contact(centre, "lost") == "a1"

    assert centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT) == ["a1"]
    assert centre.agent("a1").state is AgentState.AVAILABLE


def test_a_kept_seat_is_freed_by_the_first_look_after_its_call_ended() -> None:
    tasks = TasksHolding(calls={"talking"})
    centre = _centre(tasks, "a1")
    assert _talking_without_its_contact(centre, "talking") == "a1"
    assert centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT) == []

    tasks.calls.clear()  # the caller hung up on that task

    assert centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT + 3000) == ["a1"]
    assert centre.agent("a1").state is AgentState.AVAILABLE


def test_while_a_live_task_does_not_answer_no_such_seat_is_freed() -> None:
    tasks = TasksHolding(silent=True)
    centre = _centre(tasks, "a1", "a2")
    _talking_without_its_contact(centre, "c1")
    _talking_without_its_contact(centre, "c2")

    assert centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT) == []
    assert {centre.agent(seat).state for seat in ("a1", "a2")} == {AgentState.ON_CONTACT}

    # Its heartbeat lapsed (no longer asked) or it answers: the seats nobody holds go
    tasks.silent = False
    assert sorted(centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT + 3000)) == ["a1", "a2"]


def test_seats_whose_contacts_are_here_ask_no_task() -> None:
    tasks = TasksHolding()
    centre = _centre(tasks, "a1")
    centre.call("talking")
    centre.service.offer_result("talking", "a1", OfferOutcome.ANSWERED, NOW + 1000)

    assert centre.service.release_orphaned_agents(MERCHANT, TAKEN_AT) == []
    assert tasks.asked == []


def test_a_reservation_the_dead_home_made_for_a_ring_on_a_live_task_is_kept() -> None:
    tasks = TasksHolding(calls={"ringing"})
    centre = _centre(tasks, "a1", "a2")
    centre.call("ringing")
    centre.call("gone")
    # Neither contact reached this replica; only the first still rings on a task of this region
    del centre.ports.table.contacts["ringing"], centre.ports.table.contacts["gone"]

    released = centre.service.release_lost_region([MERCHANT], ["edge-east-1"], TAKEN_AT, TAKEN_AT + 1000)

    assert released == ["a2"]
    agent = centre.agent("a1")
    assert (agent.state, agent.contact_id) == (AgentState.RESERVED, "ringing")
    assert centre.agent("a2").state is AgentState.AVAILABLE


def test_the_sweep_a_controller_asks_for_after_a_takeover_frees_orphans_and_the_minute_sweep_does_not() -> (
    None
):
    # The deployed controller only asks for a sweep of the merchants it took over: that sweep is
    # where their orphaned agents are freed.
    tasks = TasksHolding()
    centre = _centre(tasks, "a1")
    assert _talking_without_its_contact(centre, "lost") == "a1"

    assert centre.service.sweep(TAKEN_AT).orphans_freed == []
    assert centre.agent("a1").state is AgentState.ON_CONTACT

    report = centre.service.sweep(TAKEN_AT + 3000, [MERCHANT])
    assert report.orphans_freed == ["a1"]
    assert report.to_dict()["orphans_freed"] == ["a1"]
    assert centre.agent("a1").state is AgentState.AVAILABLE
