"""The deployment configuration read from cdk.json (pure Python, no synth)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from switchboard_infra.config import Config, ConfigError, load_context
from tests.infra.conftest import REPO_ROOT


def _context() -> dict:
    return load_context(REPO_ROOT)["switchboard"]


def test_cdk_json_describes_a_valid_deployment() -> None:
    config = Config.from_context(_context())
    assert config.primary_region != config.secondary_region


def test_config_is_frozen() -> None:
    config = Config.from_context(_context())
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.account = "000000000000"  # type: ignore[misc]


def test_traffic_dial_cannot_be_changed_after_reading() -> None:
    config = Config.from_context(_context())
    with pytest.raises(TypeError):
        config.traffic_dial["us-east-1"] = 0  # type: ignore[index]


def test_an_unknown_key_is_an_error_not_ignored() -> None:
    with pytest.raises(ConfigError, match="minTask"):
        Config.from_context({**_context(), "edge": {"minTask": 3}})


def test_the_two_regions_must_differ() -> None:
    context = {**_context(), "secondaryRegion": _context()["primaryRegion"]}
    with pytest.raises(ConfigError, match="must differ"):
        Config.from_context(context)


def test_the_nlb_certificate_setting_is_refused_with_the_way_forward() -> None:
    arn = f"arn:aws:acm:{_context()['primaryRegion']}:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    with pytest.raises(ConfigError, match="edgeTls"):
        Config.from_context({**_context(), "tlsCertificateArn": arn})


def test_edge_tls_is_off_until_turned_on() -> None:
    assert Config.from_context(_context()).edge_tls is False
    assert Config.from_context({**_context(), "edgeTls": True}).edge_tls is True
    with pytest.raises(ConfigError, match="edgeTls"):
        Config.from_context({**_context(), "edgeTls": "yes"})


def test_edge_task_bounds_are_checked() -> None:
    with pytest.raises(ConfigError, match="minTasks"):
        Config.from_context({**_context(), "edge": {"minTasks": 5, "maxTasks": 2}})


def test_stop_timeout_cannot_exceed_what_fargate_allows() -> None:
    with pytest.raises(ConfigError, match="stopTimeoutSeconds"):
        Config.from_context({**_context(), "edge": {"stopTimeoutSeconds": 600}})


def test_hosted_zone_must_contain_the_sip_domain() -> None:
    with pytest.raises(ConfigError, match="not inside"):
        Config.from_context({**_context(), "hostedZone": {"zoneId": "Z123", "zoneName": "other.org"}})


def test_committed_context_answers_the_availability_zone_lookups() -> None:
    # Without these entries the CDK CLI would call AWS (and need credentials) to list AZs.
    config = Config.from_context(_context())
    cached = json.loads((REPO_ROOT / "cdk.context.json").read_text())
    for region in config.regions:
        assert len(cached[f"availability-zones:account={config.account}:region={region}"]) >= 2
