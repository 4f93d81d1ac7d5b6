"""Skills: what a seat knows (name -> proficiency) and what a queue requires of it."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .errors import ValidationError

PROFICIENCY_MIN = 1
PROFICIENCY_MAX = 5
SKILL_NAME_MAX_LENGTH = 64
# Lower case only, so "Spanish" and "spanish" can never be two skills that fail to match.
SKILL_NAME_PATTERN = re.compile(rf"[a-z0-9][a-z0-9_.-]{{0,{SKILL_NAME_MAX_LENGTH - 1}}}")

Skills = Mapping[str, int]
"""A seat's skills: name -> proficiency from PROFICIENCY_MIN (novice) to PROFICIENCY_MAX (expert)."""


def is_valid_skill_name(name: str) -> bool:
    return SKILL_NAME_PATTERN.fullmatch(name) is not None


def is_valid_proficiency(value: object) -> bool:
    # bool is an int subclass; True must not pass for proficiency 1.
    return (
        isinstance(value, int) and not isinstance(value, bool) and PROFICIENCY_MIN <= value <= PROFICIENCY_MAX
    )


@dataclass(frozen=True, slots=True)
class SkillRequirement:
    """A queue needs agents with skill ``name`` at ``min_proficiency`` or better."""

    name: str
    min_proficiency: int = PROFICIENCY_MIN

    def __post_init__(self) -> None:
        if not is_valid_skill_name(self.name):
            raise ValidationError("skills.name", f"invalid skill name {self.name!r}")
        if not is_valid_proficiency(self.min_proficiency):
            raise ValidationError(
                "skills.min_proficiency", f"must be an integer from {PROFICIENCY_MIN} to {PROFICIENCY_MAX}"
            )

    def is_met_by(self, skills: Skills) -> bool:
        return skills.get(self.name, 0) >= self.min_proficiency


def meets_requirements(skills: Skills, requirements: Iterable[SkillRequirement]) -> bool:
    """True when ``skills`` satisfies every requirement (a queue with none accepts anyone)."""
    return all(requirement.is_met_by(skills) for requirement in requirements)


def missing_requirements(skills: Skills, requirements: Iterable[SkillRequirement]) -> list[SkillRequirement]:
    """The requirements ``skills`` does not meet, to explain to an admin why an agent gets no calls."""
    return [requirement for requirement in requirements if not requirement.is_met_by(skills)]


def proficiency_score(skills: Skills, requirements: Iterable[SkillRequirement]) -> int:
    """Sum of the agent's proficiency over the queue's required skills (the most-skilled key).

    A sum rather than an average: every candidate is scored on the same set of skills, so the two
    order agents identically, and the sum stays an exact integer.
    """
    return sum(skills.get(requirement.name, 0) for requirement in requirements)
