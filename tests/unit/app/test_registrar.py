"""Registrar policy with in-memory credentials and bindings: auth, expiry rules, abuse limits."""

from __future__ import annotations

import asyncio
import hashlib
import re
import threading
from collections.abc import Mapping, Sequence

import pytest

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.registration.credentials import CredentialCache
from sip_edge.app.registration.location import LocationService
from sip_edge.app.registration.registrar import Registrar, RegistrarSettings
from sip_edge.sip.digest import DigestAuthenticator, compute_ha1, compute_response
from sip_edge.sip.message import Request
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.registration import Binding, binding_key
from sip_edge.sip.stack import Reply

DOMAIN = "sip.test"
KEY = b"k" * 32


class Clock:
    def __init__(self) -> None:
        self.t = 1_790_000_000.0

    def __call__(self) -> float:
        return self.t


class Users:
    def __init__(self) -> None:
        self.passwords = {"alice": "s3cret", "bob": "hunter2"}
        self.reads = 0

    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, Mapping[str, str] | None]:
        return {username: self.ha1s(username) for username in usernames}

    def ha1s(self, username: str) -> Mapping[str, str] | None:
        self.reads += 1
        password = self.passwords.get(username)
        if password is None:
            return None
        return {alg: compute_ha1(username, DOMAIN, password, alg) for alg in ("MD5", "SHA-256")}


class Store:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Binding] = {}
        self.writes = 0

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        self.writes += 1
        for b in upserts:
            self.rows[(b.aor, b.key)] = b
        for key in removals:
            self.rows.pop(key, None)

    def load(self, aor: str, now: float) -> list[Binding]:
        return [b for (a, _), b in self.rows.items() if a == aor and b.expires_at > now]

    def load_many(self, aors: Sequence[str], now: float) -> dict[str, list[Binding]]:
        return {aor: self.load(aor, now) for aor in aors}


class FakeTransport:
    name = "UDP"
    reliable = False


class FakeFlow:
    def __init__(self, ip: str = "198.51.100.7", port: int = 40000) -> None:
        self.remote = (ip, port)
        self.transport = FakeTransport()


