"""The queue address: how the legacy call centre sends a caller into a Switchboard queue.

During a cut-over the legacy centre's agents hand callers to queues already served here. Over the
merchant's own trunk (its legacy PBX) they call ``queue-<queue_id>`` (the Request-URI's user part):
the caller lands in that queue of the trunk's merchant, as a caller of a number routed there does.

Who may call a queue address is the router's to decide (``services.routing.arrivals``): only a
merchant's own trunk, and only into that merchant's queues. A platform carrier has no merchant, so
any queue it names would be a guess at someone's queue (403); a queue id the merchant lacks is not
found (404) whether it does not exist or is another merchant's, so nothing leaks across merchants.
"""

from __future__ import annotations

from dataclasses import dataclass

QUEUE_ADDRESS_PREFIX = "queue-"


def queue_id_of(user: str) -> str | None:
    """The queue id a Request-URI user names (``queue-<queue_id>``), None for any other user."""
    if not user.startswith(QUEUE_ADDRESS_PREFIX):
        return None
    return user[len(QUEUE_ADDRESS_PREFIX) :] or None


@dataclass(frozen=True, slots=True)
class QueueCall:
    """A call to a queue address, with the trunk it came over."""

    queue_id: str
    trunk_id: str
    merchant_id: str | None  # the trunk's merchant; None: a platform carrier's trunk
