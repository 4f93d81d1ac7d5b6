"""Synthesize the whole CDK app ONCE per test process and share its templates.

A synth with cdk-nag takes about ten seconds, so every test here reads the same cloud assembly.
All infra tests share one xdist group, hence one process and one synth under ``pytest -n 2``;
the two end-to-end synth tests (CLI and ``python infra/app.py``) form a second group that runs
beside them on the other worker.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
for _path in (REPO_ROOT / "infra", REPO_ROOT / "layers" / "core" / "python"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

SYNTH_GROUP = "cdk-synth"
ALARM_EMAIL = "contact-center-ops@example.com"
END_TO_END_GROUP = "cdk-end-to-end"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents or Path(item.path).parent == here:
            group = END_TO_END_GROUP if item.get_closest_marker("slow") else SYNTH_GROUP
            item.add_marker(pytest.mark.xdist_group(group))


@dataclass(frozen=True)
class Synthesized:
    outdir: Path
    deployment: Any  # switchboard_infra.deployment.Deployment
    templates: dict[str, dict[str, Any]]  # stack name -> template JSON

    def template(self, key: str) -> dict[str, Any]:
        return self.templates[self.stack_name(key)]

    def stack_name(self, key: str) -> str:
        """'data', 'global', 'primary' or 'secondary' -> the stack's name."""
        d = self.deployment
        names = {
            "data": d.data.stack_name,
            "global": d.global_entry.stack_name,
            "primary": d.regions[d.config.primary_region].stack_name,
            "secondary": d.regions[d.config.secondary_region].stack_name,
        }
        return names[key]

    def resources(self, key: str, type_: str) -> dict[str, dict[str, Any]]:
        return {k: r for k, r in self.template(key)["Resources"].items() if r["Type"] == type_}

    def asset_dir(self, key: str, logical_id: str) -> Path:
        """The staged directory of a Lambda asset (function or layer): asset.<hash> for S3 key <hash>.zip."""
        properties = self.template(key)["Resources"][logical_id]["Properties"]
        location = properties.get("Content") or properties["Code"]
        return self.outdir / f"asset.{location['S3Key'].removesuffix('.zip')}"


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synthesized]:
    import aws_cdk as cdk

    from switchboard_infra.config import load_context
    from switchboard_infra.deployment import build

    outdir = tmp_path_factory.mktemp("cdk.out")
    context = load_context(REPO_ROOT)
    # The fuller shape: SIP over TLS on, alarms mailed to the operators. The committed cdk.json (TLS
    # off until an operator has put a certificate in the secret, no address) is synthesized by the
    # end-to-end tests in test_quality.
    context["switchboard"] = {**context["switchboard"], "edgeTls": True, "alarmEmail": ALARM_EMAIL}
    app = cdk.App(outdir=str(outdir), context=context)
    deployment = build(app)
    assembly = app.synth()
    templates = {stack.stack_name: stack.template for stack in assembly.stacks}
    yield Synthesized(outdir=outdir, deployment=deployment, templates=templates)


@pytest.fixture(scope="session")
def config(synthesized: Synthesized) -> Any:
    return synthesized.deployment.config


def only(resources: dict[str, dict[str, Any]]) -> dict[str, Any]:
    assert len(resources) == 1, f"expected exactly one resource, got {sorted(resources)}"
    return next(iter(resources.values()))


def statements(template: dict[str, Any], role_logical_id: str) -> list[dict[str, Any]]:
    """Every policy statement attached to one role (its inline and default policies)."""
    found: list[dict[str, Any]] = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = [r.get("Ref") for r in resource["Properties"].get("Roles", [])]
        if role_logical_id in roles:
            found += resource["Properties"]["PolicyDocument"]["Statement"]
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