def register(
    user: str,
    *,
    contact: str | None = None,
    expires: int | None = 600,
    cseq: int = 1,
    call_id: str = "reg-1",
    authorization: str | None = None,
) -> Request:
    contact = contact if contact is not None else f"<sip:{user}@10.0.0.5:5062>"
    lines = [
        f"REGISTER sip:{DOMAIN} SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK"
        + hashlib.md5(f"{cseq}{call_id}".encode()).hexdigest(),
        "Max-Forwards: 70",
        f"From: <sip:{user}@{DOMAIN}>;tag=f1",
        f"To: <sip:{user}@{DOMAIN}>",
        f"Call-ID: {call_id}",
        f"CSeq: {cseq} REGISTER",
        f"Contact: {contact}",
    ]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if authorization:
        lines.append(f"Authorization: {authorization}")
    message = parse_message(("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode())
    assert isinstance(message, Request)
    return message


def answer(challenge: Reply, user: str, password: str, algorithm: str = "MD5", nc: str = "00000001") -> str:
    header = next(
        v for n, v in challenge.headers if n == "WWW-Authenticate" and f"algorithm={algorithm}" in v
    )
    nonce = re.search(r'nonce="([^"]+)"', header).group(1)  # type: ignore[union-attr]
    uri = f"sip:{DOMAIN}"
    ha1 = compute_ha1(user, DOMAIN, password, algorithm)
    response = compute_response(
        ha1, nonce=nonce, method="REGISTER", uri=uri, algorithm=algorithm, qop="auth", nc=nc, cnonce="c0ffee"
    )
    return (
        f'Digest username="{user}", realm="{DOMAIN}", nonce="{nonce}", uri="{uri}", response="{response}", '
        f'algorithm={algorithm}, qop=auth, nc={nc}, cnonce="c0ffee"'
    )


@pytest.fixture
def world() -> tuple[Registrar, Users, Store, Clock]:
    clock = Clock()
    users, store = Users(), Store()
    registrar = Registrar(
        RegistrarSettings(domain=DOMAIN, max_contacts=2),
        DigestAuthenticator(KEY, DOMAIN, now=clock),
        CredentialCache(users, now=clock),
        LocationService(store, now=clock),
        FailedAuthLimiter(max_failures=3, window=60, lockout=300, now=clock),
        edge_task_id="edge-a",
        now=clock,
    )
    return registrar, users, store, clock


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def register_with_auth(
    registrar: Registrar,
    user: str,
    password: str,
    algorithm: str = "MD5",
    flow: FakeFlow | None = None,
    **kwargs,
) -> Reply | None:  # type: ignore[no-untyped-def]
    async def go() -> Reply | None:
        challenge = await registrar.register(register(user, **kwargs), flow or FakeFlow())
        assert challenge is not None and challenge.status == 401
        return await registrar.register(
            register(user, authorization=answer(challenge, user, password, algorithm), **kwargs),
            flow or FakeFlow(),
        )

    return run(go())


def test_unauthenticated_register_is_challenged_sha256_first_then_md5(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    reply = run(registrar.register(register("alice"), FakeFlow()))
    assert reply is not None and reply.status == 401
    algorithms = [
        re.search(r"algorithm=([\w-]+)", v).group(1) for n, v in reply.headers if n == "WWW-Authenticate"
    ]
    assert algorithms == ["SHA-256", "MD5"]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_register_binds_the_contact_with_received_address_and_flow_owner(world, algorithm: str) -> None:  # type: ignore[no-untyped-def]
    registrar, _, store, _clock = world
    reply = register_with_auth(registrar, "alice", "s3cret", algorithm)
    assert reply is not None and reply.status == 200
    assert ("Contact", "<sip:alice@10.0.0.5:5062>;expires=600") in reply.headers
    (binding,) = registrar.location.current(f"sip:alice@{DOMAIN}")
    assert (binding.received, binding.transport, binding.flow_owner) == (
        "198.51.100.7:40000",
        "UDP",
        "edge-a",
    )
    run(registrar.location.flush())
    assert list(store.rows.values()) == [binding]


def test_wrong_password_and_unknown_user_get_the_same_answer(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    wrong = register_with_auth(registrar, "alice", "nope", flow=FakeFlow("203.0.113.1"))
    unknown = register_with_auth(registrar, "mallory", "nope", flow=FakeFlow("203.0.113.2"))
    assert wrong is not None and unknown is not None
    assert (
        (wrong.status, wrong.reason, wrong.headers)
        == (unknown.status, unknown.reason, unknown.headers)
        == (403, "Forbidden", ())
    )


def test_repeated_failures_lock_out_the_source_but_not_others(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    attacker = FakeFlow("203.0.113.9")
    for _ in range(3):
        register_with_auth(registrar, "alice", "guess", flow=attacker)
    # Locked out: 403 with a Warning, even to a fresh REGISTER, and no digest checked.
    locked = run(registrar.register(register("alice"), attacker))
    assert locked is not None and locked.status == 403
    assert "too many failed attempts" in dict(locked.headers)["Warning"]
    ok = register_with_auth(registrar, "bob", "hunter2", flow=FakeFlow("198.51.100.20"))
    assert ok is not None and ok.status == 200


def test_expired_nonce_gets_a_stale_challenge(world) -> None:  # type: ignore[no-untyped-def]
    registrar, _, _, clock = world

    async def go() -> Reply | None:
        challenge = await registrar.register(register("alice"), FakeFlow())
        assert challenge is not None
        clock.t += 3600
        return await registrar.register(
            register("alice", authorization=answer(challenge, "alice", "s3cret")), FakeFlow()
        )

    reply = run(go())
    assert reply is not None and reply.status == 401
    assert all("stale=true" in v for n, v in reply.headers if n == "WWW-Authenticate")


def test_too_brief_interval_is_423_with_min_expires(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    reply = register_with_auth(registrar, "alice", "s3cret", expires=10)
    assert reply is not None and reply.status == 423 and ("Min-Expires", "60") in reply.headers


def test_expiry_is_capped_and_expires_zero_removes(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    reply = register_with_auth(registrar, "alice", "s3cret", expires=86400)
    assert reply is not None and ("Contact", "<sip:alice@10.0.0.5:5062>;expires=3600") in reply.headers
    reply = register_with_auth(registrar, "alice", "s3cret", expires=0, cseq=2)
    assert reply is not None and reply.status == 200
    assert registrar.location.current(f"sip:alice@{DOMAIN}") == []


def test_wildcard_unregisters_every_contact(world) -> None:  # type: ignore[no-untyped-def]
    registrar, _, store, _ = world
    register_with_auth(registrar, "alice", "s3cret", contact="<sip:alice@10.0.0.5:5062>", call_id="a")
    register_with_auth(registrar, "alice", "s3cret", contact="<sip:alice@10.0.0.6:5062>", call_id="b")
    assert len(registrar.location.current(f"sip:alice@{DOMAIN}")) == 2
    bad = register_with_auth(registrar, "alice", "s3cret", contact="*", expires=600, call_id="c")
    assert bad is not None and bad.status == 400
    reply = register_with_auth(registrar, "alice", "s3cret", contact="*", expires=0, call_id="c", cseq=2)
    assert reply is not None and reply.status == 200
    run(registrar.location.flush())
    assert registrar.location.current(f"sip:alice@{DOMAIN}") == [] and store.rows == {}


def test_max_contacts_per_seat(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    for i in range(2):
        ok = register_with_auth(
            registrar, "alice", "s3cret", contact=f"<sip:alice@10.0.0.{i}:5062>", call_id=f"c{i}"
        )
        assert ok is not None and ok.status == 200
    third = register_with_auth(
        registrar, "alice", "s3cret", contact="<sip:alice@10.0.0.9:5062>", call_id="c9"
    )
    assert third is not None and third.status == 403


def test_out_of_order_register_does_not_undo_a_newer_one(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    register_with_auth(registrar, "alice", "s3cret", cseq=5)
    stale = register_with_auth(registrar, "alice", "s3cret", cseq=4, expires=0)
    assert stale is not None and stale.status == 500
    assert len(registrar.location.current(f"sip:alice@{DOMAIN}")) == 1


def test_credentials_are_cached_between_registrations(world) -> None:  # type: ignore[no-untyped-def]
    registrar, users, *_ = world
    for cseq in range(1, 6):
        register_with_auth(registrar, "alice", "s3cret", cseq=cseq)
    assert users.reads == 1


def test_a_rotated_password_works_at_once(world) -> None:  # type: ignore[no-untyped-def]
    registrar, users, _, clock = world
    register_with_auth(registrar, "alice", "s3cret")
    users.passwords["alice"] = "rotated"
    clock.t += 2  # older than the refresh threshold, younger than the cache TTL
    reply = register_with_auth(registrar, "alice", "rotated", cseq=2)
    assert reply is not None and reply.status == 200


def test_binding_key_matches_the_data_layer() -> None:
    from contact_center.data.bindings import binding_key as data_binding_key

    for uri, instance in (("sip:a@10.0.0.1", None), ("sip:a@10.0.0.1", "<urn:uuid:1234>")):
        assert binding_key(uri, instance) == data_binding_key(uri, instance)


def test_keepalive_pings_the_udp_bindings_this_task_owns(world) -> None:  # type: ignore[no-untyped-def]
    from sip_edge.app.registration.keepalive import PING, NatKeepAlive

    registrar, *_ = world
    register_with_auth(registrar, "alice", "s3cret", flow=FakeFlow("198.51.100.7", 40000))
    registrar.location.put(
        Binding(
            aor="sip:carol@x",
            key="k",
            contact_uri="sip:carol@10.1.1.1",
            expires_at=2e9,
            received="198.51.100.8:5060",
            transport="UDP",
            flow_owner="edge-b",
            call_id="x",
            cseq=1,
        )
    )
    sent: list[tuple[bytes, tuple[str, int]]] = []
    keepalive = NatKeepAlive(registrar.location, "edge-a", lambda data, addr: sent.append((data, addr)))
    assert keepalive.ping_all_once() == 1
    assert sent == [(PING, ("198.51.100.7", 40000))]  # only the flow this task owns
    assert keepalive.interval < 120  # more often than the load balancer's UDP idle timeout


def test_clients_known_to_read_only_the_first_challenge_get_md5_alone(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    request = register("alice")
    request.headers.add("User-Agent", "sipp/3.6.1")
    reply = run(registrar.register(request, FakeFlow()))
    assert reply is not None and reply.status == 401
    challenges = [v for n, v in reply.headers if n == "WWW-Authenticate"]
    assert len(challenges) == 1 and "algorithm=MD5" in challenges[0]


def test_a_client_that_ignores_a_sha256_first_challenge_gets_md5_next_time(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    flow = FakeFlow("198.51.100.30")
    first = run(registrar.register(register("alice"), flow))
    assert first is not None and len([n for n, _ in first.headers if n == "WWW-Authenticate"]) == 2
    # The client could not answer SHA-256 and registers afresh: it now gets MD5 alone,
    retry = run(registrar.register(register("alice", cseq=2), flow))
    assert retry is not None
    assert next(v for n, v in retry.headers if n == "WWW-Authenticate").count("algorithm=MD5") == 1
    assert len([n for n, _ in retry.headers if n == "WWW-Authenticate"]) == 1
    # while a client that answers keeps being offered SHA-256 first.
    other = FakeFlow("198.51.100.31")
    assert register_with_auth(registrar, "bob", "hunter2", "SHA-256", flow=other) is not None
    again = run(registrar.register(register("bob", cseq=3), other))
    assert again is not None and len([n for n, _ in again.headers if n == "WWW-Authenticate"]) == 2


def test_a_guesser_behind_a_shared_address_does_not_lock_out_its_neighbours(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    office = FakeFlow("203.0.113.50")
    for _ in range(3):
        register_with_auth(registrar, "alice", "guess", flow=office)
    locked = run(registrar.register(register("alice"), office))  # alice from there: locked
    assert locked is not None and locked.status == 403
    ok = register_with_auth(registrar, "bob", "hunter2", flow=office)  # bob, same address: fine
    assert ok is not None and ok.status == 200


def test_credentials_replayed_from_another_address_are_rechallenged_not_counted(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world

    async def go() -> list[Reply | None]:
        challenge = await registrar.register(register("alice"), FakeFlow("198.51.100.7"))
        assert challenge is not None
        forged = register("alice", authorization=answer(challenge, "alice", "wrong"))
        # Sent with a victim's address the nonce was not issued to: nothing to count.
        return [await registrar.register(forged, FakeFlow("198.51.100.99")) for _ in range(5)]

    replies = run(go())
    assert all(r is not None and r.status == 401 for r in replies)
    assert registrar.limiter.lockouts == 0 and registrar.failures == 0
    ok = register_with_auth(registrar, "alice", "s3cret", flow=FakeFlow("198.51.100.99"))
    assert ok is not None and ok.status == 200


def test_a_source_guessing_many_accounts_is_locked_for_users_not_proven_there() -> None:
    clock = Clock()
    limiter = FailedAuthLimiter(max_failures=10, max_source_failures=5, now=clock)
    for index in range(5):
        limiter.record_failure("203.0.113.7", f"user{index}")
    refusal = limiter.refusal("203.0.113.7", "someone-else")
    assert refusal is not None and refusal.status == 503
    assert dict(refusal.headers)["Retry-After"] == "300"
    assert limiter.refusal("203.0.113.8", "user0") is None
    clock.t += 301
    assert limiter.refusal("203.0.113.7", "someone-else") is None


def test_a_seat_in_memory_is_answered_without_a_coroutine(world) -> None:  # type: ignore[no-untyped-def]
    registrar, users, _, _ = world
    flow = FakeFlow()
    # The first registration reads credentials and bindings: an awaitable decision.
    assert register_with_auth(registrar, "alice", "s3cret", flow=flow, cseq=1) is not None
    # Later ones, with both in memory, are decided at once: no task for the stack to run.
    challenge = registrar.decide(register("alice", cseq=2), flow)
    assert isinstance(challenge, Reply) and challenge.status == 401
    authorization = answer(challenge, "alice", "s3cret")
    reply = registrar.decide(register("alice", cseq=3, authorization=authorization), flow)
    assert isinstance(reply, Reply) and reply.status == 200
    assert users.reads == 1
    # A seat whose credentials are not in memory gets an awaitable, which reads them.
    other = registrar.decide(register("bob", cseq=1, authorization=authorization), flow)
    assert not isinstance(other, Reply) and other is not None
    assert isinstance(run(other), Reply)  # type: ignore[arg-type]
    assert users.reads == 2


def test_challenges_are_stateless(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    reply = run(registrar.register(register("alice"), FakeFlow()))
    assert reply is not None and reply.status == 401 and reply.stateless
    ok = register_with_auth(registrar, "alice", "s3cret")
    assert ok is not None and ok.status == 200 and not ok.stateless


def test_a_retransmitted_register_keeps_the_sha256_first_offer(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    flow = FakeFlow("198.51.100.40")
    # Given a challenge lost on the way: the client retransmits the same REGISTER (same CSeq),
    first = run(registrar.register(register("alice", cseq=7), flow))
    again = run(registrar.register(register("alice", cseq=7), flow))
    # Then it is offered SHA-256 first again: it did not come back after failing on it.
    for reply in (first, again):
        assert reply is not None
        assert len([n for n, _ in reply.headers if n == "WWW-Authenticate"]) == 2
    # A new REGISTER without credentials still means it could not use SHA-256.
    retry = run(registrar.register(register("alice", cseq=8), flow))
    assert retry is not None and len([n for n, _ in retry.headers if n == "WWW-Authenticate"]) == 1


@pytest.mark.parametrize("contact", ["<mailto:alice@example.com>", "<tel:+14155550100>"])
def test_a_contact_that_is_not_a_sip_uri_is_refused_with_400_and_a_warning(world, contact: str) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    reply = register_with_auth(registrar, "alice", "s3cret", contact=contact)
    assert reply is not None and reply.status == 400
    assert "sip: or sips:" in dict(reply.headers)["Warning"]
    assert registrar.location.current(f"sip:alice@{DOMAIN}") == []


def test_a_sips_contact_is_stored(world) -> None:  # type: ignore[no-untyped-def]
    registrar, *_ = world
    reply = register_with_auth(registrar, "alice", "s3cret", contact="<sips:alice@10.0.0.5:5061>")
    assert reply is not None and reply.status == 200
    (binding,) = registrar.location.current(f"sip:alice@{DOMAIN}")
    assert binding.contact_uri == "sips:alice@10.0.0.5:5061"


class DownStore:
    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, Mapping[str, str] | None]:
        raise ConnectionError("table unreachable")


def test_register_while_the_credential_store_is_down_gets_503_with_retry_after_not_500() -> None:
    clock = Clock()
    registrar = Registrar(
        RegistrarSettings(domain=DOMAIN),
        DigestAuthenticator(KEY, DOMAIN, now=clock),
        CredentialCache(DownStore(), now=clock),
        LocationService(Store(), now=clock),
        FailedAuthLimiter(now=clock),
        edge_task_id="edge-a",
        now=clock,
    )
    challenge = run(registrar.register(register("alice"), FakeFlow()))
    assert challenge is not None and challenge.status == 401
    reply = run(
        registrar.register(register("alice", authorization=answer(challenge, "alice", "x")), FakeFlow())
    )
    assert reply is not None and reply.status == 503
    assert dict(reply.headers)["Retry-After"] == "5"


def test_a_phone_that_moved_from_another_tasks_flow_is_answered_once_the_fleet_can_see_the_move(
    world,
) -> None:  # type: ignore[no-untyped-def]
    registrar, users, store, clock = world
    # Given alice registered through task edge-b, whose binding the table holds,
    other = Registrar(
        RegistrarSettings(domain=DOMAIN, max_contacts=2),
        DigestAuthenticator(KEY, DOMAIN, now=clock),
        CredentialCache(users, now=clock),
        LocationService(store, now=clock),
        FailedAuthLimiter(max_failures=3, window=60, lockout=300, now=clock),
        edge_task_id="edge-b",
        now=clock,
    )
    assert register_with_auth(other, "alice", "s3cret", cseq=1).status == 200
    assert [b.flow_owner for b in store.rows.values()] == ["edge-b"]
    # when edge-b dies and her next REGISTER reaches edge-a,
    reply = register_with_auth(registrar, "alice", "s3cret", cseq=2)
    # then by the time she has her 200 the table names edge-a: a call routed now reaches her
    # through the flow she has, not through the dead task (no flush of ours in between).
    assert reply is not None and reply.status == 200
    assert [b.flow_owner for b in store.rows.values()] == ["edge-a"]
    # A refresh on the same flow is answered at once and written behind, as before.
    writes = store.writes
    challenge = registrar.decide(register("alice", cseq=3), FakeFlow())
    assert isinstance(challenge, Reply)
    refresh = registrar.decide(
        register("alice", cseq=4, authorization=answer(challenge, "alice", "s3cret")), FakeFlow()
    )
    assert isinstance(refresh, Reply) and refresh.status == 200 and store.writes == writes


def test_a_register_whose_own_binding_write_failed_gets_503_with_a_warning_and_others_do_not() -> None:
    # Given a table that refuses every write of alice's binding (each AOR its own request here)
    class RefusesAlice(Store):
        def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
            if any(b.aor.startswith("sip:alice@") for b in upserts):
                raise OSError("throttled after the store's retries")
            super().write(upserts, removals)

    clock = Clock()
    store = RefusesAlice()
    registrar = Registrar(
        RegistrarSettings(domain=DOMAIN),
        DigestAuthenticator(KEY, DOMAIN, now=clock),
        CredentialCache(Users(), now=clock),
        LocationService(store, now=clock, write_batch=1),
        FailedAuthLimiter(now=clock),
        edge_task_id="edge-a",
        now=clock,
    )
    # When alice's first REGISTER is written, then bob's (alice's change is retried beside it)
    alice = register_with_auth(registrar, "alice", "s3cret")
    bob = register_with_auth(registrar, "bob", "hunter2")
    # Then alice is told to come back, with the reason; bob is registered and in the table
    assert alice is not None and alice.status == 503
    headers = dict(alice.headers)
    assert headers["Retry-After"] == "5" and "binding not stored" in headers["Warning"]
    assert bob is not None and bob.status == 200
    assert [aor for aor, _ in store.rows] == [f"sip:bob@{DOMAIN}"]
    assert registrar.refused_unwritten == 1


class HoldsBob(Store):
    """Holds each write of bob's binding until released, and refuses alice's when told to."""

    def __init__(self, refuse_alice: bool = False) -> None:
        super().__init__()
        self.refuse_alice = refuse_alice
        self.holding = threading.Event()
        self.release = threading.Event()

    def write(self, upserts: list[Binding], removals: list[tuple[str, str]]) -> None:
        aors = {b.aor for b in upserts}
        if f"sip:bob@{DOMAIN}" in aors:
            self.holding.set()
            self.release.wait(5)
        if self.refuse_alice and f"sip:alice@{DOMAIN}" in aors:
            raise OSError("throttled after the store's retries")
        super().write(upserts, removals)


async def register_async(registrar: Registrar, user: str, password: str) -> Reply | None:
    challenge = await registrar.register(register(user), FakeFlow())
    assert challenge is not None and challenge.status == 401
    return await registrar.register(
        register(user, cseq=2, authorization=answer(challenge, user, password)), FakeFlow()
    )


def registrar_on(store: Store) -> Registrar:
    clock = Clock()
    return Registrar(
        RegistrarSettings(domain=DOMAIN),
        DigestAuthenticator(KEY, DOMAIN, now=clock),
        CredentialCache(Users(), now=clock),
        LocationService(store, now=clock),
        FailedAuthLimiter(now=clock),
        edge_task_id="edge-a",
        now=clock,
    )


@pytest.mark.parametrize("refuse_alice", [False, True], ids=["written", "refused"])
def test_a_register_is_answered_when_its_own_write_is_done_not_after_a_slower_write_of_another(
    refuse_alice: bool,
) -> None:
    # Given bob's first REGISTER waiting for its binding's write, which the table holds on to
    store = HoldsBob(refuse_alice=refuse_alice)
    registrar = registrar_on(store)

    async def go() -> tuple[Reply | None, bool, list[str]]:
        bob = asyncio.create_task(register_async(registrar, "bob", "hunter2"))
        await asyncio.to_thread(store.holding.wait, 5)
        try:
            # When alice registers meanwhile
            alice = await asyncio.wait_for(register_async(registrar, "alice", "s3cret"), 1.0)
            return alice, bob.done(), [aor for aor, _ in store.rows]
        finally:
            store.release.set()
            await bob

    alice, bob_answered, stored = run(go())
    # Then she is answered as soon as her own write is done (or failed), bob still waiting
    assert alice is not None and not bob_answered
    if refuse_alice:
        headers = dict(alice.headers)
        assert alice.status == 503 and "binding not stored" in headers["Warning"]
        assert headers["Retry-After"] == "5" and registrar.refused_unwritten == 1
    else:
        assert alice.status == 200 and stored == [f"sip:alice@{DOMAIN}"]
    assert registrar.answered_unwritten == 0
