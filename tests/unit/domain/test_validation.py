"""Parsing API input into domain values."""

from __future__ import annotations

import pytest

from contact_center.domain.agent_state import AgentState
from contact_center.domain.errors import ValidationError
from contact_center.domain.queueing import RoutingStrategy
from contact_center.domain.skills import SkillRequirement
from contact_center.domain.validation import (
    validate_agent_target_state,
    validate_display_name,
    validate_e164,
    validate_email,
    validate_identifier,
    validate_not_ready_reason,
    validate_priority,
    validate_proficiency,
    validate_ring_timeout,
    validate_skill_name,
    validate_skill_requirements,
    validate_skills,
    validate_strategy,
)


@pytest.mark.parametrize("number", ["+1", "+14155550123", "+861012345678", "+" + "9" * 15, "+442071838750"])
def test_valid_e164(number: str) -> None:
    assert validate_e164(number) == number


@pytest.mark.parametrize(
    "number",
    [
        "",
        "+",
        "14155550123",
        "+0123",
        "+" + "1" * 16,
        "+1 415 555 0123",
        "+1-415",
        "+1415a",
        "++1",
        14155550123,
        None,
    ],
)
def test_invalid_e164(number: object) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_e164(number)
    assert raised.value.field == "phone_number"


def test_validation_error_names_the_field() -> None:
    with pytest.raises(ValidationError, match=r"^did: must be in E\.164 form") as raised:
        validate_e164("555", field="did")
    assert raised.value.field == "did"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("spanish", "spanish"),
        ("Spanish", "spanish"),
        (" billing ", "billing"),
        ("tier-2.vip_x", "tier-2.vip_x"),
    ],
)
def test_valid_skill_names(raw: str, expected: str) -> None:
    assert validate_skill_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "-lead", "has space", "é", "a" * 65, 5, None])
def test_invalid_skill_names(raw: object) -> None:
    with pytest.raises(ValidationError):
        validate_skill_name(raw)


@pytest.mark.parametrize(
    ("value", "valid"),
    [(1, True), (5, True), (0, False), (6, False), (True, False), ("3", False), (2.0, False)],
)
def test_proficiency(value: object, valid: bool) -> None:
    if valid:
        assert validate_proficiency(value) == value
    else:
        with pytest.raises(ValidationError, match="from 1 to 5"):
            validate_proficiency(value)


@pytest.mark.parametrize(("value", "valid"), [(1, True), (10, True), (0, False), (11, False), (None, False)])
def test_priority(value: object, valid: bool) -> None:
    if valid:
        assert validate_priority(value) == value
    else:
        with pytest.raises(ValidationError):
            validate_priority(value)


@pytest.mark.parametrize("value", [5, 7, 20, 120])
def test_ring_timeout_in_range(value: int) -> None:
    assert validate_ring_timeout(value) == value


@pytest.mark.parametrize("value", [4, 121, 0, -20, 7.5, "20", True, False, None, [20]])
def test_ring_timeout_out_of_range_or_not_an_integer(value: object) -> None:
    with pytest.raises(ValidationError, match="must be an integer from 5 to 120") as raised:
        validate_ring_timeout(value)
    assert raised.value.field == "ring_timeout_seconds"


def test_skills_mapping() -> None:
    assert validate_skills({"Spanish": 4, "billing": 2}) == {"spanish": 4, "billing": 2}


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (["spanish"], "skills"),
        ({"spanish": 6}, "skills.spanish"),
        ({"bad name": 1}, "skills.name"),
        ({"Spanish": 1, "spanish": 2}, "skills"),
    ],
)
def test_invalid_skills_mapping(raw: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_skills(raw)
    assert raised.value.field == field


def test_skill_requirements() -> None:
    raw = [{"name": "Spanish", "min_proficiency": 3}, {"name": "billing"}]
    assert validate_skill_requirements(raw) == (
        SkillRequirement("spanish", 3),
        SkillRequirement("billing", 1),
    )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"name": "x"}, "required_skills"),
        (["x"], "required_skills[0]"),
        ([{"min_proficiency": 2}], "required_skills[0].name"),
        ([{"name": "x", "min_proficiency": 9}], "required_skills[0].min_proficiency"),
        ([{"name": "x"}, {"name": "X"}], "required_skills[1]"),
    ],
)
def test_invalid_skill_requirements(raw: object, field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_skill_requirements(raw)
    assert raised.value.field == field


@pytest.mark.parametrize(
    ("raw", "expected"), [("Ana", "Ana"), ("  Zoë Müller ", "Zoë Müller"), ("王小明", "王小明")]
)
def test_valid_display_names(raw: str, expected: str) -> None:
    assert validate_display_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "x" * 101, "bad\x00name", "line\nbreak", 7])
def test_invalid_display_names(raw: object) -> None:
    with pytest.raises(ValidationError):
        validate_display_name(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ana@example.com", "ana@example.com"),
        ("Ana.Lopez+cc@Shop.Example.COM", "Ana.Lopez+cc@shop.example.com"),
        (" ops@sub.example.co.uk ", "ops@sub.example.co.uk"),
    ],
)
def test_valid_emails(raw: str, expected: str) -> None:
    assert validate_email(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "ana",
        "ana@",
        "@example.com",
        "ana@example",
        "ana@@example.com",
        "a na@example.com",
        "ana@example.",
        "x" * 65 + "@example.com",
        "a@" + "b" * 250 + ".com",
        None,
    ],
)
def test_invalid_emails(raw: object) -> None:
    with pytest.raises(ValidationError, match=r"^email: "):
        validate_email(raw)


@pytest.mark.parametrize("raw", ["longest_idle", "round_robin", "most_skilled"])
def test_valid_strategies(raw: str) -> None:
    assert validate_strategy(raw) is RoutingStrategy(raw)


@pytest.mark.parametrize("raw", ["", "LONGEST_IDLE", "random", None])
def test_invalid_strategies(raw: object) -> None:
    with pytest.raises(ValidationError, match="longest_idle"):
        validate_strategy(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("available", AgentState.AVAILABLE),
        ("not_ready", AgentState.NOT_READY),
        ("offline", AgentState.OFFLINE),
    ],
)
def test_api_target_states(raw: str, expected: AgentState) -> None:
    assert validate_agent_target_state(raw) is expected


@pytest.mark.parametrize("raw", ["on_contact", "reserved", "not_responding", "AVAILABLE", "busy", 1])
def test_api_refuses_other_states(raw: object) -> None:
    with pytest.raises(ValidationError) as raised:
        validate_agent_target_state(raw)
    assert raised.value.field == "state"


@pytest.mark.parametrize(
    ("raw", "valid"), [(" lunch ", True), ("x" * 64, True), ("", False), ("x" * 65, False), ("a\tb", False)]
)
def test_not_ready_reasons(raw: str, valid: bool) -> None:
    if valid:
        assert validate_not_ready_reason(raw) == raw.strip()
    else:
        with pytest.raises(ValidationError) as raised:
            validate_not_ready_reason(raw, field="status.reason")
        assert raised.value.field == "status.reason"


@pytest.mark.parametrize(
    ("raw", "valid"),
    [("q-1", True), ("Sales_EU", True), ("", False), ("-x", False), ("a/b", False), ("x" * 65, False)],
)
def test_identifiers(raw: str, valid: bool) -> None:
    if valid:
        assert validate_identifier(raw, "queue_id") == raw
    else:
        with pytest.raises(ValidationError, match=r"^queue_id: "):
            validate_identifier(raw, "queue_id")
