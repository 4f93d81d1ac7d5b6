"""A region as deployed: a balancer in front of three edge tasks, phones behind a home NAT, a carrier.

Each task has its own address and advertises it; the balancer pins flows and preserves client
addresses. A phone's registration lands on one task (its flow owner); carrier calls land on any
task, and those that land elsewhere reach the phone through the owner's relay.
"""

from __future__ import annotations

import socket
import time

import pytest

from local_stack.topology import netns
from local_stack.topology.harness import DOMAIN, DYNAMODB_PORT, Harness, PhoneProcess
from local_stack.topology.network import AWS, CARRIER, HEALTH_PORT, HOME_PUBLIC, PHONES, SIP_PORT, VIP
from local_stack.topology.phone import Phone, answer_challenges
from tests.topology.conftest import CALLS
from tests.topology.support import make_available, onboard


def owner_of(harness: Harness, protocol: str, port: int) -> str:
    assert harness.balancer is not None
    deadline = time.monotonic() + 5
    while (owner := harness.balancer.target_of(protocol, HOME_PUBLIC, port)) is None:
        assert time.monotonic() < deadline, f"no {protocol} flow from {HOME_PUBLIC}:{port}"
        time.sleep(0.1)
    return owner


NUMBERS = {"udp": "+14155550101", "tcp": "+14155550102", "tls": "+14155550108"}
PHONE_PORTS = {"udp": 5071, "tcp": 5072, "tls": 5078}


@pytest.mark.parametrize("transport", ["udp", "tcp", "tls"])
def test_a_phone_registered_through_one_task_receives_the_calls_that_arrive_on_the_others(
    harness: Harness, transport: str
) -> None:
    # Given a phone behind the home NAT with two seats, registered through one task (its flow owner)
    # over UDP, TCP, or TLS passed through the balancer and ended by the task with the certificate
    # from the template's secret,
    merchant = onboard(harness, NUMBERS[transport], seats=2)
    phone = harness.phone(
        f"phone-{transport}", merchant.credentials, transport=transport, port=PHONE_PORTS[transport]
    )
    phone.wait_for("registered", 2)
    owner = owner_of(harness, "udp" if transport == "udp" else "tcp", phone.local_port)
    make_available(harness, merchant)
    # when the carrier places calls (over TCP for the TCP phone, else UDP), each from a new source
    # port so the balancer spreads them,
    trunk = "tcp" if transport == "tcp" else "udp"
    result = harness.carrier(
        merchant.number, CALLS, transport=trunk, rate=10, limit=2, name=f"carrier-{transport}"
    )
    # then every call is answered by the phone and hung up cleanly,
    assert (result.successful, result.failed) == (CALLS, 0), result.errors + harness.logs()
    # (the phone prints a BYE's event just after answering it: the carrier may have its 200 first)
    phone.wait_for("bye", CALLS, timeout=5)
    assert phone.count("invite") == CALLS and phone.count("bye") == CALLS
    # and the calls arrived on every task, so most reached the phone through its owner's relay.
    assert harness.balancer is not None
    arrived = harness.balancer.targets_of(trunk, CARRIER)
    assert set(arrived) == {harness.edge_address(i) for i in harness.layout.tasks}, arrived
    print(f"{transport}: {CALLS} calls in {result.seconds:.1f} s; owner {owner}; arrivals {dict(arrived)}")


