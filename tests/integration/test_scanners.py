"""Real SIP scanners (sipvicious 0.3.8) against the local stack's edge: the abuse requirement.

"Abuse: per-source rate limits on failed auth, a lockout after repeated failures, no hint of which
usernames exist; scanners (e.g. sipvicious svmap/svwar/svcrack) learn nothing and do not slow
legitimate registrations."

One stack and one onboarded seat serve the module. The scans run in the order an attacker would:
enumerate extensions (svwar), guess the password of one (svcrack), which locks that username out
from the scanner's address for five minutes, and map the edge (svmap). The scanners send from 127.0.0.1 (svwar and svcrack
cannot bind another address); the seat's own phone is sipp on 127.0.0.2, which Linux routes over lo
like all of 127/8. Every target is 127.0.0.1, every scan has a bounded dictionary or range and a
time limit.
"""

from __future__ import annotations

import json
import re
import secrets
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.app.edge import SERVER_NAME
from tests.support.scanners import (
    BackgroundScan,
    Registrations,
    ScanOutput,
    SippRegistrations,
    free_udp_port,
    normalized,
    run_scanner,
    sipvicious,
    to_user,
)
from tests.support.stack import RunningStack, http_json, running_stack

pytestmark = pytest.mark.slow

SCANNER = "127.0.0.1"  # where svwar and svcrack send from (they cannot bind another address)
PHONE = "127.0.0.2"  # the seat's legitimate softphone
TARGET = "127.0.0.1"
FAKE_EXTENSIONS = 50
WRONG_PASSWORDS = 100
MAX_FAILURES = FailedAuthLimiter().max_failures  # the edge builds its limiter with the defaults
P95_LIMIT_MS = 200


@dataclass(frozen=True)
class Seat:
    username: str
    password: str
    domain: str


@dataclass(frozen=True)
class Enumeration:
    """svwar's runs per method over the same dictionary: the seat's username among fake ones."""

    extensions: tuple[str, ...]
    runs: dict[str, list[ScanOutput]]


@dataclass(frozen=True)
class PasswordAttack:
    wrong_passwords: tuple[str, ...]
    control: list[ScanOutput]  # svcrack given the right password, before any lockout
    crack: ScanOutput  # svcrack given the right password after 100 wrong ones
    sweep: ScanOutput  # svwar's OPTIONS sweep running alongside
    edge_log: str  # what the stack logged while the attack ran
    baseline: Registrations  # the phone's registrations before the attack
    during: Registrations  # ... and while it ran


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("scans")


@pytest.fixture(scope="module")
def seat(stack: RunningStack) -> Seat:
    """A merchant signs up over HTTP and creates one seat: its SIP credentials."""
    admin = {"Authorization": f"Bearer {stack.admin_key}", "Content-Type": "application/json"}
    body = {"name": "Scanned Shop", "seat_licenses": 1, "contact_email": "ops@scanned.test"}
    status, raw = http_json("POST", f"{stack.api_url}/merchants", json.dumps(body).encode(), admin)
    assert status == 201, raw
    merchant = json.loads(raw)
    key = {"Authorization": f"Bearer {merchant['api_key']}", "Content-Type": "application/json"}
    status, raw = http_json(
        "POST",
        f"{stack.api_url}/merchants/{merchant['merchant_id']}/seats",
        json.dumps({"display_name": "Front desk"}).encode(),
        key,
    )
    assert status == 201, raw
    sip = json.loads(raw)["sip"]
    assert sip["registrar"] == f"{TARGET}:{stack.sip_port}"
    return Seat(sip["username"], sip["password"], sip["domain"])


