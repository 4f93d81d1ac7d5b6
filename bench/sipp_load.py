"""Running sipp as a bounded load generator and reading what it counted.

Every run is bounded: ``-m`` calls at ``-r`` calls/s, a global ``-timeout`` and a process
timeout on top. sipp runs at a higher priority (``nice -n -10``, when allowed) with 4 MiB socket
buffers, so a busy server under test does not starve it (see /work/shared/NOTES.md); the rate
period is 100 ms and the timer resolution 1 ms, which keeps its sending smooth at high rates
(with the defaults sipp 3.6 sends in bursts and falls behind above about 10,000 calls/s here).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

__all__ = ["SippRun", "run_sipp", "sipp_command", "write_users_csv"]

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
# Flags a scenario needs to behave as it says (see the comment at the top of each scenario).
SCENARIO_FLAGS = {"register_storm.xml": ("-pause_msg_ign",)}


def write_users_csv(path: Path, users: Sequence[tuple[str, str]]) -> Path:
    """sipp injection file: ``username;password;[authentication ...]``, read in order.

    sipp 3.6 does not expand ``[field0]`` inside the ``[authentication]`` keyword, so the third
    field carries the whole keyword for the scenario to insert as ``[field2]``.
    """
    lines = ["SEQUENTIAL"]
    lines += [f"{u};{p};[authentication username={u} password={p}]" for u, p in users]
    path.write_text("\n".join(lines) + "\n")
    return path


@dataclass(frozen=True, slots=True)
class SippRun:
    target_rate: float
    calls: int
    successful: int
    failed: int
    retransmissions: int
    timeouts: int
    unexpected: int
    achieved_rate: float  # sipp's own cumulative call rate: calls created / elapsed
    mean_response_ms: float  # first REGISTER sent -> final 200 received
    wall_s: float
    exit_code: int
    stats_file: str
    error_file: str

    @property
    def clean(self) -> bool:
        return self.failed == 0 and self.successful == self.calls

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def _nice_prefix() -> list[str]:
    if shutil.which("nice") is None:
        return []
    # Raising priority needs CAP_SYS_NICE; without it sipp runs at normal priority.
    return ["nice", "-n", "-10"] if os.geteuid() == 0 else []


def sipp_command(
    target: str,
    scenario: str,
    users_csv: Path,
    rate: float,
    calls: int,
    domain: str,
    out_dir: Path,
    tag: str,
    extra: Sequence[str] = (),
    max_seconds: float | None = None,
) -> tuple[list[str], Path, Path]:
    stats = out_dir / f"{tag}.stats.csv"
    errors = out_dir / f"{tag}.errors.log"
    for stale in (stats, errors):
        stale.unlink(missing_ok=True)
    global_timeout = int(max_seconds if max_seconds is not None else calls / rate + 30)
    command = [
        *_nice_prefix(),
        "sipp",
        target,
        "-sf",
        str(SCENARIOS / scenario),
        "-inf",
        str(users_csv),
        "-key",
        "domain",
        domain,
        "-i",
        "127.0.0.1",
        "-t",
        "u1",
        "-r",
        f"{rate / 10:g}",
        "-rp",
        "100",
        "-m",
        str(calls),
        "-timer_resol",
        "1",
        "-max_recv_loops",
        "10000",
        "-max_sched_loops",
        "10000",
        "-buff_size",
        "4194304",
        "-timeout",
        f"{global_timeout}s",
        "-nostdin",
        # An aborted registration is a failure; sipp must not also send a BYE for it.
        "-default_behaviors",
        "all,-bye",
        "-trace_stat",
        "-stf",
        str(stats),
        # Every 5 s as well as at the end: a run stopped at its time limit still leaves its counts.
        "-fd",
        "5",
        "-trace_err",
        "-error_file",
        str(errors),
        *SCENARIO_FLAGS.get(scenario, ()),
        *extra,
    ]
    return command, stats, errors


def _duration_ms(text: str) -> float:
    """sipp's ``HH:MM:SS:uuuuuu`` (or ``HH:MM:SS``) as milliseconds."""
    parts = text.strip().split(":")
    if len(parts) < 3:
        return 0.0
    hours, minutes, seconds = (int(p) for p in parts[:3])
    micros = int(parts[3]) if len(parts) > 3 and parts[3] else 0
    return ((hours * 60 + minutes) * 60 + seconds) * 1000 + micros / 1000


def _last_row(stats: Path) -> dict[str, str]:
    with stats.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    if len(rows) < 2:
        raise RuntimeError(f"sipp wrote no statistics to {stats}")
    return dict(zip(rows[0], rows[-1], strict=False))


def run_sipp(
    target: str,
    scenario: str,
    users_csv: Path,
    rate: float,
    calls: int,
    domain: str,
    out_dir: Path,
    tag: str,
    extra: Sequence[str] = (),
    max_seconds: float | None = None,
) -> SippRun:
    """Run one bounded sipp load and return what it counted (the final cumulative statistics)."""
    command, stats, errors = sipp_command(
        target, scenario, users_csv, rate, calls, domain, out_dir, tag, extra, max_seconds
    )
    started = time.monotonic()
    with (out_dir / f"{tag}.sipp.log").open("w") as log:
        try:
            done = subprocess.run(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=(max_seconds if max_seconds is not None else calls / rate + 30) + 30,
                check=False,
            )
            code = done.returncode
        except subprocess.TimeoutExpired:
            code = -9
    wall = time.monotonic() - started
    if not stats.exists():
        raise RuntimeError(
            f"sipp exited with {code} and wrote no statistics; see {out_dir / (tag + '.sipp.log')}"
        )
    row = _last_row(stats)

    def count(name: str) -> int:
        return int(float(row.get(name, "0") or 0))

    successful = count("SuccessfulCall(C)")
    failed = count("FailedCall(C)")
    # Calls sipp never finished (killed by its own global timeout) are failures too.
    failed = max(failed, calls - successful)
    return SippRun(
        target_rate=rate,
        calls=calls,
        successful=successful,
        failed=failed,
        retransmissions=count("Retransmissions(C)"),
        timeouts=count("FailedTimeoutOnRecv(C)"),
        unexpected=count("FailedUnexpectedMessage(C)"),
        achieved_rate=float(row.get("CallRate(C)", "0") or 0),
        mean_response_ms=_duration_ms(row.get("ResponseTime1(C)", "")),
        wall_s=wall,
        exit_code=code,
        stats_file=str(stats),
        error_file=str(errors),
    )
