"""A migration wave on the local stack: a sipp carrier calls one number at a steady rate while its
split moves 0 -> 10 -> 50 -> 100 -> 0 %; a sipp UAS is the legacy PBX (the merchant's own trunk)
and sipp agents answer Switchboard's share.

Each step places ``MIGRATION_CALLS / 5`` calls of 3 s (40 in ``make test``, 200 in
``make bench-migration``) from as many distinct callers, chosen so that their hash buckets
(``domain.migration.bucket_of``) are spread evenly over 0-99: the share each side must get is then
exactly the split, and the test allows 3 points. (Real callers' buckets are a sample: with N
distinct callers the share's standard deviation is about 50/sqrt(N) points.) The next step's mode
is written once the step's calls are placed, while its last ones are still talking: none of them
may fail. Routing functions cache a number up to 5 s, so each step starts 6 s after its change.
Every call's record must name its side.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from contact_center.domain.migration import BUCKETS, bucket_of
from tests.integration.calls_support import (
    SCENARIOS,
    SIPP,
    Merchant,
    add_trunk,
    bind_table,
    call_api,
    onboard,
    register,
)
from tests.support.ports import free_port
from tests.support.stack import RunningStack, running_stack

CALLS = int(os.environ.get("MIGRATION_CALLS", "200"))
STEPS = (0, 10, 50, 100, 0)
PER_STEP = CALLS // len(STEPS)
# Calls per second: steady, and within what the local stack routes on 2 shared cores.
RATE = int(os.environ.get("MIGRATION_RATE", "3"))
SEATS = 8  # 3 s calls at 3/s: about 9 talking at once, all of them ours at 100 % (a few wait)
CACHE_SECONDS = 6.0
LEGACY_HOST = "127.0.0.3"

# Placing the calls takes CALLS / RATE seconds; the stack, the phones and the waits between steps
# take about two minutes more on two busy cores.
pytestmark = pytest.mark.timeout(int(2 * CALLS / RATE) + 300)


def spread_callers(count: int) -> list[str]:
    """``count`` caller numbers whose buckets are floor(i * 100 / count): evenly spread."""
    wanted = {index: index * BUCKETS // count for index in range(count)}
    found: dict[int, str] = {}
    by_bucket: dict[int, list[int]] = {}
    for index, bucket in wanted.items():
        by_bucket.setdefault(bucket, []).append(index)
    candidate = 0
    while len(found) < count:
        number = f"+1777{candidate:07d}"
        candidate += 1
        slots = by_bucket.get(bucket_of(number))
        if slots:
            found[slots.pop()] = number
    return [found[index] for index in range(count)]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    with running_stack(tmp_path_factory.mktemp("migration"), dynamodb=kind) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


def uas(port: int, tmp: Path, name: str, calls: int, host: str = "127.0.0.1") -> subprocess.Popen[str]:
    """A sipp UAS answering ``calls`` calls on ``host:port`` (``-aa``: OPTIONS pings get a 200)."""
    return subprocess.Popen(
        [
            SIPP, "-sf", str(SCENARIOS / "agent_answer.xml"), "-i", host, "-p", str(port),
            "-m", str(calls), "-aa", "-buff_size", "4194304", "-nostdin", "-nd",
            "-trace_err", "-error_file", str(tmp / f"{name}_errors.log"),
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, cwd=tmp,
    )  # fmt: skip


def wave_step(
    stack: RunningStack, number: str, callers: list[str], tmp: Path, name: str
) -> subprocess.Popen[str]:
    fields = tmp / f"{name}.csv"
    fields.write_text("SEQUENTIAL\n" + "".join(f"{caller};\n" for caller in callers))
    return subprocess.Popen(
        [
            SIPP, f"127.0.0.1:{stack.sip_port}", "-sf", str(SCENARIOS / "wave_caller.xml"), "-s", number,
            "-inf", str(fields), "-i", "127.0.0.1", "-p", str(free_port()), "-r", str(RATE),
            "-m", str(len(callers)), "-timeout", f"{len(callers) // RATE + 120}s", "-timeout_error", "-buff_size", "4194304",
            "-nostdin", "-nd", "-trace_err", "-error_file", str(tmp / f"{name}_errors.log"),
            "-trace_stat", "-fd", "1", "-stf", str(tmp / f"{name}_stats.csv"),
        ],
        stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, text=True, cwd=tmp,
    )  # fmt: skip


def placed(stats: Path, count: int, run: subprocess.Popen[str], timeout: float = 120.0) -> None:
    """Until sipp says it has placed ``count`` calls (its statistics, written every second)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and run.poll() is None:
        lines = stats.read_text(errors="replace").splitlines() if stats.exists() else []
        if len(lines) > 1:
            row = dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))
            if int(row.get("OutgoingCall(C)", "0") or 0) >= count:
                return
        time.sleep(0.2)