def svwar(stack: RunningStack, seat: Seat, method: str, dictionary: Path, cwd: Path) -> ScanOutput:
    """One svwar run over ``dictionary``; its output is kept as ``svwar-<method>-<dictionary>.*``."""
    return run_scanner(
        [
            sipvicious("svwar"),
            "-p",
            str(stack.sip_port),
            "-P",
            str(free_udp_port()),
            "-m",
            method,
            "-d",
            str(dictionary),
            "--domain",
            seat.domain,
            "--force",  # past its sanity check, which already gives up on a 401 for a random extension
            "--maximumtime",
            "3",
            "--debug",  # prints every message received: the test compares them
            "-v",
            TARGET,
        ],
        cwd=cwd,
        name=f"svwar-{method}-{dictionary.stem}",
    )


def svcrack(stack: RunningStack, seat: Seat, dictionary: Path, *, maximum_time: int = 2) -> list[str]:
    return [
        sipvicious("svcrack"),
        "-p",
        str(stack.sip_port),
        "-P",
        str(free_udp_port()),
        "-u",
        seat.username,
        "-d",
        str(dictionary),
        "--domain",
        seat.domain,
        "--maximumtime",
        str(maximum_time),
        "-vvv",  # logs each password it tries
        TARGET,
    ]


def phone(stack: RunningStack, seat: Seat, port: int, calls: int, directory: Path) -> SippRegistrations:
    return SippRegistrations(
        target=f"{TARGET}:{stack.sip_port}",
        username=seat.username,
        domain=seat.domain,
        password=seat.password,
        source=PHONE,
        local_port=port,
        calls=calls,
        rate=30,
        directory=directory,
    )


