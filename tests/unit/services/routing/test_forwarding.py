"""What the routing function sends to a merchant's home: a home that does not take the request at once
(still starting, not the home in its replica yet, lacking a contact the old home created moments ago)
gets one retry after the move's handoff; what still fails is retryable, never a contact that does
not exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contact_center.domain.ownership import NotHomeRegionError
from contact_center.services.errors import NotFoundError
from contact_center.services.routing.forwarding import Forwarding, routing_error
from tests.support.clocks import T0, SleepingClock

HANDOFF = 3_000
NEW_CONTACT = {"action": "new_contact", "called": "+1555", "contact_id": "c1", "edge_task_id": "edge-west-1"}
REPORT = {"action": "offer_result", "contact_id": "c1", "seat_id": "a1", "outcome": "answered"}
CONNECT = {"decision": "connect", "contact_id": "c1", "seat_id": "a1"}
NOT_HOME = routing_error("not_home", "merchant 'm1' is decided in 'west'", retryable=True)
NOT_FOUND = routing_error("not_found", "contact c1")


class Home:
    """The other region's routing function: its answers in turn (an exception: no answer)."""

    def __init__(self, *answers: dict[str, Any] | Exception) -> None:
        self.answers = list(answers)
        self.asked: list[tuple[str, dict[str, Any]]] = []

    def invoke(self, region: str, event: Mapping[str, Any]) -> dict[str, Any]:
        self.asked.append((region, dict(event)))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def west(home: Home) -> tuple[Forwarding, SleepingClock]:
    clock = SleepingClock()
    return Forwarding(home, "west", ("east", "west"), HANDOFF, clock, clock.sleep), clock


def moved_to_east(active_from_ms: int = T0 + 2_000) -> NotHomeRegionError:
    """West's refusal just after a failback: east is the home from ``active_from_ms``."""
    return NotHomeRegionError("m1", "west", "east", 3, active_from_ms)


def never_here() -> dict[str, Any]:
    raise AssertionError("west is not the home")


def test_a_new_contact_the_home_decides_at_once_is_answered_without_waiting() -> None:
    east = Home(CONNECT)
    forwarding, clock = west(east)

    assert forwarding.to_home(NEW_CONTACT, moved_to_east(), False, never_here) == CONNECT
    assert east.asked == [("east", {**NEW_CONTACT, "forwarded": True})]
    assert clock.slept == []


def test_a_new_contact_meeting_a_home_still_starting_is_sent_again_after_the_handoff() -> None:
    east = Home(ConnectionRefusedError(), CONNECT)
    forwarding, clock = west(east)

    assert forwarding.to_home(NEW_CONTACT, moved_to_east(T0 + 2_000), False, never_here) == CONNECT
    assert clock.slept == [2.0] and len(east.asked) == 2


def test_a_new_contact_meeting_a_home_that_has_not_seen_the_move_yet_is_sent_again() -> None:
    east = Home(NOT_HOME, CONNECT)
    forwarding, clock = west(east)

    assert forwarding.to_home(NEW_CONTACT, moved_to_east(), False, never_here) == CONNECT
    assert len(east.asked) == 2 and clock.slept == [2.0]


def test_a_home_that_still_does_not_answer_after_the_retry_is_unreachable_and_retryable() -> None:
    east = Home(TimeoutError(), TimeoutError())
    forwarding, _ = west(east)

    answer = forwarding.to_home(NEW_CONTACT, moved_to_east(), False, never_here)

    assert answer["error"]["code"] == "home_unreachable" and answer["error"]["retryable"] is True
    assert len(east.asked) == 2  # one retry, no more


def test_no_retry_once_the_edge_has_stopped_waiting() -> None:
    east = Home(ConnectionRefusedError())
    forwarding, clock = west(east)
    event = {**NEW_CONTACT, "deadline_ms": T0 + 1_000}  # the handoff ends after the edge gives up

    answer = forwarding.to_home(event, moved_to_east(T0 + 2_000), False, never_here)

    assert answer["error"]["code"] == "home_unreachable" and clock.slept == []


def test_a_report_about_a_contact_the_new_home_lacks_yet_is_sent_again_after_the_replication_lag() -> None:
    acked = {"decision": "ack", "contact_id": "c1", "state": "connected"}
    east = Home(NOT_FOUND, acked)
    forwarding, clock = west(east)

    assert forwarding.to_home(REPORT, moved_to_east(), True, never_here) == acked
    assert clock.slept == [2.0]


def test_a_report_the_new_home_still_lacks_is_retryable_never_not_found() -> None:
    east = Home(NOT_FOUND, NOT_FOUND)
    forwarding, _ = west(east)

    answer = forwarding.to_home(REPORT, moved_to_east(), True, never_here)

    assert answer["error"]["code"] == "not_replicated" and answer["error"]["retryable"] is True


def test_a_new_contact_the_home_does_not_know_of_is_its_answer_not_a_retry() -> None:
    unknown = routing_error("not_found", "number +1555")
    east = Home(unknown)
    forwarding, clock = west(east)

    assert forwarding.to_home(NEW_CONTACT, moved_to_east(), False, never_here) == unknown
    assert clock.slept == []


def test_a_forwarded_request_refused_in_turn_is_never_sent_on() -> None:
    east = Home()
    forwarding, _ = west(east)

    answer = forwarding.to_home({**NEW_CONTACT, "forwarded": True}, moved_to_east(), False, never_here)

    assert answer["error"]["code"] == "not_home" and answer["error"]["retryable"] is True
    assert east.asked == []


def test_a_region_still_within_its_own_handoff_runs_the_request_again_here_once_it_is_over() -> None:
    east = Home()
    forwarding, clock = west(east)
    ran: list[int] = []

    def again_here() -> dict[str, Any]:
        ran.append(clock.now)
        return CONNECT

    refusal = NotHomeRegionError("m1", "west", "west", 3, T0 + 1_500)  # failed over here 1.5 s ago

    assert forwarding.to_home(NEW_CONTACT, refusal, False, again_here) == CONNECT
    assert ran == [T0 + 1_500] and east.asked == []


def test_a_report_about_a_contact_this_replica_lacks_is_retryable_when_the_other_region_is_silent() -> None:
    east = Home(TimeoutError())
    forwarding, _ = west(east)

    answer = forwarding.from_the_contacts_home(REPORT, NotFoundError("contact", "c1"))

    assert answer["error"]["code"] == "home_unreachable" and answer["error"]["retryable"] is True


def test_a_report_about_a_contact_no_region_has_is_not_found() -> None:
    forwarding, _ = west(Home(NOT_FOUND))

    answer = forwarding.from_the_contacts_home(REPORT, NotFoundError("contact", "c1"))

    assert answer["error"] == {"code": "not_found", "message": "contact c1 not found", "retryable": False}


def test_pending_offers_come_from_every_region_and_a_silent_one_adds_none() -> None:
    offer = {"contact_id": "c2", "seat_id": "a2"}
    forwarding, _ = west(Home({"offers": [offer]}))
    assert forwarding.with_other_regions_offers({"action": "pending_offers"}, {"offers": []}) == {
        "offers": [offer]
    }
    forwarding, _ = west(Home(ConnectionRefusedError()))
    assert forwarding.with_other_regions_offers({"action": "pending_offers"}, {"offers": []}) == {
        "offers": []
    }