def test_a_challenge_issued_by_one_task_is_accepted_through_another(harness: Harness) -> None:
    merchant = onboard(harness, "+14155550103", seats=1)
    ((user, password),) = merchant.credentials
    assert harness.balancer is not None

    def register_across_tasks() -> tuple[str, str, int]:
        # Given a REGISTER challenged by the task its first flow landed on,
        first = Phone("udp", (PHONES, 0), (VIP, SIP_PORT), DOMAIN, [(user, password)], expires=300)
        first.open()
        first.sock.settimeout(5)
        call_id = first.register(user)
        challenge = first.receive()
        assert challenge is not None and challenge.status == 401
        challenger = owner_of(harness, "udp", first.local[1])
        # when the answer comes over another flow, which the balancer gives to another task,
        for _ in range(30):
            second = Phone("udp", (PHONES, 0), (VIP, SIP_PORT), DOMAIN, [(user, password)], expires=300)
            second.open()
            second.sock.settimeout(5)
            second.send(ping_options(second.local[1]))
            assert second.receive() is not None
            if owner_of(harness, "udp", second.local[1]) != challenger:
                break
            second.sock.close()
        else:
            raise AssertionError("30 new flows all landed on the challenging task")
        authorization = answer_challenges(challenge, "REGISTER", f"sip:{DOMAIN}", user, password)
        assert authorization is not None
        second.register(user, authorization, call_id)
        answer = second.receive()
        assert answer is not None
        return challenger, owner_of(harness, "udp", second.local[1]), answer.status

    challenger, answerer, status = netns.call_in(harness.layout.phones, register_across_tasks)
    # then that task accepts the answer to a nonce the other one issued.
    assert challenger != answerer
    assert status == 200


def ping_options(port: int) -> str:
    return (
        f"OPTIONS sip:{VIP} SIP/2.0\r\nVia: SIP/2.0/UDP {PHONES}:{port};branch=z9hG4bKp{port}{time.time_ns()};rport\r\n"
        f"From: <sip:probe@{DOMAIN}>;tag=p\r\nTo: <sip:{VIP}>\r\nCall-ID: probe-{port}-{time.time_ns()}\r\n"
        "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
    )


def options_from_carrier(harness: Harness, flows: int) -> list[tuple[int, bool]]:
    """``flows`` OPTIONS through the VIP, each from a new carrier port: (port, answered with 200)."""

    def send() -> list[tuple[int, bool]]:
        found = []
        for _ in range(flows):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((CARRIER, 0))
                s.settimeout(2)
                port = s.getsockname()[1]
                s.sendto(ping_options(port).replace(PHONES, CARRIER).encode(), (VIP, SIP_PORT))
                try:
                    found.append((port, s.recv(65535).startswith(b"SIP/2.0 200")))
                except OSError:
                    found.append((port, False))
        return found

    return netns.call_in(harness.layout.carrier, send)


def test_a_killed_task_leaves_the_rotation_and_its_phones_come_back_through_another(harness: Harness) -> None:
    assert harness.balancer is not None
    merchant = onboard(harness, "+14155550104", seats=1)
    # Given a phone that re-registers every 5 s, registered through task A,
    phone = harness.phone("phone-failover", merchant.credentials, port=5074, expires=60, refresh=5)
    phone.wait_for("registered")
    owner = owner_of(harness, "udp", phone.local_port)
    index = next(i for i in harness.layout.tasks if harness.edge_address(i) == owner)
    make_available(harness, merchant)
    # when task A dies without a word,
    registered_before = phone.count("registered")
    killed = time.monotonic()
    harness.kill_edge(index)
    try:
        reregistered, new_owner, out_of_rotation = phone_comes_back(
            harness, phone, owner, killed, registered_before
        )
        # and calls reach it again.
        result = harness.carrier(merchant.number, 3, rate=5, limit=1, name="carrier-after-kill")
        assert (result.successful, result.failed) == (3, 0), result.errors + harness.logs()
    finally:
        harness.restart_edge(index)
    print(
        f"killed {owner}: out of rotation after {out_of_rotation:.1f} s, phone re-registered through "
        f"{new_owner} after {reregistered:.1f} s"
    )


