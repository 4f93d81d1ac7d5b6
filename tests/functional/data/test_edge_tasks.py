"""Edge task heartbeats: who is alive, who was lost, and forgetting a loss once handled."""

from __future__ import annotations

from contact_center.data.models import EdgeTaskItem
from contact_center.data.sessions import EdgeTaskItems

NOW = 1_790_000_000


def test_a_task_is_alive_until_its_heartbeat_lapses_then_listed_as_lost(any_table: str) -> None:
    tasks = EdgeTaskItems()
    tasks.heartbeat("edge-a", "10.0.0.1:5060", NOW, ttl_seconds=30)
    tasks.heartbeat("edge-b", "10.0.0.2:5060", NOW - 40, ttl_seconds=30)
    assert [t.task_id for t in tasks.live(NOW)] == ["edge-a"]
    assert [t.task_id for t in tasks.lost(NOW)] == ["edge-b"]
    assert tasks.get("edge-b", NOW) is None and tasks.get("edge-a", NOW).address == "10.0.0.1:5060"
    # The lost task's item is kept (for a day) so the fleet can act on the loss.
    assert EdgeTaskItem.get("EDGE#edge-b", "EDGE").expires_at >= NOW + 3600


def test_forgetting_a_loss_does_not_forget_a_task_that_came_back(any_table: str) -> None:
    tasks = EdgeTaskItems()
    tasks.heartbeat("edge-b", "10.0.0.2:5060", NOW - 40)
    (lost,) = tasks.lost(NOW)
    # It beats again before the fleet forgets it: the stale loss is not forgotten over it.
    tasks.heartbeat("edge-b", "10.0.0.2:5060", NOW)
    assert tasks.forget("edge-b", lost.heartbeat_at) is False
    assert [t.task_id for t in tasks.live(NOW)] == ["edge-b"]
    tasks.heartbeat("edge-b", "10.0.0.2:5060", NOW - 40)
    assert tasks.forget("edge-b", NOW - 40) is True
    assert tasks.lost(NOW) == [] and tasks.live(NOW) == []


def test_a_heartbeat_written_before_liveness_was_recorded_lives_as_long_as_its_ttl(any_table: str) -> None:
    # During a rolling deploy, tasks of the previous version write expires_at only.
    EdgeTaskItem(
        pk="EDGE#edge-old",
        sk="EDGE",
        gsi1pk="EDGES",
        gsi1sk="edge-old",
        task_id="edge-old",
        address="10.0.0.3:5060",
        heartbeat_at=NOW,
        expires_at=NOW + 30,
    ).save()
    tasks = EdgeTaskItems()
    assert [t.task_id for t in tasks.live(NOW)] == ["edge-old"]
    assert tasks.get("edge-old", NOW + 31) is None
    assert tasks.lost(NOW + 31) == []  # nothing to sweep: its record never said when it stopped
