"""Onboarding over real HTTP against the local stack, then the seat's credentials on real SIP.

A merchant signs up, creates a queue, a number and a seat through the API; sipp registers with the
seat's one-time credentials at the edge (UDP, digest). Then a carrier call to the number rings the
seat's softphone.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.calls_support import add_trunk
from tests.support.ports import free_port
from tests.support.stack import RunningStack, http_json, running_stack

HERE = Path(__file__).resolve().parent
NUMBER = "+14155550142"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def call_api(
    stack: RunningStack, method: str, path: str, body: Any = None, key: str | None = None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key or stack.admin_key}"}
    data = json.dumps(body).encode() if body is not None else None
    status, raw = http_json(method, stack.api_url + path, data, headers)
    return status, json.loads(raw) if raw else None


def onboard(stack: RunningStack, number: str) -> dict[str, Any]:
    """Sign up, then everything a merchant does to take calls: queue, number, seat."""
    status, merchant = call_api(
        stack,
        "POST",
        "/merchants",
        {"name": "Live Shop", "seat_licenses": 2, "contact_email": "ops@live.test"},
    )
    assert status == 201, merchant
    mid, key = merchant["merchant_id"], merchant["api_key"]
    status, queue = call_api(stack, "POST", f"/merchants/{mid}/queues", {"name": "Orders"}, key)
    assert status == 201, queue
    status, claimed = call_api(
        stack, "POST", f"/merchants/{mid}/numbers", {"number": number, "queue_id": queue["queue_id"]}, key
    )
    assert status == 201, claimed
    status, seat = call_api(
        stack,
        "POST",
        f"/merchants/{mid}/seats",
        {"display_name": "Ada", "queue_ids": [queue["queue_id"]]},
        key,
    )
    assert status == 201, seat
    return {"merchant_id": mid, "key": key, "queue_id": queue["queue_id"], "seat": seat}


def test_onboarding_over_http_and_sipp_registers_the_seat(stack: RunningStack, tmp_path: Path) -> None:
    onboarded = onboard(stack, "+14155550141")
    sip = onboarded["seat"]["sip"]
    assert sip["registrar"] == f"127.0.0.1:{stack.sip_port}"
    status, health = call_api(stack, "GET", "/health")
    assert (status, health) == (200, {"status": "ok"})

    # The seat's credentials, fed to sipp's digest authentication,
    registered = sipp_register(stack, tmp_path, sip["username"], sip["domain"], sip["password"])
    assert registered.returncode == 0, f"sipp failed ({registered.returncode}):\n{registered.stdout[-2000:]}"
    assert "200" in (tmp_path / "sipp_messages.log").read_text()

    # and a wrong password is refused: the edge checks the HA1 the API stored.
    refused = sipp_register(stack, tmp_path, sip["username"], sip["domain"], "wrong-" + sip["password"])
    assert refused.returncode != 0
    assert "SIP/2.0 403 Forbidden" in (tmp_path / "sipp_messages.log").read_text()


def sipp_register(
    stack: RunningStack, tmp_path: Path, username: str, domain: str, password: str
) -> subprocess.CompletedProcess[str]:
    """One REGISTER with digest auth through sipp (which answers the MD5 challenge)."""
    sipp = shutil.which("sipp")
    assert sipp, "sipp is installed by `make setup` (package sip-tester)"
    fields = tmp_path / "seat.csv"
    fields.write_text(f"SEQUENTIAL\n{username};{domain}\n")
    (tmp_path / "sipp_messages.log").unlink(missing_ok=True)
    return subprocess.run(
        [
            sipp,
            f"127.0.0.1:{stack.sip_port}",
            "-sf",
            str(HERE / "sipp_register.xml"),
            "-inf",
            str(fields),
            # sipp 3.6 does not expand [fieldN] inside [authentication]: credentials go on the command line.
            "-au",
            username,
            "-ap",
            password,
            "-i",
            "127.0.0.1",
            "-p",
            str(free_port()),
            "-t",
            "u1",
            "-m",
            "1",
            "-timeout",
            "10s",
            "-timeout_error",
            "-trace_msg",
            "-message_file",
            str(tmp_path / "sipp_messages.log"),
            "-nostdin",
            "-nd",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=tmp_path,
    )


class Softphone:
    """A minimal UDP user agent for the seat: registers with digest auth, answers one INVITE."""

    def __init__(self, username: str, password: str, domain: str, registrar: tuple[str, int]) -> None:
        self.username, self.password, self.domain, self.registrar = username, password, domain, registrar
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(1.0)
        self.port = self.sock.getsockname()[1]
        self.call_id = secrets.token_hex(8)

    def _register(self, cseq: int, authorization: str = "") -> str:
        branch = "z9hG4bK" + secrets.token_hex(6)
        message = (
            f"REGISTER sip:{self.domain} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            f"From: <sip:{self.username}@{self.domain}>;tag=seat\r\n"
            f"To: <sip:{self.username}@{self.domain}>\r\n"
            f"Call-ID: {self.call_id}\r\nCSeq: {cseq} REGISTER\r\n"
            f"Contact: <sip:{self.username}@127.0.0.1:{self.port}>\r\n"
            f"{authorization}Max-Forwards: 70\r\nExpires: 120\r\nContent-Length: 0\r\n\r\n"
        )
        self.sock.sendto(message.encode(), self.registrar)
        return self._response_to("REGISTER")

    def _response_to(self, method: str, timeout: float = 5.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, _ = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            cseq_line = text.split("CSeq:", 1)[-1].split("\r\n", 1)[0]
            is_final = text.startswith("SIP/2.0") and not text.startswith("SIP/2.0 1")
            if is_final and f" {method}" in cseq_line:
                return text
        raise TimeoutError(f"no final response to {method}")

    def register(self) -> None:
        challenge = self._register(1)
        assert challenge.startswith("SIP/2.0 401"), challenge
        header = re.search(r"WWW-Authenticate:\s*Digest\s+(.*)", challenge, re.IGNORECASE)
        assert header, challenge
        params = dict(re.findall(r'(\w+)="?([^",]+)"?', header.group(1)))
        uri = f"sip:{self.domain}"
        ha1 = hashlib.md5(f"{self.username}:{params['realm']}:{self.password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
        qop = 'qop=auth, nc=00000001, cnonce="abc", ' if "qop" in params else ""
        if qop:
            response = hashlib.md5(f"{ha1}:{params['nonce']}:00000001:abc:auth:{ha2}".encode()).hexdigest()
        else:
            response = hashlib.md5(f"{ha1}:{params['nonce']}:{ha2}".encode()).hexdigest()
        authorization = (
            f'Authorization: Digest username="{self.username}", realm="{params["realm"]}", '
            f'nonce="{params["nonce"]}", uri="{uri}", {qop}response="{response}", algorithm=MD5'
            + (f', opaque="{params["opaque"]}"' if "opaque" in params else "")
            + "\r\n"
        )
        final = self._register(2, authorization)
        assert final.startswith("SIP/2.0 200"), final

    def answer_one_call(self, timeout: float = 20.0) -> str:
        """Wait for an INVITE, answer 180 then 200; returns the INVITE."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                data, source = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            text = data.decode(errors="replace")
            if not text.startswith("INVITE "):
                continue
            head = text.split("\r\n\r\n", 1)[0].split("\r\n")
            keep = [
                h
                for h in head[1:]
                if h.split(":", 1)[0].lower() in ("via", "from", "to", "call-id", "cseq", "v", "f", "t", "i")
            ]
            keep = [
                h + (";tag=seat-leg" if h.lower().startswith(("to:", "t:")) and "tag=" not in h else "")
                for h in keep
            ]
            sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
            for status in ("180 Ringing", "200 OK"):
                body = sdp if status.startswith("200") else ""
                extra = f"Contact: <sip:{self.username}@127.0.0.1:{self.port}>\r\n"
                if body:
                    extra += "Content-Type: application/sdp\r\n"
                reply = (
                    f"SIP/2.0 {status}\r\n"
                    + "\r\n".join(keep)
                    + f"\r\n{extra}Content-Length: {len(body)}\r\n\r\n{body}"
                )
                self.sock.sendto(reply.encode(), source)
            return text
        raise TimeoutError("the seat's phone never rang")

    def close(self) -> None:
        self.sock.close()


