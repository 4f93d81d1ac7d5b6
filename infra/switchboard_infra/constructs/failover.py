"""The deployed failover controller of one region: a function watching the other region, its
schedule, its least-privilege role and its alarms.

Every minute (``contracts.schedules.FAILOVER_WATCH``) the function probes the peer every 10 s with a
canary through the peer's routing function (the request the survivor forwards to a merchant's home;
``contact_center.aws.failover``) and, once the peer has failed (``services.peer_watch``), moves every
merchant homed there to this region with one conditional write each in this region's replica. The
role allows exactly that: items of this region's replica (ownerships, the watch's own item), the
peer's routing function by name (the canary) and this region's (a sweep of the moved merchants, and
``region_lost`` for the contacts the peer's lost edge tasks held, read from the fleet items by Query).
No permission on anything of the peer's control plane, and no deploy-time value of the peer's stack:
either region can be deployed, and fail, alone.

Runs never overlap (one reserved environment) and a run that could not start in time is dropped,
not queued: the next one a minute later probes afresh from the state kept in the table.
"""

from __future__ import annotations

from collections.abc import Mapping

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from contact_center.contracts import metrics
from contact_center.contracts import settings as contract
from contact_center.contracts.schedules import FAILOVER_WATCH
from contact_center.contracts.settings import Component, Setting
from switchboard_infra import nag, paths, permissions
from switchboard_infra.constructs.functions import ObservedFunction, code_from
from switchboard_infra.constructs.schedules import scheduled_rule

# Six probes 10 s apart end by 50 s plus a probe's budget: the run is over before the next is due.
TIMEOUT = cdk.Duration.seconds(58)
ONE_MINUTE = cdk.Duration.minutes(1)


class FailoverController(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        peer: str,
        layer: lambda_.ILayerVersion,
        settings: Mapping[Setting, str],
        table: dynamodb.ITableV2,
        table_key: kms.IKey,
        routing_alias: lambda_.IAlias,
        peer_routing_alias_arn: str,
        log_retention: logs.RetentionDays,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        self.peer = peer
        self.watch = ObservedFunction(
            self,
            "Watch",
            description=f"Switchboard failover controller: watches {peer}, takes its merchants over when it fails",
            code=code_from(str(paths.FAILOVER_FUNCTION)),
            handler="handler.handler",
            layer=layer,
            environment=contract.environment_for(
                Component.FAILOVER,
                {
                    **settings,
                    contract.FAILOVER_PEER: peer,
                    contract.METRICS_NAMESPACE: metrics.FAILOVER_NAMESPACE,
                },
            ),
            log_retention=log_retention,
            memory_size=256,
            timeout=TIMEOUT,
            reserved_concurrency=1,
        )
        self.function = self.watch.function
        self.function.configure_async_invoke(max_event_age=cdk.Duration.seconds(60), retry_attempts=0)
        role = self.watch.role
        table.grant(role, *permissions.FAILOVER)
        table_key.grant(role, *permissions.TABLE_KEY)
        nag.acknowledge_index_wildcard(role, table.table_name, "every merchant's ownership")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=[peer_routing_alias_arn])
        )
        routing_alias.grant_invoke(role)
        self.rule = scheduled_rule(self, FAILOVER_WATCH, self.function)
        self.alarms = self._alarms(region, alarm_topic)

    def _metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=metrics.FAILOVER_NAMESPACE,
            metric_name=name,
            statistic=statistic,
            dimensions_map={metrics.PEER_DIMENSION: self.peer},
            period=ONE_MINUTE,
        )

    def _alarms(self, region: str, topic: sns.ITopic) -> list[cloudwatch.Alarm]:
        alarms = [
            # A takeover is published even when the peer held no merchant: count takeovers, not merchants.
            self._metric(metrics.MERCHANTS_TAKEN_OVER, "SampleCount").create_alarm(
                self,
                "TookOver",
                alarm_description=f"{region} took over the merchants of {self.peer}: it failed its probes. "
                "Fail back with PUT /merchants/{id}/home once it is healthy and caught up",
                threshold=1,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            self._metric(metrics.PEER_PROBE_FAILED, "Sum").create_alarm(
                self,
                "PeerProbesFailing",
                alarm_description=f"{region}'s probes of {self.peer} fail: its routing function or its "
                "table replica does not answer",
                threshold=2,
                evaluation_periods=1,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            # A watch that stopped probing would never fail anything over.
            self._metric(metrics.PEER_PROBE_FAILED, "SampleCount").create_alarm(
                self,
                "WatchStopped",
                alarm_description=f"{region}'s failover controller has not probed {self.peer} for 3 minutes",
                threshold=1,
                evaluation_periods=3,
                comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
            ),
        ]
        notify = actions.SnsAction(topic)
        for alarm in alarms:
            alarm.add_alarm_action(notify)
        return alarms