def set_split(merchant: Merchant, trunk_id: str, percent: int) -> None:
    path = f"/merchants/{merchant.merchant_id}/numbers/{merchant.number}"
    body = {"mode": "split", "legacy_trunk_id": trunk_id, "switchboard_percent": percent}
    status, answer = call_api(merchant.stack, "PATCH", path, body, merchant.key)
    assert status == 200, answer


def records_of(stack: RunningStack, number: str, expected: int, timeout: float = 30.0) -> list[object]:
    from contact_center.data.models import RecordItem

    bind_table(stack)
    deadline = time.monotonic() + timeout
    while True:
        found = [item for item in RecordItem.scan(RecordItem.called == number)]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_a_migration_wave_loses_no_call_and_each_side_gets_its_share(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155557000", seats=SEATS)
    legacy_port = free_port()
    # The PBX answers the edge's OPTIONS pings from the moment its trunk exists: pings lost while the
    # seats register would mark the trunk down and send the first step's calls to the fallback queue.
    # It has an address of its own, as a real one does: a trunk naming the carrier's whole range
    # would make the carrier's calls look as if the legacy centre sent them.
    pbx = uas(legacy_port, tmp_path, "pbx", CALLS, host=LEGACY_HOST)
    status, trunk = call_api(
        stack, "POST", f"/merchants/{merchant.merchant_id}/trunks",
        {"name": "Legacy PBX", "address": f"{LEGACY_HOST}:{legacy_port}", "source_cidrs": [f"{LEGACY_HOST}/32"]},
        merchant.key,
    )  # fmt: skip
    assert status == 201, trunk
    for seat in merchant.seats:
        register(stack, seat, tmp_path)
    phones = [uas(seat.port, tmp_path, f"agent{i}", CALLS) for i, seat in enumerate(merchant.seats)]
    merchant.make_available_in_order(merchant.seats)
    callers = spread_callers(PER_STEP)
    steps: list[tuple[int, float, float]] = []  # (percent, first call, last call) wall-clock seconds
    try:
        set_split(merchant, trunk["trunk_id"], STEPS[0])
        changed = time.monotonic()
        for index, percent in enumerate(STEPS):
            time.sleep(max(0.0, CACHE_SECONDS - (time.monotonic() - changed)))
            started = time.time()
            run = wave_step(stack, merchant.number, callers, tmp_path, f"step{index}")
            # The next step's mode is written once this step's calls are all placed, while its last
            # ones are still talking.
            placed(tmp_path / f"step{index}_stats.csv", PER_STEP, run)
            if index + 1 < len(STEPS):
                set_split(merchant, trunk["trunk_id"], STEPS[index + 1])
                changed = time.monotonic()
            assert run.wait(180) == 0, (tmp_path / f"step{index}_errors.log").read_text(errors="replace")[
                -2000:
            ]
            steps.append((percent, started, time.time()))
    finally:
        for proc in [*phones, pbx]:
            proc.kill()
            proc.wait()
    found = records_of(stack, merchant.number, CALLS)
    assert len(found) == CALLS
    assert {getattr(r, "side", None) for r in found} <= {"legacy", "switchboard"}
    for percent, first, last in steps:
        mine = [r for r in found if first * 1000 <= int(r.created_at) <= last * 1000]  # type: ignore[attr-defined]
        assert len(mine) == PER_STEP, (percent, len(mine))
        ours = sum(1 for r in mine if r.side == "switchboard")  # type: ignore[attr-defined]
        assert abs(100 * ours / PER_STEP - percent) <= 3, (percent, ours, PER_STEP)
        # Every call was answered on its side (the record of a call nobody took has no answer).
        assert all(r.hangup_cause == "normal_clearing" for r in mine), {r.hangup_cause for r in mine}  # type: ignore[attr-defined]
