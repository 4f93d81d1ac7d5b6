"""Child processes of the local stack: started in their own process group, stopped by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_or_free(value: str | None, default: int) -> int:
    port = int(value) if value else default
    return port if port else free_port()


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: str | None = None
    # A child whose own output is noise for a person at the console (a database's request log).
    quiet: bool = False
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        # A session of its own, so that stopping it also stops anything it started (e.g. Java).
        output = subprocess.DEVNULL if self.quiet else None
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, start_new_session=True, stdout=output, stderr=output
        )

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def wait_until(ready: Callable[[], bool], what: str, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        code = child.exited()
        if code is not None:
            raise RuntimeError(f"{child.name} exited with code {code} before {what} was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(0.1)


def tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False
