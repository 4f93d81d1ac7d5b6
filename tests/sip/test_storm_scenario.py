"""The storm benchmark's phones (bench/scenarios/register_storm.xml under sipp) behave as phones do
when the registrar is overloaded, so the benchmark measures the edge and not sipp's bookkeeping.

A scripted registrar on loopback answers each phone with what a storm brings, in the worst order:
the answer to a retransmitted first REGISTER arrives late, the REGISTER with credentials is lost
(a full socket), the resent one is shed with 503 and Retry-After, and a second 503 (a
retransmission shed again) arrives while the phone waits. Every phone must end registered by
itself, none failed, after waiting the Retry-After, with a new transaction for its new attempt.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.support.bench import bench_module
from tests.support.ports import HOST, free_port

PHONES = 20
RETRY_AFTER_S = 1
DOMAIN = "storm.test"


@dataclass
class Phone:
    challenges: int = 0
    with_credentials: int = 0
    branches: list[str] = field(default_factory=list)  # of its REGISTERs with credentials, in order
    shed_at: float | None = None
    back_after_shed: float | None = None  # seconds from the 503 to its next REGISTER


def _header(message: str, name: str) -> str:
    found = re.search(rf"^{name}:[ \t]*(.*?)\r?$", message, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else ""


class OverloadedRegistrar:
    """Answers REGISTERs over UDP as an edge in a storm would, one phone (Call-ID) at a time."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, free_port()))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.phones: dict[str, Phone] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> OverloadedRegistrar:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self._on_register(data.decode(errors="replace"), peer)

    def _answer(self, request: str, peer: tuple[str, int], status: str, *extra: str) -> None:
        lines = [f"SIP/2.0 {status}"]
        lines += [f"{name}: {_header(request, name)}" for name in ("Via", "From", "To", "Call-ID", "CSeq")]
        lines += [*extra, "Content-Length: 0", "", ""]
        self.sock.sendto("\r\n".join(lines).encode(), peer)

    def _challenge(self, request: str, peer: tuple[str, int], phone: Phone) -> None:
        phone.challenges += 1
        nonce = f"nonce{phone.challenges}"
        self._answer(
            request,
            peer,
            "401 Unauthorized",
            f'WWW-Authenticate: Digest realm="{DOMAIN}", nonce="{nonce}", algorithm=MD5, qop="auth"',
        )

    def _on_register(self, request: str, peer: tuple[str, int]) -> None:
        phone = self.phones.setdefault(_header(request, "Call-ID"), Phone())
        if phone.shed_at is not None and phone.back_after_shed is None:
            phone.back_after_shed = time.monotonic() - phone.shed_at
        if not _header(request, "Authorization"):
            self._challenge(request, peer, phone)
            return
        phone.with_credentials += 1
        phone.branches.append(re.sub(r".*;branch=([^;]+).*", r"\1", _header(request, "Via")))
        if phone.with_credentials == 1:
            # Lost in a full socket; meanwhile the answer to a retransmitted first REGISTER arrives.
            self._challenge(request, peer, phone)
        elif phone.with_credentials == 2:
            phone.shed_at = time.monotonic()
            self._answer(request, peer, "503 Service Unavailable", f"Retry-After: {RETRY_AFTER_S}")
            # A retransmission of it, shed again: it arrives while the phone waits out the first.
            time.sleep(0.02)
            self._answer(request, peer, "503 Service Unavailable", f"Retry-After: {RETRY_AFTER_S + 1}")
        else:
            self._answer(request, peer, "200 OK", f"Contact: {_header(request, 'Contact')};expires=3600")


@pytest.fixture
def registrar() -> Iterator[OverloadedRegistrar]:
    with OverloadedRegistrar() as server:
        yield server


def test_storm_phones_register_through_late_answers_lost_requests_and_503s(
    registrar: OverloadedRegistrar, tmp_path: Path
) -> None:
    sipp_load = bench_module("sipp_load.py", "bench_sipp_load")
    users = sipp_load.write_users_csv(tmp_path / "users.csv", [(f"seat{n:03d}", "pw") for n in range(PHONES)])
    run = sipp_load.run_sipp(
        f"{HOST}:{registrar.port}",
        "register_storm.xml",
        users,
        PHONES,
        PHONES,
        DOMAIN,
        tmp_path,
        "storm",
        extra=["-p", str(free_port())],
        max_seconds=20,
    )
    errors = Path(run.error_file)
    # Every phone registered by itself: sipp ended its run, none failed, none left waiting.
    assert (run.successful, run.failed) == (PHONES, 0), errors.exists() and errors.read_text()[-2000:]
    assert run.exit_code == 0
    assert run.wall_s < 15
    assert len(registrar.phones) == PHONES
    for phone in registrar.phones.values():
        # the lost REGISTER sent again (then shed), and one more after the wait: registered
        assert phone.with_credentials >= 3
        assert phone.back_after_shed is not None and phone.back_after_shed >= RETRY_AFTER_S - 0.05
        lost, shed, admitted = phone.branches[:3]
        # The resend is the same transaction; the attempt after the wait is a new one.
        assert lost == shed and admitted != shed
