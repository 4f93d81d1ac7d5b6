"""A counting HTTP proxy in front of DynamoDB Local: every request counted by operation and process.

Usage: ``python bench/dynamodb_counter.py --port P --upstream http://127.0.0.1:Q``

DynamoDB Local keeps no request count, and the benchmark must not change product code to count
SDK calls, so the stack is pointed at this proxy instead (``--dynamodb-endpoint``). For each
request it reads ``X-Amz-Target`` (``DynamoDB_20120810.PutItem``,
``DynamoDBStreams_20120810.GetRecords``...) and forwards the bytes unchanged; responses are copied
back as they come. Each client connection is attributed, when it is accepted, to the process that
owns its socket (``/proc/net/tcp`` gives the socket's inode, ``/proc/<pid>/fd`` its owner), named
by the module it runs (``sip_edge``, ``local_stack.lambda_endpoint``...).

``GET /__counts`` (answered by the proxy itself) returns the running totals as JSON:
``{"requests": {"<process>": {"<operation>": n}}, "kinds": {"<process>": {"<kind>": n}},
"connections": {"<process>": n},
"answer_wait_s": {"<operation>": s}, "answered": {"<operation>": n}, "refused": {"<operation>":
n}}``: the wait runs from the request forwarded to the first byte of its answer (DynamoDB Local's
latency); refused answers are those other than 200 (a failed condition, a cancelled transaction).
A request's kind (``request_kind``) is its operation and the key kinds it touched, ids left out
(``GetItem CONTACT/CONTACT``, ``Query gsi1 LISTENERS#QUEUE``): which code path made it, at any load.
A reader takes two snapshots and subtracts. ``GET /__recent`` returns the last requests, numbered,
each with its process, operation and the keys it touched (``summarize``): one call, request by
request.

``GET /__keys`` returns the busiest partitions, per second: for each partition key (the table's
``pk``, or ``gsi1:<value>`` for a partition of an index) the read and write units it took in its
busiest second and in total since the last ``GET /__keys?reset`` (``partition_units``: DynamoDB's
rules applied to what the proxy sees, with the assumptions written there). DynamoDB's limits per
partition are 3,000 read units and 1,000 write units a second.

``GET /__faults?latency_ms=300&drop=0.05&ops=TransactWriteItems,Query&seed=7&for_s=90`` injects faults
into the table's requests (``DynamoDB_20120810.*``; the stream's are left alone): each matching
request is held ``latency_ms`` before it is forwarded, and a share ``drop`` of them (drawn from a
generator seeded with ``seed``, so a run repeats) is never forwarded nor answered, as a request lost by
an overloaded database: its client waits out its own timeout. ``ops`` limits both to those operations
(all when absent); ``for_s`` turns them off by themselves after that many seconds (a proxy busy with
reconnecting clients may answer the request that would turn them off too late). ``GET /__faults``
alone turns them off. It answers the faults in force.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import signal
import time
from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from partition_units import BusiestKeys, PartitionUnits

__all__ = ["process_label", "socket_owner"]

COUNTS_PATH = b"/__counts"
RECENT_PATH = b"/__recent"
KEYS_PATH = b"/__keys"
FAULTS_PATH = b"/__faults"
TABLE_TARGET = "DynamoDB_20120810."
RECENT_KEPT = 5000


def summarize(operation: str, body: bytes) -> str:
    """What a request touched, briefly: its index and the partition/sort keys of its items."""
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return ""

    def keys(item: object) -> str:
        if not isinstance(item, dict):
            return ""
        values = []
        for name in ("pk", "sk"):
            value = item.get(name)
            if isinstance(value, dict):
                values.append(str(next(iter(value.values()), "")))
        return "/".join(values)

    parts: list[str] = []
    if data.get("IndexName"):
        parts.append(f"index {data['IndexName']}")
    for field in ("Key", "Item"):
        if field in data:
            parts.append(keys(data[field]))
    if "ExpressionAttributeValues" in data and "KeyConditionExpression" in data:
        values = [str(next(iter(v.values()), "")) for v in data["ExpressionAttributeValues"].values()]
        parts.append("where " + ", ".join(values[:2]))
    for entry in data.get("TransactItems", []):
        for kind, detail in entry.items():
            parts.append(f"{kind} {keys(detail.get('Key') or detail.get('Item'))}")
    return "; ".join(part for part in parts if part)


_KEY_WORD = re.compile(r"[A-Z][A-Z_]*")


def key_kind(value: str) -> str:
    """A key with its ids left out: the upper-case words between its ``#`` separators."""
    return "#".join(word for word in value.split("#") if _KEY_WORD.fullmatch(word))


