"""Stranded callers and double offers, reckoned from what the router itself stored (``center_day.py``).

Two sources, both written by the product, read after the run:

- **Contact records** (``RecordItem``, one per contact when it ends): its segments, each a stay in a
  queue (``kind`` queue, ``queue_id``) or an offer to a seat (``kind`` agent, ``seat_id``), with
  ``started_at``/``ended_at`` in epoch ms as the router wrote them.
- **Seat states** (every version of every ``SeatItem``, from the table's stream, NEW images): the
  state, the ms it was entered (``state_since``) and the queues the seat serves at that version.

From them:

- A caller **waits** in queue Q over its queue segments of Q, minus its agent segments (a queue
  segment spans the ring of a missed offer; ringing is not waiting).
- A seat is **available for Q** from the ``state_since`` of a version in ``available`` whose queues
  name Q, to the ``state_since`` of the next version in another state (the end of the run if none).
- The router's **hand-off delay** of an offer at ``o`` from Q to seat S: ``o - max(caller waiting in Q
  since, S available since)``: how long the router took, once a caller and a free eligible agent
  were both there, to put them together. It is the wait nobody could avoid but the router's own.
- The **tolerance** ``T`` is read from those delays: ``max(floor, factor x p99)`` (defaults 500 ms
  and 2): twice what the router needs for 99 in 100 of its hand-offs in this same run, so a slow
  machine widens it and a stuck router does not (a stranded caller waits seconds to minutes,
  the whole time its queue has an idle agent).
- A caller is **stranded** when, while it waited in Q, one seat was available for Q without
  interruption for longer than ``T``.
- A **double offer**: two agent segments of one seat that overlap in time (the seat offered, or
  talking to, two contacts at once).
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

TOLERANCE_FLOOR_MS = 500
TOLERANCE_FACTOR = 2.0


@dataclass(frozen=True)
class SeatVersion:
    seat_id: str
    version: int
    state: str
    since_ms: int
    queues: frozenset[str]


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    owner: str  # contact id (waiting, offers) or seat id (availability)
    queue_id: str | None = None
    seat_id: str | None = None


@dataclass
class Reckoning:
    tolerance_ms: float
    handoff_ms: list[int]
    waits: list[Span]
    stranded: list[dict[str, Any]] = field(default_factory=list)
    double_offers: list[dict[str, Any]] = field(default_factory=list)
    offers: int = 0


def percentile(values: Sequence[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def availability(versions: Iterable[SeatVersion], run_end_ms: int) -> dict[str, list[Span]]:
    """Queue id -> the spans a seat serving it was available, from each seat's versions."""
    by_seat: dict[str, list[SeatVersion]] = defaultdict(list)
    for version in versions:
        by_seat[version.seat_id].append(version)
    spans: dict[str, list[Span]] = defaultdict(list)
    for seat_id, history in by_seat.items():
        history.sort(key=lambda v: v.version)
        open_since: int | None = None
        queues: frozenset[str] = frozenset()
        for version in history:
            if version.state == "available" and open_since is None:
                open_since, queues = version.since_ms, version.queues
            elif version.state != "available" and open_since is not None:
                for queue_id in queues:
                    spans[queue_id].append(Span(open_since, version.since_ms, seat_id, queue_id, seat_id))
                open_since = None
        if open_since is not None:
            for queue_id in queues:
                spans[queue_id].append(Span(open_since, run_end_ms, seat_id, queue_id, seat_id))
    return spans


