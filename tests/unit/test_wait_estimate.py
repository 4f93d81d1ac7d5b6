"""The expected wait announced to queued callers."""

from __future__ import annotations

import pytest

from contact_center.domain.wait_estimate import estimated_wait_seconds

NOW = 10_000_000


def test_a_queue_answering_one_caller_a_minute_makes_the_third_caller_wait_three_minutes() -> None:
    answers = [NOW - 60_000 * k for k in range(1, 11)]  # ten answers, one a minute
    assert estimated_wait_seconds(3, answers, NOW) == 180


def test_the_estimate_grows_when_answers_stop_coming() -> None:
    answers = [NOW - 60_000 * k for k in range(1, 11)]
    later = NOW + 5 * 60_000
    assert estimated_wait_seconds(1, answers, later) > estimated_wait_seconds(1, answers, NOW)  # type: ignore[operator]


def test_answers_older_than_the_window_do_not_count() -> None:
    old = [NOW - 60 * 60_000 - k for k in range(10)]
    assert estimated_wait_seconds(1, old, NOW) is None


def test_only_the_most_recent_sample_sets_the_rate() -> None:
    slow_then_fast = [NOW - 600_000 - 60_000 * k for k in range(5)] + [NOW - 6_000 * k for k in range(1, 21)]
    # The 20 most recent answers came one every 6 s.
    assert estimated_wait_seconds(10, slow_then_fast, NOW) == 60


def test_too_few_answers_give_no_estimate_rather_than_a_guess() -> None:
    assert estimated_wait_seconds(1, [NOW - 1000, NOW - 2000], NOW) is None


def test_position_starts_at_one() -> None:
    with pytest.raises(ValueError):
        estimated_wait_seconds(0, [NOW - 1000] * 5, NOW)
