"""Everything one region runs: functions and API, the SIP edge and its media relays, the failover
controller watching the other region, and their alarms and dashboard.

Each region addresses its own replica of the global table by name, so the regional stacks need no
cross-stack reference to the data stack (only a deploy-order dependency) and either region can be
redeployed alone.

Two regions (``services.regions``): every function is told the region it decides in, and the routing
function has the same name in both regions, so a request for a merchant homed in the other region is
one synchronous invoke of that region's routing function (its live alias) by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from contact_center.contracts import settings as contract
from contact_center.data import schema
from switchboard_infra import nag, permissions
from switchboard_infra.api_routes import Route
from switchboard_infra.config import Config
from switchboard_infra.constructs.failover import FailoverController
from switchboard_infra.constructs.media_fleet import MediaFleet
from switchboard_infra.constructs.monitoring import Monitoring
from switchboard_infra.constructs.offer_push import reach_edge_tasks
from switchboard_infra.constructs.prompt_bucket import PromptBucket, prompt_bucket_name
from switchboard_infra.constructs.recordings import CallRecordings
from switchboard_infra.constructs.secrets import Secrets
from switchboard_infra.constructs.services import LIVE_ALIAS, Services
from switchboard_infra.constructs.sip_edge import SipEdge
from switchboard_infra.constructs.web_hosting import WebHosting


class RegionStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        api_routes: Sequence[Route],
        table_key: kms.IKey,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        retention = logs.RetentionDays(_retention_name(config.log_retention_days))
        self.table = self._replica(config, table_key)
        self.secrets = Secrets(self, "Secrets")
        # What every process of the region is told; each component adds its own (contracts.settings).
        shared = {
            contract.TABLE: config.table_name,
            contract.SIP_DOMAIN: config.sip_domain,
            contract.PRIMARY_REGION: config.primary_region,
            contract.REGIONS: ",".join(config.regions),
        }
        routing_name = routing_function_name(config)
        # Recordings expire with the contact records that name them.
        self.recordings = CallRecordings(
            self, "Recordings", retention_days=config.contact_record_retention_days
        )
        self.prompts = PromptBucket(
            self, "Prompts", bucket_name=prompt_bucket_name(config.table_name, config.account, self.region)
        )
        # The functions write the contact records (the routing service), so they set their TTL.
        function_settings = {
            **shared,
            contract.CONTACT_RECORD_RETENTION_DAYS: str(config.contact_record_retention_days),
            **self._region_settings(routing_name),
        }
        self.services = Services(
            self,
            "Services",
            table=self.table,
            routing=config.routing,
            api_routes=api_routes,
            settings=function_settings,
            admin_key_sha256=self.secrets.admin_key_sha256,
            fleet_key=self.secrets.nonce_key,
            log_retention=retention,
            routing_function_name=routing_name,
            api_settings={contract.RECORDINGS_BUCKET: self.recordings.bucket.bucket_name},
            prompts_bucket=self.prompts.bucket.bucket_name,
        )
        self.recordings.grant_links(self.services.api.handler.role)
        self.prompts.grant_api(self.services.api.handler.role)
        self._allow_invoking_peer_routing(config, routing_name)
        self.edge = SipEdge(
            self,
            "Edge",
            config=config.edge,
            table=self.table,
            routing_function=self.services.routing_alias,
            settings={**shared, contract.PROMPTS_BUCKET: self.prompts.bucket.bucket_name},
            secrets=self.secrets,
            tls=config.edge_tls,
            log_retention=retention,
        )
        self.router_security_group = reach_edge_tasks(
            self.services,
            self.services.edge_senders,
            vpc=self.edge.vpc,
            task_security_group=self.edge.task_security_group,
            endpoint_security_group=self.edge.endpoint_security_group,
        )
        # The relays anchoring calls' media; the edge tasks learn them from their items in the table.
        self.media = MediaFleet(
            self,
            "Media",
            config=config.media,
            vpc=self.edge.vpc,
            edge_security_group=self.edge.task_security_group,
            endpoint_security_group=self.edge.endpoint_security_group,
            table=self.table,
            table_name=config.table_name,
            prompts=self.prompts,
            recordings=self.recordings,
        )
        # The replica is encrypted with the region's own key: whoever reads or writes items uses it.
        roles: list[iam.IRole] = [f.role for f in self.services.functions.values() if f.role is not None]
        for role in [*roles, self.edge.task_definition.task_role, self.media.role]:
            table_key.grant(role, *permissions.TABLE_KEY)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            table_name=config.table_name,
            replica_regions=[r for r in config.regions if r != self.region],
            functions=self.services.functions,
            routing_function=self.services.routing.function,
            target_groups=self.edge.target_groups,
            edge_cluster_name=self.edge.cluster.cluster_name,
            edge_service_name=self.edge.service.service_name,
            alarm_email=config.alarm_email,
            stream_consumer=self.services.agent_events.function,
            failed_events=self.services.agent_events_failures,
            api=self.services.api.api,
            edge_service=self.edge.service,
        )
        self.media.alarm_into(self.monitoring.topic)
        (peer,) = [region for region in config.regions if region != self.region]
        self.failover = FailoverController(
            self,
            "Failover",
            peer=peer,
            layer=self.services.layer,
            settings=function_settings,
            table=self.table,
            table_key=table_key,
            routing_alias=self.services.routing_alias,
            peer_routing_alias_arn=self._routing_alias_arn(peer, routing_name),
            log_retention=retention,
            alarm_topic=self.monitoring.topic,
        )
        cdk.CfnOutput(self, "ApiUrl", value=self.services.api.api.url, description="Switchboard HTTP API")
        self.web = WebHosting(self, "Web", api=self.services.api.api, ws_url=self.services.event_socket.url)
        cdk.CfnOutput(self, "WebUrl", value=self.web.url, description="The agent desk and the other pages")
        cdk.CfnOutput(
            self, "EventSocketUrl", value=self.services.event_socket.url, description="Event socket"
        )
        cdk.CfnOutput(
            self, "EdgeNlbDns", value=self.edge.nlb.load_balancer_dns_name, description="Regional SIP"
        )
        cdk.CfnOutput(
            self,
            "AdminKeySha256Secret",
            value=self.secrets.admin_key_sha256.secret_arn,
            description="Put the hex SHA-256 of your platform admin key here",
        )
        cdk.CfnOutput(
            self,
            "SipTlsSecret",
            value=self.secrets.tls.secret_arn,
            description='Put {"certificate": PEM chain, "privateKey": PEM key} here, then set edgeTls',
        )

    def _region_settings(self, routing_name: str) -> dict[contract.Setting, str]:
        """Where the functions decide (their fence on ownership) and whom they ask for a merchant
        homed in the other region."""
        return {
            contract.REGION: self.region,
            contract.HOME_ROUTING_FUNCTION: f"{routing_name}:{LIVE_ALIAS}",
            contract.HANDOFF_MS: str(HANDOFF_MS),
        }

    def _allow_invoking_peer_routing(self, config: Config, routing_name: str) -> None:
        """The routing function forwards requests for merchants homed elsewhere to the other region's
        routing function (its live alias): that, and nothing else, it may invoke there."""
        peers = [region for region in config.regions if region != self.region]
        role = self.services.routing.role
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"],
                resources=[self._routing_alias_arn(peer, routing_name) for peer in peers],
            )
        )

    def _routing_alias_arn(self, region: str, routing_name: str) -> str:
        """The live alias of the routing function in ``region``: the same name in every region."""
        return self.format_arn(
            service="lambda",
            region=region,
            resource="function",
            resource_name=f"{routing_name}:{LIVE_ALIAS}",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )

    def _replica(self, config: Config, key: kms.IKey) -> dynamodb.ITableV2:
        """This region's replica, with the ARN of its own stream (which CloudFormation cannot export)."""
        table_arn = self.format_arn(service="dynamodb", resource="table", resource_name=config.table_name)
        describe = cr.AwsSdkCall(
            service="DynamoDB",
            action="describeTable",
            parameters={"TableName": config.table_name},
            physical_resource_id=cr.PhysicalResourceId.from_response("Table.LatestStreamArn"),
            output_paths=["Table.LatestStreamArn"],
        )
        stream = cr.AwsCustomResource(
            self,
            "TableStream",
            on_create=describe,
            on_update=describe,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(resources=[table_arn]),
            install_latest_aws_sdk=False,
            log_retention=None,
        )
        # One provider function per stack serves every AwsCustomResource; it is created on first use.
        provider = self.node.find_child("AWS" + cr.AwsCustomResource.PROVIDER_FUNCTION_UUID.replace("-", ""))
        nag.acknowledge(
            provider,
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            "CDK's AwsCustomResource provider (reads this replica's stream ARN at deploy time) always "
            "uses the basic execution policy for its own logs; its API access is DescribeTable on the table",
        )
        return dynamodb.TableV2.from_table_attributes(
            self,
            "Table",
            table_name=config.table_name,
            table_stream_arn=stream.get_response_field("Table.LatestStreamArn"),
            global_indexes=[index.name for index in schema.TABLE.indexes],
            encryption_key=key,
        )


# A moved home waits this long before deciding: above global tables' replication latency (typically
# under a second between two regions), so it never decides on a seat state the old home had changed.
HANDOFF_MS = 3_000


def routing_function_name(config: Config) -> str:
    """The routing function's name, the same in every region (the other region invokes it by name)."""
    return f"{config.table_name}-routing"


def _retention_name(days: int) -> str:
    names = {1: "ONE_DAY", 3: "THREE_DAYS", 5: "FIVE_DAYS", 7: "ONE_WEEK", 14: "TWO_WEEKS", 30: "ONE_MONTH",
             60: "TWO_MONTHS", 90: "THREE_MONTHS", 120: "FOUR_MONTHS", 150: "FIVE_MONTHS", 180: "SIX_MONTHS",
             365: "ONE_YEAR", 400: "THIRTEEN_MONTHS", 545: "EIGHTEEN_MONTHS", 731: "TWO_YEARS",
             1096: "THREE_YEARS", 1827: "FIVE_YEARS", 2192: "SIX_YEARS", 2557: "SEVEN_YEARS",
             2922: "EIGHT_YEARS", 3288: "NINE_YEARS", 3653: "TEN_YEARS"}  # fmt: skip
    return names[days]
