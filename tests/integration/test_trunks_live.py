"""Trunks on the local stack: a sipp UAS stands for the legacy PBX (it answers the edge's OPTIONS
pings with -aa), a sipp UAC for the carrier. The number is in legacy mode, so each call is bridged
by the edge to the merchant's legacy trunk; a DNS server on 127.0.0.1 (dnslib) is the edge's nameserver
(SIP_TRUNK_DNS) for trunks named by a bare domain."""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from contact_center.contracts.settings import SIP_TRUNK_DNS
from sip_edge.sip.message import Response
from sip_edge.sip.parsing import parse_message
from tests.integration.calls_support import (
    SCENARIOS,
    SIPP,
    Merchant,
    Sipp,
    add_trunk,
    agent,
    bind_table,
    call_api,
    caller,
    onboard,
    register,
    sipp_args,
)
from tests.support.dns_zone import Zone, dns_zone
from tests.support.ports import free_port
from tests.support.stack import RunningStack, running_stack

pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def zone() -> Iterator[Zone]:
    with dns_zone() as (served, _):
        yield served


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, zone: Zone) -> Iterator[RunningStack]:
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    host, port = zone.nameserver
    # The edge asks the test's DNS server for trunks' SRV and address records.
    env = {SIP_TRUNK_DNS.name: f"{host}:{port}"}
    with running_stack(tmp_path_factory.mktemp("trunks"), dynamodb=kind, extra_env=env) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


@contextlib.contextmanager
def pbx(scenario: str, tmp: Path, port: int, name: str, *keys: tuple[str, str]) -> Iterator[Sipp]:
    """The legacy PBX while the test runs. Each OPTIONS ping is a call of its own to sipp (answered
    by -aa), so it takes any number of calls and is stopped at the end; the test judges it by the
    calls' outcomes and its message log."""
    key_args = [arg for key, value in keys for arg in ("-key", key, value)]
    args = sipp_args(tmp, name, port, timeout=120)
    args[args.index("-m") + 1] = "1000"
    proc = subprocess.Popen(
        [SIPP, "-sf", str(SCENARIOS / scenario), *args, "-aa", *key_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp,
    )
    try:
        yield Sipp(name, proc, tmp)
    finally:
        proc.kill()
        proc.wait()


def records_of(stack: RunningStack, number: str, count: int, timeout: float = 10.0) -> list[Any]:
    """The contact records of calls to ``number`` (a forwarded call's record names no queue)."""
    from contact_center.data.models import RecordItem

    bind_table(stack)
    deadline = time.monotonic() + timeout
    while True:
        found = list(
            RecordItem.scan((RecordItem.called == number) & (RecordItem.entity == RecordItem.ENTITY))
        )
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.3)


def legacy_number(merchant: Merchant, trunk: dict[str, Any]) -> None:
    path = f"/merchants/{merchant.merchant_id}/numbers/{merchant.number}"
    body = {"mode": "legacy", "legacy_trunk_id": trunk["trunk_id"]}
    status, answer = call_api(merchant.stack, "PATCH", path, body, merchant.key)
    assert status == 200, answer


def legacy_trunk(merchant: Merchant, port: int, **extra: Any) -> dict[str, Any]:
    body = {"name": "Legacy PBX", "address": f"127.0.0.1:{port}", "source_cidrs": ["127.0.0.0/8"], **extra}
    status, trunk = call_api(
        merchant.stack, "POST", f"/merchants/{merchant.merchant_id}/trunks", body, merchant.key
    )
    assert status == 201, trunk
    return dict(trunk)


