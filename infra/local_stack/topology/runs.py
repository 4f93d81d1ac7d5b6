"""What the harness hands back for the phones and carriers it starts: their events and results."""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_stack.processes import Child
from local_stack.topology.phone import media_address


@dataclass
class PhoneProcess:
    child: Child

    def events(self) -> list[dict[str, Any]]:
        assert self.child.log_path is not None
        found = []
        for line in self.child.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                found.append(json.loads(line))
        return found

    def count(self, name: str) -> int:
        return sum(1 for e in self.events() if e["event"] == name)

    def wait_for(self, name: str, count: int = 1, timeout: float = 15.0) -> float:
        """Seconds waited until the phone had printed ``count`` events called ``name``."""
        started = time.monotonic()
        while self.count(name) < count:
            if self.child.exited() is not None:
                raise RuntimeError(f"phone exited: {self.events()}")
            if time.monotonic() - started > timeout:
                raise TimeoutError(
                    f"phone: {self.count(name)} of {count} {name!r} after {timeout} s: {self.events()[-5:]}"
                )
            time.sleep(0.05)
        return time.monotonic() - started

    @property
    def local_port(self) -> int:
        started = next(e for e in self.events() if e["event"] == "started")
        return int(started["local"].rsplit(":", 1)[1])


@dataclass
class CarrierRun:
    proc: subprocess.Popen[bytes]
    stats: Path
    errors: Path
    started: float
    # Where the scenario writes the answer's media lines (c= and m=), for a call with media.
    answer: Path | None = None

    def answered_media(self, timeout: float = 15.0) -> tuple[str, int]:
        """Where the answer to the carrier's offer says to send its RTP."""
        assert self.answer is not None, "a carrier run without media"
        deadline = time.monotonic() + timeout
        while not (self.answer.exists() and (found := media_address(self.answer.read_bytes()))):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise TimeoutError(f"no answer with media (sipp exited {self.proc.poll()}): {self.errors}")
            time.sleep(0.05)
        host, _, port = found.rpartition(":")
        return host, int(port)

    def wait(self, timeout: float) -> SippResult:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        return SippResult.read(code, self.stats, time.monotonic() - self.started, self.errors)


@dataclass(frozen=True)
class SippResult:
    returncode: int
    successful: int
    failed: int
    seconds: float
    errors: str

    @classmethod
    def read(cls, returncode: int, stats: Path, seconds: float, errors: Path) -> SippResult:
        successful = failed = 0
        if stats.exists():
            rows = [line.split(";") for line in stats.read_text().splitlines() if line.strip()]
            if len(rows) >= 2:
                header, last = rows[0], rows[-1]
                successful = int(last[header.index("SuccessfulCall(C)")])
                failed = int(last[header.index("FailedCall(C)")])
        text = errors.read_text(errors="replace")[-3000:] if errors.exists() else ""
        return cls(returncode, successful, failed, seconds, text)
