"""Which roles may call each route: the one table, checked before any route runs.

Every route of the app has exactly one row here (a test holds the table and the app's routes
equal, and a route missing from it answers 403 to everyone). ``PUBLIC`` routes need no
credentials. Inside a merchant, the path's ``seat_id`` and ``queue_id`` are checked against the
caller's own scope too (``http.endpoint``): an agent reaches only its seat, a supervisor only its
queues and the seats serving them; another merchant's ids stay 404 for everyone.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from contact_center.domain.access import Role

Route = tuple[str, str]  # (method, path template)

P = Role.PLATFORM_ADMIN
M = Role.MERCHANT_ADMIN
S = Role.SUPERVISOR
A = Role.AGENT

PUBLIC: frozenset[Role] = frozenset()  # no credentials at all
PLATFORM = frozenset({P})
ADMINS = frozenset({P, M})
# Reading a queue and its figures: what a supervisor's wallboard needs.
QUEUE_READERS = frozenset({P, M, S})
# A seat and its state: the agent at its desk, the supervisor watching its queues.
SEAT_READERS = frozenset({P, M, S, A})
SEAT_STATE_WRITERS = frozenset({P, M, A})
SIGNED_IN = frozenset(Role)

MERCHANT = "/merchants/{merchant_id}"
SEAT = MERCHANT + "/seats/{seat_id}"
QUEUE = MERCHANT + "/queues/{queue_id}"
USER = MERCHANT + "/users/{user_id}"

ROUTE_ROLES: Mapping[Route, frozenset[Role]] = MappingProxyType(
    {
        ("GET", "/health"): PUBLIC,
        ("GET", "/openapi.json"): PUBLIC,
        # Signing in
        ("POST", "/auth/sign-in"): PUBLIC,
        ("POST", "/auth/invites/accept"): PUBLIC,
        ("GET", "/auth/me"): SIGNED_IN,
        # Merchants: sign-up and the list are the platform's; seat_licenses is refused to the merchant
        # by the use case (a field, not a route).
        ("POST", "/merchants"): PLATFORM,
        ("GET", "/merchants"): PLATFORM,
        # A merchant's home region: moved by the operator (planned maintenance), never by the merchant
        ("GET", MERCHANT + "/home"): PLATFORM,
        ("PUT", MERCHANT + "/home"): PLATFORM,
        ("GET", MERCHANT): ADMINS,
        ("PATCH", MERCHANT): ADMINS,
        ("POST", MERCHANT + "/api-keys"): ADMINS,
        ("GET", MERCHANT + "/api-keys"): ADMINS,
        ("DELETE", MERCHANT + "/api-keys/{key_id}"): ADMINS,
        # People who sign in
        ("POST", MERCHANT + "/users"): ADMINS,
        ("GET", MERCHANT + "/users"): ADMINS,
        ("GET", USER): ADMINS,
        ("DELETE", USER): ADMINS,
        ("PUT", USER + "/password"): ADMINS,
        ("POST", USER + "/invites"): ADMINS,
        # Queues
        ("POST", MERCHANT + "/queues"): ADMINS,
        ("GET", MERCHANT + "/queues"): ADMINS,
        ("GET", QUEUE): QUEUE_READERS,
        ("PATCH", QUEUE): ADMINS,
        # Prompts a merchant uploads for its queues
        ("PUT", MERCHANT + "/prompts/{name}"): ADMINS,
        ("GET", MERCHANT + "/prompts"): ADMINS,
        ("DELETE", MERCHANT + "/prompts/{name}"): ADMINS,
        ("DELETE", QUEUE): ADMINS,
        ("GET", QUEUE + "/stats"): QUEUE_READERS,
        # The wallboard: a supervisor sees its queues and the seats serving them (``services.wallboard``)
        ("GET", MERCHANT + "/wallboard"): QUEUE_READERS,
        # Reports: a supervisor's are kept within its queues (``services.reports``)
        ("GET", MERCHANT + "/contacts"): QUEUE_READERS,
        # A call's recording: a supervisor's within its queues (``services.recordings``), never an agent's
        ("GET", MERCHANT + "/contacts/{contact_id}/recording"): QUEUE_READERS,
        # A live call handed on from the desk: the use case keeps an agent to its own contact and a
        # supervisor to its queues' contacts.
        ("POST", MERCHANT + "/contacts/{contact_id}/transfer"): SEAT_READERS,
        ("GET", MERCHANT + "/reports/queues"): QUEUE_READERS,
        ("GET", MERCHANT + "/reports/agents"): QUEUE_READERS,
        # The agent desk: an agent reads its own seat's desk and wraps up its own contacts only
        ("GET", MERCHANT + "/desk-settings"): ADMINS,
        ("PUT", MERCHANT + "/desk-settings"): ADMINS,
        ("GET", SEAT + "/desk"): SEAT_READERS,
        ("PUT", MERCHANT + "/contacts/{contact_id}/wrap-up"): SEAT_STATE_WRITERS,
        # Webhooks
        ("POST", MERCHANT + "/webhooks"): ADMINS,
        ("GET", MERCHANT + "/webhooks"): ADMINS,
        ("DELETE", MERCHANT + "/webhooks/{webhook_id}"): ADMINS,
        ("GET", MERCHANT + "/webhooks/failures"): ADMINS,
        ("POST", MERCHANT + "/webhooks/failures/{delivery_id}/replay"): ADMINS,
        # Numbers
        ("POST", MERCHANT + "/numbers"): ADMINS,
        ("GET", MERCHANT + "/numbers"): ADMINS,
        ("DELETE", MERCHANT + "/numbers/{number}"): ADMINS,
        ("PUT", MERCHANT + "/numbers/{number}/menu"): ADMINS,
        ("DELETE", MERCHANT + "/numbers/{number}/menu"): ADMINS,
        # Migration from the legacy call center: a number's mode, many at once, and their audit log
        ("PATCH", MERCHANT + "/numbers/{number}"): ADMINS,
        ("POST", MERCHANT + "/number-changes"): ADMINS,
        ("GET", MERCHANT + "/number-changes"): ADMINS,
        # Seats and their agents' state
        ("POST", MERCHANT + "/seats"): ADMINS,
        ("GET", MERCHANT + "/seats"): QUEUE_READERS,  # a supervisor's: those serving its queues
        ("GET", SEAT): SEAT_READERS,
        ("PATCH", SEAT): ADMINS,
        ("DELETE", SEAT): ADMINS,
        ("POST", SEAT + "/credentials"): ADMINS,
        ("GET", SEAT + "/state"): SEAT_READERS,
        ("PUT", SEAT + "/state"): SEAT_STATE_WRITERS,
        ("POST", SEAT + "/release"): ADMINS,
        # Carrier trunks (the platform's), and a merchant's own (its legacy PBX)
        ("POST", "/trunks"): PLATFORM,
        ("GET", "/trunks"): PLATFORM,
        ("GET", "/trunks/{trunk_id}"): PLATFORM,
        ("PATCH", "/trunks/{trunk_id}"): PLATFORM,
        ("DELETE", "/trunks/{trunk_id}"): PLATFORM,
        ("POST", MERCHANT + "/trunks"): ADMINS,
        ("GET", MERCHANT + "/trunks"): ADMINS,
        ("GET", MERCHANT + "/trunks/{trunk_id}"): ADMINS,
        ("PATCH", MERCHANT + "/trunks/{trunk_id}"): ADMINS,
        ("DELETE", MERCHANT + "/trunks/{trunk_id}"): ADMINS,
    }
)


def roles_for(method: str, path: str) -> frozenset[Role] | None:
    """The roles that may call the route; None when the route has no row (nobody may)."""
    return ROUTE_ROLES.get((method.upper(), path))


def is_public(method: str, path: str) -> bool:
    return roles_for(method, path) == PUBLIC