def test_a_legacy_pbx_that_challenges_gets_the_trunks_credentials_and_takes_the_call(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558100")
    port = free_port()
    credentials = {"username": "switchboard", "password": "legacy-secret", "realm": "legacy.example"}
    legacy_number(merchant, legacy_trunk(merchant, port, **credentials))
    with pbx("legacy_challenges.xml", tmp_path, port, "pbx", ("password", "legacy-secret")) as legacy:
        call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
        assert call.wait() == 0, call.report()
        messages = legacy.messages()
    # Challenged once, then taken: sipp's verifyauth found the digest right (a wrong one gets 403,
    # and the number's queue has no agent to take the call).
    assert messages.count("INVITE sip:") == 2, legacy.report()
    assert 'Authorization: Digest username="switchboard", realm="legacy.example"' in messages
    [record] = records_of(stack, merchant.number, 1)
    assert record.side == "legacy" and record.hangup_cause == "normal_clearing"


def test_a_call_over_the_trunks_limit_goes_to_the_numbers_queue_while_the_first_talks(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558200")
    port = free_port()
    legacy_number(merchant, legacy_trunk(merchant, port, max_concurrent_calls=1))
    [seat] = merchant.seats
    register(stack, seat, tmp_path)
    phone = agent(seat, "agent_answer.xml", tmp_path)
    merchant.set_state(seat, "available")
    # Two callers a second apart, each talking 3 s: the second arrives while the first holds the
    # trunk's one slot.
    fields = tmp_path / "callers.csv"
    fields.write_text("SEQUENTIAL\n+17775550001;\n+17775550002;\n")
    args = sipp_args(tmp_path, "callers", free_port(), timeout=30)
    args[args.index("-m") + 1] = "2"
    with pbx("agent_answer.xml", tmp_path, port, "pbx") as legacy:
        calls = subprocess.Popen(
            [
                SIPP, f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / "wave_caller.xml"),
                "-s", merchant.number, "-inf", str(fields), "-r", "1", "-rp", "1000", *args,
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, cwd=tmp_path,
        )  # fmt: skip
        callers = Sipp("callers", calls, tmp_path)
        assert callers.wait(40) == 0, callers.report() + legacy.report()
    assert phone.wait() == 0, phone.report()
    found = records_of(stack, merchant.number, 2)
    assert sorted(r.side for r in found) == ["legacy", "switchboard"]
    assert all(r.hangup_cause == "normal_clearing" for r in found)


def test_a_trunk_named_by_a_bare_domain_reaches_its_srv_servers_in_order_past_one_that_fails(
    stack: RunningStack, zone: Zone, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558300")
    broken, working = free_port(), free_port()
    zone.srv("_sip._udp.legacy.test", 10, 0, broken, "pbx1.legacy.test.")
    zone.srv("_sip._udp.legacy.test", 20, 0, working, "pbx2.legacy.test.")
    zone.a("pbx1.legacy.test", "127.0.0.1")
    zone.a("pbx2.legacy.test", "127.0.0.1")
    body = {"name": "Legacy PBX", "address": "legacy.test", "source_cidrs": ["127.0.0.0/8"]}
    status, trunk = call_api(stack, "POST", f"/merchants/{merchant.merchant_id}/trunks", body, merchant.key)
    assert status == 201, trunk
    legacy_number(merchant, trunk)
    with (
        pbx("legacy_unavailable.xml", tmp_path, broken, "pbx1") as first,
        pbx("agent_answer.xml", tmp_path, working, "pbx2") as second,
    ):
        call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
        assert call.wait() == 0, call.report() + first.report() + second.report()
        assert "SIP/2.0 503" in first.messages() and "INVITE sip:" in second.messages()
    assert zone.asked("_sip._udp.legacy.test", "SRV") >= 1
    [record] = records_of(stack, merchant.number, 1)
    assert record.side == "legacy" and record.hangup_cause == "normal_clearing"


def test_the_legacy_centre_sends_a_caller_to_a_number_still_in_legacy_mode_and_it_lands_in_the_queue(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558400")
    port = free_port()
    # The legacy PBX signals from 127.0.0.3, inside the platform's loopback carrier range: the most
    # specific network names the trunk.
    trunk = legacy_trunk(merchant, port, source_cidrs=["127.0.0.3/32"])
    legacy_number(merchant, trunk)
    phone = available_agent(stack, merchant, tmp_path)
    # 127.0.0.3 is no unknown source (the loopback carrier holds it), so the edges see the new trunk
    # when their list expires: within 10 s (sip_edge/app/calls/trunks.py).
    time.sleep(10.5)
    from_legacy_centre(stack, tmp_path, port, "127.0.0.3", merchant.number)
    assert phone.wait() == 0, phone.report()
    [record] = records_of(stack, merchant.number, 1)
    assert record.side == "switchboard" and record.hangup_cause == "normal_clearing"


def available_agent(stack: RunningStack, merchant: Merchant, tmp: Path) -> Sipp:
    """The merchant's one seat, registered and available, its phone answering one call."""
    [seat] = merchant.seats
    register(stack, seat, tmp)
    phone = agent(seat, "agent_answer.xml", tmp)
    merchant.set_state(seat, "available")
    return phone


def from_legacy_centre(stack: RunningStack, tmp: Path, port: int, source_ip: str, called: str) -> None:
    """A call the legacy PBX (listening on ``port``) sends from ``source_ip`` to ``called``, talked
    through and hung up by the caller; the PBX never gets it back."""
    with pbx("agent_answer.xml", tmp, port, "pbx") as legacy:
        args = sipp_args(tmp, "transferred", free_port())
        args[args.index("-i") + 1] = source_ip
        call = subprocess.Popen(
            [SIPP, f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / "caller_bye.xml"), "-s", called, *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, cwd=tmp,
        )  # fmt: skip
        transferred = Sipp("transferred", call, tmp)
        assert transferred.wait() == 0, transferred.report()
        assert "INVITE sip:" not in legacy.messages()  # never sent back to the legacy centre


def test_the_legacy_centre_sends_a_caller_to_a_queue_address_and_it_lands_in_that_queue(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558450")
    port = free_port()
    # From 127.0.0.4, inside the platform's loopback carrier range, as the number's test above.
    trunk = legacy_trunk(merchant, port, source_cidrs=["127.0.0.4/32"])
    phone = available_agent(stack, merchant, tmp_path)
    time.sleep(10.5)  # the edges see the new trunk when their list expires (trunks.py)
    address = f"queue-{merchant.queue_id}"
    from_legacy_centre(stack, tmp_path, port, "127.0.0.4", address)
    assert phone.wait() == 0, phone.report()
    [record] = records_of(stack, address, 1)
    assert (record.queue_id, record.trunk_id, record.side) == (
        merchant.queue_id,
        trunk["trunk_id"],
        "switchboard",
    )
    assert record.merchant_id == merchant.merchant_id and record.hangup_cause == "normal_clearing"


def refused(stack: RunningStack, source_ip: str, user: str) -> Response:
    """The final answer to an INVITE for ``user`` sent from ``source_ip`` (acknowledged, as a UAC does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source_ip, 0))
        sock.settimeout(10)
        local = f"{source_ip}:{sock.getsockname()[1]}"
        branch, call_id = f"z9hG4bK{secrets.token_hex(6)}", secrets.token_hex(8)
        uri = f"sip:{user}@127.0.0.1:{stack.sip_port}"
        common = [
            f"Via: SIP/2.0/UDP {local};branch={branch};rport",
            f"From: <sip:+4930123@{source_ip}>;tag=legacy",
            f"Call-ID: {call_id}",
            "Max-Forwards: 70",
        ]
        invite = [
            f"INVITE {uri} SIP/2.0",
            *common,
            f"To: <{uri}>",
            "CSeq: 1 INVITE",
            f"Contact: <sip:pbx@{local}>",
        ]
        sock.sendto(
            ("\r\n".join(invite) + "\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", stack.sip_port)
        )
        while True:
            answer = parse_message(sock.recv(65535))
            if isinstance(answer, Response) and answer.status >= 200:
                break
        ack = [f"ACK {uri} SIP/2.0", *common, f"To: {answer.headers.get('To')}", "CSeq: 1 ACK"]
        sock.sendto(
            ("\r\n".join(ack) + "\r\nContent-Length: 0\r\n\r\n").encode(), ("127.0.0.1", stack.sip_port)
        )
        return answer


def test_a_queue_address_from_a_platform_carrier_or_for_another_merchants_queue_is_refused_saying_why(
    stack: RunningStack,
) -> None:
    ours, theirs = onboard(stack, "+14155558460"), onboard(stack, "+14155558470")
    legacy_trunk(ours, free_port(), source_cidrs=["127.0.0.5/32"])
    time.sleep(10.5)  # the edges see the new trunk when their list expires (trunks.py)
    # 127.0.0.1 is the platform's loopback carrier: it has no merchant, so no queue is its to name.
    carrier = refused(stack, "127.0.0.1", f"queue-{ours.queue_id}")
    assert carrier.status == 403 and "merchant's trunk" in (carrier.headers.get("Warning") or "")
    for queue_id in (theirs.queue_id, "no-such-queue"):
        answer = refused(stack, "127.0.0.5", f"queue-{queue_id}")
        assert answer.status == 404 and f"no queue {queue_id}" in (answer.headers.get("Warning") or "")
    assert records_of(stack, f"queue-{theirs.queue_id}", 1, timeout=1) == []  # no contact was made


def test_switchboard_first_a_caller_the_queue_cannot_take_within_its_max_wait_goes_to_the_legacy_trunk(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558500", max_wait_seconds=2)  # no agent is logged in
    port = free_port()
    trunk = legacy_trunk(merchant, port)
    path = f"/merchants/{merchant.merchant_id}/numbers/{merchant.number}"
    body = {"mode": "switchboard", "fallback_trunk_id": trunk["trunk_id"]}
    status, answer = call_api(stack, "PATCH", path, body, merchant.key)
    assert (status, answer["fallback_trunk_id"]) == (200, trunk["trunk_id"]), answer
    with pbx("agent_answer.xml", tmp_path, port, "pbx") as legacy:
        call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
        assert call.wait() == 0, call.report() + legacy.report()
    [record] = records_of(stack, merchant.number, 1)
    assert record.side == "legacy" and record.hangup_cause == "normal_clearing"
    assert [segment["kind"] for segment in record.segments] == ["queue", "trunk"]