@pytest.fixture(scope="module")
def enumeration(stack: RunningStack, seat: Seat, workdir: Path) -> Enumeration:
    """svwar over 50 made-up extensions shaped like real seat usernames, with the seat's among them.

    svwar compares each answer with its answer for a random extension and stops at the first answer
    it cannot classify; here the first extension already answers like the random one (401 to
    REGISTER, 403 to INVITE), so for those methods it runs once per extension. OPTIONS goes through
    the whole dictionary in one run.
    """
    fakes = [f"a{secrets.token_hex(8)}" for _ in range(FAKE_EXTENSIONS)]
    extensions = (*fakes[: FAKE_EXTENSIONS // 2], seat.username, *fakes[FAKE_EXTENSIONS // 2 :])
    directory = workdir / "svwar"
    directory.mkdir()
    whole = directory / "extensions.txt"
    whole.write_text("\n".join(extensions) + "\n")
    singles = []
    for index, extension in enumerate(extensions):
        single = directory / f"extension-{index}.txt"
        single.write_text(extension + "\n")
        singles.append(single)

    runs: dict[str, list[ScanOutput]] = {"OPTIONS": [svwar(stack, seat, "OPTIONS", whole, directory)]}
    with ThreadPoolExecutor(max_workers=12) as pool:
        for method in ("REGISTER", "INVITE"):
            runs[method] = list(pool.map(lambda d, m=method: svwar(stack, seat, m, d, directory), singles))
    return Enumeration(extensions, runs)


@pytest.fixture(scope="module")
def password_attack(
    stack: RunningStack, seat: Seat, workdir: Path, enumeration: Enumeration
) -> PasswordAttack:
    """svcrack against the seat from 127.0.0.1, with an svwar OPTIONS sweep alongside, while the
    seat's phone keeps registering from 127.0.0.2. Runs after the enumeration, as an attacker would
    (and as it must: the lockout refuses the seat's REGISTERs from 127.0.0.1 for five minutes)."""
    directory = workdir / "svcrack"
    directory.mkdir()

    # Control: the same tool, given the right password, cracks it. (svcrack 0.3.8 fails on a
    # SHA-256-first challenge; a client that comes back without answering is offered MD5, so at most
    # one retry. A success also leaves no failure counted against 127.0.0.1.)
    control_dictionary = directory / "control.txt"
    control_dictionary.write_text(f"{seat.password}\n")
    control: list[ScanOutput] = []
    for _ in range(2):
        run = run_scanner(
            svcrack(stack, seat, control_dictionary), cwd=directory, name=f"control-{len(control)}"
        )
        control.append(run)
        if "The password for" in control[-1].text:
            break

    common = ["1234", "12345", "123456", "password", "secret", "letmein", "qwerty", "admin", "changeme"]
    wrong = (*common, *(f"{seat.username}{n}" for n in range(WRONG_PASSWORDS - len(common))))
    assert len(wrong) == WRONG_PASSWORDS and seat.password not in wrong
    dictionary = directory / "passwords.txt"
    dictionary.write_text("\n".join((*wrong, seat.password)) + "\n")

    phone_port = free_udp_port(PHONE)
    baseline = phone(stack, seat, phone_port, 60, workdir / "phone-before").wait()

    log_offset = len(stack.log())
    during_attack = phone(stack, seat, phone_port, 150, workdir / "phone-during")
    crack = BackgroundScan(svcrack(stack, seat, dictionary, maximum_time=4), cwd=directory, name="crack")
    sweep = BackgroundScan(
        [
            sipvicious("svwar"),
            "-p",
            str(stack.sip_port),
            "-P",
            str(free_udp_port()),
            "-m",
            "OPTIONS",
            "-e",
            "1000-1799",
            "--maximumtime",
            "3",
            "-v",
            TARGET,
        ],
        cwd=directory,
        name="sweep",
    )
    during = during_attack.wait()
    crack_output, sweep_output = crack.stop(), sweep.stop()
    return PasswordAttack(
        wrong, control, crack_output, sweep_output, stack.log()[log_offset:], baseline, during
    )


def svwar_findings(run: ScanOutput) -> list[str]:
    """Extensions svwar reported: its log lines and the rows of its result table."""
    logged = re.findall(r"extension '([^']*)' (?:exists|probably exists)", run.stderr)
    return logged + [row[0] for row in run.table()]


@pytest.mark.parametrize("method", ["REGISTER", "INVITE", "OPTIONS"])
def test_svwar_cannot_tell_the_seat_from_made_up_extensions(
    enumeration: Enumeration, seat: Seat, method: str
) -> None:
    # Given svwar's runs over the dictionary that holds the seat's username among 50 fake ones,
    runs = enumeration.runs[method]

    # When its findings and every answer it received are gathered per extension,
    findings = [extension for run in runs for extension in svwar_findings(run)]
    answers: dict[str, set[str]] = defaultdict(set)
    for run in runs:
        for message in run.received():
            user = to_user(message)
            if user in enumeration.extensions:
                answers[user].add(normalized(message))

    # Then it found nothing,
    assert findings == [], f"svwar {method} reported {findings}"
    assert all("found nothing" in run.stderr for run in runs)
    # every extension, the seat's included, got an answer,
    assert set(answers) == set(enumeration.extensions)
    # and the seat's answer is the fake extensions' answer, once echoed values are set aside.
    fake = next(e for e in enumeration.extensions if e != seat.username)
    distinct = {frozenset(a) for a in answers.values()}
    assert len(distinct) == 1, (
        f"{method}: the seat's answer\n{sorted(answers[seat.username])}\n"
        f"differs from a fake extension's\n{sorted(answers[fake])}"
    )


def test_svcrack_is_locked_out_and_never_cracks_the_password_even_when_it_tries_it(
    password_attack: PasswordAttack, seat: Seat
) -> None:
    # Given svcrack, which cracks the seat when it is given the right password,
    assert any(
        f"The password for {seat.username} is {seat.password}" in run.text for run in password_attack.control
    ), "\n".join(run.text[-2000:] for run in password_attack.control)

    # When it works through 100 wrong passwords with the right one last,
    crack = password_attack.crack
    tried = re.findall(r"DEBUG:ASipOfRedWine:trying (.*)", crack.stderr)

    # Then it never cracks it, although it tried the right password too,
    assert "The password for" not in crack.text
    assert crack.table() == []
    assert tried, crack.stderr[-3000:]
    # because the edge locked the seat out from its address at the tenth failure and checked no
    # digest from then on,
    failures = [line for line in password_attack.edge_log.splitlines() if "REGISTER auth failed from" in line]
    assert all(f"from {SCANNER} " in line for line in failures)
    lockouts = [index for index, line in enumerate(failures) if "locked out" in line]
    assert lockouts == [MAX_FAILURES - 1], "\n".join(failures)
    assert len(failures) == MAX_FAILURES
    # answering every later guess, the right one included, with the same 403: never silence.
    assert "since we last received a response - stopping" not in crack.stderr


def log_time(line: str) -> float:
    return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()


def test_registrations_from_another_address_stay_fast_while_the_scanner_attacks(
    password_attack: PasswordAttack,
) -> None:
    # Given the phone's registrations from 127.0.0.2 before the attack and while it ran,
    baseline, during = password_attack.baseline, password_attack.during
    failures = [line for line in password_attack.edge_log.splitlines() if "REGISTER auth failed" in line]
    lockout = next(line for line in failures if "locked out" in line)
    # (the attack, guesses and lockout included, happened inside the measured window)
    assert during.started <= log_time(failures[0]) and log_time(lockout) <= during.ended
    assert "found nothing" in password_attack.sweep.stderr  # the OPTIONS sweep ran alongside

    # When their round trips (REGISTER, 401, REGISTER with digest, 200) are compared,
    print(
        f"\nREGISTER round trip from {PHONE}: before the attack p95 {baseline.p95_ms} ms "
        f"(max {baseline.max_ms} ms, n={len(baseline.round_trips_ms)}); during it p95 "
        f"{during.p95_ms} ms (max {during.max_ms} ms, n={len(during.round_trips_ms)})"
    )

    # Then every registration succeeded, before and during, and the p95 stayed low.
    for batch in (baseline, during):
        assert batch.returncode == 0, batch.stderr[-2000:]
        assert len(batch.round_trips_ms) == batch.attempted
        assert batch.p95_ms < P95_LIMIT_MS, batch.round_trips_ms


def test_svmap_sees_one_sip_server_and_only_its_product_name(
    stack: RunningStack, password_attack: PasswordAttack, workdir: Path
) -> None:
    """What svmap learns, and what it cannot help learning.

    A public edge must answer OPTIONS (carriers' and load balancers' keep-alive probes), so svmap
    finds a SIP server, and the answer lists the methods it allows (REGISTER and INVITE among them).
    It does so even for 127.0.0.1, which the password attack has just locked out: the lockout
    concerns REGISTER only. What it learns beyond that is the product name in the Server header,
    "Switchboard-Edge", with no version to look vulnerabilities up by; the stack's other ports (HTTP
    API, Lambda API, DynamoDB) are TCP only and do not answer SIP over UDP.
    """
    # Given the scanner's address is locked out,
    assert "locked out" in password_attack.edge_log
    ports = [stack.sip_port, *(urlsplit(url).port for url in (stack.api_url, stack.lambda_url))]
    if stack.dynamodb_endpoint:
        ports.append(urlsplit(stack.dynamodb_endpoint).port)

    # When svmap maps every port of the stack,
    run = run_scanner(
        [
            sipvicious("svmap"),
            "-p",
            ",".join(str(port) for port in ports),
            "-b",
            SCANNER,
            "-P",
            str(free_udp_port(SCANNER)),
            "-t",
            "0.05",
            TARGET,
        ],
        cwd=workdir,
        name="svmap",
    )

    # Then it finds exactly one SIP device, the edge, fingerprinted by our Server header alone.
    assert run.table() == [(f"{TARGET}:{stack.sip_port}", SERVER_NAME)], run.text
    assert not re.search(r"\d", SERVER_NAME)
