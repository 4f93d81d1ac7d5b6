"""The media fleet of each region: rtpengine relays in an Auto Scaling group in public subnets, RTP open
to the world and ng only to the edge, scaling on sessions, a termination hook that drains calls, and a
role that may write only the relay's own registry item, read its bundle and the merchants' prompts and
put recordings; each relay plays the prompts, forwards key reports and runs the recording collector."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from contact_center.contracts import media_relays
from contact_center.contracts import settings as contract
from switchboard_infra import permissions
from switchboard_infra.constructs.media_fleet import AGENT_UNIT, COLLECTOR_UNIT, DEBIAN_12_ARM64
from switchboard_infra.relay_agent import COLLECTOR_MODULES, LIFECYCLE_HOOK, agent_config
from tests.infra.conftest import Synthesized, as_list, only, statements

REGION_KEYS = ["primary", "secondary"]
ROOT = Path(__file__).resolve().parents[2]


def _region(synthesized: Synthesized, key: str) -> Any:
    d = synthesized.deployment
    return d.regions[d.config.primary_region if key == "primary" else d.config.secondary_region]


def _logical_id(construct: Any) -> str:
    import aws_cdk as cdk

    return str(cdk.Stack.of(construct).get_logical_id(construct.node.default_child))


def _group(synthesized: Synthesized, key: str) -> dict[str, Any]:
    return only(synthesized.resources(key, "AWS::AutoScaling::AutoScalingGroup"))["Properties"]


def _launch_data(synthesized: Synthesized, key: str) -> dict[str, Any]:
    template = only(synthesized.resources(key, "AWS::EC2::LaunchTemplate"))
    return dict(template["Properties"]["LaunchTemplateData"])


def _token(value: dict[str, Any]) -> str:
    """A deploy-time value of the user data, written as the logical id it refers to."""
    if "Ref" in value:
        return f"<{value['Ref']}>"
    if "Fn::GetAtt" in value:
        return f"<{'.'.join(value['Fn::GetAtt'])}>"
    return f"<{json.dumps(value, sort_keys=True)}>"


def _user_data(synthesized: Synthesized, key: str) -> str:
    """The user data with each deploy-time value (the buckets, the key, the bundle) as ``<id>``."""
    encoded = _launch_data(synthesized, key)["UserData"]["Fn::Base64"]
    if isinstance(encoded, str):
        return encoded
    separator, parts = encoded["Fn::Join"]
    return str(separator).join(p if isinstance(p, str) else _token(p) for p in parts)


def _ids(synthesized: Synthesized, key: str) -> dict[str, str]:
    region = _region(synthesized, key)
    return {
        "prompts": _logical_id(region.prompts.bucket),
        "recordings": _logical_id(region.recordings.bucket),
        "recordings_key": _logical_id(region.recordings.key),
    }


def _ingress(synthesized: Synthesized, key: str, group: Any) -> set[tuple[str, int, int, str]]:
    """(protocol, from port, to port, CIDR or source group's logical id) of every rule into ``group``."""
    group_id = _logical_id(group)
    resources = synthesized.template(key)["Resources"]
    rules = {
        (r["IpProtocol"], r["FromPort"], r["ToPort"], r["CidrIp"])
        for r in resources[group_id]["Properties"].get("SecurityGroupIngress", [])
    }
    for resource in resources.values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::EC2::SecurityGroupIngress" and props["GroupId"] == {
            "Fn::GetAtt": [group_id, "GroupId"]
        }:
            source = props["SourceSecurityGroupId"]["Fn::GetAtt"][0]
            rules.add((props["IpProtocol"], props["FromPort"], props["ToPort"], source))
    return rules


@pytest.mark.parametrize("key", REGION_KEYS)
def test_each_region_runs_its_relays_in_an_auto_scaling_group_sized_by_the_config(
    synthesized: Synthesized, config: Any, key: str
) -> None:
    group = _group(synthesized, key)
    assert (int(group["MinSize"]), int(group["MaxSize"])) == (
        config.media.min_instances,
        config.media.max_instances,
    )
    assert config.media.min_instances >= 2  # one relay per availability zone at least


def test_relays_run_in_the_public_subnets_with_public_addresses(synthesized: Synthesized) -> None:
    subnets = _group(synthesized, "primary")["VPCZoneIdentifier"]
    assert len(subnets) == 2 and all("public" in subnet["Ref"].lower() for subnet in subnets)
    (interface,) = _launch_data(synthesized, "primary")["NetworkInterfaces"]
    assert interface["AssociatePublicIpAddress"] is True