def test_a_call_to_the_number_rings_the_seat(stack: RunningStack, tmp_path: Path) -> None:
    # Given a carrier trunk on loopback and an onboarded merchant whose seat is registered and available
    add_trunk(stack, {"name": "Loopback carrier", "source_cidrs": ["127.0.0.0/8"]})
    onboarded = onboard(stack, NUMBER)
    sip = onboarded["seat"]["sip"]
    phone = Softphone(sip["username"], sip["password"], sip["domain"], ("127.0.0.1", stack.sip_port))
    try:
        phone.register()
        state_path = f"/merchants/{onboarded['merchant_id']}/seats/{onboarded['seat']['seat_id']}/state"
        deadline = time.monotonic() + 10
        while True:  # registering logs the agent in (NOT_READY); then the agent chooses to take calls
            status, body = call_api(stack, "PUT", state_path, {"state": "available"}, onboarded["key"])
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert (status, body["state"] if status == 200 else body) == (200, "available")

        # When the carrier calls the number
        caller = subprocess.Popen(
            [
                "sipp",
                f"127.0.0.1:{stack.sip_port}",
                "-sn",
                "uac",
                "-s",
                NUMBER,
                "-i",
                "127.0.0.1",
                "-p",
                str(free_port()),
                "-m",
                "1",
                "-d",
                "500",
                "-timeout",
                "25s",
                "-timeout_error",
                "-nostdin",
                "-nd",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=tmp_path,
        )
        # Then the seat's phone rings with that call
        try:
            invite = phone.answer_one_call()
        except TimeoutError:
            caller.kill()
            pytest.fail(
                "the seat's phone never rang\n" + caller.communicate()[0][-2000:] + stack.log()[-4000:]
            )
        assert NUMBER.lstrip("+") in invite or sip["username"] in invite.split("\r\n", 1)[0]
        caller_output, _ = caller.communicate(timeout=30)
        assert caller.returncode == 0, caller_output[-2000:] + stack.log()[-3000:]
    finally:
        phone.close()
