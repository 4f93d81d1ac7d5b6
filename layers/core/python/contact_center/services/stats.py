"""Live and daily figures of one queue, as a supervisor's wallboard shows them."""

from __future__ import annotations

from datetime import UTC, datetime

from contact_center.domain.agent_state import AgentState

from .ports import Clock, QueueActivityPort, QueuePort, SeatPort
from .records import QueueStats


def utc_day(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d")


class QueueStatsService:
    def __init__(self, queues: QueuePort, seats: SeatPort, activity: QueueActivityPort, clock: Clock) -> None:
        self._queues = queues
        self._seats = seats
        self._activity = activity
        self._clock = clock

    def queue_stats(self, merchant_id: str, queue_id: str) -> QueueStats:
        self._queues.get(merchant_id, queue_id)  # NotFound unless the queue is this merchant's
        now = self._clock()
        waiting = self._activity.waiting_since(queue_id)
        oldest = max(0, (now - min(waiting)) // 1000) if waiting else 0
        # Every state is listed, zeros included, so a wallboard has a fixed set of columns.
        agents = {state.value: 0 for state in AgentState}
        for seat in self._seats.all_for_merchant(merchant_id):
            if queue_id in seat.queue_ids:
                agents[seat.agent.state.value] += 1
        day = utc_day(now)
        offered, answered, abandoned, timed_out = self._activity.daily_counts(queue_id, day)
        return QueueStats(
            queue_id=queue_id,
            day=day,
            waiting=len(waiting),
            oldest_wait_seconds=int(oldest),
            agents=agents,
            offered=offered,
            answered=answered,
            abandoned=abandoned,
            timed_out=timed_out,
        )
