"""Which live edge task runs a callback: one of this region's, the same for a contact while the
fleet stays the same, read once per ttl."""

from __future__ import annotations

from contact_center.edge_push import LiveTaskRunners


class Fleet:
    def __init__(self, tasks: list[tuple[str, str | None]]) -> None:
        self.tasks = tasks
        self.reads = 0

    def __call__(self, now_s: int) -> list[tuple[str, str | None]]:
        self.reads += 1
        return list(self.tasks)


def test_a_contact_maps_to_one_live_task_of_this_region_and_contacts_spread() -> None:
    fleet = Fleet([("t-a", "eu-west-1"), ("t-b", "eu-west-1"), ("t-c", "eu-west-1"), ("t-x", "us-east-1")])
    runners = LiveTaskRunners(fleet, region="eu-west-1", clock=lambda: 1000.0)
    picks = {contact: runners.pick(contact, 0) for contact in (f"c{i}" for i in range(60))}
    assert set(picks.values()) == {"t-a", "t-b", "t-c"}
    assert all(runners.pick(contact, 0) == task for contact, task in picks.items())
    assert fleet.reads == 1


def test_no_live_task_picks_none_and_a_failed_read_keeps_the_last_list() -> None:
    now = [1000.0]
    fleet = Fleet([])
    runners = LiveTaskRunners(fleet, ttl=10, clock=lambda: now[0])
    assert runners.pick("c1", 0) is None
    fleet.tasks = [("t-a", None)]
    now[0] += 11
    assert runners.pick("c1", 0) == "t-a"

    def broken(now_s: int) -> list[tuple[str, str | None]]:
        raise OSError("table unreachable")

    failing = LiveTaskRunners(broken, clock=lambda: now[0])
    assert failing.pick("c1", 0) is None
