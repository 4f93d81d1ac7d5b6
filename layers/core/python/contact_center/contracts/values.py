"""Values the HTTP API, the domain and the stored items must agree on.

Patterns are written unanchored (the domain matches them with ``fullmatch``); ``anchored`` gives the
form JSON Schema and OpenAPI need.
"""

from __future__ import annotations

# A merchant, queue, seat or key id: letters, digits, "_" and "-", 1 to 64 long, not starting with
# a separator (ids appear in URLs and in table keys, where "#" is the key separator).
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}"
# E.164: "+", a country code that cannot start with 0, at most 15 digits in all. Separators are
# refused rather than stripped so a stored number is always in the one canonical form.
E164_PATTERN = r"\+[1-9][0-9]{0,14}"
# A prefix of the numbers a merchant's agents may call out to: "+" alone allows every number.
DIAL_PREFIX_PATTERN = r"\+[0-9]{0,15}"
DIAL_PREFIXES_MAX = 50

# How long an offered call rings a seat's phones before it counts as no answer (RONA). Below 5 s a
# person cannot reach the phone; above 2 minutes the caller waits on one absent agent too long.
RING_TIMEOUT_SECONDS_MIN = 5
RING_TIMEOUT_SECONDS_MAX = 120
DEFAULT_RING_TIMEOUT_SECONDS = 20

# Every state an agent's seat can be in, as stored and as the API shows it (the domain's AgentState
# values, in the order of its transition table).
AGENT_STATES = (
    "offline",
    "available",
    "reserved",
    "on_contact",
    "after_contact_work",
    "not_ready",
    "not_responding",
)
# The edge's health port (EDGE_HEALTH_PORT): the load balancer's deep check (200 only while the
# task reaches DynamoDB and the routing function and its event loop is on time) and the
# container's liveness check (200 while the process serves at all).
EDGE_HEALTH_PATH = "/health"
EDGE_LIVE_PATH = "/live"

# The states a merchant may ask for over the API; every other one is reached only by a call's life.
API_SETTABLE_AGENT_STATES = ("available", "not_ready", "offline")


def anchored(pattern: str) -> str:
    """The pattern as a whole-string match for JSON Schema, where ``pattern`` is a search."""
    return f"^{pattern}$"


# Trunk health: each edge task sends OPTIONS to every trunk with an address this often, marks it
# down after this many failures in a row (no answer, or 5xx) and up again after this many answers.
# A down legacy trunk is skipped for the number's Switchboard queue from the next call: with these
# values within one interval of the failure being seen the third time.
TRUNK_OPTIONS_INTERVAL_SECONDS = 5.0
TRUNK_DOWN_AFTER_FAILURES = 3
TRUNK_UP_AFTER_SUCCESSES = 2

# A prompt the media relay plays (a default one or a merchant's upload): a plain name, never a path.
PROMPT_NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,63}"
# What a prompt upload may be labelled (the registered WAV type and the ones browsers and tools
# send): the API treats them as binary, and API Gateway must pass them as binary (base64) too.
PROMPT_CONTENT_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave")
# One minute is a long greeting and a short music loop (the player repeats it). At 16 kHz 16-bit that
# is 1.92 MB; the byte cap keeps the body (base64 through API Gateway, 4/3 of it) far below Lambda's
# 6 MB request limit.
PROMPT_SECONDS_MAX = 60
PROMPT_BYTES_MAX = 2 * 1024 * 1024
