"""The expected wait of a queued caller, from how fast the queue's callers were answered lately.

Method (the one Asterisk's app_queue and most ACDs use in some form): the queue's recent answers
give its service rate, answers per second over the window they span; a caller at position ``p``
waits for ``p`` answers, so about ``p / rate`` seconds. Only answers of the last ``window_ms``
count, at most the ``sample`` most recent, so a change of staffing shows within minutes; fewer
than ``min_answers`` give no estimate (None: nothing is announced rather than a guess). The rate is
measured from the oldest counted answer to ``now`` (not to the newest answer), so a queue whose
answers stopped sees its estimate grow instead of freezing.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["estimated_wait_seconds"]

WINDOW_MS = 15 * 60 * 1000
SAMPLE = 20
MIN_ANSWERS = 3


def estimated_wait_seconds(
    position: int,
    answered_at_ms: Iterable[int],
    now_ms: int,
    *,
    window_ms: int = WINDOW_MS,
    sample: int = SAMPLE,
    min_answers: int = MIN_ANSWERS,
) -> int | None:
    """Seconds a caller at ``position`` (1 = next) can expect to wait; None when unknown."""
    if position < 1:
        raise ValueError("position starts at 1")
    recent = sorted((t for t in answered_at_ms if now_ms - window_ms <= t <= now_ms), reverse=True)[:sample]
    if len(recent) < min_answers:
        return None
    span_ms = now_ms - recent[-1]
    if span_ms <= 0:
        return None
    rate_per_second = len(recent) / (span_ms / 1000)
    return round(position / rate_per_second)
