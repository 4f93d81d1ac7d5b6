"""What a benchmark reads about the processes it measures and the machine it runs on.

CPU is the scheduler's own run time (the first field of ``/proc/<pid>/task/<tid>/schedstat``, in
nanoseconds) summed over every thread of a process and of its descendants: on these VMs the
figures of ``top``/``ps`` were seen off by +-50 % under load, this one is exact.
"""

from __future__ import annotations

import os
import platform
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

__all__ = [
    "CpuMeter",
    "cpu_ns",
    "descendants",
    "free_port",
    "loadavg",
    "machine_facts",
    "pss_kb",
    "rss_kb",
    "schedstat_ns",
]


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it (children of each of its threads, recursively)."""
    found: list[int] = []
    pending = [pid]
    while pending:
        current = pending.pop()
        if not Path(f"/proc/{current}").exists():
            continue
        found.append(current)
        for children in Path(f"/proc/{current}/task").glob("*/children"):
            try:
                pending.extend(int(child) for child in children.read_text().split())
            except OSError:
                continue
    return found


def schedstat_ns(pids: list[int]) -> tuple[int, int]:
    """(run time, run-queue wait) of every thread of ``pids``, in nanoseconds.

    The wait is time a thread was runnable but another task had the CPU: high when the machine
    is contended. Threads that exited are lost.
    """
    run = wait = 0
    for pid in pids:
        for stat in Path(f"/proc/{pid}/task").glob("*/schedstat"):
            try:
                fields = stat.read_text().split()
                run += int(fields[0])
                wait += int(fields[1])
            except (OSError, ValueError, IndexError):
                continue
    return run, wait


def cpu_ns(pids: list[int]) -> int:
    """Scheduler run time of every thread of ``pids``, in nanoseconds (exited threads are lost)."""
    return schedstat_ns(pids)[0]


_TICK_NS = 1e9 / os.sysconf("SC_CLK_TCK")


def process_cpu_ns(pids: list[int]) -> int:
    """User + system time of ``pids`` from ``/proc/<pid>/stat``, exited threads included, in 10 ms
    ticks: for servers that run each request on a thread of its own (http.server's threading mixin)."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) * _TICK_NS
        except (OSError, ValueError, IndexError):
            continue
    return int(total)


@dataclass
class CpuMeter:
    """CPU of a process tree over a window, minus what the tree burns when idle (its timers).

    ``calibrate`` measures the idle rate once; ``start``/``stop`` bracket the measured work. The
    tree is re-read at every sample, so processes forked later count too.
    """

    pid: int
    idle_ns_per_s: float = 0.0
    _started_ns: int = 0
    _started_at: float = 0.0
    _started_main_ns: int = 0
    main_thread_ns: int = 0  # raw run time of the root's main thread over the last window
    wait_ns: int = 0  # run-queue wait of the whole tree over the last window
    _started_wait_ns: int = 0
    # Read /proc/<pid>/stat instead of the threads' schedstat: coarser, but a thread that served one
    # request and exited still counts (the local API and Lambda endpoint: a thread per request).
    with_exited_threads: bool = False

    def sample(self) -> int:
        pids = descendants(self.pid)
        return process_cpu_ns(pids) if self.with_exited_threads else cpu_ns(pids)

    def sample_main_thread(self) -> int:
        """Run time of the root process's main thread (for an asyncio server: its event loop)."""
        try:
            return int(Path(f"/proc/{self.pid}/task/{self.pid}/schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return 0

    def calibrate(self, seconds: float = 2.0) -> float:
        before, t0 = self.sample(), time.monotonic()
        time.sleep(seconds)
        after, t1 = self.sample(), time.monotonic()
        self.idle_ns_per_s = max(0.0, (after - before) / (t1 - t0))
        return self.idle_ns_per_s

    def start(self) -> None:
        self._started_main_ns = self.sample_main_thread()
        self._started_wait_ns = schedstat_ns(descendants(self.pid))[1]
        self._started_ns, self._started_at = self.sample(), time.monotonic()

    def stop(self) -> tuple[int, int]:
        """(busy ns above idle, raw ns) since ``start``; also sets ``main_thread_ns``."""
        run, wait = schedstat_ns(descendants(self.pid))
        if self.with_exited_threads:
            run = self.sample()
        raw = run - self._started_ns
        self.wait_ns = wait - self._started_wait_ns
        self.main_thread_ns = self.sample_main_thread() - self._started_main_ns
        idle = self.idle_ns_per_s * (time.monotonic() - self._started_at)
        return max(0, int(raw - idle)), raw


def rss_kb(pid: int) -> int:
    """Resident set size of one process (VmRSS), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for process {pid}")


def pss_kb(pids: list[int]) -> int:
    """Proportional set size summed over processes: shared pages counted once across them."""
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
    return total


def free_port() -> int:
    """A port free on 127.0.0.1 for both UDP and TCP (SIP servers listen on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def _first_line(command: list[str]) -> str:
    if shutil.which(command[0]) is None:
        return "not installed"
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc})"
    for line in (done.stdout + done.stderr).splitlines():
        if line.strip():
            return line.strip()
    return "unknown"


def machine_facts() -> dict[str, str | int | float]:
    """Machine, versions and load: what a reader needs to compare two recorded runs."""
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kb = int(line.split()[1])
            break
    load1, load5, load15 = os.getloadavg()
    try:
        import uvloop  # noqa: F401

        loop = "uvloop"
    except ImportError:
        loop = "asyncio"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "nproc": os.cpu_count() or 0,
        "cpu_model": model,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "event_loop": loop,
        "sipp": _first_line(["sipp", "-v"]).rstrip("."),
        "kamailio": _first_line(["kamailio", "-v"]).removeprefix("version: "),
        "java": _first_line(["java", "-version"]),
        "loadavg_at_start": f"{load1:.2f} {load5:.2f} {load15:.2f}",
    }


def loadavg() -> float:
    return round(os.getloadavg()[0], 2)
