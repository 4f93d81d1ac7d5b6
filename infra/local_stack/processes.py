"""Child processes of the local stack: started in their own process group, stopped by PID, and
restarted with backoff when they die (`Supervisor`)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path


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
    # Where its output goes instead of the console (appended: a restarted child adds to it).
    log_path: Path | None = None
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        # A session of its own, so that stopping it also stops anything it started (e.g. Java).
        if self.log_path is not None:
            with self.log_path.open("ab") as log:
                self.proc = subprocess.Popen(
                    self.argv, env=self.env, cwd=self.cwd, start_new_session=True, stdout=log, stderr=log
                )
            return
        output = subprocess.DEVNULL if self.quiet else None
        self.proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, start_new_session=True, stdout=output, stderr=output
        )

    @property
    def pid(self) -> int | None:
        return None if self.proc is None else self.proc.pid

    def exited(self) -> int | None:
        return None if self.proc is None else self.proc.poll()

    def stop(self, grace: float = 5.0) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is not None:
            # Whatever it started in its session (Java under a wrapper) must not outlive it.
            _kill_group(self.proc.pid, signal.SIGKILL)
            return
        if not _kill_group(self.proc.pid, signal.SIGTERM):
            return
        try:
            self.proc.wait(grace)
        except subprocess.TimeoutExpired:
            _kill_group(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _kill_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
    except (ProcessLookupError, PermissionError):
        return False
    return True


@dataclass(frozen=True)
class Backoff:
    """Restart delays: ``first`` doubling to ``cap``; a child that stayed up ``healthy_after``
    seconds starts again from ``first``, so one crash a day never waits the cap."""

    first: float = 0.5
    cap: float = 10.0
    healthy_after: float = 30.0

    def next_delay(self, previous: float | None, uptime: float) -> float:
        if previous is None or uptime >= self.healthy_after:
            return self.first
        return min(self.cap, previous * 2)


@dataclass
class Supervised:
    child: Child
    # Checked after every (re)start before the child counts as up; False until it serves.
    ready: Callable[[], bool]
    # Run once the child is ready again after a restart (e.g. create the table in a fresh database).
    after_restart: Callable[[], None] | None = None
    # Children that hold state tied to this one (stream iterators of a database) and restart with it.
    dependents: Sequence[str] = ()
    started_at: float = 0.0
    delay: float | None = None
    restart_at: float | None = None
    restarts: int = 0


class Supervisor:
    """Keeps every child running: a child that exits is started again after a backoff delay, and
    the console says so. `poll` does one round; the stack's main loop calls it twice a second."""

    def __init__(
        self,
        say: Callable[[str], None],
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._say = say
        self._backoff = backoff or Backoff()
        self._clock = clock
        self.children: dict[str, Supervised] = {}

    def add(self, entry: Supervised) -> None:
        self.children[entry.child.name] = entry

    def start(self, name: str) -> None:
        entry = self.children[name]
        entry.child.start()
        entry.started_at = self._clock()

    def poll(self) -> None:
        now = self._clock()
        for entry in list(self.children.values()):
            if entry.restart_at is None:
                code = entry.child.exited()
                if code is not None:
                    self._schedule(entry, code, now)
        due = [e for e in self.children.values() if e.restart_at is not None and now >= e.restart_at]
        for entry in sorted(due, key=lambda e: e.restart_at or 0.0):
            self._restart(entry)

    def _schedule(self, entry: Supervised, code: int, now: float) -> None:
        child = entry.child
        entry.child.stop()  # reap anything left in its process group
        entry.delay = self._backoff.next_delay(entry.delay, now - entry.started_at)
        entry.restart_at = now + entry.delay
        self._say(
            f"{child.name} (pid {child.pid}) exited with {_describe(code)}; restarting in {entry.delay:g} s"
        )
        for name in entry.dependents:
            dependent = self.children[name]
            if dependent.restart_at is None:
                dependent.child.stop()
                # Just after the child it depends on, which `_restart` waits for until it serves.
                dependent.restart_at = entry.restart_at + 0.01
                self._say(f"{name} restarts with {child.name}")

    def _restart(self, entry: Supervised) -> None:
        entry.restart_at = None
        entry.restarts += 1
        entry.child.start()
        entry.started_at = self._clock()
        deadline = self._clock() + 30
        while not entry.ready():
            if entry.child.exited() is not None or self._clock() > deadline:
                self._say(f"{entry.child.name} did not come back up")
                return  # the next poll sees it exit (or stops it) and backs off further
            time.sleep(0.1)
        if entry.after_restart is not None:
            try:
                entry.after_restart()
            except Exception as failure:
                self._say(f"{entry.child.name}: after restart: {failure}")
        self._say(f"{entry.child.name} restarted (pid {entry.child.pid}) and serves again")

    def stop_all(self) -> None:
        for entry in reversed(list(self.children.values())):
            entry.child.stop()


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def wait_until(ready: Callable[[], bool], what: str, child: Child, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        code = child.exited()
        if code is not None:
            raise RuntimeError(f"{child.name} exited with code {code} before {what} was ready")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} was not ready after {timeout:.0f} s")
        time.sleep(0.1)


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False
