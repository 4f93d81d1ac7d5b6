"""A replicator that behaves as DynamoDB global tables do, between two DynamoDB Local engines.

- Each region's stream records are applied to the other region after ``lag`` seconds (default 1 s),
  item by item: the items of one transaction arrive one by one, in no promised order across items.
- Conflicts are resolved per item, last writer wins, by the replication timestamp: the time the
  replicator saw the write in its own region's stream (global tables use the write time). A
  replicated write older than the target's last write of that item is dropped.
- ``pause()`` holds every record (a partition); ``resume()`` lets them through, oldest first.
- A region's outgoing half dies with the region (``stop_region``): records it had not shipped yet
  are lost (the RPO). ``copy_all`` re-seeds a region that comes back empty, as adding a replica does.

A write that fails to apply (the target engine slow or busy) is tried again until it is applied,
superseded by a later write of the item in the target, or the target dies: global tables never drop
a replicated write, they only delay it.

Writes the replicator makes are echoed by the target's stream; they are recognised (by a marker
attribute a local write never changes, and by the deletes it made) and not sent back.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config

log = logging.getLogger("local_stack.replicator")

MARKER = "_replica"  # "<source region>:<sequence number>" of the replicated write


@dataclass
class _Pending:
    due: float
    written_at: float
    source: str
    record: dict[str, Any]


@dataclass
class _Region:
    name: str
    endpoint: str
    table: str
    client: Any
    streams: Any
    alive: bool = True
    iterators: dict[str, str | None] = field(default_factory=dict)


def _value(value: Any) -> Any:
    """An attribute value as PutItem takes it. DynamoDB Local's stream gives an empty map as ``{}``
    (no type), which PutItem refuses."""
    if not value:
        return {"M": {}}
    if "M" in value:
        return {"M": {name: _value(inner) for name, inner in value["M"].items()}}
    if "L" in value:
        return {"L": [_value(inner) for inner in value["L"]]}
    return value


def _item(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _value(value) for name, value in image.items()}


def _key(record: Mapping[str, Any]) -> tuple[str, str]:
    keys = record["dynamodb"]["Keys"]
    return (keys["pk"]["S"], keys["sk"]["S"])


SHARDS_EVERY = 2.0  # seconds between listings of a stream's shards


class Replicator:
    def __init__(
        self, regions: Mapping[str, str], table: str, lag: float = 1.0, poll: float = 0.1, workers: int = 8
    ) -> None:
        config = Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1})
        self._regions = {
            name: _Region(
                name,
                endpoint,
                table,
                boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=config),
                boto3.client(
                    "dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", config=config
                ),
            )
            for name, endpoint in regions.items()
        }
        self.lag = lag
        self._poll = poll
        self._queue: deque[_Pending] = deque()
        self._lock = threading.Lock()
        self._paused = threading.Event()
        self._stopped = threading.Event()
        # (region, key) -> replication timestamp of the item's last write there (local or applied)
        self._last_write: dict[tuple[str, tuple[str, str]], float] = {}
        self._our_deletes: set[tuple[str, tuple[str, str]]] = set()
        self.applied = 0
        self.dropped_older = 0
        self._threads: list[threading.Thread] = []
        # Due records are applied by a few workers, each item always by the same one (by its key), so
        # one item's writes keep their order while different items go in parallel, as in DynamoDB.
        self._workers: list[queue.Queue[_Pending]] = [queue.Queue() for _ in range(workers)]
        # What each worker is applying now (a write being retried is still pending).
        self._in_flight: dict[int, _Pending] = {}

    # Control

    def start(self) -> None:
        for region in self._regions.values():
            self._start_reader(region)
        applier = threading.Thread(target=self._apply_loop, name="replicator-apply", daemon=True)
        applier.start()
        self._threads.append(applier)
        for index, work in enumerate(self._workers):
            worker = threading.Thread(
                target=self._work, args=(index, work), name=f"replicator-{index}", daemon=True
            )
            worker.start()
            self._threads.append(worker)

    def stop(self) -> None:
        self._stopped.set()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    def stop_region(self, name: str) -> int:
        """The region died: its reader stops and its records not yet applied are lost; their count."""
        region = self._regions[name]
        region.alive = False
        with self._lock:
            lost = [p for p in self._queue if p.source == name]
            self._queue = deque(p for p in self._queue if p.source != name)
        for work in self._workers:
            with work.mutex:
                dropped = [p for p in work.queue if p.source == name]
                for pending in dropped:
                    work.queue.remove(pending)
                lost += dropped
        with self._lock:
            lost += [p for p in self._in_flight.values() if p.source == name]
        return len(lost)

    def _backlog(self) -> list[_Pending]:
        with self._lock:
            waiting = [*self._queue, *self._in_flight.values()]
        for work in self._workers:
            with work.mutex:
                waiting += list(work.queue)
        return waiting

    def pending_from(self, name: str) -> int:
        return sum(1 for p in self._backlog() if p.source == name)

    def pending_older_than(self, seconds: float) -> int:
        """Records waiting longer than ``seconds`` (a backlog, beyond the lag itself)."""
        cutoff = time.time() - seconds
        return sum(1 for p in self._backlog() if p.written_at < cutoff)

    def pending(self) -> int:
        return len(self._backlog())

    def restart_region(self, name: str, endpoint: str, copy_from: str) -> int:
        """The region is back with an empty engine at ``endpoint``: copy every item of ``copy_from``
        into it, then replicate both ways again. Returns the items copied."""
        old = self._regions[name]
        config = Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1})
        region = _Region(
            name,
            endpoint,
            old.table,
            boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1", config=config),
            boto3.client("dynamodbstreams", endpoint_url=endpoint, region_name="us-east-1", config=config),
        )
        with self._lock:
            self._last_write = {k: v for k, v in self._last_write.items() if k[0] != name}
            self._regions[name] = region
        self._start_reader(region)  # from the stream's end: the copy's echoes are skipped below
        return self.copy_all(copy_from, name)

    def copy_all(self, source: str, target: str) -> int:
        src, dst = self._regions[source], self._regions[target]
        # A bulk copy waits for a busy engine rather than give up half way: longer timeouts, retries.
        patient = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 10, "mode": "standard"})
        reader = boto3.client("dynamodb", endpoint_url=src.endpoint, region_name="us-east-1", config=patient)
        writer = boto3.client("dynamodb", endpoint_url=dst.endpoint, region_name="us-east-1", config=patient)
        copied = 0
        paginator = reader.get_paginator("scan")
        for page in paginator.paginate(TableName=src.table, ConsistentRead=True):
            items = page["Items"]
            # 25 items a request (DynamoDB's batch limit): thousands of single puts took minutes on a
            # loaded engine, while the returning region waited.
            for start in range(0, len(items), 25):
                batch = [
                    {**item, MARKER: {"S": f"{source}:copy:{copied + n}"}}
                    for n, item in enumerate(items[start : start + 25])
                ]
                stamp = time.time()
                with self._lock:
                    for item in batch:
                        self._last_write[(target, (item["pk"]["S"], item["sk"]["S"]))] = stamp
                self._write_batch(writer, dst.table, batch)
                copied += len(batch)
        return copied

    @staticmethod
    def _write_batch(writer: Any, table: str, items: list[dict[str, Any]]) -> None:
        requests = [{"PutRequest": {"Item": item}} for item in items]
        delay = 0.1
        while requests:
            left = writer.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
            requests = left.get(table, [])
            if requests:
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # Reading each region's stream

    def _start_reader(self, region: _Region) -> None:
        thread = threading.Thread(
            target=self._read_loop, args=(region,), name=f"replicator-{region.name}", daemon=True
        )
        thread.start()
        self._threads.append(thread)

    def _read_loop(self, region: _Region) -> None:
        try:
            arn = region.client.describe_table(TableName=region.table)["Table"]["LatestStreamArn"]
        except Exception:
            log.exception("replicator: no stream in %s", region.name)
            return
        first = True
        described_at = 0.0
        while not self._stopped.is_set() and region.alive:
            try:
                # New shards are rare: list them every few seconds, not on every poll (each call is
                # work for an engine that also serves the region).
                if time.monotonic() - described_at > SHARDS_EVERY:
                    shards = region.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]
                    described_at = time.monotonic()
                else:
                    shards = []
                for shard in shards:
                    if shard["ShardId"] not in region.iterators:
                        region.iterators[shard["ShardId"]] = region.streams.get_shard_iterator(
                            StreamArn=arn,
                            ShardId=shard["ShardId"],
                            ShardIteratorType="LATEST" if first else "TRIM_HORIZON",
                        )["ShardIterator"]
                first = False
                for shard_id, iterator in list(region.iterators.items()):
                    if iterator is None:
                        continue
                    response = region.streams.get_records(ShardIterator=iterator, Limit=1000)
                    region.iterators[shard_id] = response.get("NextShardIterator")
                    for record in response["Records"]:
                        self._observe(region.name, record)
            except Exception:
                if not region.alive or self._stopped.is_set():
                    return
                log.warning("replicator: reading %s failed; retrying", region.name)
                time.sleep(0.5)
            self._stopped.wait(self._poll)

    def _observe(self, name: str, record: dict[str, Any]) -> None:
        """A write seen in region ``name``'s stream: an echo of ours, or a local write to ship."""
        key = _key(record)
        new = record["dynamodb"].get("NewImage")
        old = record["dynamodb"].get("OldImage") or {}
        now = time.time()
        with self._lock:
            if record["eventName"] == "REMOVE" and (name, key) in self._our_deletes:
                self._our_deletes.discard((name, key))
                return
            if new is not None and MARKER in new and new[MARKER] != old.get(MARKER):
                return  # our own apply, echoed
            self._last_write[(name, key)] = now
            self._queue.append(_Pending(now + self.lag, now, name, record))

    # Applying to the other region

    def _apply_loop(self) -> None:
        while not self._stopped.is_set():
            batch: list[_Pending] = []
            with self._lock:
                if not self._paused.is_set():
                    now = time.time()
                    while self._queue and self._queue[0].due <= now:
                        batch.append(self._queue.popleft())
            for pending in batch:
                self._workers[hash(_key(pending.record)) % len(self._workers)].put(pending)
            self._stopped.wait(0.02)

    def _work(self, index: int, work: queue.Queue[_Pending]) -> None:
        while not self._stopped.is_set():
            try:
                pending = work.get(timeout=0.2)
            except queue.Empty:
                continue
            with self._lock:
                self._in_flight[index] = pending
            try:
                for target in list(self._regions.values()):
                    if target.name != pending.source:
                        self._apply_until_done(pending, target)
            finally:
                with self._lock:
                    self._in_flight.pop(index, None)

    def _apply_until_done(self, pending: _Pending, target: _Region) -> None:
        delay = 0.1
        while not self._stopped.is_set() and not self._apply(pending, target):
            log.warning("replicator: applying to %s failed; trying again", target.name)
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    def _apply(self, pending: _Pending, target: _Region) -> bool:
        """Apply one record to ``target``; False when it must be tried again."""
        if not target.alive or self._regions.get(target.name) is not target:
            return True  # the region died (or came back as a new engine, filled by a copy)
        key = _key(pending.record)
        with self._lock:
            if self._last_write.get((target.name, key), 0.0) > pending.written_at:
                self.dropped_older += 1  # the target wrote the item later: last writer wins
                return True
            self._last_write[(target.name, key)] = pending.written_at
        dynamodb = pending.record["dynamodb"]
        try:
            if pending.record["eventName"] == "REMOVE":
                with self._lock:
                    self._our_deletes.add((target.name, key))
                gone = target.client.delete_item(
                    TableName=target.table, Key=dynamodb["Keys"], ReturnValues="ALL_OLD"
                )
                if not gone.get("Attributes"):  # nothing was deleted: no echo will come
                    with self._lock:
                        self._our_deletes.discard((target.name, key))
            else:
                marker = f"{pending.source}:{dynamodb.get('SequenceNumber', '')}"
                target.client.put_item(
                    TableName=target.table, Item={**_item(dynamodb["NewImage"]), MARKER: {"S": marker}}
                )
            self.applied += 1
            return True
        except Exception:
            return False
