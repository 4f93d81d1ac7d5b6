"""SIP scanners (sipvicious svmap, svwar, svcrack) and a sipp client, driven by tests on loopback.

Every run is bounded: one target (127.0.0.1 and the ports given), a dictionary or range the test
writes, sipvicious' own stop conditions (``--maximumtime``) and a process timeout. Output is parsed
into what the scanner learned.

sipvicious 0.3.8's svwar and svcrack accept ``-b`` but never bind to it: they bind the wildcard
address on their ``-P`` port, and their packets leave from the address the kernel picks, 127.0.0.1
towards 127.0.0.1. svmap honours ``-b``. sipp binds ``-i``.
"""

from __future__ import annotations

import ast
import math
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
SIPP_REGISTER = Path(__file__).resolve().parents[1] / "integration" / "sipp_register.xml"


def free_udp_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def sipvicious(tool: str) -> str:
    path = VENV_BIN / f"sipvicious_{tool}"
    assert path.exists(), f"{path} missing: sipvicious is in requirements.txt"
    return str(path)


@dataclass(frozen=True)
class ScanOutput:
    """One scanner run: its command line, exit code, stdout (tables, --debug dumps) and stderr (log)."""

    args: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def text(self) -> str:
        return self.stdout + self.stderr

    def received(self) -> list[str]:
        """SIP messages the scanner received (``--debug`` prints each one as a bytes literal)."""
        return [
            ast.literal_eval(line).decode("utf-8", "replace")
            for line in self.stdout.splitlines()
            if line.startswith(("b'", 'b"'))
        ]

    def table(self) -> list[tuple[str, ...]]:
        """The rows of the result table sipvicious prints when it found something (header excluded)."""
        rows = [
            tuple(cell.strip() for cell in line.strip().strip("|").split("|"))
            for line in self.stdout.splitlines()
            if line.startswith("|")
        ]
        return rows[1:]


def run_scanner(args: Sequence[str], *, cwd: Path, name: str, timeout: float = 30) -> ScanOutput:
    """Run a scanner to its end; its output is also kept as ``<name>.out`` and ``<name>.err`` in cwd."""
    done = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, cwd=cwd)
    (cwd / f"{name}.out").write_text(done.stdout)
    (cwd / f"{name}.err").write_text(done.stderr)
    return ScanOutput(tuple(args), done.returncode, done.stdout, done.stderr)


class BackgroundScan:
    """A scanner running while something else is measured; ``stop()`` interrupts it like Ctrl-C,
    after which sipvicious still prints what it found."""

    def __init__(self, args: Sequence[str], *, cwd: Path, name: str) -> None:
        # Files, not pipes: a verbose scanner must never stall on a full pipe while it runs.
        self.args = tuple(args)
        self._stdout = cwd / f"{name}.out"
        self._stderr = cwd / f"{name}.err"
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            self.proc = subprocess.Popen(self.args, cwd=cwd, stdout=out, stderr=err)

    def stop(self, timeout: float = 15) -> ScanOutput:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return ScanOutput(
            self.args,
            self.proc.returncode,
            self._stdout.read_text(errors="replace"),
            self._stderr.read_text(errors="replace"),
        )


# What differs between two answers for reasons that have nothing to do with the user asked about:
# echoed tags, branches, ports, Call-IDs and sequence numbers, and the fresh nonce of a challenge.
_VOLATILE = (
    (re.compile(r";tag=[^;>\s]+"), ";tag=<tag>"),
    (re.compile(r"branch=[^;\s]+"), "branch=<branch>"),
    (re.compile(r"(rport=|\d+\.\d+\.\d+\.\d+:)\d+"), r"\1<port>"),
    (re.compile(r"^(Call-ID|i):.*$", re.MULTILINE | re.IGNORECASE), r"\1: <call-id>"),
    (re.compile(r"^CSeq: \d+", re.MULTILINE | re.IGNORECASE), "CSeq: <n>"),
    (re.compile(r'nonce="[^"]*"'), 'nonce="<nonce>"'),
)
_ADDRESS_HEADERS = {"from", "to", "f", "t"}


