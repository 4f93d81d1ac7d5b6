"""RFC 2782 ordering of a trunk domain's SRV records: priority first, weight within a priority."""

from __future__ import annotations

import random
from collections import Counter

from contact_center.domain.trunks import SrvRecord, order_srv


def test_lower_priorities_come_first_whatever_their_weights() -> None:
    records = [SrvRecord(20, 100, 5060, "b.example."), SrvRecord(10, 1, 5060, "a.example.")]
    assert [r.target for r in order_srv(records, lambda n: n)] == ["a.example.", "b.example."]


def test_within_a_priority_servers_are_drawn_in_proportion_to_their_weights() -> None:
    heavy, light = SrvRecord(10, 75, 5060, "heavy."), SrvRecord(10, 25, 5060, "light.")
    draws = random.Random(7)
    first = Counter(order_srv([light, heavy], lambda n: draws.randint(0, n))[0].target for _ in range(4000))
    assert 0.72 < first["heavy."] / 4000 < 0.78


def test_every_server_is_tried_once_and_a_dot_target_is_dropped() -> None:
    records = [
        SrvRecord(10, 0, 5060, "zero."),
        SrvRecord(10, 5, 5060, "five."),
        SrvRecord(10, 5, 5061, "."),  # "service decidedly not available" at this server
        SrvRecord(30, 0, 5060, "last."),
    ]
    ordered = order_srv(records, lambda n: n)
    assert sorted(r.target for r in ordered[:2]) == ["five.", "zero."]
    assert [r.target for r in ordered[2:]] == ["last."]


def test_a_draw_of_zero_takes_a_weight_zero_server_first_as_the_rfc_arranges() -> None:
    records = [SrvRecord(10, 5, 5060, "five."), SrvRecord(10, 0, 5060, "zero.")]
    assert [r.target for r in order_srv(records, lambda n: 0)] == ["zero.", "five."]
