"""Typed inputs of the use cases, parsed from untrusted JSON with the domain's validators.

Each ``parse_*`` takes the decoded body (any JSON value), returns a frozen command and raises the
domain's ValidationError naming the offending field. Unknown fields are ignored so that clients
can send back what they read (ids, timestamps) without a 400.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from contact_center.contracts import values
from contact_center.domain.agent_state import ApiStateCommand, command_for_api_target
from contact_center.domain.callbacks import CallbackPolicy
from contact_center.domain.errors import ValidationError
from contact_center.domain.queueing import (
    DEFAULT_MAX_WAIT_SECONDS,
    DEFAULT_QUEUE_PRIORITY,
    DEFAULT_SERVICE_LEVEL_SECONDS,
    SERVICE_LEVEL_SECONDS_MAX,
    SERVICE_LEVEL_SECONDS_MIN,
    AnswerMode,
    Overflow,
    OverflowKind,
    QueueConfig,
    QueueMedia,
    RoutingStrategy,
)
from contact_center.domain.recording import check_recording_percent
from contact_center.domain.skills import SkillRequirement
from contact_center.domain.validation import (
    DEFAULT_RING_TIMEOUT_SECONDS,
    validate_agent_target_state,
    validate_display_name,
    validate_e164,
    validate_email,
    validate_identifier,
    validate_not_ready_reason,
    validate_proficiency,
    validate_ring_timeout,
    validate_skill_name,
    validate_skill_requirements,
    validate_strategy,
)

SEAT_LICENSES_MAX = 100_000
DIAL_PREFIX = re.compile(values.DIAL_PREFIX_PATTERN)
QUEUE_IDS_MAX = 50
SKILLS_MAX = 50
PAGE_LIMIT_DEFAULT = 50
PAGE_LIMIT_MAX = 100
PAGE_TOKEN_MAX_LENGTH = 2048
IDEMPOTENCY_KEY_MAX_LENGTH = 255


def _object(body: object) -> Mapping[str, Any]:
    if not isinstance(body, Mapping):
        raise ValidationError("body", "must be a JSON object")
    return body


def _int(value: object, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(field, f"must be an integer from {low} to {high}")
    return value


def _optional_name(value: object, field: str) -> str | None:
    return None if value is None else validate_display_name(value, field)


@dataclass(frozen=True)
class PageRequest:
    limit: int = PAGE_LIMIT_DEFAULT
    next_token: str | None = None


def parse_page(params: Mapping[str, str] | None) -> PageRequest:
    params = params or {}
    raw_limit = params.get("limit")
    limit = PAGE_LIMIT_DEFAULT
    if raw_limit is not None:
        if not raw_limit.isascii() or not raw_limit.isdigit():
            raise ValidationError("limit", f"must be an integer from 1 to {PAGE_LIMIT_MAX}")
        limit = _int(int(raw_limit), "limit", 1, PAGE_LIMIT_MAX)
    token = params.get("next_token") or None
    if token is not None and len(token) > PAGE_TOKEN_MAX_LENGTH:
        raise ValidationError("next_token", "is not a token this API issued")
    return PageRequest(limit, token)


# Merchants and keys


@dataclass(frozen=True)
class CreateMerchant:
    name: str
    contact_email: str
    seat_licenses: int = 0


@dataclass(frozen=True)
class UpdateMerchant:
    name: str | None = None
    contact_email: str | None = None
    seat_licenses: int | None = None
    dial_prefixes: tuple[str, ...] | None = None


def _seat_licenses(value: object) -> int:
    return _int(value, "seat_licenses", 0, SEAT_LICENSES_MAX)


def parse_create_merchant(body: object) -> CreateMerchant:
    data = _object(body)
    return CreateMerchant(
        name=validate_display_name(data.get("name"), "name"),
        contact_email=validate_email(data.get("contact_email"), "contact_email"),
        seat_licenses=_seat_licenses(data.get("seat_licenses", 0)),
    )


def parse_update_merchant(body: object) -> UpdateMerchant:
    data = _object(body)
    email = data.get("contact_email")
    licences = data.get("seat_licenses")
    return UpdateMerchant(
        name=_optional_name(data.get("name"), "name"),
        contact_email=None if email is None else validate_email(email, "contact_email"),
        seat_licenses=None if licences is None else _seat_licenses(licences),
        dial_prefixes=_dial_prefixes(data.get("dial_prefixes")),
    )


def _dial_prefixes(value: object) -> tuple[str, ...] | None:
    """E.164 prefixes: "+" and up to 15 digits each (just "+": any number); [] clears them."""
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > values.DIAL_PREFIXES_MAX:
        raise ValidationError(
            "dial_prefixes", f"must be a list of at most {values.DIAL_PREFIXES_MAX} prefixes"
        )
    for prefix in value:
        if not isinstance(prefix, str) or DIAL_PREFIX.fullmatch(prefix) is None:
            raise ValidationError("dial_prefixes", 'each must be "+" and up to 15 digits, e.g. "+44"')
    return tuple(dict.fromkeys(value))


@dataclass(frozen=True)
class CreateApiKey:
    name: str | None = None


def parse_create_api_key(body: object) -> CreateApiKey:
    return CreateApiKey(name=_optional_name(_object(body).get("name"), "name"))


# Queues


@dataclass(frozen=True)
class QueueSettings:
    """Every routing setting of a queue; a PATCH fills the fields it does not give from the stored queue."""

    name: str
    skills: tuple[SkillRequirement, ...] = ()
    priority: int = DEFAULT_QUEUE_PRIORITY
    strategy: RoutingStrategy = RoutingStrategy.LONGEST_IDLE
    max_wait_seconds: int = DEFAULT_MAX_WAIT_SECONDS
    overflow: Overflow | None = None
    wrap_up_seconds: int = 0
    media: QueueMedia = field(default_factory=QueueMedia)
    service_level_seconds: int = DEFAULT_SERVICE_LEVEL_SECONDS
    recording_percent: int = 0
    callback: CallbackPolicy | None = None

    def check(self, queue_id: str) -> None:
        """The domain's rules on the whole configuration (ranges, no overflow into itself)."""
        QueueConfig(
            queue_id=queue_id,
            name=self.name,
            required_skills=self.skills,
            priority=self.priority,
            strategy=self.strategy,
            max_wait_seconds=self.max_wait_seconds,
            overflow=self.overflow,
            wrap_up_seconds=self.wrap_up_seconds,
            media=self.media,
            recording_percent=self.recording_percent,
            callback=self.callback,
        )