def request_kind(operation: str, body: bytes) -> str:
    """The operation and the kinds of the keys it touched: ``TransactWriteItems Put CONTACT/CONTACT
    + Update MERCHANT#SEATS/SEAT``, ``Query gsi1 AVAILABLE``. Stream reads are their operation."""
    name = operation.split(".", 1)[-1]
    if not operation.startswith("DynamoDB_"):
        return name
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        return name

    def kinds(item: object) -> str:
        if not isinstance(item, dict):
            return ""
        values = [item.get(k) for k in ("pk", "sk")]
        return "/".join(key_kind(str(next(iter(v.values()), ""))) for v in values if isinstance(v, dict))

    if "TransactItems" in data:
        parts = sorted(
            f"{kind} {kinds(detail.get('Key') or detail.get('Item'))}"
            for entry in data["TransactItems"]
            for kind, detail in entry.items()
        )
        return f"{name} " + " + ".join(parts)
    if "KeyConditionExpression" in data:
        values = [str(next(iter(v.values()), "")) for v in data.get("ExpressionAttributeValues", {}).values()]
        words = ",".join(kind for kind in map(key_kind, values) if kind)
        return f"{name} {data.get('IndexName', 'table')} {words}".rstrip()
    for field in ("Key", "Item"):
        if field in data:
            return f"{name} {kinds(data[field])}"
    if "RequestItems" in data:
        return f"{name} batch"
    return name


def refusal_reason(answer: bytes) -> str:
    """Why DynamoDB refused a request, from the first bytes of its answer (type, or reason codes)."""
    codes = re.findall(rb'"Code":\s*"(\w+)"', answer)
    if codes:
        return ",".join(code.decode() for code in codes)
    kind = re.search(rb'"__type":\s*"[^"#]*#?(\w+)"', answer)
    return kind.group(1).decode() if kind else "unknown"


def _hex_address(host: str, port: int) -> str:
    """``127.0.0.1:8000`` as /proc/net/tcp writes it: ``0100007F:1F40``."""
    octets = [int(part) for part in host.split(".")]
    return f"{octets[3]:02X}{octets[2]:02X}{octets[1]:02X}{octets[0]:02X}:{port:04X}"


def _socket_inode(local: tuple[str, int], remote: tuple[str, int]) -> str | None:
    want_local, want_remote = _hex_address(*local), _hex_address(*remote)
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 9 and fields[1] == want_local and fields[2] == want_remote:
            return fields[9]
    return None


def _owns(pid: int, target: str) -> bool:
    try:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) == target:
                    return True
    except OSError:
        pass
    return False


def socket_owner(client: tuple[str, int], server: tuple[str, int], likely: Sequence[int] = ()) -> int | None:
    """The PID owning the client end of a loopback TCP connection, or None.

    ``likely`` PIDs (the owners of earlier connections) are searched first; then every process.
    """
    inode = _socket_inode(client, server)
    if inode is None or inode == "0":
        return None
    target = f"socket:[{inode}]"
    for pid in likely:
        if _owns(pid, target):
            return pid
    me = os.getpid()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) not in (me, *likely) and _owns(int(proc.name), target):
            return int(proc.name)
    return None


def process_label(pid: int | None) -> str:
    """A process named by what it runs: the module of ``python -m``, else the program's name."""
    if pid is None:
        return "unknown"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"pid {pid}"
    words = [word.decode(errors="replace") for word in argv if word]
    if "-m" in words[:-1]:
        return words[words.index("-m") + 1]
    scripts = [Path(word).name for word in words[1:] if word.endswith(".py")]
    if scripts:
        return scripts[0]
    return Path(words[0]).name if words else f"pid {pid}"