def test_relays_are_graviton_instances_of_debian_12_arm64_with_imdsv2_only(
    synthesized: Synthesized, config: Any
) -> None:
    data = _launch_data(synthesized, "primary")
    family = data["InstanceType"].split(".")[0]
    assert data["InstanceType"] == config.media.instance_type and family.endswith("g")
    parameters = synthesized.template("primary")["Parameters"]
    image = parameters[data["ImageId"]["Ref"]]
    assert image["Default"] == DEBIAN_12_ARM64 and "SSM::Parameter" in image["Type"]
    assert data["MetadataOptions"]["HttpTokens"] == "required"
    (disk,) = data["BlockDeviceMappings"]
    assert disk["Ebs"]["Encrypted"] is True


def test_rtp_is_open_to_the_world_and_ng_and_joins_only_to_the_edge_tasks(synthesized: Synthesized) -> None:
    region = _region(synthesized, "primary")
    edge_group = _logical_id(region.edge.task_security_group)
    assert _ingress(synthesized, "primary", region.media.security_group) == {
        ("udp", media_relays.RTP_PORT_MIN, media_relays.RTP_PORT_MAX, "0.0.0.0/0"),
        ("udp", media_relays.NG_PORT, media_relays.NG_PORT, edge_group),
        ("udp", media_relays.JOIN_PORT, media_relays.JOIN_PORT, edge_group),
    }


def test_relays_reach_cloudwatch_through_the_vpc_endpoints(synthesized: Synthesized) -> None:
    region = _region(synthesized, "primary")
    endpoints = _ingress(synthesized, "primary", region.edge.endpoint_security_group)
    assert ("tcp", 443, 443, _logical_id(region.media.security_group)) in endpoints


@pytest.mark.parametrize("key", REGION_KEYS)
def test_the_fleet_scales_on_sessions_per_relay(synthesized: Synthesized, config: Any, key: str) -> None:
    policy = only(synthesized.resources(key, "AWS::AutoScaling::ScalingPolicy"))["Properties"]
    assert policy["PolicyType"] == "TargetTrackingScaling"
    tracking = policy["TargetTrackingConfiguration"]
    metric = tracking["CustomizedMetricSpecification"]
    assert (metric["Namespace"], metric["MetricName"], metric["Statistic"]) == (
        "Switchboard/Media",
        "Sessions",
        "Average",
    )
    assert metric.get("Dimensions", []) == []  # what the agent puts: no dimension
    assert tracking["TargetValue"] == config.media.sessions_per_instance
    assert not tracking.get("DisableScaleIn", False)


@pytest.mark.parametrize("key", REGION_KEYS)
def test_a_terminating_relay_waits_in_a_hook_for_its_calls_to_end(
    synthesized: Synthesized, config: Any, key: str
) -> None:
    hook = only(synthesized.resources(key, "AWS::AutoScaling::LifecycleHook"))["Properties"]
    assert hook["LifecycleTransition"] == "autoscaling:EC2_INSTANCE_TERMINATING"
    assert hook["LifecycleHookName"] == LIFECYCLE_HOOK
    assert hook["HeartbeatTimeout"] == config.media.drain_seconds
    # A hung agent must not keep the instance for ever: past the timeout it goes.
    assert hook["DefaultResult"] == "CONTINUE"


def _role_statements(synthesized: Synthesized, key: str) -> list[dict[str, Any]]:
    return statements(synthesized.template(key), _logical_id(_region(synthesized, key).media.role))


