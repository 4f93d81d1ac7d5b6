"""The failed-auth limiter: a guesser is stopped, the users proven behind its address are not."""

from __future__ import annotations

from sip_edge.app.abuse import FailedAuthLimiter

OFFICE = "203.0.113.50"


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def limiter(clock: Clock, **overrides: int) -> FailedAuthLimiter:
    settings = {"max_failures": 10, "max_source_failures": 100, "per_good_user": 20, **overrides}
    return FailedAuthLimiter(window=60, lockout=300, trust_for=7200, now=clock, **settings)


def test_ten_failures_lock_that_user_from_that_address_with_a_403_and_nothing_else() -> None:
    clock = Clock()
    limits = limiter(clock)
    results = [limits.record_failure(OFFICE, "alice") for _ in range(10)]
    assert results == [None] * 9 + ["user"]
    refusal = limits.refusal(OFFICE, "alice")
    assert refusal is not None and refusal.status == 403
    assert "too many failed attempts" in dict(refusal.headers)["Warning"]
    # Other users at that address, and alice elsewhere, are untouched.
    assert limits.refusal(OFFICE, "bob") is None
    assert limits.refusal("198.51.100.1", "alice") is None
    clock.t += 301
    assert limits.refusal(OFFICE, "alice") is None


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(9):
        limits.record_failure(OFFICE, "alice")
    clock.t += 61
    assert limits.record_failure(OFFICE, "alice") is None
    assert limits.refusal(OFFICE, "alice") is None


def test_the_address_limit_grows_with_the_users_that_succeeded_from_it() -> None:
    clock = Clock()
    limits = limiter(clock)
    assert limits.source_limit(OFFICE) == 100
    for index in range(20):
        limits.record_success(OFFICE, f"phone{index}")
    assert limits.source_limit(OFFICE) == 100 + 20 * 20
    assert limits.source_limit("198.51.100.1") == 100
    # Users not seen for longer than the trust period stop counting.
    clock.t += 7201
    assert limits.source_limit(OFFICE) == 100


def test_a_locked_address_refuses_unproven_users_with_503_and_keeps_serving_proven_ones() -> None:
    clock = Clock()
    limits = limiter(clock, max_source_failures=30, per_good_user=0)
    limits.record_success(OFFICE, "good")
    locked = [limits.record_failure(OFFICE, f"guess{index}") for index in range(30)]
    assert locked[-1] == "address" and locked.count("address") == 1
    # Given the address is locked, a username never seen succeeding there is refused with a
    # Retry-After that is the time left, so an innocent new phone comes back by itself,
    clock.t += 100
    refusal = limits.refusal(OFFICE, "newcomer")
    assert refusal is not None and refusal.status == 503
    assert dict(refusal.headers)["Retry-After"] == "200"
    # while the proven user goes on.
    assert limits.refusal(OFFICE, "good") is None
    clock.t += 201
    assert limits.refusal(OFFICE, "newcomer") is None


def test_success_clears_a_users_count_but_not_a_running_lock() -> None:
    clock = Clock()
    limits = limiter(clock)
    for _ in range(9):
        limits.record_failure(OFFICE, "alice")
    limits.record_success(OFFICE, "alice")
    assert limits.record_failure(OFFICE, "alice") is None  # counting starts again
    for _ in range(9):
        limits.record_failure(OFFICE, "alice")
    limits.record_success(OFFICE, "alice")
    refusal = limits.refusal(OFFICE, "alice")
    assert refusal is not None and refusal.status == 403


def test_memory_stays_bounded_under_a_flood_of_addresses() -> None:
    clock = Clock()
    limits = FailedAuthLimiter(max_entries=50, window=60, now=clock)
    for index in range(500):
        clock.t += 61  # each earlier entry is idle by the time the table is full
        limits.record_failure(f"198.51.100.{index % 250}-{index}", "x")
        limits.record_success(f"192.0.2.{index}", "y")
    assert len(limits._pairs) <= 50 and len(limits._addresses) <= 50 and len(limits._proven) <= 50
