"""Parsing untrusted input (API bodies, configuration) into domain values.

Each function takes ``object`` because JSON may hold anything, returns the typed and normalised
value, and raises ValidationError naming the field, which the API turns into a 400 response.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from contact_center.contracts import values

from .agent_state import API_SETTABLE_STATES, AgentState, check_not_ready_reason
from .contact import PRIORITY_LEAST_URGENT, PRIORITY_MOST_URGENT
from .errors import ValidationError
from .queueing import RoutingStrategy
from .skills import (
    PROFICIENCY_MAX,
    PROFICIENCY_MIN,
    SKILL_NAME_MAX_LENGTH,
    SkillRequirement,
    is_valid_skill_name,
)

E164_PATTERN = re.compile(values.E164_PATTERN)
DISPLAY_NAME_MAX_LENGTH = 100
EMAIL_MAX_LENGTH = 254  # RFC 5321 path limit
# Deliberately simple: one "@", no spaces, a dot in the domain. Deliverability is proved by
# sending, not by a regular expression.
EMAIL_PATTERN = re.compile(r"[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+")
IDENTIFIER_PATTERN = re.compile(values.ID_PATTERN)
# The bounds and their reasons are contracts with the API document (contact_center.contracts.values).
RING_TIMEOUT_SECONDS_MIN = values.RING_TIMEOUT_SECONDS_MIN
RING_TIMEOUT_SECONDS_MAX = values.RING_TIMEOUT_SECONDS_MAX
DEFAULT_RING_TIMEOUT_SECONDS = values.DEFAULT_RING_TIMEOUT_SECONDS


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    return value


def _require_int(value: object, field: str, low: int, high: int) -> int:
    # JSON true/false arrive as bool, a subclass of int; they are never a valid number here.
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, f"must be an integer from {low} to {high}")
    return value


def validate_e164(value: object, field: str = "phone_number") -> str:
    number = _require_str(value, field)
    if not E164_PATTERN.fullmatch(number):
        raise ValidationError(field, "must be in E.164 form: '+' then 1 to 15 digits, the first not 0")
    return number


def validate_identifier(value: object, field: str) -> str:
    identifier = _require_str(value, field)
    if not IDENTIFIER_PATTERN.fullmatch(identifier):
        raise ValidationError(
            field, "must be 1 to 64 letters, digits, '_' or '-', starting with a letter or digit"
        )
    return identifier


def validate_skill_name(value: object, field: str = "skill") -> str:
    """A skill name, normalised to lower case so that "Spanish" and "spanish" are one skill."""
    name = _require_str(value, field).strip().lower()
    if not is_valid_skill_name(name):
        raise ValidationError(
            field,
            f"must be 1 to {SKILL_NAME_MAX_LENGTH} of a-z, 0-9, '_', '.', '-', starting with a letter or digit",
        )
    return name


def validate_proficiency(value: object, field: str = "proficiency") -> int:
    return _require_int(value, field, PROFICIENCY_MIN, PROFICIENCY_MAX)


def validate_ring_timeout(value: object, field: str = "ring_timeout_seconds") -> int:
    return _require_int(value, field, RING_TIMEOUT_SECONDS_MIN, RING_TIMEOUT_SECONDS_MAX)


def validate_priority(value: object, field: str = "priority") -> int:
    return _require_int(value, field, PRIORITY_MOST_URGENT, PRIORITY_LEAST_URGENT)


def validate_skills(value: object, field: str = "skills") -> dict[str, int]:
    """A seat's skills from a JSON object ``{"name": proficiency}``."""
    if not isinstance(value, Mapping):
        raise ValidationError(field, "must be an object of skill name to proficiency")
    skills: dict[str, int] = {}
    for raw_name, raw_level in value.items():
        name = validate_skill_name(raw_name, f"{field}.name")
        if name in skills:
            raise ValidationError(field, f"skill {name!r} is given twice")
        skills[name] = validate_proficiency(raw_level, f"{field}.{name}")
    return skills


def validate_skill_requirements(
    value: object, field: str = "required_skills"
) -> tuple[SkillRequirement, ...]:
    """A queue's requirements from a JSON list of ``{"name": ..., "min_proficiency": ...}``."""
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list")
    requirements: list[SkillRequirement] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_field = f"{field}[{index}]"
        if not isinstance(item, Mapping):
            raise ValidationError(item_field, "must be an object with name and min_proficiency")
        name = validate_skill_name(item.get("name"), f"{item_field}.name")
        if name in seen:
            raise ValidationError(item_field, f"skill {name!r} is required twice")
        seen.add(name)
        level = validate_proficiency(
            item.get("min_proficiency", PROFICIENCY_MIN), f"{item_field}.min_proficiency"
        )
        requirements.append(SkillRequirement(name, level))
    return tuple(requirements)


def validate_display_name(value: object, field: str = "display_name") -> str:
    name = _require_str(value, field).strip()
    if not name:
        raise ValidationError(field, "must not be blank")
    if len(name) > DISPLAY_NAME_MAX_LENGTH:
        raise ValidationError(field, f"must be at most {DISPLAY_NAME_MAX_LENGTH} characters")
    if not name.isprintable():
        raise ValidationError(field, "must not contain control characters")
    return name


def validate_email(value: object, field: str = "email") -> str:
    """An e-mail address with its domain lower-cased (the local part is case-sensitive by RFC)."""
    email = _require_str(value, field).strip()
    if len(email) > EMAIL_MAX_LENGTH or not EMAIL_PATTERN.fullmatch(email):
        raise ValidationError(field, "must be an e-mail address like name@example.com")
    local, domain = email.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def _one_of(value: object, field: str, allowed: list[str]) -> str:
    # The message lists the choices even for a wrong type, so one error tells the caller what to send.
    if not isinstance(value, str) or value not in allowed:
        raise ValidationError(field, f"must be one of {allowed}")
    return value


def validate_strategy(value: object, field: str = "strategy") -> RoutingStrategy:
    return RoutingStrategy(_one_of(value, field, [strategy.value for strategy in RoutingStrategy]))


def validate_not_ready_reason(value: object, field: str = "reason") -> str:
    reason = _require_str(value, field).strip()
    try:
        check_not_ready_reason(reason)
    except ValidationError as error:
        raise ValidationError(field, error.message) from None
    return reason


def validate_agent_target_state(value: object, field: str = "state") -> AgentState:
    """A state the API may request for an agent (available, not_ready, offline); anything else is 400."""
    allowed = sorted(state.value for state in API_SETTABLE_STATES)
    return AgentState(_one_of(value, field, allowed))
