"""Read and write units per partition key, from the requests a proxy forwards (``dynamodb_counter``).

DynamoDB's limits per partition are 3,000 read units and 1,000 write units a second; a key design
is judged by the busiest second of its busiest partition (``BusiestKeys``).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any

PARTITION_READ_LIMIT = 3000.0  # read units a second one partition serves (DynamoDB's documented limit)
PARTITION_WRITE_LIMIT = 1000.0  # write units a second
INDEX_KEYS = ("gsi1pk", "gsi2pk")  # the indexes' partition keys (contact_center/data/schema.py)


def _value(attribute: object) -> str | None:
    if isinstance(attribute, dict) and attribute:
        return str(next(iter(attribute.values())))
    return None


class PartitionUnits:
    """Read and write units per partition key, from requests and the sizes of their answers.

    DynamoDB's rules (developer guide, "Read/write capacity mode", checked 2026-12): a write is one
    unit per KB of the item, two within a transaction; a read is one unit per 4 KB strongly
    consistent, half eventually consistent, two in a transaction. What the proxy cannot see it
    assumes, and says so: an update or delete is taken as one KB of item (the items here are
    smaller: seats, contacts, counters); a read's size is its answer's size shared evenly among the
    partitions it read; a write to an item that is in an index (projection ALL) is also a write to
    that index's partition, known from the item's index keys as the proxy last saw them written.
    """

    def __init__(self) -> None:
        # (pk, sk) -> {index partition key attribute: value}, as last written through the proxy
        self._indexed: dict[tuple[str, str], dict[str, str]] = {}

    def writes(self, operation: str, data: dict[str, Any]) -> list[tuple[str, float]]:
        """(partition, write units) of one request (reads are `reads`, once its answer is in)."""
        name = operation.rsplit(".", 1)[-1]
        out: list[tuple[str, float]] = []
        if name == "PutItem":
            out += self._put(data.get("Item", {}), 1.0)
        elif name in ("UpdateItem", "DeleteItem"):
            out += self._change(data, 1.0, delete=name == "DeleteItem")
        elif name == "BatchWriteItem":
            for requests in data.get("RequestItems", {}).values():
                for request in requests:
                    if "PutRequest" in request:
                        out += self._put(request["PutRequest"].get("Item", {}), 1.0)
                    elif "DeleteRequest" in request:
                        out += self._change(request["DeleteRequest"], 1.0, delete=True)
        elif name == "TransactWriteItems":
            for entry in data.get("TransactItems", []):
                for kind, detail in entry.items():
                    if kind == "Put":
                        out += self._put(detail.get("Item", {}), 2.0)
                    else:  # Update, Delete, ConditionCheck: two units each, as a transactional write
                        out += self._change(
                            detail, 2.0, delete=kind == "Delete", check=kind == "ConditionCheck"
                        )
        return out

    def read_partitions(self, operation: str, data: dict[str, Any]) -> tuple[list[str], float]:
        """The partitions one read request touches and its units per 4 KB of answer."""
        name = operation.rsplit(".", 1)[-1]
        consistent = 1.0 if data.get("ConsistentRead") else 0.5
        if name == "GetItem":
            return [_value(data.get("Key", {}).get("pk")) or "?"], consistent
        if name == "Query":
            return [self._query_partition(data)], consistent
        if name == "Scan":
            return ["(scan)"], consistent
        if name == "ExecuteStatement":
            values = [_value(v) or "?" for v in data.get("Parameters", [])]
            return values or ["(statement)"], consistent
        if name == "BatchGetItem":
            keys = [
                _value(key.get("pk")) or "?"
                for request in data.get("RequestItems", {}).values()
                for key in request.get("Keys", [])
            ]
            return keys, 1.0 if any(
                r.get("ConsistentRead") for r in data.get("RequestItems", {}).values()
            ) else 0.5
        if name == "TransactGetItems":
            return [
                _value(e.get("Get", {}).get("Key", {}).get("pk")) or "?"
                for e in data.get("TransactItems", [])
            ], 2.0
        return [], 0.0

    def _put(self, item: dict[str, Any], factor: float) -> list[tuple[str, float]]:
        size_kb = max(1, -(-len(json.dumps(item)) // 1024))
        pk, sk = _value(item.get("pk")) or "?", _value(item.get("sk")) or ""
        out = [(pk, factor * size_kb)]
        before = self._indexed.pop((pk, sk), {})
        now = {attr: v for attr in INDEX_KEYS if (v := _value(item.get(attr))) is not None}
        if now:
            self._indexed[(pk, sk)] = now
        for attr in set(before) | set(now):
            for value in {before.get(attr), now.get(attr)} - {None}:
                out.append((f"{attr[:-2]}:{value}", float(size_kb)))
        return out

    def _change(
        self, detail: dict[str, Any], factor: float, *, delete: bool = False, check: bool = False
    ) -> list[tuple[str, float]]:
        key = detail.get("Key", {})
        pk, sk = _value(key.get("pk")) or "?", _value(key.get("sk")) or ""
        out = [(pk, factor)]
        if check:
            return out
        before = self._indexed.get((pk, sk), {})
        after = dict(before)
        if delete:
            after = {}
        else:
            after.update(_assigned_index_keys(detail))
            for attr in _removed(detail):
                after.pop(attr, None)
        if after:
            self._indexed[(pk, sk)] = after
        else:
            self._indexed.pop((pk, sk), None)
        for attr in set(before) | set(after):
            for value in {before.get(attr), after.get(attr)} - {None}:
                out.append((f"{attr[:-2]}:{value}", 1.0))
        return out

    def _query_partition(self, data: dict[str, Any]) -> str:
        index = data.get("IndexName")
        wanted = f"{index}pk" if index else "pk"
        names = data.get("ExpressionAttributeNames", {})
        values = data.get("ExpressionAttributeValues", {})
        for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", data.get("KeyConditionExpression", "")):
            if names.get(name, name) == wanted:
                value = _value(values.get(placeholder)) or "?"
                return f"{index}:{value}" if index else value
        return f"{index or 'table'}:?"


def _assigned_index_keys(detail: dict[str, Any]) -> dict[str, str]:
    names = detail.get("ExpressionAttributeNames", {})
    values = detail.get("ExpressionAttributeValues", {})
    found: dict[str, str] = {}
    for name, placeholder in re.findall(r"(#?\w+)\s*=\s*(:\w+)", detail.get("UpdateExpression", "")):
        attr = names.get(name, name)
        if attr in INDEX_KEYS and (value := _value(values.get(placeholder))) is not None:
            found[attr] = value
    return found


def _removed(detail: dict[str, Any]) -> list[str]:
    names = detail.get("ExpressionAttributeNames", {})
    match = re.search(r"\bREMOVE\s+(.+?)(?:\b(?:SET|ADD|DELETE)\b|$)", detail.get("UpdateExpression", ""))
    if not match:
        return []
    return [names.get(n.strip(), n.strip()) for n in match.group(1).split(",")]


class BusiestKeys:
    """Units per partition per second; the busiest second of each partition and its totals."""

    def __init__(self, clock: Any = time.monotonic) -> None:
        self._clock = clock
        self.reset()

    def reset(self) -> None:
        self._t0 = self._clock()
        self._second = 0
        self._now_read: Counter[str] = Counter()
        self._now_write: Counter[str] = Counter()
        self.peak_read: Counter[str] = Counter()
        self.peak_write: Counter[str] = Counter()
        self.total_read: Counter[str] = Counter()
        self.total_write: Counter[str] = Counter()

    def add(self, partition: str, read: float = 0.0, write: float = 0.0) -> None:
        second = int(self._clock() - self._t0)
        if second != self._second:
            self._second = second
            self._now_read.clear()
            self._now_write.clear()
        for now, peak, total, units in (
            (self._now_read, self.peak_read, self.total_read, read),
            (self._now_write, self.peak_write, self.total_write, write),
        ):
            if units:
                now[partition] += units
                total[partition] += units
                if now[partition] > peak[partition]:
                    peak[partition] = now[partition]

    def report(self, top: int = 15) -> dict[str, Any]:
        seconds = max(1e-9, self._clock() - self._t0)
        partitions = set(self.peak_read) | set(self.peak_write)

        def share(p: str) -> float:
            return max(self.peak_read[p] / PARTITION_READ_LIMIT, self.peak_write[p] / PARTITION_WRITE_LIMIT)

        busiest = sorted(partitions, key=share, reverse=True)[:top]
        return {
            "seconds": round(seconds, 3),
            "limits": {"read_units_s": PARTITION_READ_LIMIT, "write_units_s": PARTITION_WRITE_LIMIT},
            # every partition's units together (the table and its indexes): what the window costs
            "read_units": round(sum(self.total_read.values()), 2),
            "write_units": round(sum(self.total_write.values()), 2),
            "busiest": [
                {
                    "partition": p,
                    "peak_read_units_s": round(self.peak_read[p], 2),
                    "peak_write_units_s": round(self.peak_write[p], 2),
                    "read_units": round(self.total_read[p], 2),
                    "write_units": round(self.total_write[p], 2),
                    "peak_share_of_limit": round(share(p), 4),
                }
                for p in busiest
            ],
        }
