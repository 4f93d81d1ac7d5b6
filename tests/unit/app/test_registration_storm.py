"""A registration storm: concurrent first registrations share their reads, and past a backlog the
registrar sheds with 503 and a spread Retry-After instead of keeping phones waiting."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping, Sequence

import pytest

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.registration.batching import BatchLoader
from sip_edge.app.registration.credentials import CredentialCache
from sip_edge.app.registration.location import LocationService
from sip_edge.app.registration.registrar import Registrar, RegistrarSettings
from sip_edge.app.registration.shedding import RegistrationShedder, SheddingSettings
from sip_edge.sip.digest import DigestAuthenticator, compute_ha1
from sip_edge.sip.registration import Binding
from sip_edge.sip.stack import Reply
from tests.unit.app.test_registrar import DOMAIN, KEY, Clock, FakeFlow, answer, register

SEATS = [f"seat{n:04d}" for n in range(120)]


class CountingSeats:
    """Credentials and bindings as the table holds them, counting the requests made for them.
    ``gate``, when given, holds every read until it is set (reads in flight during a storm)."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.credential_reads: list[int] = []  # seats per read
        self.binding_reads: list[int] = []
        self.rows: dict[tuple[str, str], Binding] = {}

    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, Mapping[str, str] | None]:
        if self.gate is not None:
            self.gate.wait(5)
        self.credential_reads.append(len(usernames))
        return {u: {"MD5": compute_ha1(u, DOMAIN, f"pw-{u}", "MD5")} for u in usernames}

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        for b in upserts:
            self.rows[(b.aor, b.key)] = b

    def load(self, aor: str, now: float) -> list[Binding]:
        return [b for (a, _), b in self.rows.items() if a == aor]

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        self.binding_reads.append(len(aors))
        return {aor: self.load(aor, now) for aor in aors}


def registrar_over(seats: CountingSeats, shedder: RegistrationShedder | None = None) -> Registrar:
    clock = Clock()
    return Registrar(
        RegistrarSettings(domain=DOMAIN),
        DigestAuthenticator(KEY, DOMAIN, now=clock, algorithms=("MD5",)),
        CredentialCache(seats, now=clock),
        LocationService(seats, now=clock),
        FailedAuthLimiter(now=clock),
        edge_task_id="edge-a",
        now=clock,
        shedder=shedder,
    )


async def first_registration(registrar: Registrar, seat: str, port: int) -> Reply | None:
    flow = FakeFlow(port=port)
    challenge = await registrar.register(register(seat), flow)
    assert challenge is not None and challenge.status == 401
    return await registrar.register(register(seat, authorization=answer(challenge, seat, f"pw-{seat}")), flow)


async def storm(registrar: Registrar, seats: Sequence[str]) -> list[Reply | None]:
    return await asyncio.gather(*(first_registration(registrar, s, 40000 + n) for n, s in enumerate(seats)))


def test_concurrent_first_registrations_share_their_reads_of_credentials_and_bindings() -> None:
    # Given 120 seats registering for the first time at once
    seats = CountingSeats()
    registrar = registrar_over(seats)
    replies = asyncio.run(storm(registrar, SEATS))
    # Then every one is registered, with a handful of reads instead of two per registration
    assert [r.status if r else None for r in replies] == [200] * len(SEATS)
    assert sum(seats.credential_reads) == len(SEATS)
    assert sum(seats.binding_reads) == len(SEATS)
    # How the keys fall into reads depends on which worker thread ends first; the bounds do not:
    # BatchGetItem takes up to 100 seats, PartiQL up to 50 AORs, and two reads are in flight at once.
    assert len(seats.credential_reads) <= 8 and len(seats.binding_reads) <= 10
    assert max(seats.credential_reads) <= 100 and max(seats.binding_reads) <= 50
    assert max(seats.credential_reads) >= 40 and max(seats.binding_reads) >= 40
    assert registrar.credentials.loads == len(SEATS) and registrar.location.loads == len(SEATS)


def test_a_lone_first_registration_is_read_at_once_not_held_for_a_batch() -> None:
    seats = CountingSeats()
    registrar = registrar_over(seats)
    replies = asyncio.run(storm(registrar, SEATS[:1]))
    assert replies[0] is not None and replies[0].status == 200
    assert seats.credential_reads == [1] and seats.binding_reads == [1]


