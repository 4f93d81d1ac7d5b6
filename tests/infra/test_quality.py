"""Quality bars on the synthesized app: cdk-nag, cfn-lint, and both ways of synthesizing offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.infra.conftest import REPO_ROOT, Synthesized

OFFLINE_ENV = {
    # No credentials and no notices: the synth must not need (or try) the network.
    "CDK_DISABLE_CLI_TELEMETRY": "true",
    "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
    "AWS_ACCESS_KEY_ID": "",
    "AWS_SECRET_ACCESS_KEY": "",
    "AWS_SESSION_TOKEN": "",
    "AWS_PROFILE": "",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _nag_report(outdir) -> dict:
    reports = json.loads((outdir / "validation-report.json").read_text())["pluginReports"]
    (report,) = [r for r in reports if r["pluginName"] == "AwsSolutions"]
    return report


def test_cdk_nag_reports_no_unacknowledged_finding(synthesized: Synthesized) -> None:
    report = _nag_report(synthesized.outdir)
    assert (report["conclusion"], report["violations"]) == ("success", [])


def test_every_acknowledged_finding_has_a_specific_reason(synthesized: Synthesized) -> None:
    report = _nag_report(synthesized.outdir)
    short = [v["ruleName"] for v in report["suppressedViolations"] if len(v.get("reason", "")) < 40]
    assert not short


def test_cfn_lint_finds_no_error_in_any_template(synthesized: Synthesized) -> None:
    templates = sorted(str(p) for p in synthesized.outdir.glob("*.template.json"))
    assert len(templates) == 6
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", *templates], capture_output=True, text=True, timeout=120
    )
    # Exit code bits: 2 errors, 4 warnings, 8 informational; anything else means cfn-lint failed.
    assert result.returncode & ~(4 | 8) == 0, result.stdout + result.stderr


def _run(
    command: list[str], tmp_path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **OFFLINE_ENV, **(extra or {})}
    env["PATH"] = f"{REPO_ROOT / '.venv' / 'bin'}{os.pathsep}{env['PATH']}"
    return subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.slow
def test_cdk_cli_synthesizes_offline_without_credentials(tmp_path) -> None:
    cli = REPO_ROOT / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        pytest.fail("node_modules/.bin/cdk is missing: run `make setup` (npm ci)")
    result = _run([str(cli), "synth", "--quiet", "--no-notices", "--output", str(tmp_path / "out")], tmp_path)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert len(list((tmp_path / "out").glob("*.template.json"))) == 6


@pytest.mark.slow
def test_python_app_synthesizes_offline_without_the_cli(tmp_path) -> None:
    out = tmp_path / "out"
    env = {"CDK_OUTDIR": str(out)}  # only to keep the repository's cdk.out untouched
    result = _run([sys.executable, str(REPO_ROOT / "infra" / "app.py")], tmp_path, env)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert len(list(out.glob("*.template.json"))) == 6
    # The committed cdk.json leaves TLS off: then nothing listens on 5061 anywhere, so no caller
    # reaches a port no task serves.
    templates = [json.loads(p.read_text()) for p in out.glob("*.template.json")]
    resources = [r for t in templates for r in t["Resources"].values()]
    nlb_ports = {
        r["Properties"]["Port"]
        for r in resources
        if r["Type"].endswith("::Listener") and "Port" in r["Properties"]
    }
    accelerator = [
        r["Properties"]["PortRanges"] for r in resources if r["Type"] == "AWS::GlobalAccelerator::Listener"
    ]
    assert nlb_ports == {5060}
    assert all(ranges == [{"FromPort": 5060, "ToPort": 5060}] for ranges in accelerator)
