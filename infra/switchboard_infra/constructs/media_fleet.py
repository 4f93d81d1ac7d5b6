"""The media relays of one region: rtpengine on Graviton EC2 instances in public subnets, an Auto
Scaling group sized by the relays' sessions, and a termination hook that drains calls.

Why EC2 instances of their own, not Fargate and not ECS on EC2: rtpengine needs a public address and
a wide UDP port range on it (30000-39999 here), and it must write that public address into SDP. An
NLB forwards listed ports, not ranges, and hides nothing useful for RTP; Fargate gives no public
address a task can advertise in awsvpc mode behind it. ECS on EC2 with host networking would work,
but it adds an image to build and push, an ECS agent and a capacity provider to the one thing each
instance runs, and ECS would still need this group's lifecycle hook to drain calls (a task's
``stopTimeout`` is at most two minutes; calls run longer). So: Debian 12 arm64 (Debian's own
``rtpengine-daemon`` package, the version the project tests against; Amazon Linux has no rtpengine
package), installed by user data at boot, one relay per instance, nothing else to run.

Each instance, at boot (user data): installs rtpengine and boto3, copies the relay's bundle (an S3
asset: the agent, the default prompts, the recording collector; ``switchboard_infra.relay_agent``),
writes rtpengine's configuration with ``interface = <private>!<public>`` from the instance metadata
(``media_relay/agent.py configure``: rtpengine binds the private address and writes the public one
into SDP; key reports to the agent on the loopback; recordings as pcap into the collector's spool),
installs the default prompts where the edges name them (``MEDIA_PROMPTS``), starts rtpengine, the
recording collector (``sip_edge.app.media.recorder``, writing to the recordings bucket) and the relay
agent, which forwards each key report to the edge task that labelled the call, copies merchants'
uploaded prompts from the prompts bucket (resampled by sox to the prompts' 96 kHz), joins the prompts
an edge names into one file on the relay's disk (UDP 2226), and beats the relay's item into the table every 5 s
(``contact_center.contracts.media_relays``) and puts rtpengine's session count to CloudWatch every
minute (``Switchboard/Media`` ``Sessions``, no dimension: the Average is sessions per relay); an
rtpengine silent for a minute gets its instance reported unhealthy and replaced. Edge
tasks read their region's relay items every 5 s (``MEDIA_RELAY_REGISTRY``) and anchor new calls on
the live relay holding the fewest of their calls.

Security group: RTP (UDP 30000-39999) from anywhere, as callers' and carriers' media comes from any
address; rtpengine's ng control port (UDP 2223) and the agent's join port (UDP 2226) only from the
edge tasks' security group. Nothing
else is open (no SSH). The edge tasks' group takes the key reports (UDP 5070) from the relays' group.

Scaling: target tracking on sessions per relay (``sessions_per_instance``), between
``min_instances`` (one per availability zone, so a zone can fail) and ``max_instances``.

Draining: a scale-in, an instance refresh or a rebalance terminates an instance only through the
``drain-calls`` lifecycle hook. The instance waits in Terminating:Wait; its agent sees it (the
instance metadata's Auto Scaling target state), marks the relay draining, and the edges stop sending
it new calls within 5 s. Calls already on it keep talking. When rtpengine holds no session (at the
earliest 10 s after the drain began) the agent completes the hook and the instance goes; at 4-minute
calls that is a few minutes. A call still talking when ``drain_seconds`` (an hour by default) runs out
is cut by the termination: the edge's pings find the relay gone within about 5 s and end that call
with a BYE on both legs and a record (``network_failure``).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_autoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_sns as sns
from constructs import Construct

from contact_center.contracts import media_relays, metrics
from contact_center.contracts import settings as contract
from switchboard_infra import nag, paths, relay_agent
from switchboard_infra.bundling import RelayBundler, bundling_options
from switchboard_infra.config import MediaConfig
from switchboard_infra.constructs.prompt_bucket import PromptBucket
from switchboard_infra.constructs.recordings import CallRecordings
from switchboard_infra.fleet_metrics import grant_put_metrics, member_average

# Debian's own public parameter: the current Debian 12 arm64 AMI, resolved at deploy (no lookup).
DEBIAN_12_ARM64 = "/aws/service/debian/release/12/latest/arm64"
AGENT_UNIT = "switchboard-relay-agent"
COLLECTOR_UNIT = "switchboard-recording-collector"
# The agent's own system user: it writes the uploaded prompts' directory and nothing of rtpengine's.
AGENT_USER = "switchboard-relay"


class MediaFleet(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: MediaConfig,
        vpc: ec2.IVpc,
        edge_security_group: ec2.ISecurityGroup,
        endpoint_security_group: ec2.ISecurityGroup,
        table: dynamodb.ITableV2,
        table_name: str,
        prompts: PromptBucket,
        recordings: CallRecordings,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        region = cdk.Stack.of(self).region
        self.security_group = self._security_group(vpc, edge_security_group)
        # Key reports: the relay's agent forwards each to the edge task that labelled the call.
        edge_security_group.add_ingress_rule(
            self.security_group,
            ec2.Port.udp(media_relays.KEY_REPORT_PORT),
            "Key reports from the media relays",
        )
        self.bundle = s3_assets.Asset(
            self,
            "Bundle",
            path=str(paths.RELAY_AGENT.parent),
            bundling=bundling_options(RelayBundler()),
        )
        # The relays reach CloudWatch through the VPC's endpoint (its private DNS name resolves there).
        endpoint_security_group.add_ingress_rule(
            self.security_group, ec2.Port.tcp(443), "HTTPS from the media relays"
        )
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("ec2.amazonaws.com"), description="Media relays"
        )
        self.launch_template = ec2.LaunchTemplate(
            self,
            "LaunchTemplate",
            instance_type=ec2.InstanceType(config.instance_type),
            machine_image=ec2.MachineImage.from_ssm_parameter(
                DEBIAN_12_ARM64, os=ec2.OperatingSystemType.LINUX
            ),
            user_data=self._user_data(
                relay_agent.agent_config(
                    table_name,
                    region,
                    prompts_bucket=prompts.bucket.bucket_name,
                    recordings_bucket=recordings.bucket.bucket_name,
                    recordings_kms_key=recordings.key.key_arn,
                )
            ),
            role=self.role,
            security_group=self.security_group,
            associate_public_ip_address=True,
            require_imdsv2=True,
            block_devices=[
                ec2.BlockDevice(
                    device_name="/dev/xvda",
                    volume=ec2.BlockDeviceVolume.ebs(
                        8, encrypted=True, volume_type=ec2.EbsDeviceVolumeType.GP3, delete_on_termination=True
                    ),
                )
            ],
        )
        self.group = autoscaling.AutoScalingGroup(
            self,
            "Relays",
            vpc=vpc,
            launch_template=self.launch_template,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            min_capacity=config.min_instances,
            max_capacity=config.max_instances,
            health_checks=autoscaling.HealthChecks.ec2(grace_period=cdk.Duration.minutes(5)),
            # A new relay counts toward the metric once rtpengine is installed and beating.
            default_instance_warmup=cdk.Duration.minutes(3),
        )
        nag.acknowledge(
            self.group,
            "AwsSolutions-AS3",
            "Every relay launch and termination is in the group's activity history and CloudTrail; mailing "
            "each to the alarm address would bury real alarms, and the NoRelay alarm watches the outcome",
        )
        self.hook = self.group.add_lifecycle_hook(
            "DrainCalls",
            lifecycle_hook_name=relay_agent.LIFECYCLE_HOOK,
            lifecycle_transition=autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
            heartbeat_timeout=cdk.Duration.seconds(config.drain_seconds),
            # Past the timeout the instance goes anyway: a hung agent must not hold it for ever.
            default_result=autoscaling.DefaultResult.CONTINUE,
        )
        self.group.scale_to_track_metric(
            "Sessions",
            metric=self.sessions_per_relay(),
            target_value=config.sessions_per_instance,
            estimated_instance_warmup=cdk.Duration.minutes(3),
        )
        self._grant(table)
        self._grant_files(prompts.bucket, recordings)

    def alarm_into(self, topic: sns.ITopic) -> cloudwatch.Alarm:
        """No relay has put its sessions for three minutes: every relay is down or draining, and
        every new call goes unanchored (no audio through the relay, no prompts)."""
        relays_publishing = cloudwatch.Metric(
            namespace=metrics.MEDIA_NAMESPACE,
            metric_name=metrics.RELAY_SESSIONS,
            statistic=cloudwatch.Stats.SAMPLE_COUNT,
            period=cdk.Duration.minutes(1),
        )
        alarm = relays_publishing.create_alarm(
            self,
            "NoRelay",
            alarm_description=f"No media relay serves in {cdk.Stack.of(self).region}: calls go unanchored",
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            evaluation_periods=3,
            datapoints_to_alarm=3,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
        )
        alarm.add_alarm_action(actions.SnsAction(topic))
        alarm.add_ok_action(actions.SnsAction(topic))
        return alarm

    def _group_resource(self) -> autoscaling.CfnAutoScalingGroup:
        resource = self.group.node.default_child
        assert isinstance(resource, autoscaling.CfnAutoScalingGroup)
        return resource

    @staticmethod
    def sessions_per_relay() -> cloudwatch.Metric:
        # Draining relays stop publishing: the Average is sessions per relay still taking calls.
        return member_average(metrics.MEDIA_NAMESPACE, metrics.RELAY_SESSIONS)

    def _security_group(self, vpc: ec2.IVpc, edge: ec2.ISecurityGroup) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="Media relays: RTP from anywhere, the rtpengine ng control port from the edge tasks",
            # RTP goes to callers and carriers anywhere; packages and AWS APIs over HTTPS.
            allow_all_outbound=True,
        )
        group.add_ingress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.udp_range(media_relays.RTP_PORT_MIN, media_relays.RTP_PORT_MAX),
            "RTP and RTCP from callers, carriers and agents' phones",
        )
        group.add_ingress_rule(edge, ec2.Port.udp(media_relays.NG_PORT), "rtpengine ng control from the edge")
        group.add_ingress_rule(
            edge, ec2.Port.udp(media_relays.JOIN_PORT), "the agent's prompt joins, asked by the edge"
        )
        nag.acknowledge(
            group,
            "AwsSolutions-EC23",
            "Media (RTP/RTCP) arrives from any caller, carrier or softphone on the internet; the group opens "
            "only the relay's UDP media range, and the ng control and join ports only to the edge tasks' group",
        )
        return group

    def _user_data(self, agent_config: dict[str, Any]) -> ec2.UserData:
        config = json.dumps(agent_config, indent=1, sort_keys=True)
        conf, bundle, agent = relay_agent.CONFIG_PATH, relay_agent.BUNDLE_DIRECTORY, relay_agent.AGENT_PATH
        prompts, spool = agent_config["prompts"], agent_config["recordings"]["spool"]
        # The collector writes with the instance's role; boto3 takes the region from the environment.
        collector_environment = " ".join(
            f"{name}={value}"
            for name, value in (
                ("PYTHONPATH", relay_agent.PYTHON_PATH),
                ("AWS_DEFAULT_REGION", agent_config["region"]),
                (contract.RECORDINGS_BUCKET.name, agent_config["recordings"]["bucket"]),
                (contract.RECORDINGS_KMS_KEY.name, agent_config["recordings"]["kms_key"]),
            )
        )
        user_data = ec2.UserData.for_linux()
        user_data.add_commands(
            "set -euo pipefail",
            "export DEBIAN_FRONTEND=noninteractive",
            "apt-get update",
            # sox: the agent resamples merchants' uploads to the relays' prompt format.
            "apt-get install -y --no-install-recommends rtpengine-daemon python3-boto3 sox",
            f"id {AGENT_USER} || useradd --system --no-create-home --shell /usr/sbin/nologin {AGENT_USER}",
            f"mkdir -p {conf.rsplit('/', 1)[0]}",
            f"cat > {conf} <<'SWITCHBOARD_CONFIG'\n{config}\nSWITCHBOARD_CONFIG",
            # The bundle: the agent, the default prompts, the collector (an S3 asset of this deploy).
            "python3 -c 'import sys, boto3; boto3.client(\"s3\", region_name=sys.argv[1]).download_file(*sys.argv[2:])' "
            f"{agent_config['region']} {self.bundle.s3_bucket_name} {self.bundle.s3_object_key} /tmp/relay.zip",
            f"rm -rf {bundle} && python3 -m zipfile -e /tmp/relay.zip {bundle} && rm /tmp/relay.zip",
            f"python3 {agent} configure {conf} /etc/rtpengine/rtpengine.conf",
            f"python3 {agent} prompts {conf} {bundle}",
            f"install -d -o {AGENT_USER} -m 0755 {prompts['uploads']} {prompts['joined']}",
            f"install -d -o rtpengine -g rtpengine -m 0750 {spool}",
            "systemctl enable rtpengine-daemon",
            "systemctl restart rtpengine-daemon",
            _unit(
                COLLECTOR_UNIT,
                "Switchboard recording collector",
                f"/usr/bin/python3 -m sip_edge.app.media.recorder --spool {spool}",
                # rtpengine's user: it reads and removes the files rtpengine writes into the spool.
                user="rtpengine",
                environment=collector_environment,
            ),
            _unit(
                AGENT_UNIT,
                "Switchboard media relay agent",
                f"/usr/bin/python3 {agent} run {conf}",
                user=AGENT_USER,
            ),
            "systemctl daemon-reload",
            f"systemctl enable --now {COLLECTOR_UNIT} {AGENT_UNIT}",
        )
        return user_data

    def _grant_files(self, prompts: s3.IBucket, recordings: CallRecordings) -> None:
        """Its bundle (that one object), the merchants' prompts (read, to copy them) and the recordings
        (write, the collector)."""
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"],
                resources=[self.bundle.bucket.arn_for_objects(self.bundle.s3_object_key)],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:ListBucket"], resources=[prompts.bucket_arn])
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[prompts.arn_for_objects("*")])
        )
        stack = cdk.Stack.of(self)
        prompts_id = stack.resolve(stack.get_logical_id(prompts.node.default_child))  # type: ignore[arg-type]
        nag.acknowledge(
            self.role,
            f"AwsSolutions-IAM5[Resource::<{prompts_id}.Arn>/*]",
            "The agent copies every merchant's prompt version of this one bucket (keys are made per upload); "
            "it may only get them, and list the bucket",
        )
        recordings.grant_write(self.role)

    def _grant(self, table: dynamodb.ITableV2) -> None:
        # The agent writes its own relay item and nothing else: PutItem on items whose key is a relay's.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["dynamodb:PutItem"],
                resources=[table.table_arn],
                conditions={
                    "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{media_relays.RELAY_PK_PREFIX}*"]}
                },
            )
        )
        grant_put_metrics(self.role, metrics.MEDIA_NAMESPACE)
        # A policy of its own, not the role's default one: the group depends on the role (its launch
        # template's instance profile), so a statement naming the group inside the role would loop.
        own_group = iam.Policy(
            self,
            "OwnGroup",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    # Its drain done (the hook), or its rtpengine dead (replace the instance).
                    actions=["autoscaling:CompleteLifecycleAction", "autoscaling:SetInstanceHealth"],
                    resources=[self.group.auto_scaling_group_arn],
                )
            ],
        )
        stack = cdk.Stack.of(self)
        nag.acknowledge(
            own_group,
            f"AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:autoscaling:{stack.region}:{stack.account}:"
            f"autoScalingGroup:*:autoScalingGroupName/<{stack.get_logical_id(self._group_resource())}>]",
            "An Auto Scaling group's ARN holds a generated id CloudFormation does not return; the group's "
            "name pins the statement to this one group",
        )
        # Which group the instance belongs to (to complete its hook): no resource-level permission.
        self.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["autoscaling:DescribeAutoScalingInstances"], resources=["*"])
        )
        nag.acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData (limited to the Switchboard/Media namespace by condition) and "
            "autoscaling:DescribeAutoScalingInstances (read-only) have no resource ARN",
        )


def _unit(name: str, description: str, command: str, *, user: str, environment: str = "") -> str:
    """A shell command writing the systemd unit ``name``: restarted when it stops, started after
    rtpengine."""
    environment = f"Environment={environment}\n" if environment else ""
    return (
        f"cat > /etc/systemd/system/{name}.service <<'SWITCHBOARD_UNIT'\n"
        f"[Unit]\nDescription={description}\nAfter=rtpengine-daemon.service\n"
        f"[Service]\nExecStart={command}\n{environment}User={user}\n"
        "Restart=always\nRestartSec=2\n[Install]\nWantedBy=multi-user.target\nSWITCHBOARD_UNIT"
    )