class Counts:
    def __init__(self) -> None:
        self.requests: defaultdict[str, Counter[str]] = defaultdict(Counter)
        # process -> request kind (``request_kind``) -> n
        self.kinds: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.connections: Counter[str] = Counter()
        # operation -> total seconds from the request forwarded to the first byte of its answer
        self.wait_s: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        # operation -> answers other than 200 (a failed condition, a cancelled transaction)
        self.refused: Counter[str] = Counter()
        # "<operation> <reason>" -> refused answers: the error type, or a cancelled transaction's
        # reason codes in item order ("TransactWriteItems None,ConditionalCheckFailed")
        self.refusal_reasons: Counter[str] = Counter()

    def as_json(self) -> bytes:
        return json.dumps(
            {
                "requests": {name: dict(ops) for name, ops in self.requests.items()},
                "kinds": {name: dict(kinds) for name, kinds in self.kinds.items()},
                "connections": dict(self.connections),
                "answer_wait_s": dict(self.wait_s),
                "answered": dict(self.answered),
                "refused": dict(self.refused),
                "refusal_reasons": dict(self.refusal_reasons),
            }
        ).encode()


@dataclass
class Faults:
    """What the proxy does to the table's requests (``GET /__faults``); none by default."""

    latency_ms: float = 0.0
    drop: float = 0.0
    ops: tuple[str, ...] = ()  # operation names (``Query``); empty: every table operation
    seed: int = 7
    for_s: float | None = None  # off by themselves this long after they were set
    set_at: float = 0.0

    @classmethod
    def parse(cls, query: str) -> Faults:
        fields = {name: values[-1] for name, values in parse_qs(query).items()}
        return cls(
            latency_ms=float(fields.get("latency_ms", 0)),
            drop=float(fields.get("drop", 0)),
            ops=tuple(op for op in fields.get("ops", "").split(",") if op),
            seed=int(fields.get("seed", 7)),
            for_s=float(fields["for_s"]) if "for_s" in fields else None,
            set_at=time.monotonic(),
        )

    def applies(self, operation: str) -> bool:
        if not operation.startswith(TABLE_TARGET) or not (self.latency_ms or self.drop):
            return False
        if self.for_s is not None and time.monotonic() - self.set_at > self.for_s:
            return False
        return not self.ops or operation.removeprefix(TABLE_TARGET) in self.ops