def phone_comes_back(
    harness: Harness, phone: PhoneProcess, owner: str, killed: float, registered_before: int
) -> tuple[float, str, float]:
    assert harness.balancer is not None
    balancer = harness.balancer
    # then its health check fails and the balancer stops giving it new flows,
    while owner in balancer.in_rotation():
        assert time.monotonic() - killed < 10, "the dead task stayed in the rotation"
        time.sleep(0.05)
    out_of_rotation = time.monotonic() - killed
    assert owner not in balancer.rules()
    probes = options_from_carrier(harness, 12)
    assert all(ok for _, ok in probes), probes
    assert owner not in {balancer.target_of("udp", CARRIER, port) for port, _ in probes}
    # the phone's next re-registration lands on a live task,
    phone.wait_for("registered", registered_before + 1, timeout=15)
    reregistered = time.monotonic() - killed
    new_owner = owner_of(harness, "udp", phone.local_port)
    assert new_owner != owner
    return reregistered, new_owner, out_of_rotation


def test_a_talking_call_outlives_the_task_that_set_it_up_and_ends_with_a_bye_through_another(
    harness: Harness,
) -> None:
    assert harness.balancer is not None
    merchant = onboard(harness, "+14155550107", seats=1)
    phone = harness.phone("phone-talking", merchant.credentials, port=5077)
    phone.wait_for("registered")
    owner = owner_of(harness, "udp", phone.local_port)
    make_available(harness, merchant)
    # Given a talking call set up by a task other than the phone's flow owner (the carrier's one
    # flow lands where the balancer puts it; a call that lands on the owner is let finish),
    for attempt in range(8):
        port = 5300 + attempt
        run = harness.start_carrier(
            merchant.number, 1, limit=1, talk_ms=8000, name=f"talking-{attempt}", port=port
        )
        phone.wait_for("invite", attempt + 1, timeout=15)
        setup_task = harness.balancer.target_of("udp", CARRIER, port)
        if setup_task not in (None, owner):
            break
        assert run.wait(30).successful == 1
        time.sleep(0.5)
    else:
        raise AssertionError("8 calls in a row were set up by the phone's flow owner")
    assert setup_task is not None
    index = next(i for i in harness.layout.tasks if harness.edge_address(i) == setup_task)
    # when that task is killed while the call talks,
    harness.kill_edge(index)
    try:
        # then the carrier's BYE, pinned to the dead task until the balancer drops its flows, is
        # answered by another task from the stored dialog, and the phone gets its BYE too.
        result = run.wait(60)
        assert (result.successful, result.failed) == (1, 0), result.errors + harness.logs()
        phone.wait_for("bye", attempt + 1, timeout=10)
        ended_by = harness.balancer.target_of("udp", CARRIER, port)
        assert ended_by not in (None, setup_task)
    finally:
        harness.restart_edge(index)
    print(f"call set up by {setup_task} (attempt {attempt + 1}), phone on {owner}, BYE through {ended_by}")


def test_the_contact_the_edge_gives_a_carrier_is_reachable_from_the_carrier(harness: Harness) -> None:
    """The carrier sends its ACK, BYE and re-INVITEs to the Contact of our 200 (RFC 3261 §12.1.2):
    from outside the region only the VIP reaches an edge, so that Contact must name the VIP (or the
    SIP domain that resolves to it), never the private address of the task that answered."""
    merchant = onboard(harness, "+14155550105", seats=1)
    phone = harness.phone("phone-contact", merchant.credentials, port=5075)
    phone.wait_for("registered")
    make_available(harness, merchant)
    result = harness.carrier(merchant.number, 1, limit=1, name="carrier-contact", trace=True)
    assert result.successful == 1, result.errors
    messages = (harness.workdir / "carrier-contact_messages.log").read_text(errors="replace")
    ok = messages[messages.index("SIP/2.0 200") :]
    contact = next(line for line in ok.splitlines() if line.lower().startswith(("contact:", "m:")))
    host_port = contact.split("@", 1)[-1].split(">", 1)[0].split(";", 1)[0]
    host, _, port = host_port.partition(":")

    def options_to_contact() -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((CARRIER, 0))
            s.settimeout(2)
            target = VIP if host == DOMAIN else host
            s.sendto(
                ping_options(s.getsockname()[1]).replace(PHONES, CARRIER).encode(),
                (target, int(port or 5060)),
            )
            try:
                return s.recv(65535).startswith(b"SIP/2.0 200")
            except OSError:
                return False

    assert netns.call_in(harness.layout.carrier, options_to_contact), (
        f"unreachable Contact from the carrier: {contact}"
    )


