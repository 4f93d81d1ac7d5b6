"""The values crossing the API boundary are the domain's and the table's, not copies of them."""

from __future__ import annotations

import re

import pytest

from contact_center.contracts import settings as contract
from contact_center.contracts import values
from contact_center.data import schema
from contact_center.domain import validation
from contact_center.domain.agent_state import API_SETTABLE_STATES, AgentState
from contact_center.domain.errors import ValidationError


def test_agent_states_are_the_domains_in_its_order() -> None:
    assert tuple(state.value for state in AgentState) == values.AGENT_STATES


def test_api_settable_states_are_the_domains() -> None:
    assert set(values.API_SETTABLE_AGENT_STATES) == {state.value for state in API_SETTABLE_STATES}


def test_the_table_name_variable_is_the_schemas() -> None:
    assert contract.TABLE.name == schema.TABLE_NAME_ENV


@pytest.mark.parametrize(
    ("low", "high"), [(values.RING_TIMEOUT_SECONDS_MIN, values.RING_TIMEOUT_SECONDS_MAX)]
)
def test_the_domain_enforces_the_ring_timeout_bounds(low: int, high: int) -> None:
    assert validation.validate_ring_timeout(low) == low
    assert validation.validate_ring_timeout(high) == high
    for outside in (low - 1, high + 1):
        with pytest.raises(ValidationError):
            validation.validate_ring_timeout(outside)
    assert low <= values.DEFAULT_RING_TIMEOUT_SECONDS <= high


@pytest.mark.parametrize("identifier", ["a", "A-1_b", "x" * 64])
def test_ids_the_pattern_accepts_the_domain_accepts(identifier: str) -> None:
    assert re.fullmatch(values.ID_PATTERN, identifier)
    assert validation.validate_identifier(identifier, "id") == identifier


@pytest.mark.parametrize("identifier", ["", "-a", "a#b", "x" * 65])
def test_ids_the_pattern_refuses_the_domain_refuses(identifier: str) -> None:
    assert not re.fullmatch(values.ID_PATTERN, identifier)
    with pytest.raises(ValidationError):
        validation.validate_identifier(identifier, "id")


@pytest.mark.parametrize(
    ("number", "valid"), [("+14155550100", True), ("+0123", False), ("14155550100", False)]
)
def test_phone_numbers_follow_the_one_e164_pattern(number: str, valid: bool) -> None:
    assert bool(re.fullmatch(values.E164_PATTERN, number)) is valid
    if valid:
        assert validation.validate_e164(number) == number
    else:
        with pytest.raises(ValidationError):
            validation.validate_e164(number)


def test_anchored_matches_the_whole_string_only() -> None:
    assert re.search(values.anchored(values.E164_PATTERN), "+1415")
    assert not re.search(values.anchored(values.E164_PATTERN), "call +1415")