def test_the_relay_role_writes_only_relay_items_and_acts_only_on_its_own_group(
    synthesized: Synthesized,
) -> None:
    found = _role_statements(synthesized, "primary")
    actions = {action for s in found for action in as_list(s["Action"])}
    assert actions == {
        "s3:GetObject",
        "s3:ListBucket",
        "s3:PutObject",
        "s3:AbortMultipartUpload",
        "kms:GenerateDataKey",
        "kms:Decrypt",
        "dynamodb:PutItem",
        "cloudwatch:PutMetricData",
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:SetInstanceHealth",
        "autoscaling:DescribeAutoScalingInstances",
        *permissions.TABLE_KEY,
    }
    (put,) = [s for s in found if s["Action"] == "dynamodb:PutItem"]
    assert put["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RELAY#*"]}}
    assert "index" not in json.dumps(put["Resource"])
    (metric,) = [s for s in found if s["Action"] == "cloudwatch:PutMetricData"]
    assert metric["Condition"] == {"StringEquals": {"cloudwatch:namespace": "Switchboard/Media"}}
    (own_group,) = [s for s in found if "autoscaling:CompleteLifecycleAction" in as_list(s["Action"])]
    assert sorted(own_group["Action"]) == [
        "autoscaling:CompleteLifecycleAction",
        "autoscaling:SetInstanceHealth",
    ]
    group_id = _logical_id(_region(synthesized, "primary").media.group)
    assert group_id in json.dumps(own_group["Resource"])


@pytest.mark.parametrize("key", REGION_KEYS)
def test_each_relay_is_given_the_agent_and_its_regions_configuration(
    synthesized: Synthesized, config: Any, key: str
) -> None:
    region = _region(synthesized, key).region
    user_data = _user_data(synthesized, key)
    rendered = user_data.split("<<'SWITCHBOARD_CONFIG'\n", 1)[1].split("\nSWITCHBOARD_CONFIG", 1)[0]
    ids = _ids(synthesized, key)
    assert json.loads(rendered) == agent_config(
        config.table_name,
        region,
        prompts_bucket=f"<{ids['prompts']}>",
        recordings_bucket=f"<{ids['recordings']}>",
        recordings_kms_key=f"<{ids['recordings_key']}.Arn>",
    )
    assert json.loads(rendered)["item"]["index_pk"] == f"RELAYS#{region}"
    assert "apt-get install -y --no-install-recommends rtpengine-daemon python3-boto3 sox" in user_data
    # The agent writes the uploads it copies and the announcements it joins, nothing else of the prompts.
    prompts = media_relays.PROMPTS_DIRECTORY
    assert f"install -d -o switchboard-relay -m 0755 {prompts}/uploaded {prompts}/said" in user_data
    assert (
        "relay_agent.py configure /etc/switchboard/relay-agent.json /etc/rtpengine/rtpengine.conf"
        in user_data
    )
    # EC2 refuses user data over 16 KB.
    assert len(user_data.encode()) < 16 * 1024
    # The script parses as bash, every here-document closed (nothing of it runs here).
    checked = subprocess.run(["bash", "-n"], input=user_data, text=True, capture_output=True, check=False)
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("key", REGION_KEYS)
def test_each_relay_copies_its_bundle_installs_the_prompts_and_starts_the_collector_and_the_agent(
    synthesized: Synthesized, key: str
) -> None:
    user_data = _user_data(synthesized, key)
    bundle = _region(synthesized, key).media.bundle
    stack = _region(synthesized, key)
    assert f"{stack.resolve(bundle.s3_object_key)} /tmp/relay.zip" in user_data
    assert "relay_agent.py prompts /etc/switchboard/relay-agent.json /opt/switchboard/relay" in user_data
    assert f"-m 0755 {media_relays.PROMPTS_DIRECTORY}/uploaded" in user_data
    assert f"-o rtpengine -g rtpengine -m 0750 {media_relays.RECORDING_SPOOL}" in user_data
    collector = user_data.split(f"{COLLECTOR_UNIT}.service", 1)[1].split("SWITCHBOARD_UNIT", 2)[1]
    assert f"python3 -m sip_edge.app.media.recorder --spool {media_relays.RECORDING_SPOOL}" in collector
    ids = _ids(synthesized, key)
    assert f"{contract.RECORDINGS_BUCKET.name}=<{ids['recordings']}>" in collector
    assert f"{contract.RECORDINGS_KMS_KEY.name}=<{ids['recordings_key']}.Arn>" in collector
    assert "User=rtpengine" in collector
    agent = user_data.split(f"{AGENT_UNIT}.service", 1)[1].split("SWITCHBOARD_UNIT", 2)[1]
    assert "User=switchboard-relay" in agent  # not root, not rtpengine's user
    assert f"systemctl enable --now {COLLECTOR_UNIT} {AGENT_UNIT}" in user_data