@dataclass(frozen=True)
class QueuePatch:
    """Only the fields present in the request; ``overflow_given`` tells "clear it" from "leave it"."""

    values: dict[str, Any]


def _overflow(value: object) -> Overflow | None:
    if value is None:
        return None
    data = value if isinstance(value, Mapping) else None
    if data is None:
        raise ValidationError("overflow", "must be an object with type and target, or null")
    kind = data.get("type")
    try:
        overflow_kind = OverflowKind(kind) if isinstance(kind, str) else None
    except ValueError:
        overflow_kind = None
    if overflow_kind is None:
        raise ValidationError("overflow.type", f"must be one of {[k.value for k in OverflowKind]}")
    target = data.get("target")
    if overflow_kind is OverflowKind.QUEUE:
        target = validate_identifier(target, "overflow.target")
    elif not isinstance(target, str) or not target.strip() or len(target) > 256:
        raise ValidationError("overflow.target", "must be a non-empty string of at most 256 characters")
    return Overflow(overflow_kind, target)


_MEDIA_FIELDS = ("answer", "greeting", "announce_every_seconds", "greeting_prompt", "music_prompt")


def _media(value: object) -> QueueMedia:
    """A queue's ``media`` object; fields it leaves out take their defaults (a PATCH replaces the
    whole object)."""
    if not isinstance(value, Mapping):
        raise ValidationError("media", "must be an object")
    for key in value:
        if key not in _MEDIA_FIELDS:
            raise ValidationError(f"media.{key}", f"is not a media setting (one of {list(_MEDIA_FIELDS)})")
    defaults = QueueMedia()
    answer = value.get("answer", defaults.answer.value)
    try:
        mode = AnswerMode(answer) if isinstance(answer, str) else None
    except ValueError:
        mode = None
    if mode is None:
        raise ValidationError("media.answer", f"must be one of {[m.value for m in AnswerMode]}")
    return QueueMedia(
        answer=mode,
        greeting=value.get("greeting", defaults.greeting),
        announce_every_seconds=value.get("announce_every_seconds", defaults.announce_every_seconds),
        greeting_prompt=value.get("greeting_prompt"),
        music_prompt=value.get("music_prompt"),
    )


_QUEUE_FIELD_PARSERS: dict[str, Any] = {
    "name": lambda v: validate_display_name(v, "name"),
    "skills": lambda v: validate_skill_requirements(v, "skills"),
    "priority": lambda v: _int(v, "priority", 1, 10),
    "strategy": lambda v: validate_strategy(v, "strategy"),
    "max_wait_seconds": lambda v: _int(v, "max_wait_seconds", 1, 7200),
    "overflow": _overflow,
    "wrap_up_seconds": lambda v: _int(v, "wrap_up_seconds", 0, 3600),
    "media": _media,
    "service_level_seconds": lambda v: _int(
        v, "service_level_seconds", SERVICE_LEVEL_SECONDS_MIN, SERVICE_LEVEL_SECONDS_MAX
    ),
    "recording_percent": check_recording_percent,
    "callback": CallbackPolicy.from_value,
}

# Settings whose null means "none" (cleared), not a missing value.
_NULLABLE_QUEUE_FIELDS = ("overflow", "callback")


