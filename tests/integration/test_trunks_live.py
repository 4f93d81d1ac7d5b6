"""Trunks on the local stack: a sipp UAS stands for the legacy PBX (it answers the edge's OPTIONS
pings with -aa), a sipp UAC for the carrier. The number is in legacy mode, so each call is bridged
by the edge to the merchant's legacy trunk."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.calls_support import (
    SCENARIOS,
    SIPP,
    Merchant,
    Sipp,
    add_trunk,
    call_api,
    caller,
    onboard,
    records,
    sipp_args,
)
from tests.support.ports import free_port
from tests.support.stack import RunningStack, running_stack

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    kind = os.environ.get("CALLS_DYNAMODB", "dynamodb-local")
    with running_stack(tmp_path_factory.mktemp("trunks"), dynamodb=kind) as running:
        add_trunk(running, {"name": "Loopback", "source_cidrs": ["127.0.0.0/8"]})
        yield running


def pbx(scenario: str, tmp: Path, port: int, name: str, *keys: tuple[str, str]) -> Sipp:
    """The legacy PBX: one call, OPTIONS pings answered by -aa."""
    key_args = [arg for key, value in keys for arg in ("-key", key, value)]
    proc = subprocess.Popen(
        [SIPP, "-sf", str(SCENARIOS / scenario), *sipp_args(tmp, name, port), "-aa", *key_args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        text=True,
        cwd=tmp,
    )
    return Sipp(name, proc, tmp)


def legacy_number(merchant: Merchant, trunk: dict[str, Any]) -> None:
    path = f"/merchants/{merchant.merchant_id}/numbers/{merchant.number}"
    body = {"mode": "legacy", "legacy_trunk_id": trunk["trunk_id"]}
    status, answer = call_api(merchant.stack, "PATCH", path, body, merchant.key)
    assert status == 200, answer


def legacy_trunk(merchant: Merchant, port: int, **extra: Any) -> dict[str, Any]:
    body = {"name": "Legacy PBX", "address": f"127.0.0.1:{port}", "source_cidrs": ["127.0.0.0/8"], **extra}
    status, trunk = call_api(
        merchant.stack, "POST", f"/merchants/{merchant.merchant_id}/trunks", body, merchant.key
    )
    assert status == 201, trunk
    return dict(trunk)


def test_a_legacy_pbx_that_challenges_gets_the_trunks_credentials_and_takes_the_call(
    stack: RunningStack, tmp_path: Path
) -> None:
    merchant = onboard(stack, "+14155558100")
    port = free_port()
    credentials = {"username": "switchboard", "password": "legacy-secret", "realm": "legacy.example"}
    legacy_number(merchant, legacy_trunk(merchant, port, **credentials))
    legacy = pbx("legacy_challenges.xml", tmp_path, port, "pbx", ("password", "legacy-secret"))
    call = caller(stack, merchant.number, "caller_bye.xml", tmp_path)
    assert call.wait() == 0, call.report()
    assert legacy.wait() == 0, legacy.report()
    messages = legacy.messages()
    assert messages.count("INVITE sip:") == 2  # challenged once, then taken
    assert 'Authorization: Digest username="switchboard", realm="legacy.example"' in messages
    [record] = records(stack, merchant)
    assert record.side == "legacy" and record.hangup_cause == "normal_clearing"
