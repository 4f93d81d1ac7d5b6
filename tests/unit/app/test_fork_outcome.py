"""How a forked ring that nobody answered counts for the offer (`fork_outcome`)."""

from __future__ import annotations

from contact_center.services.routing.decisions import OfferOutcome
from sip_edge.app.calls.ring import fork_outcome


def test_one_busy_device_makes_the_seat_busy_even_when_another_never_answered() -> None:
    assert fork_outcome([None, 486]) is OfferOutcome.BUSY


def test_a_refusal_counts_when_no_device_is_busy() -> None:
    assert fork_outcome([480, 603]) is OfferOutcome.REJECTED


def test_busy_wins_over_a_refusal() -> None:
    assert fork_outcome([603, 486]) is OfferOutcome.BUSY


def test_the_seat_is_unreachable_only_when_no_device_could_take_the_call() -> None:
    assert fork_outcome([None, None]) is OfferOutcome.UNREACHABLE
    assert fork_outcome([None, 480]) is OfferOutcome.UNREACHABLE