def test_past_the_backlog_first_registrations_get_503_with_retry_after_spread_over_phones() -> None:
    # Given reads that do not finish while 60 phones register, and a backlog bound of 20
    gate = threading.Event()
    seats = CountingSeats(gate)
    draws = iter([n / 40 for n in range(40)])  # the shedder's uniform draws, evenly spread
    settings = SheddingSettings(max_backlog=20, rate=10, min_retry=2, min_window=4)
    registrar = registrar_over(seats, RegistrationShedder(settings, uniform=lambda: next(draws)))

    async def go() -> list[Reply | None]:
        pending = asyncio.ensure_future(storm(registrar, SEATS[:60]))
        for _ in range(200):  # until every phone has its answer or waits for the table
            await asyncio.sleep(0.001)
            if registrar.shedder.shed == 40:
                break
        gate.set()
        return await pending

    replies = asyncio.run(go())
    statuses = [r.status if r else None for r in replies]
    # Then 20 are registered, 40 are told to come back later: none is dropped or kept waiting
    assert statuses.count(200) == 20 and statuses.count(503) == 40
    shed = [r for r in replies if r is not None and r.status == 503]
    retry_after = [int(dict(r.headers)["Retry-After"]) for r in shed]
    assert all("registration backlog" in dict(r.headers)["Warning"] for r in shed)
    # spread over min_retry + [0, window): the window grows with what was shed (40 / 10 per s)
    assert min(retry_after) == 2 and max(retry_after) == 5
    assert len(set(retry_after)) == 4
    # And a shed phone that comes back once the backlog is gone is registered
    again = asyncio.run(storm(registrar, SEATS[59:60]))
    assert again[0] is not None and again[0].status == 200


def test_the_retry_window_grows_with_the_storm_and_stays_bounded() -> None:
    clock = [0.0]
    settings = SheddingSettings(max_backlog=1, rate=100, min_retry=1, min_window=4, max_window=30)
    shedder = RegistrationShedder(settings, now=lambda: clock[0], uniform=lambda: 0.999)
    values = []
    for n in range(5000):
        reply = shedder.refusal(backlog=10, client=("192.0.2.1", f"seat{n}"))
        assert reply is not None and reply.status == 503
        values.append(int(dict(reply.headers)["Retry-After"]))
    assert values[0] == 4  # 1 + the smallest window (4 s), drawn at its top
    assert values[999] == 10  # 1,000 shed at 100/s: spread over 10 s
    assert values[-1] == 30  # never past max_window
    assert shedder.refusal(backlog=0, client=("192.0.2.1", "seat0")) is None
    clock[0] = 100.0  # long after: the window is small again
    reply = shedder.refusal(backlog=10, client=("192.0.2.1", "seat-new"))
    assert reply is not None and dict(reply.headers)["Retry-After"] == "4"


def retry_after(reply: Reply | None) -> int:
    assert reply is not None and reply.status == 503
    return int(dict(reply.headers)["Retry-After"])


def test_a_shed_phone_coming_back_when_told_is_admitted_though_the_backlog_is_still_full() -> None:
    # Given a storm that keeps the backlog past its bound
    clock = [50.0]
    settings = SheddingSettings(max_backlog=10, return_backlog=20, min_retry=2, min_window=4)
    shedder = RegistrationShedder(settings, now=lambda: clock[0], uniform=lambda: 0.5)
    phone, newcomer = ("192.0.2.7", "seat1"), ("192.0.2.8", "seat2")
    wait = retry_after(shedder.refusal(backlog=15, client=phone))
    # When the phone comes back as told, behind as many new first registrations as before
    clock[0] += wait
    assert retry_after(shedder.refusal(backlog=15, client=newcomer)) >= 2
    # Then it is let in, where a newcomer is shed; once only: its next first registration is new
    assert shedder.refusal(backlog=15, client=phone) is None
    assert shedder.readmitted == 1
    assert shedder.refusal(backlog=15, client=phone) is not None