def to_user(message: str) -> str | None:
    """The user part of the To URI: for a scanner's probe, the extension it asked about."""
    found = re.search(r"^(?:To|t):[^\r\n]*?<?sip:([^@>;\r\n]+)@", message, re.MULTILINE | re.IGNORECASE)
    return found.group(1) if found else None


def normalized(message: str) -> str:
    """The message with every echoed or random value replaced, and the probed user's name (in From
    and To only) replaced by ``<user>``: equal results mean the answers carry the same information."""
    text = message.replace("\r\n", "\n")
    for pattern, replacement in _VOLATILE:
        text = pattern.sub(replacement, text)
    lines = []
    for line in text.split("\n"):
        if line.split(":", 1)[0].strip().lower() in _ADDRESS_HEADERS:
            line = re.sub(r'"[^"]*"', '"<user>"', line)
            line = re.sub(r"sip:[^@>;]+@", "sip:<user>@", line)
        lines.append(line)
    return "\n".join(lines)


@dataclass(frozen=True)
class Registrations:
    """A batch of sipp registrations (REGISTER, 401, REGISTER with digest, 200), one round trip each."""

    returncode: int
    attempted: int
    round_trips_ms: tuple[int, ...]
    started: float
    ended: float
    stderr: str

    @property
    def p95_ms(self) -> int:
        ordered = sorted(self.round_trips_ms)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    @property
    def max_ms(self) -> int:
        return max(self.round_trips_ms)


def timed_register_scenario(directory: Path) -> Path:
    """The project's sipp REGISTER scenario, timing each registration from the first REGISTER to
    the 200 (sipp's response-time duration 1)."""
    scenario = SIPP_REGISTER.read_text()
    timed = scenario.replace('<send retrans="500">', '<send retrans="500" start_rtd="1">', 1).replace(
        '<recv response="200"/>', '<recv response="200" rtd="1"/>'
    )
    assert timed.count("rtd=") == 2, "sipp_register.xml changed shape: update timed_register_scenario"
    path = directory / "register_timed.xml"
    path.write_text(timed)
    return path


class SippRegistrations:
    """``calls`` registrations of one seat at ``rate`` per second from ``source`` (a loopback alias)."""

    def __init__(
        self,
        *,
        target: str,
        username: str,
        domain: str,
        password: str,
        source: str,
        local_port: int,
        calls: int,
        rate: int,
        directory: Path,
    ) -> None:
        sipp = shutil.which("sipp")
        assert sipp, "sipp is installed by `make setup` (package sip-tester)"
        directory.mkdir(parents=True, exist_ok=True)
        fields = directory / "seat.csv"
        fields.write_text(f"SEQUENTIAL\n{username};{domain}\n")
        self.calls = calls
        self.directory = directory
        self.started = time.time()
        self.proc = subprocess.Popen(
            [
                sipp,
                target,
                "-sf",
                str(timed_register_scenario(directory)),
                "-inf",
                str(fields),
                "-au",
                username,
                "-ap",
                password,
                "-i",
                source,
                "-p",
                str(local_port),
                "-t",
                "u1",
                "-m",
                str(calls),
                "-r",
                str(rate),
                "-timeout",
                "60s",
                "-timeout_error",
                "-trace_rtt",
                "-rtt_freq",
                "1",
                "-nostdin",
                "-nd",
            ],
            cwd=directory,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout: float = 90) -> Registrations:
        _, stderr = self.proc.communicate(timeout=timeout)
        ended = time.time()
        samples: list[int] = []
        for csv in self.directory.glob("*_rtt.csv"):
            for line in csv.read_text().splitlines()[1:]:
                fields = line.split(";")
                if len(fields) >= 3 and fields[2].strip() == "1":
                    samples.append(round(float(fields[1])))
        return Registrations(self.proc.returncode, self.calls, tuple(samples), self.started, ended, stderr)