def test_the_bundle_holds_the_agent_the_default_prompts_and_the_collector(synthesized: Synthesized) -> None:
    bundle = _region(synthesized, "primary").media.bundle
    staged = synthesized.outdir / bundle.asset_path
    assert (staged / "relay_agent.py").read_text() == (ROOT / "media_relay" / "agent.py").read_text()
    assert (
        {p.name for p in (staged / "prompts").glob("*.wav")}
        == {p.name for p in (ROOT / "build" / "prompts").glob("*.wav")}
        >= {"greeting.wav", "music.wav", "menu.wav"}
    )
    for module in COLLECTOR_MODULES:
        assert (staged / "python" / "sip_edge" / module).is_file()
    assert (staged / "python" / "contact_center" / "data" / "recording_store.py").is_file()
    # The collector imports nothing the instance lacks (standard library, boto3 when it stores).
    checked = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            "import sys; sys.path.insert(0, 'python'); import sip_edge.app.media.recorder",
        ],
        cwd=staged,
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


@pytest.mark.parametrize("key", REGION_KEYS)
def test_the_edge_learns_its_regions_relays_from_the_registry(synthesized: Synthesized, key: str) -> None:
    definition = only(synthesized.resources(key, "AWS::ECS::TaskDefinition"))["Properties"]
    (container,) = definition["ContainerDefinitions"]
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment[contract.MEDIA_RELAY_REGISTRY.name] == _region(synthesized, key).region
    assert contract.MEDIA_RELAYS.name not in environment
    # The prompts where the relays' agents put them; key reports on the port the agents send to.
    assert environment[contract.MEDIA_PROMPTS.name] == media_relays.PROMPTS_DIRECTORY
    assert environment[contract.MEDIA_DTMF_LISTEN.name] == f"0.0.0.0:{media_relays.KEY_REPORT_PORT}"


def test_the_edge_tasks_take_key_reports_from_the_relays_only(synthesized: Synthesized) -> None:
    region = _region(synthesized, "primary")
    rules = _ingress(synthesized, "primary", region.edge.task_security_group)
    port = media_relays.KEY_REPORT_PORT
    assert {r for r in rules if r[1] <= port <= r[2]} == {
        ("udp", port, port, _logical_id(region.media.security_group))
    }


def test_an_alarm_says_when_no_relay_serves(synthesized: Synthesized) -> None:
    alarms = synthesized.resources("primary", "AWS::CloudWatch::Alarm").values()
    (alarm,) = [a["Properties"] for a in alarms if a["Properties"].get("Namespace") == "Switchboard/Media"]
    assert (alarm["MetricName"], alarm["Statistic"]) == ("Sessions", "SampleCount")
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["TreatMissingData"]) == (
        "LessThanThreshold",
        1,
        "breaching",
    )
    topic = next(iter(synthesized.resources("primary", "AWS::SNS::Topic")))
    assert alarm["AlarmActions"] == [{"Ref": topic}]


def test_the_relay_role_reads_only_its_bundle_and_the_prompts_and_only_puts_recordings(
    synthesized: Synthesized,
) -> None:
    region = _region(synthesized, "primary")
    ids = _ids(synthesized, "primary")
    granted: dict[str, set[str]] = {}  # S3 action -> the resources it is granted on
    for statement in _role_statements(synthesized, "primary"):
        for action in as_list(statement["Action"]):
            if action.startswith("s3:"):
                granted.setdefault(action, set()).update(
                    json.dumps(r) for r in as_list(statement["Resource"])
                )
    assert set(granted) == {"s3:GetObject", "s3:ListBucket", "s3:PutObject", "s3:AbortMultipartUpload"}
    assert [ids["prompts"] in r for r in granted["s3:ListBucket"]] == [True]
    assert all(ids["recordings"] in r for r in granted["s3:PutObject"] | granted["s3:AbortMultipartUpload"])
    (prompts,) = [r for r in granted["s3:GetObject"] if ids["prompts"] in r]
    (bundle,) = [r for r in granted["s3:GetObject"] if r != prompts]
    assert (
        region.resolve(region.media.bundle.s3_object_key) in bundle and "*" not in bundle
    )  # that one object
    assert not any(ids["recordings"] in r for r in granted["s3:GetObject"])  # recordings: put, never read
    on_key = [
        s
        for s in _role_statements(synthesized, "primary")
        if ids["recordings_key"] in json.dumps(s["Resource"])
    ]
    assert {a for s in on_key for a in as_list(s["Action"])} == {"kms:GenerateDataKey", "kms:Decrypt"}
