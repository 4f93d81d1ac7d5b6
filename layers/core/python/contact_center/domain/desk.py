"""The agent desk's rules: the merchant's CRM link and wrap-up codes, and who hears which events.

A merchant configures two things for its agents' desks: a CRM link template (``{caller}`` is
replaced by the caller's number, URL-encoded) and the wrap-up codes an agent picks from after a
call. The event socket delivers each event to *topics*: a seat (its agent), a queue (its
supervisors) and the merchant (its admins); a connection listens to the topics its credentials
reach, decided here so the socket and the API can never disagree.
"""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .access import Principal, Role
from .errors import ValidationError

CALLER_PLACEHOLDER = "{caller}"
MAX_TEMPLATE_LENGTH = 500
MAX_WRAP_UP_CODES = 50
MAX_WRAP_UP_CODE_LENGTH = 40
# Printable, no leading/trailing space: the codes end up in CSV exports and on the desk's buttons.
_CODE = re.compile(r"[\w][\w .,:/()&+-]*[\w)]|[\w]", re.UNICODE)


@dataclass(frozen=True)
class DeskSettings:
    """What a merchant's agents' desks show beside a call."""

    crm_link_template: str | None = None
    wrap_up_codes: tuple[str, ...] = ()


def validate_crm_link_template(value: object, field: str = "crm_link_template") -> str | None:
    """An https URL template, or None to show no link; ValidationError naming ``field`` otherwise.

    https only: the page embeds the link, and a ``javascript:`` or plain-http link in an agent's
    desk is an injection or a leak of callers' numbers.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(field, "must be a string")
    if len(value) > MAX_TEMPLATE_LENGTH:
        raise ValidationError(field, f"must be at most {MAX_TEMPLATE_LENGTH} characters")
    parsed = urllib.parse.urlsplit(value.replace(CALLER_PLACEHOLDER, "0"))
    if parsed.scheme != "https" or not parsed.hostname:
        raise ValidationError(
            field, "must be an https:// URL, e.g. https://crm.example/customers?phone={caller}"
        )
    if any(ch.isspace() for ch in value):
        raise ValidationError(field, "must not contain spaces")
    return value


def validate_wrap_up_codes(value: object, field: str = "wrap_up_codes") -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValidationError(field, "must be a list of strings")
    if len(value) > MAX_WRAP_UP_CODES:
        raise ValidationError(field, f"must hold at most {MAX_WRAP_UP_CODES} codes")
    codes: list[str] = []
    for code in value:
        if not isinstance(code, str) or not _CODE.fullmatch(code) or len(code) > MAX_WRAP_UP_CODE_LENGTH:
            raise ValidationError(
                field, f"each code is 1-{MAX_WRAP_UP_CODE_LENGTH} letters, digits or punctuation: {code!r}"
            )
        if code in codes:
            raise ValidationError(field, f"{code!r} is listed twice")
        codes.append(code)
    return tuple(codes)


def check_wrap_up_code(code: object, allowed: Sequence[str], field: str = "code") -> str:
    """One of the merchant's codes (exactly as listed)."""
    if not isinstance(code, str) or code not in allowed:
        listed = ", ".join(allowed) if allowed else "none are configured"
        raise ValidationError(field, f"must be one of the merchant's wrap-up codes ({listed})")
    return code


def fill_crm_link(template: str | None, caller: str) -> str | None:
    """The template with the caller's number in it (the desk does the same in JS: ``web/lib``)."""
    if not template:
        return None
    return template.replace(CALLER_PLACEHOLDER, urllib.parse.quote(caller, safe=""))


# Topics ---------------------------------------------------------------------------------------


def seat_topic(merchant_id: str, seat_id: str) -> str:
    return f"{merchant_id}#SEAT#{seat_id}"


def queue_topic(merchant_id: str, queue_id: str) -> str:
    return f"{merchant_id}#QUEUE#{queue_id}"


def merchant_topic(merchant_id: str) -> str:
    return f"{merchant_id}#MERCHANT"


def listening_topics(principal: Principal) -> tuple[str, ...]:
    """The topics a socket opened with ``principal``'s credentials listens to."""
    merchant_id = principal.merchant_id
    if merchant_id is None:  # the platform admin watches merchants through their admins' sockets
        raise ValidationError("token", "the event socket is for a merchant's people and admins")
    if principal.role is Role.AGENT:
        assert principal.seat_id is not None  # Principal holds it for every agent
        return (seat_topic(merchant_id, principal.seat_id),)
    if principal.role is Role.SUPERVISOR:
        return tuple(queue_topic(merchant_id, q) for q in sorted(principal.queue_ids))
    return (merchant_topic(merchant_id),)


def event_topics(merchant_id: str, seat_id: str | None, queue_ids: Iterable[str | None]) -> tuple[str, ...]:
    """Who hears of an event about ``seat_id`` and ``queue_ids``: the seat, the queues, the merchant."""
    topics = [seat_topic(merchant_id, seat_id)] if seat_id else []
    topics += [queue_topic(merchant_id, q) for q in dict.fromkeys(queue_ids) if q]
    topics.append(merchant_topic(merchant_id))
    return tuple(topics)