class CountingProxy:
    def __init__(self, port: int, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.port = port
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.counts = Counts()
        # The latest requests, numbered: (number, seconds since start, process, operation, summary).
        # [number, seconds, process, operation, keys, refusal reason or ""]
        self.recent: deque[list[Any]] = deque(maxlen=RECENT_KEPT)
        self._numbered = 0
        self._t0 = time.monotonic()
        self._owners: dict[int, str] = {}  # pid -> label of the processes seen so far
        self.units = PartitionUnits()
        self.keys = BusiestKeys()
        self.faults = Faults()
        self._draw = random.Random(self.faults.seed)
        self.dropped = 0

    async def serve(self) -> None:
        server = await asyncio.start_server(self._client, "127.0.0.1", self.port, limit=1 << 20)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        async with server:
            await stopping.wait()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        pid = socket_owner((peer[0], peer[1]), ("127.0.0.1", self.port), list(self._owners))
        label = self._owners.get(pid) if pid is not None else None
        if label is None:
            label = process_label(pid)
            if pid is not None:
                self._owners[pid] = label
        self.counts.connections[label] += 1
        upstream_writer: asyncio.StreamWriter | None = None
        copier: asyncio.Task[None] | None = None
        # The request waiting for its answer (no pipelining: one at a time per connection).
        pending: list[tuple[str, float, list[Any], tuple[list[str], float]]] = []
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                first, _, rest = head.partition(b"\r\n")
                path = (first.split(b" ")[1:2] or [b""])[0]
                own = self._own_answer(path)
                if own is not None:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        + f"Content-Length: {len(own)}\r\n\r\n".encode()
                        + own
                    )
                    await writer.drain()
                    continue
                length, operation = 0, "unknown"
                for line in rest.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    lowered = name.strip().lower()
                    if lowered == b"content-length":
                        length = int(value.strip() or b"0")
                    elif lowered == b"x-amz-target":
                        operation = value.strip().decode(errors="replace")
                body = await reader.readexactly(length) if length else b""
                self.counts.requests[label][operation] += 1
                self.counts.kinds[label][request_kind(operation, body)] += 1
                self._numbered += 1
                entry: list[Any] = [
                    self._numbered,
                    time.monotonic() - self._t0,
                    label,
                    operation,
                    summarize(operation, body),
                    "",
                ]
                self.recent.append(entry)
                reads = self._account(operation, body)
                if self.faults.applies(operation):
                    if self._draw.random() < self.faults.drop:
                        # Lost: the client waits out its timeout and drops the connection.
                        self.dropped += 1
                        entry[5] = "dropped by /__faults"
                        await reader.read()
                        return
                    await asyncio.sleep(self.faults.latency_ms / 1000)
                if upstream_writer is None:
                    upstream_reader, upstream_writer = await asyncio.open_connection(*self.upstream)
                    copier = asyncio.create_task(self._copy(upstream_reader, writer, pending))
                pending[:] = [(operation, time.monotonic(), entry, reads)]
                upstream_writer.write(head + body)
                await upstream_writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            if copier is not None:
                copier.cancel()
            for stream in (upstream_writer, writer):
                if stream is not None:
                    stream.close()

    def _own_answer(self, path: bytes) -> bytes | None:
        """The JSON the proxy itself answers on ``path`` (its counts, keys, faults), or None."""
        if path.startswith(KEYS_PATH):
            body = json.dumps(self.keys.report()).encode()
            if path.endswith(b"?reset"):
                self.keys.reset()
            return body
        if path.startswith(FAULTS_PATH):
            self.faults = Faults.parse(urlsplit(path.decode()).query)
            self._draw = random.Random(self.faults.seed)
            return json.dumps({**asdict(self.faults), "dropped": self.dropped}).encode()
        if path in (COUNTS_PATH, RECENT_PATH):
            return self.counts.as_json() if path == COUNTS_PATH else self._recent_json()
        return None

    def _account(self, operation: str, body: bytes) -> tuple[list[str], float]:
        """Write units now; the partitions a read touches, for when its answer's size is known."""
        if not operation.startswith("DynamoDB_"):
            return [], 0.0
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return [], 0.0
        for partition, units in self.units.writes(operation, data):
            self.keys.add(partition, write=units)
        return self.units.read_partitions(operation, data)

    def _recent_json(self) -> bytes:
        return json.dumps({"last": self._numbered, "requests": list(self.recent)}).encode()

    async def _copy(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pending: list[tuple[str, float, list[Any], tuple[list[str], float]]],
    ) -> None:
        with contextlib.suppress(ConnectionError):
            while data := await reader.read(1 << 16):
                if pending:
                    operation, sent, entry, (read_partitions, per_4kb) = pending.pop()
                    if read_partitions and per_4kb:
                        # The answer's size, from its Content-Length (or this first chunk's).
                        size = _content_length(data) or len(data)
                        units = per_4kb * max(1, -(-size // 4096)) / len(read_partitions)
                        for partition in read_partitions:
                            self.keys.add(partition, read=units)
                    self.counts.wait_s[operation] += time.monotonic() - sent
                    self.counts.answered[operation] += 1
                    if not data.startswith(b"HTTP/1.1 200"):
                        self.counts.refused[operation] += 1
                        reason = refusal_reason(data)
                        self.counts.refusal_reasons[f"{operation} {reason}"] += 1
                        entry[5] = reason
                writer.write(data)
                await writer.drain()
        writer.close()


def _content_length(head: bytes) -> int | None:
    match = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", head[:4096])
    return int(match.group(1)) if match else None


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="DynamoDB Local's URL, http://127.0.0.1:PORT")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        loop_factory = None
    else:
        loop_factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(CountingProxy(args.port, args.upstream).serve())


if __name__ == "__main__":
    main()