def _minus(start: int, end: int, holes: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    pieces, cursor = [], start
    for hole_start, hole_end in sorted(holes):
        if hole_end <= cursor or hole_start >= end:
            continue
        if hole_start > cursor:
            pieces.append((cursor, hole_start))
        cursor = max(cursor, hole_end)
    if cursor < end:
        pieces.append((cursor, end))
    return pieces


def waits_and_offers(records: Iterable[Mapping[str, Any]]) -> tuple[list[Span], list[Span]]:
    """The callers' waits in queues and the seats' offers, from the contact records' segments."""
    waits: list[Span] = []
    offers: list[Span] = []
    for record in records:
        contact_id = str(record.get("contact_id"))
        segments = record.get("segments") or []
        agent = [(int(s["started_at"]), int(s["ended_at"])) for s in segments if s.get("kind") == "agent"]
        for segment in segments:
            start, end = int(segment["started_at"]), int(segment["ended_at"])
            if segment.get("kind") == "agent" and segment.get("seat_id"):
                offers.append(Span(start, end, contact_id, segment.get("queue_id"), segment["seat_id"]))
            elif segment.get("kind") == "queue" and segment.get("queue_id"):
                for piece_start, piece_end in _minus(start, end, agent):
                    waits.append(Span(piece_start, piece_end, contact_id, segment["queue_id"]))
    return waits, offers


def handoff_delays(
    waits: Sequence[Span], offers: Sequence[Span], seats: Mapping[str, list[Span]]
) -> list[int]:
    """Per offer: offer time - max(the caller's wait in that queue began, the seat's availability began)."""
    wait_ending: dict[tuple[str, int], Span] = {(w.owner, w.end): w for w in waits}
    seat_spans: dict[tuple[str, str], list[Span]] = defaultdict(list)
    for queue_id, spans in seats.items():
        for span in spans:
            seat_spans[(queue_id, span.owner)].append(span)
    delays = []
    for offer in offers:
        wait = wait_ending.get((offer.owner, offer.start))
        if wait is None or offer.queue_id is None or offer.seat_id is None:
            continue
        free = [
            s for s in seat_spans.get((offer.queue_id, offer.seat_id), []) if s.start <= offer.start <= s.end
        ]
        if not free:
            continue
        span = max(free, key=lambda s: s.start)
        delays.append(offer.start - max(wait.start, span.start))
    return delays


def longest_overlap(wait: Span, spans: Sequence[Span], starts: Sequence[int], reach: Sequence[int],
                    reach_owner: Sequence[int]) -> tuple[int, Span | None]:  # fmt: skip
    """The longest time one span of ``spans`` (sorted by start; ``reach[i]`` the latest end among the
    first i+1, held by ``spans[reach_owner[i]]``) overlaps ``wait``."""
    best, best_span = 0, None
    before = bisect.bisect_right(starts, wait.start)  # spans begun by the time the caller waits
    if before:
        end = min(wait.end, reach[before - 1])
        if end - wait.start > best:
            best, best_span = end - wait.start, spans[reach_owner[before - 1]]
    for index in range(before, bisect.bisect_left(starts, wait.end)):
        span = spans[index]
        overlap = min(wait.end, span.end) - span.start
        if overlap > best:
            best, best_span = overlap, span
    return best, best_span


def stranded(
    waits: Sequence[Span], seats: Mapping[str, list[Span]], tolerance_ms: float
) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    indexed: dict[str, tuple[list[Span], list[int], list[int], list[int]]] = {}
    for queue_id, spans in seats.items():
        ordered = sorted(spans, key=lambda s: s.start)
        reach, owner, latest, latest_at = [], [], -1, -1
        for index, span in enumerate(ordered):
            if span.end > latest:
                latest, latest_at = span.end, index
            reach.append(latest)
            owner.append(latest_at)
        indexed[queue_id] = (ordered, [s.start for s in ordered], reach, owner)
    for wait in waits:
        if wait.queue_id not in indexed:
            continue
        overlap, holder = longest_overlap(wait, *indexed[wait.queue_id])
        if overlap > tolerance_ms and holder is not None:
            seen = found.get(wait.owner)
            if seen is None or overlap > seen["overlap_ms"]:
                found[wait.owner] = {
                    "contact_id": wait.owner,
                    "queue_id": wait.queue_id,
                    "seat_id": holder.owner,
                    "waiting_from_ms": wait.start,
                    "overlap_ms": overlap,
                }
    return sorted(found.values(), key=lambda s: -s["overlap_ms"])


def double_offers(offers: Sequence[Span]) -> list[dict[str, Any]]:
    by_seat: dict[str, list[Span]] = defaultdict(list)
    for offer in offers:
        if offer.seat_id is not None:
            by_seat[offer.seat_id].append(offer)
    found = []
    for seat_id, held in by_seat.items():
        held.sort(key=lambda s: s.start)
        for earlier, later in itertools.pairwise(held):
            if later.start < earlier.end:
                found.append(
                    {
                        "seat_id": seat_id,
                        "contacts": [earlier.owner, later.owner],
                        "overlap_ms": min(earlier.end, later.end) - later.start,
                    }
                )
    return found


def reckon(
    records: Sequence[Mapping[str, Any]],
    versions: Sequence[SeatVersion],
    run_end_ms: int,
    floor_ms: float = TOLERANCE_FLOOR_MS,
    factor: float = TOLERANCE_FACTOR,
) -> Reckoning:
    seats = availability(versions, run_end_ms)
    waits, offers = waits_and_offers(records)
    delays = handoff_delays(waits, offers, seats)
    p99 = percentile(delays, 0.99)
    tolerance = max(floor_ms, factor * p99) if p99 is not None else floor_ms
    return Reckoning(
        tolerance_ms=tolerance,
        handoff_ms=delays,
        waits=waits,
        stranded=stranded(waits, seats, tolerance),
        double_offers=double_offers(offers),
        offers=len(offers),
    )
