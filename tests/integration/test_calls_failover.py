"""A call survives the loss of the edge task that set it up.

Two more edge processes run against the local stack's DynamoDB and Lambda service. The agent
registers through edge A and the carrier calls edge A; once the call is talking, edge A is killed
with SIGKILL (no chance to clean up) and the carrier's BYE goes to edge B. Edge B reads the dialog
from the table, ends the agent's leg, answers the carrier and closes the contact with its record.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sip_edge.sip.dialog import parse_contact_user
from sip_edge.sip.message import Response
from tests.integration.calls_support import add_trunk, agent, bind_table, onboard, records, register
from tests.sip.b2bua_support import Phone
from tests.support.ports import free_port
from tests.support.stack import ROOT, RunningStack, running_stack

NUMBER = "+14155559001"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("failover")) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


@contextmanager
def extra_edge(stack: RunningStack, task_id: str, tmp: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """One more `python -m sip_edge` with the stack's table, Lambda service and nonce key."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SIP_", "EDGE_"))}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": str(stack.dynamodb_endpoint),
            "AWS_ENDPOINT_URL_LAMBDA": stack.lambda_url,
            "SWITCHBOARD_TABLE": "switchboard",
            "ROUTING_FUNCTION_NAME": "routing",
            "SIP_DOMAIN": "127.0.0.1",
            "SIP_NONCE_KEY": "failover-test-nonce-key",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.pop("AWS_SESSION_TOKEN", None)
    log = tmp / f"{task_id}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sip_edge",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--task-id",
                task_id,
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 20
        while "listening on UDP" not in log.read_text(errors="replace"):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.1)
        yield proc, port
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stored_dialog(stack: RunningStack, key: str, timeout: float = 5.0) -> bool:
    from contact_center.data.sessions import DialogItems

    bind_table(stack)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if DialogItems().get(key, int(time.time())) is not None:
            return True
        time.sleep(0.1)
    return False


def test_kill_9_the_edge_mid_call_and_a_second_edge_ends_both_legs(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, NUMBER, 1)
    seat = merchant.seats[0]
    with (
        extra_edge(stack, "edge-a", tmp_path) as (edge_a, port_a),
        extra_edge(stack, "edge-b", tmp_path) as (
            _edge_b,
            port_b,
        ),
    ):
        register(stack, seat, tmp_path, edge_port=port_a)
        merchant.set_state(seat, "available")
        phone = agent(seat, "agent_answer.xml", tmp_path)

        async def call() -> int:
            carrier = await Phone.open("carrier")
            try:
                invite = carrier.invite(("127.0.0.1", port_a), NUMBER)
                ok = await carrier.response("INVITE", final=True, timeout=15)
                assert isinstance(ok, Response) and ok.status == 200, ok
                carrier.in_dialog("ACK", invite, ok, ("127.0.0.1", port_a), cseq=1)
                contact_uri = ok.contacts[0].sip_uri
                assert contact_uri is not None
                dialog = parse_contact_user(contact_uri.user)
                assert dialog is not None
                assert await asyncio.to_thread(stored_dialog, stack, dialog[0])

                # When edge A dies without a word and the BYE lands on edge B
                edge_a.send_signal(signal.SIGKILL)
                edge_a.wait(5)
                carrier.in_dialog("BYE", invite, ok, ("127.0.0.1", port_b))
                return (await carrier.response("BYE", final=True, timeout=10)).status
            finally:
                carrier.close()

        # Then B answers the carrier, ends the agent's leg and the contact record is written
        assert asyncio.run(call()) == 200
        assert phone.wait() == 0, phone.report()
        assert "Reason: Q.850;cause=16" in phone.messages()
        [record] = records(stack, merchant)
        assert (record.seat_id, record.hangup_side, record.hangup_cause) == (
            seat.seat_id,
            "customer",
            "normal_clearing",
        )
        assert record.answered_at is not None
        assert merchant.wait_state(seat, "available") == "available"