def _queue_values(data: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, parse in _QUEUE_FIELD_PARSERS.items():
        if name not in data:
            continue
        if data[name] is None and name not in _NULLABLE_QUEUE_FIELDS:
            raise ValidationError(name, "must not be null")
        values[name] = parse(data[name])
    if "skills" in values and len(values["skills"]) > SKILLS_MAX:
        raise ValidationError("skills", f"must list at most {SKILLS_MAX} skills")
    return values


def parse_create_queue(body: object) -> QueueSettings:
    data = _object(body)
    if "name" not in data:
        raise ValidationError("name", "is required")
    settings = QueueSettings(**_queue_values(data))
    settings.check("new")
    return settings


def parse_update_queue(body: object) -> QueuePatch:
    return QueuePatch(_queue_values(_object(body)))


# Numbers


@dataclass(frozen=True)
class CreateNumber:
    number: str
    queue_id: str


def parse_create_number(body: object) -> CreateNumber:
    data = _object(body)
    return CreateNumber(
        number=validate_e164(data.get("number"), "number"),
        queue_id=validate_identifier(data.get("queue_id"), "queue_id"),
    )


def parse_number_path(value: str) -> str:
    return validate_e164(value, "number")


# Seats


@dataclass(frozen=True)
class SeatProfile:
    display_name: str
    skills: dict[str, int]
    queue_ids: tuple[str, ...]
    ring_timeout_seconds: int = DEFAULT_RING_TIMEOUT_SECONDS


@dataclass(frozen=True)
class SeatPatch:
    display_name: str | None = None
    skills: dict[str, int] | None = None
    queue_ids: tuple[str, ...] | None = None
    ring_timeout_seconds: int | None = None


def _seat_skills(value: object) -> dict[str, int]:
    """``[{"name": ..., "proficiency": n}]`` into the seat's name -> proficiency map."""
    if not isinstance(value, list):
        raise ValidationError("skills", "must be a list of {name, proficiency}")
    if len(value) > SKILLS_MAX:
        raise ValidationError("skills", f"must list at most {SKILLS_MAX} skills")
    skills: dict[str, int] = {}
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValidationError(f"skills[{index}]", "must be an object with name and proficiency")
        name = validate_skill_name(item.get("name"), f"skills[{index}].name")
        if name in skills:
            raise ValidationError(f"skills[{index}].name", f"skill {name!r} is given twice")
        skills[name] = validate_proficiency(item.get("proficiency"), f"skills[{index}].proficiency")
    return skills


def _queue_ids(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValidationError("queue_ids", "must be a list of queue ids")
    if len(value) > QUEUE_IDS_MAX:
        raise ValidationError("queue_ids", f"must list at most {QUEUE_IDS_MAX} queues")
    ids = [validate_identifier(item, f"queue_ids[{index}]") for index, item in enumerate(value)]
    return tuple(dict.fromkeys(ids))  # a repeated id means the same queue; keep the first order


def _optional_ring_timeout(value: object) -> int | None:
    return None if value is None else validate_ring_timeout(value, "ring_timeout_seconds")


def parse_create_seat(body: object) -> SeatProfile:
    data = _object(body)
    return SeatProfile(
        display_name=validate_display_name(data.get("display_name"), "display_name"),
        skills=_seat_skills(data.get("skills", [])),
        queue_ids=_queue_ids(data.get("queue_ids", [])),
        ring_timeout_seconds=validate_ring_timeout(
            data.get("ring_timeout_seconds", DEFAULT_RING_TIMEOUT_SECONDS), "ring_timeout_seconds"
        ),
    )


def parse_update_seat(body: object) -> SeatPatch:
    data = _object(body)
    return SeatPatch(
        display_name=_optional_name(data.get("display_name"), "display_name"),
        skills=None if data.get("skills") is None else _seat_skills(data["skills"]),
        queue_ids=None if data.get("queue_ids") is None else _queue_ids(data["queue_ids"]),
        ring_timeout_seconds=_optional_ring_timeout(data.get("ring_timeout_seconds")),
    )


def parse_state_change(body: object) -> ApiStateCommand:
    """The command an agent's own request stands for; other states are driven by calls only."""
    data = _object(body)
    target = validate_agent_target_state(data.get("state"), "state")
    raw_reason = data.get("reason")
    reason = None if raw_reason is None else validate_not_ready_reason(raw_reason, "reason")
    return command_for_api_target(target, reason)


def parse_release(body: object, default_reason: str) -> ApiStateCommand:
    """Where a force-released seat goes: as ``parse_state_change``; without a state, not ready
    (its phone is likely gone too) with ``default_reason``."""
    data = _object(body)
    if data.get("state") is None:
        return parse_state_change({"state": "not_ready", "reason": data.get("reason") or default_reason})
    return parse_state_change(data)


def parse_idempotency_key(value: str) -> str:
    if not value or len(value) > IDEMPOTENCY_KEY_MAX_LENGTH or not value.isascii() or not value.isprintable():
        raise ValidationError(
            "Idempotency-Key", f"must be 1 to {IDEMPOTENCY_KEY_MAX_LENGTH} printable ASCII characters"
        )
    return value
