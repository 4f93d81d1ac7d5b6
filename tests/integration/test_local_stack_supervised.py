"""`make run` keeps its children running: kill -9 any of them and the stack serves again.

The stack runs three edge tasks on their own loopback addresses (``--edges 3``) over DynamoDB Local
with its data kept on disk: a phone registered through one task is reachable from the other, and
after each child is killed (the database too) registrations and API calls work again with the
merchant and seat made before.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack import media_relay
from tests.integration.calls_support import (
    SCENARIOS,
    SIPP,
    Merchant,
    Seat,
    add_trunk,
    call_api,
    onboard,
    wait_for_binding,
)
from tests.integration.test_local_stack import descendants
from tests.support.ports import free_port
from tests.support.stack import ROOT, RunningStack, http_json, running_stack

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]
HERE = Path(__file__).resolve().parent
EDGES = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
NUMBER = "+14155559301"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    tmp = tmp_path_factory.mktemp("supervised")
    with running_stack(
        tmp, dynamodb="dynamodb-local", args=["--edges", "3", "--data", str(tmp / "data")]
    ) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


@pytest.fixture(scope="module")
def merchant(stack: RunningStack) -> Merchant:
    return onboard(stack, NUMBER, seats=1)


def sipp(
    tmp: Path, name: str, remote: str | None, scenario: Path, port: int, *extra: str
) -> subprocess.Popen[str]:
    argv = [SIPP, *([remote] if remote else []), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port), "-m", "1",
            "-timeout", "20s", "-timeout_error", "-trace_err", "-error_file", str(tmp / f"{name}_errors.log"),
            "-trace_msg", "-message_file", str(tmp / f"{name}_messages.log"), "-nostdin", "-nd", *extra]  # fmt: skip
    return subprocess.Popen(argv, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True)


def register(stack: RunningStack, seat: Seat, edge: str, tmp: Path) -> None:
    fields = tmp / f"{seat.username}.csv"
    fields.write_text(f"SEQUENTIAL\n{seat.username};{seat.domain}\n")
    # sipp's digest uri is the remote address unless told: the edge wants the Request-URI (the domain).
    proc = sipp(tmp, f"register-{edge}", f"{edge}:{stack.sip_port}", HERE / "sipp_register.xml", seat.port,
                "-inf", str(fields), "-au", seat.username, "-ap", seat.password, "-auth_uri", seat.domain)  # fmt: skip
    assert proc.wait(30) == 0, (tmp / f"register-{edge}_errors.log").read_text(errors="replace")[-1500:]
    wait_for_binding(stack, seat)


def test_the_banner_options_ping_sends_an_options_and_gets_200(stack: RunningStack, tmp_path: Path) -> None:
    line = next(line for line in stack.log().splitlines() if "OPTIONS ping" in line)
    command = line.split("#", 1)[0].split()
    assert command[0] == "sipp"
    messages = tmp_path / "ping.log"
    result = subprocess.run(
        [SIPP, *command[1:], "-trace_msg", "-message_file", str(messages), "-timeout", "10s", "-timeout_error", "-nd"],
        cwd=ROOT, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-1000:]
    sent = messages.read_text(errors="replace")
    assert "OPTIONS sip:" in sent and "INVITE sip:" not in sent


def test_each_edge_listens_on_its_own_address(stack: RunningStack) -> None:
    log = stack.log()
    for edge in EDGES:
        assert f"listening on UDP {edge}:{stack.sip_port}" in log
        assert f"listening on TCP {edge}:{stack.sip_port}" in log


@pytest.mark.parametrize("caller_edge", EDGES[1:])
def test_a_phone_registered_through_one_edge_is_called_through_the_others(
    stack: RunningStack, merchant: Merchant, tmp_path: Path, caller_edge: str
) -> None:
    seat = merchant.seats[0]
    register(stack, seat, EDGES[0], tmp_path)
    merchant.set_state(seat, "available")
    phone = sipp(tmp_path, "agent", None, SCENARIOS / "agent_answer.xml", seat.port)
    time.sleep(0.3)
    caller = sipp(tmp_path, "caller", f"{caller_edge}:{stack.sip_port}", SCENARIOS / "caller_bye.xml", free_port(),
                  "-s", NUMBER)  # fmt: skip
    assert caller.wait(40) == 0, (tmp_path / "caller_errors.log").read_text(errors="replace")[-1500:]
    assert phone.wait(20) == 0
    # The INVITE reached the phone from the edge it registered through, relayed for the caller's.
    received = (tmp_path / "agent_messages.log").read_text(errors="replace")
    assert f"Via: SIP/2.0/UDP {EDGES[0]}:{stack.sip_port}" in received
    assert f"{caller_edge}:{stack.sip_port}" in received


def child_pid(stack: RunningStack, marker: str) -> int:
    for pid in descendants(stack.proc.pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if marker in cmdline:
            return pid
    raise AssertionError(f"no child running {marker!r}")


@pytest.mark.parametrize(
    ("name", "marker"),
    [
        ("dynamodb (DynamoDB Local)", "DynamoDBLocal.jar"),
        ("lambda", "local_stack.lambda_endpoint"),
        ("api", "local_stack.api_server"),
        ("web", "local_stack.web_server"),
        ("media relay", "rtpengine"),
        ("sip edge 1", f"--host {EDGES[0]}"),
        ("sip edge 2", f"--host {EDGES[1]}"),
    ],
)
def test_a_killed_child_comes_back_and_the_stack_serves_again(
    stack: RunningStack, merchant: Merchant, tmp_path: Path, name: str, marker: str
) -> None:
    restarts = stack.log().count(f"{name} restarted")
    pid = child_pid(stack, marker)
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while stack.log().count(f"{name} restarted") == restarts:
        assert stack.proc.poll() is None, stack.log()[-3000:]
        assert time.monotonic() < deadline, stack.log()[-3000:]
        time.sleep(0.1)
    back = time.monotonic() - killed
    assert re.search(
        rf"{re.escape(name)} \(pid {pid}\) exited with signal SIGKILL; restarting in", stack.log()
    )
    # The merchant and seat made before are still there (the database kept its data),
    status, seats = call_api(stack, "GET", f"/merchants/{merchant.merchant_id}/seats", key=merchant.key)
    assert status == 200, seats
    assert [s["seat_id"] for s in seats["items"]] == [merchant.seats[0].seat_id]
    # a phone registers through each edge,
    for edge in EDGES:
        register(stack, merchant.seats[0], edge, tmp_path)
    # and the child itself serves again.
    if name == "web":
        assert http_json("GET", stack.web_url + "/api/health")[0] == 200
    if name == "media relay":
        ng = re.search(r"rtpengine, ng ([\d.]+):(\d+)", stack.log())
        assert ng is not None and media_relay.ng_answers(ng.group(1), int(ng.group(2)))
    print(f"{name}: back in {back:.1f} s")
