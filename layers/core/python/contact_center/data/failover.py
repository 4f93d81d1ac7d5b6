"""The failover controller's memory of its watch over the other region (``services.peer_watch``).

One item per watching region and peer, written only by that region's controller (a probe every
10 s). Global tables copy it to the peer too, where nothing reads it: the peer's own watch has its
own item.
"""

from __future__ import annotations

from pynamodb.attributes import BooleanAttribute, NumberAttribute, UnicodeAttribute
from pynamodb.exceptions import DoesNotExist

from contact_center.data.models import TableItem
from contact_center.data.table import BINDING
from contact_center.domain.ownership import HealthMemory
from contact_center.services.peer_watch import WatchState

SORT_KEY = "FAILOVER_WATCH"


def watch_pk(region: str, peer: str) -> str:
    return f"FAILOVER#{region}#{peer}"


class FailoverWatchItem(TableItem):
    ENTITY = "failover_watch"
    region = UnicodeAttribute()
    peer = UnicodeAttribute()
    healthy = BooleanAttribute()
    failures = NumberAttribute()
    first_failure_at = NumberAttribute(null=True)  # epoch ms
    successes = NumberAttribute()
    slow_since = NumberAttribute(null=True)  # epoch ms
    takeover_due = BooleanAttribute()
    updated_at = NumberAttribute()


BINDING.register(FailoverWatchItem)


def _optional_int(value: float | None) -> int | None:
    return None if value is None else int(value)


class FailoverWatchItems:
    """``services.peer_watch.WatchStore`` on this region's replica."""

    def load(self, region: str, peer: str) -> WatchState | None:
        try:
            item = FailoverWatchItem.get(watch_pk(region, peer), SORT_KEY, consistent_read=True)
        except DoesNotExist:
            return None
        health = HealthMemory(
            bool(item.healthy),
            int(item.failures),
            _optional_int(item.first_failure_at),
            int(item.successes),
        )
        return WatchState(health, _optional_int(item.slow_since), bool(item.takeover_due))

    def save(self, region: str, peer: str, state: WatchState, now_ms: int) -> None:
        # One writer per item (this region's controller, its runs never overlapping): a plain put.
        FailoverWatchItem(
            pk=watch_pk(region, peer),
            sk=SORT_KEY,
            region=region,
            peer=peer,
            healthy=state.health.healthy,
            failures=state.health.failures,
            first_failure_at=state.health.first_failure_ms,
            successes=state.health.successes,
            slow_since=state.slow_since_ms,
            takeover_due=state.takeover_due,
            updated_at=now_ms,
        ).save()


MARK_SORT_KEY = "REPLICATION_MARK"


def mark_pk(region: str) -> str:
    return f"REPLICATION#{region}"


class ReplicationMarkItem(TableItem):
    """When a region last wrote its replication mark; the other region's replica shows how far
    replication from it has come (``services.regions.ReplicationMarks``)."""

    ENTITY = "replication_mark"
    region = UnicodeAttribute()
    marked_at = NumberAttribute()  # epoch ms


BINDING.register(ReplicationMarkItem)


class ReplicationMarkItems:
    """``services.regions.ReplicationMarks`` on this region's replica."""

    def mark(self, region: str, now_ms: int) -> None:
        # One writer per item (the region it names): a plain put.
        ReplicationMarkItem(pk=mark_pk(region), sk=MARK_SORT_KEY, region=region, marked_at=now_ms).save()

    def of(self, region: str) -> int | None:
        try:
            item = ReplicationMarkItem.get(mark_pk(region), MARK_SORT_KEY, consistent_read=True)
        except DoesNotExist:
            return None
        return int(item.marked_at)
