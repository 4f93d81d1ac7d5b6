"""The SIP edge of one region: VPC, ECS cluster, Fargate service from sip_edge/Dockerfile, NLB, scaling.

The NLB only ever forwards TCP and UDP (SIP over TLS passes through to the edge, which holds the
certificate), so callers' addresses reach the tasks both from the NLB and from Global Accelerator.
Each task advertises its own private address (from the ECS task metadata) and the tasks accept SIP
from one another, so a call can be relayed through the task that owns an agent's flow.

Draining is what keeps a deploy or a scale-in from dropping a call: a task leaving the NLB keeps its
flows for ``drain_seconds`` (talking calls continue, new ones go elsewhere), then gets SIGTERM and
``stop_timeout_seconds`` to send its BYEs before Fargate kills it.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from contact_center.contracts import media_relays, metrics
from contact_center.contracts import settings as contract
from contact_center.contracts.settings import Component, Setting
from contact_center.contracts.values import EDGE_HEALTH_PATH, EDGE_LIVE_PATH
from switchboard_infra import nag, paths, permissions
from switchboard_infra.config import EdgeConfig
from switchboard_infra.constructs.edge_network import HEALTH_PORT, SIP_PORT, SIP_TLS_PORT, EdgeNetwork
from switchboard_infra.constructs.secrets import TLS_CERTIFICATE_FIELD, TLS_PRIVATE_KEY_FIELD, Secrets
from switchboard_infra.fleet_metrics import grant_put_metrics, member_average

CONTAINER_NAME = "edge"
# The NLB's (and so Global Accelerator's) check of the edge's deep health: a task whose dependency is
# lost answers 503 after 4-6 s (``sip_edge.app.health``), two failed checks 10 s apart take it out,
# so a region whose edges all fail loses its traffic 14-26 s after the loss: inside the 30 s target.
HEALTH_CHECK_INTERVAL = cdk.Duration.seconds(10)
UNHEALTHY_THRESHOLD = 2

# Only these files reach the image build context (the repository root): the edge and the package
# it shares with the functions. Everything else (node_modules, .venv, cdk.out...) stays out.
IMAGE_CONTEXT_EXCLUDES = [
    "*",
    "!sip_edge",
    "!layers",
    "layers/*",
    "!layers/core",
    "layers/core/*",
    "!layers/core/python",
    "layers/core/python/*",
    "!layers/core/python/contact_center",
    "**/__pycache__",
    "**/*.pyc",
]


class SipEdge(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EdgeConfig,
        table: dynamodb.ITableV2,
        routing_function: lambda_.IFunction,
        settings: Mapping[Setting, str],
        secrets: Secrets,
        tls: bool,
        log_retention: logs.RetentionDays,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config = config
        self.tls = tls
        network = EdgeNetwork.build(self, config, tls, log_retention)
        self.vpc = network.vpc
        self.nlb_security_group = network.nlb_security_group
        self.task_security_group = network.task_security_group
        self.endpoint_security_group = network.endpoint_security_group
        self.cluster = ecs.Cluster(
            self, "Cluster", vpc=self.vpc, container_insights_v2=ecs.ContainerInsights.ENABLED
        )

        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            cpu=config.cpu,
            memory_limit_mib=config.memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=ecs.CpuArchitecture.ARM64,
                operating_system_family=ecs.OperatingSystemFamily.LINUX,
            ),
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention)
        port_mappings = [
            ecs.PortMapping(container_port=SIP_PORT, protocol=ecs.Protocol.UDP, name="sip-udp"),
            ecs.PortMapping(container_port=SIP_PORT, protocol=ecs.Protocol.TCP, name="sip-tcp"),
            ecs.PortMapping(container_port=HEALTH_PORT, protocol=ecs.Protocol.TCP, name="health"),
        ]
        if tls:
            port_mappings.append(
                ecs.PortMapping(container_port=SIP_TLS_PORT, protocol=ecs.Protocol.TCP, name="sip-tls")
            )
        self.container = self.task_definition.add_container(
            CONTAINER_NAME,
            # Only staged at synth; `cdk deploy` builds and pushes it (needs Docker on that machine).
            image=ecs.ContainerImage.from_asset(
                str(paths.REPO_ROOT),
                file=paths.SIP_EDGE_DOCKERFILE,
                platform=ecr_assets.Platform.LINUX_ARM64,
                ignore_mode=cdk.IgnoreMode.DOCKER,
                exclude=IMAGE_CONTEXT_EXCLUDES,
            ),
            essential=True,
            readonly_root_filesystem=True,
            logging=ecs.LogDriver.aws_logs(stream_prefix="edge", log_group=self.log_group),
            environment=self._environment(settings, routing_function),
            secrets=self._secrets(secrets),
            port_mappings=port_mappings,
            # Liveness only: a task cut off from DynamoDB or Lambda leaves the NLB's rotation (the deep
            # check below) and comes back with the network; replacing it would drop its talking calls.
            health_check=ecs.HealthCheck(
                command=[
                    "CMD",
                    "python",
                    "-c",
                    f"import urllib.request; urllib.request.urlopen('http://127.0.0.1:{HEALTH_PORT}{EDGE_LIVE_PATH}', timeout=2)",
                ],
                interval=cdk.Duration.seconds(10),
                timeout=cdk.Duration.seconds(5),
                retries=3,
                start_period=cdk.Duration.seconds(20),
            ),
            stop_timeout=cdk.Duration.seconds(config.stop_timeout_seconds),
        )
        # A read-only root file system still needs a scratch directory for Python and TLS libraries.
        self.task_definition.add_volume(name="tmp")
        self.container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume="tmp", read_only=False)
        )
        nag.acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The environment holds only non-secret settings (ports, table and function names, domain); "
            "the nonce key and TLS PEMs come from Secrets Manager as container secrets, AWS credentials "
            "from the task role",
        )
        self._grant(table, routing_function)
        nag.acknowledge(
            self.task_definition.obtain_execution_role(),
            "AwsSolutions-IAM5[Resource::*]",
            "ecr:GetAuthorizationToken, which the execution role needs to pull the edge image, has no "
            "resource ARN; the pull actions themselves are scoped to the image repository",
        )

        self.service = ecs.FargateService(
            self,
            "Service",
            cluster=self.cluster,
            task_definition=self.task_definition,
            desired_count=config.min_tasks,
            # Never below the running fleet during a deploy: new tasks join before old ones drain.
            min_healthy_percent=100,
            max_healthy_percent=200,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
            security_groups=[self.task_security_group],
            health_check_grace_period=cdk.Duration.seconds(60),
            availability_zone_rebalancing=ecs.AvailabilityZoneRebalancing.ENABLED,
        )

        self.nlb = elbv2.NetworkLoadBalancer(
            self,
            "Nlb",
            vpc=self.vpc,
            internet_facing=True,
            cross_zone_enabled=True,
            security_groups=[self.nlb_security_group],
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
        )
        nag.acknowledge(
            self.nlb,
            "AwsSolutions-ELB2",
            "NLB access logs record only TLS listener sessions; SIP over UDP/TCP flows are recorded by "
            "the VPC flow logs and the edge's own call logs",
        )
        self.target_groups: list[elbv2.NetworkTargetGroup] = []
        self._listen("Sip", SIP_PORT, elbv2.Protocol.TCP_UDP)
        if tls:
            # TCP passthrough: the edge ends TLS itself, and the NLB keeps the caller's address (an
            # NLB TLS listener would hide it from Global Accelerator's client-IP preservation).
            self._listen("SipTls", SIP_TLS_PORT, elbv2.Protocol.TCP)
        self._scale(config)

    def _environment(self, settings: Mapping[Setting, str], routing: lambda_.IFunction) -> dict[str, str]:
        values = {
            **settings,
            contract.SIP_HOST: "0.0.0.0",
            contract.SIP_PORT: str(SIP_PORT),
            contract.EDGE_HEALTH_PORT: str(HEALTH_PORT),
            contract.ROUTING_FUNCTION_NAME: routing.function_arn,
            contract.EDGE_METRICS_NAMESPACE: metrics.EDGE_NAMESPACE,
            # The region's media fleet (constructs.media_fleet) registers its relays in the table.
            contract.MEDIA_RELAY_REGISTRY: cdk.Stack.of(self).region,
            # Where the relays' agents put the prompts, and where they send this task's key reports.
            contract.MEDIA_PROMPTS: media_relays.PROMPTS_DIRECTORY,
            contract.MEDIA_DTMF_LISTEN: f"0.0.0.0:{media_relays.KEY_REPORT_PORT}",
        }
        # No SIP_ADVERTISED_HOST: each task names itself by its own private address (task metadata).
        if self.tls:
            values[contract.SIP_TLS_PORT] = str(SIP_TLS_PORT)
        return contract.environment_for(Component.EDGE, values, self._secret_settings(self.tls))

    @staticmethod
    def _secret_settings(tls: bool) -> list[Setting]:
        names = [contract.SIP_NONCE_KEY]
        return [*names, contract.SIP_TLS_CERT_PEM, contract.SIP_TLS_KEY_PEM] if tls else names

    def _secrets(self, secrets: Secrets) -> dict[str, ecs.Secret]:
        handed = {contract.SIP_NONCE_KEY.name: ecs.Secret.from_secrets_manager(secrets.nonce_key)}
        if self.tls:
            handed[contract.SIP_TLS_CERT_PEM.name] = ecs.Secret.from_secrets_manager(
                secrets.tls, TLS_CERTIFICATE_FIELD
            )
            handed[contract.SIP_TLS_KEY_PEM.name] = ecs.Secret.from_secrets_manager(
                secrets.tls, TLS_PRIVATE_KEY_FIELD
            )
        assert set(handed) == {s.name for s in self._secret_settings(self.tls)}
        return handed

    def _grant(self, table: dynamodb.ITableV2, routing_function: lambda_.IFunction) -> None:
        role = self.task_definition.task_role
        table.grant(role, *permissions.EDGE)
        routing_function.grant_invoke(role)
        grant_put_metrics(role, metrics.EDGE_NAMESPACE)
        nag.acknowledge(
            role,
            "AwsSolutions-IAM5[Resource::*]",
            "cloudwatch:PutMetricData has no resource ARN; the statement is limited to the "
            f"{metrics.EDGE_NAMESPACE} namespace by condition",
        )
        nag.acknowledge_index_wildcard(role, table.table_name, "bindings by flow and contacts by edge task")

    def _listen(self, name: str, port: int, protocol: elbv2.Protocol) -> None:
        """A listener passing ``protocol`` through to the same port on the tasks (never ending TLS)."""
        listener = self.nlb.add_listener(f"{name}Listener", port=port, protocol=protocol)
        target_group = listener.add_targets(
            f"{name}Targets",
            port=port,
            protocol=protocol,
            targets=[
                self.service.load_balancer_target(
                    container_name=CONTAINER_NAME,
                    container_port=port,
                    protocol=ecs.Protocol.UDP if protocol == elbv2.Protocol.UDP else ecs.Protocol.TCP,
                )
            ],
            # The caller's address reaches the edge: SIP needs it for Via "received" and for RTP.
            preserve_client_ip=True,
            deregistration_delay=cdk.Duration.seconds(self.config.drain_seconds),
            # NLB target groups (TCP, UDP, TCP_UDP alike) take an HTTP check: the edge's deep health
            # (DynamoDB and the routing function reachable, event loop on time) decides, not a bare
            # TCP connect that any live process would accept.
            health_check=elbv2.HealthCheck(
                protocol=elbv2.Protocol.HTTP,
                port=str(HEALTH_PORT),
                path=EDGE_HEALTH_PATH,
                healthy_http_codes="200",
                interval=HEALTH_CHECK_INTERVAL,
                timeout=cdk.Duration.seconds(5),
                healthy_threshold_count=2,
                unhealthy_threshold_count=UNHEALTHY_THRESHOLD,
            ),
        )
        # Keep talking calls up through the whole delay instead of cutting them when it starts.
        target_group.set_attribute("deregistration_delay.connection_termination.enabled", "false")
        self.target_groups.append(target_group)

    def _scale(self, config: EdgeConfig) -> None:
        scaling = self.service.auto_scale_task_count(
            min_capacity=config.min_tasks, max_capacity=config.max_tasks
        )
        scaling.scale_on_cpu_utilization(
            "Cpu",
            target_utilization_percent=config.cpu_target_percent,
            scale_in_cooldown=cdk.Duration.minutes(10),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )
        scaling.scale_to_track_custom_metric(
            "ActiveCalls",
            metric=self.active_calls_per_task(),
            target_value=config.active_calls_per_task,
            # Slow in, fast out: a 28 calls/s burst must find capacity, an idle minute must not shed it.
            scale_in_cooldown=cdk.Duration.minutes(10),
            scale_out_cooldown=cdk.Duration.minutes(1),
        )

    @staticmethod
    def active_calls_per_task() -> cloudwatch.Metric:
        return member_average(metrics.EDGE_NAMESPACE, metrics.ACTIVE_CALLS)