def test_the_edges_keepalives_hold_a_silent_phones_nat_mapping_open(harness: Harness) -> None:
    # Given a phone that says nothing after registering (its refresh is far off), behind a home NAT
    # that forgets a UDP mapping after 12 s of silence,
    merchant = onboard(harness, "+14155550106", seats=1)
    phone = harness.phone("phone-silent", merchant.credentials, port=5076, expires=3600)
    phone.wait_for("registered")
    make_available(harness, merchant)
    idle = harness.layout.udp_mapping_seconds + 6
    # when it stays silent longer than that,
    time.sleep(idle)
    mapping = netns.sh(
        harness.layout.home, ["conntrack", "-L", "-p", "udp", "--orig-port-src", str(phone.local_port)]
    )
    # then the mapping is still there, kept by the flow owner's keep-alives, and a call gets through.
    assert f"sport={phone.local_port}" in mapping
    result = harness.carrier(merchant.number, 1, limit=1, name="carrier-after-silence")
    assert (result.successful, result.failed) == (1, 0), result.errors + harness.logs()
    assert phone.count("registered") == 1


def health_of(harness: Harness, index: int) -> tuple[int, str]:
    """The task's answer to the balancer's check (``GET /health``), asked from the region."""

    def ask() -> tuple[int, str]:
        with socket.create_connection((harness.edge_address(index), HEALTH_PORT), timeout=3) as s:
            s.sendall(b"GET /health HTTP/1.1\r\n\r\n")
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
        head, _, body = answer.decode().partition("\r\n\r\n")
        return int(head.split()[1]), body

    return netns.call_in(harness.layout.region, ask)


def test_a_task_cut_off_from_dynamodb_leaves_the_rotation_and_returns_when_it_is_back(
    harness: Harness,
) -> None:
    assert harness.balancer is not None
    balancer = harness.balancer
    index = harness.layout.tasks[-1]
    address = harness.edge_address(index)
    assert address in balancer.in_rotation()
    drop = ["OUTPUT", "-d", AWS, "-p", "tcp", "--dport", str(DYNAMODB_PORT), "-j", "DROP"]
    # Given the task's packets to DynamoDB are dropped (its other dependencies still answer),
    netns.sh(harness.layout.task(index), ["iptables", "-I", *drop])
    cut = time.monotonic()
    try:
        # then within 10 s its deep health check fails and the balancer takes it out of the rotation,
        while address in balancer.in_rotation():
            assert time.monotonic() - cut < 10, f"still in the rotation:\n{harness.logs()}"
            time.sleep(0.1)
        unhealthy_after = time.monotonic() - cut
        status, body = health_of(harness, index)
        assert status == 503 and body.startswith("dynamodb:"), (status, body)
        # and new flows go to the other tasks only, all answered.
        probes = options_from_carrier(harness, 12)
        assert all(ok for _, ok in probes), probes
        assert address not in {balancer.target_of("udp", CARRIER, port) for port, _ in probes}
    finally:
        netns.sh(harness.layout.task(index), ["iptables", "-D", *drop])
    # When DynamoDB is reachable again, the task is back in the rotation.
    back = time.monotonic()
    assert balancer.wait_healthy(len(harness.layout.tasks), 15), harness.logs()
    assert health_of(harness, index)[0] == 200
    print(
        f"cut off from DynamoDB: out after {unhealthy_after:.1f} s, back {time.monotonic() - back:.1f} s after"
    )
