"""The serverless half of a region: the layer, the routing, agent-events and webhooks functions and the
HTTP API."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contact_center.contracts import metrics
from contact_center.contracts import settings as contract
from contact_center.contracts.schedules import SCHEDULES, Schedule
from contact_center.contracts.settings import Component, Setting
from switchboard_infra import nag, paths, permissions
from switchboard_infra.api_routes import Route
from switchboard_infra.config import RoutingConfig
from switchboard_infra.constructs.chalice_api import ChaliceApi
from switchboard_infra.constructs.event_socket import EventSocket
from switchboard_infra.constructs.functions import ContactCenterLayer, ObservedFunction, code_from
from switchboard_infra.constructs.schedules import scheduled_rule

LIVE_ALIAS = "live"
SEAT_ENTITY = "seat"
# What webhooks tell of: contacts' progress, their records (the end), seats' state.
WEBHOOK_ENTITIES = ("contact", "record", "seat")
# The functions of this construct that run on a schedule (``contracts.schedules``).
SCHEDULED_HERE = (paths.ROUTING_FUNCTION.name, paths.WEBHOOKS_FUNCTION.name)


class Services(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table: dynamodb.ITableV2,
        routing: RoutingConfig,
        api_routes: Sequence[Route],
        settings: Mapping[Setting, str],
        admin_key_sha256: secretsmanager.ISecret,
        fleet_key: secretsmanager.ISecret,
        log_retention: logs.RetentionDays,
        routing_function_name: str | None = None,
        api_settings: Mapping[Setting, str] | None = None,
        prompts_bucket: str | None = None,
    ) -> None:
        """``api_settings``: what the API alone is told (where the call recordings are)."""
        super().__init__(scope, construct_id)
        namespace = contract.METRICS_NAMESPACE
        self.layer = ContactCenterLayer(self, "Layer").layer
        # The functions that claim offers push them to edge tasks, signed with a key derived from the
        # fleet key they read once per environment (``constructs.offer_push`` opens the way).
        pushes = {contract.FLEET_KEY_SECRET_ARN: fleet_key.secret_arn}

        self.routing = ObservedFunction(
            self,
            "Routing",
            description="Switchboard routing (ACD): decides connect / queue / reject / forward for a contact",
            code=code_from(str(paths.ROUTING_FUNCTION)),
            handler="handler.handler",
            layer=self.layer,
            environment=contract.environment_for(
                Component.ROUTING, {**settings, **pushes, namespace: metrics.ROUTING_NAMESPACE}
            ),
            log_retention=log_retention,
            memory_size=routing.memory_mib,
            timeout=cdk.Duration.seconds(routing.timeout_seconds),
            reserved_concurrency=routing.reserved_concurrency,
            function_name=routing_function_name,
            wildcard_reason="X-Ray's trace actions and the EC2 network-interface actions Lambda needs in a "
            "VPC (to push offers to edge tasks) accept no resource ARN",
        )
        table.grant(self.routing.role, *permissions.ROUTING)
        fleet_key.grant_read(self.routing.role)
        nag.acknowledge_index_wildcard(
            self.routing.role, table.table_name, "longest-idle available agent, oldest queued contact"
        )
        # The edge invokes the alias, so provisioned environments (when configured) serve every call.
        self.routing_alias = lambda_.Alias(
            self,
            "RoutingLive",
            alias_name=LIVE_ALIAS,
            version=self.routing.function.current_version,
            provisioned_concurrent_executions=routing.provisioned_concurrency or None,
        )

        self.agent_events = ObservedFunction(
            self,
            "AgentEvents",
            description="Switchboard agent events: reacts to seat state changes from the table's stream",
            code=code_from(str(paths.AGENT_EVENTS_FUNCTION)),
            handler="handler.handler",
            layer=self.layer,
            environment=contract.environment_for(
                Component.AGENT_EVENTS, {**settings, **pushes, namespace: metrics.ROUTING_NAMESPACE}
            ),
            log_retention=log_retention,
            memory_size=512,
            timeout=cdk.Duration.seconds(30),
            wildcard_reason="dynamodb:ListStreams (how the event source mapping finds the stream), "
            "X-Ray's trace actions and the EC2 network-interface actions Lambda needs in a VPC accept no "
            "resource ARN",
        )
        table.grant(self.agent_events.role, *permissions.AGENT_EVENTS)
        fleet_key.grant_read(self.agent_events.role)
        nag.acknowledge_index_wildcard(
            self.agent_events.role, table.table_name, "oldest queued contact for a freed agent"
        )
        # Only seats, only inserts and updates: the handler compares the old and new state.
        self.agent_events_failures = self._stream_consumer(
            "AgentEventsFailures",
            "agent-events",
            self.agent_events.function,
            table,
            lambda_.FilterRule.is_equal(SEAT_ENTITY),
            "; it holds the stream records that exhausted their retries for inspection and replay",
        )

        self.webhooks = self._webhooks(table, settings, log_retention)
        self.event_socket = EventSocket(
            self,
            "EventSocket",
            layer=self.layer,
            table=table,
            settings=settings,
            admin_key_sha256=admin_key_sha256,
            log_retention=log_retention,
            stream_consumer=self._stream_consumer,
        )
        # The failover controller's schedule is its own construct's (``constructs.failover``).
        self.schedules = [self._schedule(s) for s in SCHEDULES if s.function in SCHEDULED_HERE]

        self.api = ChaliceApi(
            self,
            "Api",
            routes=api_routes,
            layer=self.layer,
            environment=contract.environment_for(
                Component.API,
                {
                    **settings,
                    # Softphones register at the SIP domain itself (Global Accelerator's addresses).
                    contract.SIP_REGISTRAR: settings[contract.SIP_DOMAIN],
                    contract.ADMIN_KEY_SHA256_SECRET_ARN: admin_key_sha256.secret_arn,
                    # Transfers from the desk are commands to the edge task holding the call,
                    # signed as offer pushes are.
                    **pushes,
                    **(api_settings or {}),
                    # Merchants' uploaded prompts (``constructs.prompt_bucket``).
                    **({contract.PROMPTS_BUCKET: prompts_bucket} if prompts_bucket else {}),
                },
            ),
            log_retention=log_retention,
            wildcard_reason="X-Ray's trace actions and the EC2 network-interface actions Lambda needs in a "
            "VPC (to send transfer commands to edge tasks) accept no resource ARN",
        )
        table.grant(self.api.handler.role, *permissions.API)
        admin_key_sha256.grant_read(self.api.handler.role)
        fleet_key.grant_read(self.api.handler.role)
        nag.acknowledge_index_wildcard(
            self.api.handler.role, table.table_name, "merchant listings, keys, numbers, trunks"
        )

    def _webhooks(
        self, table: dynamodb.ITableV2, settings: Mapping[Setting, str], log_retention: logs.RetentionDays
    ) -> ObservedFunction:
        """The webhooks function: the stream's contact, record and seat changes POSTed to merchants'
        URLs at once, and the failed ones retried every minute (``contracts.schedules``)."""
        webhooks = ObservedFunction(
            self,
            "Webhooks",
            description="Switchboard webhooks: contact and agent events POSTed, signed, to merchants' URLs",
            code=code_from(str(paths.WEBHOOKS_FUNCTION)),
            handler="handler.handler",
            layer=self.layer,
            environment=contract.environment_for(
                Component.WEBHOOKS, {**settings, contract.METRICS_NAMESPACE: metrics.WEBHOOKS_NAMESPACE}
            ),
            log_retention=log_retention,
            memory_size=512,
            # A batch's POSTs run in parallel, each at most 3 s; the stream waits for the batch.
            timeout=cdk.Duration.seconds(30),
            wildcard_reason="dynamodb:ListStreams (how the event source mapping finds the stream) and "
            "X-Ray's trace actions accept no resource ARN",
        )
        table.grant(webhooks.role, *permissions.WEBHOOKS)
        nag.acknowledge_index_wildcard(webhooks.role, table.table_name, "pending and failed deliveries")
        # Delivery within 5 s at p95: a batch waits at most 1 s to fill.
        self.webhooks_failures = self._stream_consumer(
            "WebhooksFailures",
            "webhooks",
            webhooks.function,
            table,
            lambda_.FilterRule.or_(*WEBHOOK_ENTITIES),
        )
        return webhooks

    def _stream_consumer(
        self,
        queue_id: str,
        name: str,
        function: lambda_.IFunction,
        table: dynamodb.ITable,
        entities: list[str],
        why_more: str = "",
    ) -> sqs.Queue:
        """``function`` reads the table's stream (inserts and updates of ``entities`` only), in
        batches that wait at most 1 s, retried and bisected; what still fails lands in the queue
        this returns."""
        failures = sqs.Queue(
            self,
            queue_id,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            retention_period=cdk.Duration.days(14),
        )
        nag.acknowledge(
            failures,
            "AwsSolutions-SQS3",
            f"This queue is itself the on-failure destination of the {name} stream mapping{why_more}",
        )
        function.add_event_source(
            sources.DynamoEventSource(
                table,
                starting_position=lambda_.StartingPosition.LATEST,
                batch_size=100,
                max_batching_window=cdk.Duration.seconds(1),
                bisect_batch_on_error=True,
                retry_attempts=5,
                max_record_age=cdk.Duration.hours(1),
                report_batch_item_failures=True,
                on_failure=sources.SqsDlq(failures),
                filters=[
                    lambda_.FilterCriteria.filter(
                        {
                            "eventName": lambda_.FilterRule.or_("INSERT", "MODIFY"),
                            "dynamodb": {"NewImage": {"entity": {"S": entities}}},
                        }
                    )
                ],
            )
        )
        return failures

    def _schedule(self, schedule: Schedule) -> events.Rule:
        """An EventBridge rule invoking the function (through its live alias) on the schedule."""
        targets_by_folder: dict[str, lambda_.IFunction] = {
            paths.ROUTING_FUNCTION.name: self.routing_alias,
            paths.WEBHOOKS_FUNCTION.name: self.webhooks.function,
        }
        return scheduled_rule(self, schedule, targets_by_folder[schedule.function])

    @property
    def routers(self) -> list[ObservedFunction]:
        """The functions that claim offers for queued callers, and push them to edge tasks."""
        return [self.routing, self.agent_events]

    @property
    def edge_senders(self) -> list[ObservedFunction]:
        """The functions that send signed MESSAGEs to edge tasks: the routers' offers, the API's
        transfer commands (``constructs.offer_push`` puts them in the edge's VPC)."""
        return [*self.routers, self.api.handler]

    @property
    def functions(self) -> dict[str, lambda_.Function]:
        return {
            "Routing": self.routing.function,
            "AgentEvents": self.agent_events.function,
            "Webhooks": self.webhooks.function,
            "EventSocket": self.event_socket.handler.function,
            "Api": self.api.handler.function,
        }
