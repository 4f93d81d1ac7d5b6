"""The queue address (``queue-<queue_id>``) as the edge reads it from a Request-URI's user."""

from __future__ import annotations

from contact_center.domain.queue_address import queue_id_of


def test_a_queue_address_names_its_queue() -> None:
    assert queue_id_of("queue-q1") == "q1"
    assert queue_id_of("queue-0b9c-44aa") == "0b9c-44aa"


def test_a_number_or_an_empty_queue_id_is_no_queue_address() -> None:
    assert queue_id_of("+14155550100") is None
    assert queue_id_of("14155550100") is None
    assert queue_id_of("queue-") is None
    assert queue_id_of("Queue-q1") is None  # the form is exact, as a number is
    assert queue_id_of("myqueue-q1") is None
