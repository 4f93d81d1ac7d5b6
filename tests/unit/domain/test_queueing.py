"""Queue configuration and the sort key the data layer stores for waiting contacts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contact_center.domain.errors import ValidationError
from contact_center.domain.queueing import (
    MAX_SORTABLE_MILLIS,
    Overflow,
    OverflowKind,
    QueueConfig,
    QueuedContact,
    parse_queue_sort_key,
    queue_sort_key,
)
from contact_center.domain.skills import SkillRequirement

# Contact ids as the data layer may see them: any text without lone surrogates (which cannot be
# stored as UTF-8 anyway), including the separator itself.
contact_ids = st.text(st.characters(codec="utf-8"), min_size=1, max_size=20)
entries = st.tuples(st.integers(1, 10), st.integers(0, MAX_SORTABLE_MILLIS), contact_ids)


@given(st.lists(entries, max_size=30))
def test_sorting_the_keys_equals_sorting_the_tuples(items: list[tuple[int, int, str]]) -> None:
    assert sorted(queue_sort_key(*item) for item in items) == [
        queue_sort_key(*item) for item in sorted(items)
    ]


@given(entries, entries)
def test_key_order_matches_utf8_byte_order(a: tuple[int, int, str], b: tuple[int, int, str]) -> None:
    # DynamoDB compares sort keys as UTF-8 bytes, not as Python strings.
    key_a, key_b = queue_sort_key(*a), queue_sort_key(*b)
    assert (key_a < key_b) == (key_a.encode() < key_b.encode()) == (a < b)


@given(entries)
def test_sort_key_round_trips(item: tuple[int, int, str]) -> None:
    assert parse_queue_sort_key(queue_sort_key(*item)) == item


def test_sort_key_shape() -> None:
    assert queue_sort_key(1, 1_700_000_000_000, "c-1") == "01#001700000000000#c-1"
    assert queue_sort_key(10, 5, "a#b") == "10#000000000000005#a#b"


def test_most_urgent_priority_sorts_first_whatever_its_age() -> None:
    assert queue_sort_key(1, 9_000, "late") < queue_sort_key(2, 1, "early")


@pytest.mark.parametrize(
    ("priority", "millis", "contact_id", "field"),
    [
        (0, 1, "c", "priority"),
        (11, 1, "c", "priority"),
        (1, -1, "c", "enqueued_at_ms"),
        (1, MAX_SORTABLE_MILLIS + 1, "c", "enqueued_at_ms"),
        (1, 1, "", "contact_id"),
    ],
)
def test_sort_key_refuses_values_that_would_break_the_order(
    priority: int, millis: int, contact_id: str, field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        queue_sort_key(priority, millis, contact_id)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "key", ["", "1#000000000000001#c", "01#1#c", "01#000000000000001#", "0x#000000000000001#c"]
)
def test_parse_refuses_foreign_keys(key: str) -> None:
    with pytest.raises(ValidationError):
        parse_queue_sort_key(key)


def test_queued_contact_keys() -> None:
    contact = QueuedContact("c-1", "sales", enqueued_at_ms=42, priority=3)
    assert contact.order_key == (3, 42, "c-1")
    assert contact.sort_key == "03#000000000000042#c-1"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"queue_id": ""}, "queue_id"),
        ({"priority": 0}, "priority"),
        ({"priority": 11}, "priority"),
        ({"max_wait_seconds": 0}, "max_wait_seconds"),
        ({"max_wait_seconds": 7201}, "max_wait_seconds"),
        ({"wrap_up_seconds": -1}, "wrap_up_seconds"),
        ({"required_skills": (SkillRequirement("a"), SkillRequirement("a", 2))}, "required_skills"),
        ({"overflow": Overflow(OverflowKind.QUEUE, "q")}, "overflow.target"),
    ],
)
def test_queue_config_limits(kwargs: dict[str, object], field: str) -> None:
    arguments: dict[str, object] = {"queue_id": "q", **kwargs}
    with pytest.raises(ValidationError) as raised:
        QueueConfig(**arguments)  # type: ignore[arg-type]
    assert raised.value.field == field


def test_overflow_targets() -> None:
    to_legacy = QueueConfig("q", overflow=Overflow(OverflowKind.LEGACY_TRUNK, "legacy-pbx"))
    to_queue = QueueConfig("q", overflow=Overflow(OverflowKind.QUEUE, "q2"))
    assert to_legacy.overflow is not None and to_legacy.overflow.kind is OverflowKind.LEGACY_TRUNK
    assert to_queue.overflow is not None and to_queue.overflow.target == "q2"
    assert QueueConfig("q").overflow is None
    with pytest.raises(ValidationError):
        Overflow(OverflowKind.QUEUE, "")


def test_max_wait() -> None:
    queue = QueueConfig("q", max_wait_seconds=60)
    assert queue.wait_deadline_ms(1_000) == 61_000
    assert not queue.wait_expired(1_000, 60_999)
    assert queue.wait_expired(1_000, 61_000)


@pytest.mark.parametrize("level", [0, 6])
def test_skill_requirement_limits(level: int) -> None:
    with pytest.raises(ValidationError, match="min_proficiency"):
        SkillRequirement("spanish", level)


def test_skill_requirement_names_are_lower_case() -> None:
    with pytest.raises(ValidationError, match=r"skills\.name"):
        SkillRequirement("Spanish")
