"""Profile one benchmarked process, every thread, in CPU time, when bench/call_bench.py asks for it.

bench/call_bench.py puts this directory on PYTHONPATH of the process it starts (the fixed-target
edge, or ``python -m local_stack`` whose children inherit it) with ``BENCH_PROFILE_MODULE`` and
``BENCH_PROFILE_OUT`` (a .prof file). Python imports ``sitecustomize`` at start-up; only the
process running ``python -m <BENCH_PROFILE_MODULE>`` (or the script of that name) profiles itself,
and every other process is untouched.

The profiled process keeps one ``cProfile.Profile`` per thread: its main thread (the event loop)
and every thread it starts (the SDK's worker threads). The clock is each thread's own CPU time
(``time.thread_time``), so time spent waiting (epoll, a queue, a socket) costs nothing and the
figures add up to the CPU the process burnt. SIGUSR1 clears what was collected so far (start-up,
imports, warm-up); at exit every thread's profile is merged into one file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _install(name: str, out: str) -> None:
    import atexit
    import cProfile
    import pstats
    import signal
    import threading
    import time

    profiles: list[cProfile.Profile] = []
    lock = threading.Lock()

    def new_profile() -> cProfile.Profile:
        profile = cProfile.Profile(time.thread_time)
        with lock:
            profiles.append(profile)
        return profile

    def start_in_thread(frame: object, event: str, arg: object) -> None:
        # The first profiling event of a new thread: hand the thread over to its own profiler.
        new_profile().enable()

    def reset(signum: int, frame: object) -> None:
        with lock:
            for profile in profiles:
                profile.clear()

    def dump() -> None:
        threading.setprofile(None)  # type: ignore[arg-type]
        with lock:
            found = list(profiles)
        stats: pstats.Stats | None = None
        for profile in found:
            profile.disable()
            try:
                profile.create_stats()
                stats = pstats.Stats(profile) if stats is None else stats.add(profile)
            except (TypeError, ValueError):
                continue  # a thread that never ran a profiled call
        if stats is not None:
            stats.dump_stats(out)

    signal.signal(signal.SIGUSR1, reset)
    threading.setprofile(start_in_thread)
    new_profile().enable()
    atexit.register(dump)
    print(f"bench profiling: {name} (pid {os.getpid()}) -> {out}", file=sys.stderr, flush=True)


def _wanted() -> tuple[str, str] | None:
    name, out = os.environ.get("BENCH_PROFILE_MODULE"), os.environ.get("BENCH_PROFILE_OUT")
    if not name or not out:
        return None
    argv = list(getattr(sys, "orig_argv", []))
    if "-m" in argv[:-1] and argv[argv.index("-m") + 1] == name:
        return name, out
    scripts = [Path(word).stem for word in argv[1:2] if word.endswith(".py")]
    if scripts and scripts[0] == name:
        return name, out
    return None


_target = _wanted()
if _target is not None:
    _install(*_target)
