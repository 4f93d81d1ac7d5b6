"""The contact-centre day in miniature, quick size: nobody stranded, no seat offered two calls at once.

``bench/center_day.py --quick`` on the local stack (DynamoDB Local behind the counting proxy): 300
seats of 3 merchants over 5 queues with overlapping skills, agents answering, wrapping up, taking
breaks and missing offers (RONA), Poisson callers at 5 calls/s with bursts for 30 s. The two
invariants are reckoned from the router's own contact records and the seats' stored states.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = [pytest.mark.dynamodb_local, pytest.mark.slow]


@pytest.mark.timeout(240)
def test_a_quick_day_strands_no_caller_and_offers_no_seat_two_calls(tmp_path: Path) -> None:
    summary_path = tmp_path / "day.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "center_day.py"), "--quick", "--no-record", "--json", str(summary_path)],
        cwd=BENCH,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    assert summary_path.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    day = json.loads(summary_path.read_text())
    # Every caller was placed, finished and left a contact record; most of them talked to an agent.
    assert day["registered"] == 300
    assert day["calls_placed"] >= 100 and day["drained"]
    assert day["records"] == day["calls_placed"]
    assert day["outcomes"].get("talked", 0) >= 0.9 * day["calls_placed"], day["outcomes"]
    assert day["agent_phones"]["wrap_ups"] > 0 and not day["agent_phones"]["state_errors"]
    # The invariants, from the records.
    assert day["stranded"] == 0, day["stranded_examples"]
    assert day["double_offers"] == 0, day["double_offer_examples"]
    assert run.returncode == 0, run.stdout[-3000:]
