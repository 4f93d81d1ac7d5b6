"""The router's operator settings."""

from __future__ import annotations

from dataclasses import dataclass

from contact_center.domain.contact import MAX_RONA_ATTEMPTS

ATTEMPTS = 5  # rounds of re-reading after a lost race before giving the current answer


@dataclass(frozen=True, slots=True)
class RoutingPolicy:
    """Operator settings of the router; defaults follow the issue that specified it."""

    sip_domain: str = "127.0.0.1"
    # 486 from an agent's phone: the agent may be on a private call on the same phone; by default
    # they stay AVAILABLE (keeping their place in line) rather than being parked NOT_RESPONDING.
    busy_leaves_agent_available: bool = True
    max_rona_attempts: int = MAX_RONA_ATTEMPTS  # missed offers per queue before overflow
    reject_retry_after_seconds: int = 60
    # A seat that just missed or refused a contact is not offered the same one again for this long,
    # so a busy phone left AVAILABLE does not bounce the caller back and forth.
    reoffer_cooldown_ms: int = 30_000
    # A longest-idle queue reads this many of its free agents first (its index is in longest-idle
    # order, so the best eligible one is among them whenever any of them is eligible), then up to
    # ``candidate_limit``, then all of them, only when nobody read so far took the contact.
    longest_idle_page: int = 10
    candidate_limit: int = 100
    # Longest-idle agents idle within this of each other count as tied: concurrent contacts start
    # at different ones of them instead of racing for one (``acd.spread_near_ties``).
    idle_tie_window_ms: int = 2000
    # Concurrent routers may also start at different ones of the queue's first this-many free agents,
    # however far apart their idle times (fewer lost reservation races, bench/RESULTS.md). Off (1) by
    # default: the agent idle longest is offered first, as every contact center's agents expect; a
    # deployment that prefers fewer races to that strictness raises it.
    spread_candidates: int = 1
    heads_per_queue: int = 3  # queued contacts read per queue when an agent frees up
    max_offer_attempts: int = 10  # candidates tried per call before queueing
    max_overflow_hops: int = 3
    # A reservation this long past its seat's ring timeout has no edge ringing it any more: the sweep
    # lets it go. Beyond the edge's own ring timer and the time its report takes.
    # Numbers an agent's phone may always call out to, whatever its merchant's allowed prefixes.
    emergency_numbers: tuple[str, ...] = ("112", "911", "999", "000")
    stale_reservation_grace_ms: int = 30_000  # queue -> queue moves per contact, so a cycle of overflows ends