def test_a_returning_phone_is_shed_again_past_the_return_bound_or_long_after_its_time() -> None:
    clock = [0.0]
    settings = SheddingSettings(max_backlog=10, return_backlog=20, min_retry=1, min_window=4)
    shedder = RegistrationShedder(settings, now=lambda: clock[0], uniform=lambda: 0.0)
    phone = ("192.0.2.7", "seat1")
    clock[0] += retry_after(shedder.refusal(backlog=15, client=phone))
    assert shedder.refusal(backlog=20, client=phone) is not None  # the backlog is at its ceiling
    clock[0] += retry_after(shedder.refusal(backlog=15, client=phone)) + 60
    assert shedder.refusal(backlog=15, client=phone) is not None  # a minute late: a newcomer again
    assert shedder.readmitted == 0


def test_a_retransmission_of_a_shed_register_is_told_the_same_time_and_keeps_the_place() -> None:
    clock = [0.0]
    settings = SheddingSettings(max_backlog=10, min_retry=3, min_window=4)
    shedder = RegistrationShedder(settings, now=lambda: clock[0], uniform=lambda: 0.5)
    phone = ("192.0.2.7", "seat1")
    told = retry_after(shedder.refusal(backlog=15, client=phone))
    clock[0] += 0.5  # its retransmission, sent before the 503 reached it
    assert retry_after(shedder.refusal(backlog=15, client=phone)) == told
    clock[0] += told - 0.5
    assert shedder.refusal(backlog=15, client=phone) is None


def test_a_shed_phone_returning_to_the_registrar_waits_for_its_read_instead_of_a_second_503() -> None:
    # Given reads held while 30 phones register against a backlog bound of 20
    gate = threading.Event()
    seats = CountingSeats(gate)
    clock = [0.0]
    settings = SheddingSettings(max_backlog=20, return_backlog=40, min_retry=1, min_window=4)
    shedder = RegistrationShedder(settings, now=lambda: clock[0], uniform=lambda: 0.0)
    registrar = registrar_over(seats, shedder)

    async def go() -> tuple[list[Reply | None], list[Reply | None]]:
        first = asyncio.ensure_future(storm(registrar, SEATS[:30]))
        for _ in range(500):
            await asyncio.sleep(0.001)
            if shedder.shed == 10:
                break
        # When the shed phones come back as told, the first 20 still waiting for the table
        clock[0] += 1
        again = asyncio.ensure_future(storm(registrar, SEATS[20:30]))
        for _ in range(500):
            await asyncio.sleep(0.001)
            if registrar.backlog == 30:
                break
        gate.set()
        return await first, await again

    first, again = asyncio.run(go())
    # Then the 10 shed once are let in on their return and registered, none shed twice
    assert [r.status if r else None for r in first].count(503) == 10
    assert [r.status if r else None for r in again] == [200] * 10
    assert shedder.shed == 10 and shedder.readmitted == 10


def test_a_failed_batch_read_fails_each_of_its_waiters() -> None:
    def down(keys: Sequence[str]) -> dict[str, int]:
        raise ConnectionError("table unreachable")

    async def go() -> list[BaseException | int]:
        loader: BatchLoader[str, int] = BatchLoader(down, 0)
        return await asyncio.gather(*(loader.get(k) for k in "abc"), return_exceptions=True)

    assert all(isinstance(r, ConnectionError) for r in asyncio.run(go()))


def test_waiters_for_one_key_share_one_read() -> None:
    calls: list[list[str]] = []

    def load(keys: Sequence[str]) -> dict[str, int]:
        calls.append(list(keys))
        return {k: len(k) for k in keys}

    async def go() -> list[int]:
        loader: BatchLoader[str, int] = BatchLoader(load, 0, max_in_flight=1)
        return await asyncio.gather(*(loader.get(k) for k in ["aa", "b", "b", "aa", "ccc"]))

    assert asyncio.run(go()) == [2, 1, 1, 2, 3]
    assert calls == [["aa"], ["b", "ccc"]]


@pytest.mark.parametrize("bad", [0, -1])
def test_a_loader_needs_room_for_one_read(bad: int) -> None:
    with pytest.raises(ValueError):
        BatchLoader(lambda keys: {}, 0, max_batch=bad)
