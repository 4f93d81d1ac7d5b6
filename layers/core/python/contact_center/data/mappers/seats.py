"""Seat items: the agent's live state, its profile, and the seat as the router sees it."""

from __future__ import annotations

import logging
from typing import Any

from contact_center.data import keys
from contact_center.data.mappers.common import as_dict, optional_int
from contact_center.data.models import SeatItem, SeatQueueItem
from contact_center.data.seat_state import SeatState
from contact_center.data.seats import SeatFromState
from contact_center.domain.acd import AgentCandidate
from contact_center.domain.agent_state import AgentSnapshot, AgentState
from contact_center.domain.contact import PRIORITY_LEAST_URGENT, PRIORITY_MOST_URGENT
from contact_center.domain.skills import is_valid_proficiency
from contact_center.domain.validation import (
    DEFAULT_RING_TIMEOUT_SECONDS,
    RING_TIMEOUT_SECONDS_MAX,
    RING_TIMEOUT_SECONDS_MIN,
)
from contact_center.services.records import Seat
from contact_center.services.routing.ports import AgentSeat, SeatTransition

log = logging.getLogger("contact_center.data.mappers.seats")

# Seats belong to queues with a per-agent priority in storage; the API does not expose it yet.
DEFAULT_AGENT_QUEUE_PRIORITY = 1


def agent_state_from(value: str) -> AgentState:
    """The state as stored. The repositories write the enum's value ("available"); the enum's name
    ("AVAILABLE") is read too, so a writer that spells it so does not make a seat unreadable."""
    try:
        return AgentState(value)
    except ValueError:
        return AgentState[value.upper()]


def ring_timeout_from(stored: Any) -> int:
    """How long the seat's phones ring. Seats written before the setting existed carry none, and a
    value outside the bounds the API accepts cannot have come from it: both ring for the default,
    and the API shows what the router uses."""
    if stored is None:
        return DEFAULT_RING_TIMEOUT_SECONDS
    seconds = int(stored)
    if not RING_TIMEOUT_SECONDS_MIN <= seconds <= RING_TIMEOUT_SECONDS_MAX:
        return DEFAULT_RING_TIMEOUT_SECONDS
    return seconds


def snapshot_from_item(item: SeatItem) -> AgentSnapshot:
    return AgentSnapshot(
        seat_id=item.seat_id,
        state=agent_state_from(item.state),
        version=int(item.version),
        state_since_ms=int(item.state_since or 0),
        reason=item.state_reason,
        idle_since_ms=optional_int(item.idle_since),
        contact_id=item.contact_id,
        wrap_up_deadline_ms=optional_int(item.wrap_up_until),
    )


def seat_state_from_snapshot(agent: AgentSnapshot) -> SeatState:
    return SeatState(
        state=agent.state.value,
        version=agent.version,
        state_since=agent.state_since_ms,
        reason=agent.reason,
        idle_since=agent.idle_since_ms,
        contact_id=agent.contact_id,
        wrap_up_until=agent.wrap_up_deadline_ms,
    )


def skills_from_item(item: SeatItem) -> dict[str, int]:
    return {name: int(level) for name, level in as_dict(item.skills).items()}


def queues_from_item(item: SeatItem) -> dict[str, int]:
    """Queue id -> the agent's priority for it."""
    return {queue_id: int(priority) for queue_id, priority in as_dict(item.queues).items()}


def queue_map(queue_ids: tuple[str, ...]) -> dict[str, int]:
    return dict.fromkeys(queue_ids, DEFAULT_AGENT_QUEUE_PRIORITY)


def seat_from_item(item: SeatItem) -> Seat:
    return Seat(
        merchant_id=item.merchant_id,
        seat_id=item.seat_id,
        display_name=item.display_name,
        sip_username=item.sip_username,
        agent=snapshot_from_item(item),
        skills=skills_from_item(item),
        queue_ids=tuple(sorted(queues_from_item(item))),
        ring_timeout_seconds=ring_timeout_from(item.ring_timeout_seconds),
        created_at=int(item.created_at),
    )


def _valid_priority(value: Any) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and PRIORITY_MOST_URGENT <= value <= PRIORITY_LEAST_URGENT
    )


def agent_seat_from_item(item: SeatItem | SeatQueueItem) -> AgentSeat:
    """The seat as the router reads it, from the seat or from one of its availability entries."""
    # Bad profile data on one seat must not stop routing for the whole merchant: such entries are
    # dropped (and logged) rather than raised.
    skills = {name: int(level) for name, level in as_dict(item.skills).items()}
    queues = {queue_id: int(priority) for queue_id, priority in as_dict(item.queues).items()}
    good_skills = {name: level for name, level in skills.items() if is_valid_proficiency(level)}
    good_queues = {queue_id: priority for queue_id, priority in queues.items() if _valid_priority(priority)}
    if good_skills != skills or good_queues != queues:
        log.warning("seat %s has invalid skills or queue priorities; ignoring them", item.seat_id)
    agent = (
        snapshot_from_item(item)
        if isinstance(item, SeatItem)
        else AgentSnapshot(
            seat_id=item.seat_id,
            state=agent_state_from(item.state),
            version=int(item.version),
            state_since_ms=int(item.state_since or 0),
            reason=item.state_reason,
            idle_since_ms=optional_int(item.idle_since),
        )
    )
    return AgentSeat(
        merchant_id=item.merchant_id,
        candidate=AgentCandidate(agent, good_skills, good_queues),
        sip_username=item.sip_username,
        ring_timeout_seconds=ring_timeout_from(item.ring_timeout_seconds),
    )


def agent_seat_ref(seat: AgentSeat) -> SeatItem:
    """The seat's key and the version it was read at: what an offer conditions on."""
    return SeatItem(
        pk=keys.seat_pk(seat.merchant_id, seat.seat_id),
        sk=keys.seat_sk(seat.seat_id),
        merchant_id=seat.merchant_id,
        seat_id=seat.seat_id,
        version=seat.agent.version,
        queues=dict(seat.candidate.queues),  # its availability entries, dropped by the offer
    )


def seat_profile_item(seat: AgentSeat) -> SeatItem:
    """The profile of a seat as read (what its availability entries carry), keyed as the seat."""
    item = agent_seat_ref(seat)
    item.skills = dict(seat.candidate.skills)
    item.sip_username = seat.sip_username
    item.ring_timeout_seconds = seat.ring_timeout_seconds
    return item


def seat_from_state(seat: SeatTransition) -> SeatFromState:
    before = seat.before
    return SeatFromState(
        seat.merchant_id, before.seat_id, before.state.value, before.version, before.contact_id
    )
