"""A queue that records: the Connect carries the recording's key, and the answered contact's
record keeps it; a queue that does not record leaves both without one."""

from __future__ import annotations

from contact_center.domain.contact import HangupCause, HangupSide
from contact_center.services.routing.decisions import Connect, OfferOutcome
from tests.support.routing_centre import NOW, FakeCentre


def test_a_queue_recording_every_call_names_the_recording_in_the_connect_and_the_record(
    centre: FakeCentre,
) -> None:
    centre.queue(recording_percent=100)
    centre.number()
    centre.seat("a1")
    connect = centre.call()
    assert isinstance(connect, Connect) and connect.recording_key == "m1/c1.wav"
    centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 3000)
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 60_000)
    assert centre.record("c1").recording_key == "m1/c1.wav"


def test_a_queue_recording_nothing_leaves_connect_and_record_without_a_recording(centre: FakeCentre) -> None:
    centre.queue()
    centre.number()
    centre.seat("a1")
    connect = centre.call()
    assert isinstance(connect, Connect) and connect.recording_key is None
    centre.service.offer_result("c1", "a1", OfferOutcome.ANSWERED, NOW + 3000)
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.NORMAL_CLEARING, NOW + 60_000)
    assert centre.record("c1").recording_key is None


def test_a_call_nobody_answered_has_no_recording_in_its_record(centre: FakeCentre) -> None:
    centre.queue(recording_percent=100)
    centre.number()
    centre.seat("a1")
    centre.call()
    centre.service.contact_ended("c1", HangupSide.CUSTOMER, HangupCause.CALLER_ABANDONED, NOW + 5000)
    assert centre.record("c1").recording_key is None


def test_a_re_offer_after_a_missed_ring_names_the_same_recording(centre: FakeCentre) -> None:
    centre.queue(recording_percent=100, max_wait=600)
    centre.number()
    centre.seat("a1", available_at=NOW - 90_000)
    centre.seat("a2", available_at=NOW - 30_000)
    first = centre.call()
    again = centre.service.offer_result("c1", "a1", OfferOutcome.NO_ANSWER, NOW + 20_000)
    assert isinstance(first, Connect) and isinstance(again, Connect) and again.seat_id == "a2"
    assert again.recording_key == first.recording_key == "m1/c1.wav"


def test_the_connect_round_trips_its_recording_key_through_json() -> None:
    connect = Connect("c1", "a1", "m1", "sip:a1@x", (), 20, "q1", "m1/c1.wav")
    assert Connect.from_dict(connect.to_dict()) == connect
