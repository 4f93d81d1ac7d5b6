"""Operations of one region: an SNS topic for alarms, the alarms, and the Switchboard dashboard."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from contact_center.contracts import metrics

ONE_MINUTE = cdk.Duration.minutes(1)
# Replication slower than this means a failover would lose more than a few seconds of state.
REPLICATION_LATENCY_ALARM_MS = 10_000
# Seat changes older than this when agent events read them: freed agents wait that long for a call.
STREAM_ITERATOR_AGE_ALARM_MS = 60_000
# An edge task this busy has no headroom left for a burst (28 new calls/s at peak).
EDGE_UTILIZATION_ALARM_PERCENT = 85
# How long answered callers waited (median, most, worst) and how long the ones who gave up held on.
QUEUE_WAIT_STATISTICS = {metrics.ANSWERED: ("p50", "p90", "Maximum"), metrics.ABANDONED: ("p50", "p90")}
# Logged-out seats are not worth a band of the stacked graph.
DASHBOARD_AGENT_STATES = tuple(state for state in metrics.AGENT_STATES if state != "offline")


def _metric(namespace: str, name: str, statistic: str, dimensions: Mapping[str, str] | None = None,
            label: str | None = None) -> cloudwatch.Metric:  # fmt: skip
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=name,
        statistic=statistic,
        dimensions_map=dict(dimensions or {}),
        period=ONE_MINUTE,
        label=label,
    )


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        table_name: str,
        replica_regions: Sequence[str],
        functions: Mapping[str, lambda_.IFunction],
        routing_function: lambda_.IFunction,
        target_groups: Sequence[elbv2.NetworkTargetGroup],
        edge_cluster_name: str,
        edge_service_name: str,
        alarm_email: str | None,
        stream_consumer: lambda_.IFunction,
        failed_events: sqs.IQueue,
        api: apigw.RestApi,
        edge_service: ecs.FargateService,
    ) -> None:
        super().__init__(scope, construct_id)
        region = cdk.Stack.of(self).region
        # CloudWatch can only publish to an encrypted topic whose key lets it; the AWS-managed SNS
        # key does not, hence a customer key with rotation.
        key = kms.Key(self, "AlarmsKey", enable_key_rotation=True, description="Switchboard alarm topic")
        key.grant(iam.ServicePrincipal("cloudwatch.amazonaws.com"), "kms:Decrypt", "kms:GenerateDataKey*")
        self.topic = sns.Topic(
            self, "Alarms", display_name="Switchboard alarms", master_key=key, enforce_ssl=True
        )
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        notify = actions.SnsAction(self.topic)

        table = {"TableName": table_name}
        table_throttles = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": _metric("AWS/DynamoDB", "ReadThrottleEvents", "Sum", table),
                "writes": _metric("AWS/DynamoDB", "WriteThrottleEvents", "Sum", table),
            },
            label="Table throttle events",
            period=ONE_MINUTE,
        )
        replication = [
            _metric(
                "AWS/DynamoDB",
                "ReplicationLatency",
                "Average",
                {**table, "ReceivingRegion": receiver},
                label=f"to {receiver}",
            )
            for receiver in replica_regions
        ]
        self.alarms: list[cloudwatch.Alarm] = [
            routing_function.metric_errors(period=ONE_MINUTE).create_alarm(
                self,
                "RoutingErrors",
                alarm_description=f"Routing function errors in {region}: calls are not being routed",
                threshold=5,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            routing_function.metric_throttles(period=ONE_MINUTE).create_alarm(
                self,
                "RoutingThrottles",
                alarm_description=f"Routing function throttled in {region}: raise its concurrency",
                threshold=1,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
            table_throttles.create_alarm(
                self,
                "TableThrottles",
                alarm_description=f"DynamoDB throttled requests on {table_name} in {region}",
                threshold=1,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            ),
        ]
        for index, target_group in enumerate(target_groups):
            self.alarms.append(
                target_group.metrics.un_healthy_host_count(
                    period=ONE_MINUTE, statistic="Maximum"
                ).create_alarm(
                    self,
                    f"EdgeUnhealthyHosts{index}",
                    alarm_description=f"SIP edge tasks failing NLB health checks in {region}",
                    threshold=1,
                    evaluation_periods=3,
                    datapoints_to_alarm=3,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        for index, target_group in enumerate(target_groups):
            # No healthy task at all: the region takes no calls (Global Accelerator moves them away).
            self.alarms.append(
                target_group.metrics.healthy_host_count(period=ONE_MINUTE, statistic="Minimum").create_alarm(
                    self,
                    f"EdgeNoHealthyHosts{index}",
                    alarm_description=f"No healthy SIP edge task behind the NLB in {region}",
                    threshold=1,
                    comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    evaluation_periods=2,
                    datapoints_to_alarm=2,
                    treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
                )
            )
        self.alarms += self._service_alarms(region, stream_consumer, failed_events, api, edge_service)
        for receiver, metric in zip(replica_regions, replication, strict=True):
            self.alarms.append(
                metric.create_alarm(
                    self,
                    f"ReplicationLatency{receiver.replace('-', '')}",
                    alarm_description=f"Global table replication from {region} {metric.label} is slow",
                    threshold=REPLICATION_LATENCY_ALARM_MS,
                    evaluation_periods=5,
                    datapoints_to_alarm=4,
                    treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                )
            )
        for alarm in self.alarms:
            alarm.add_alarm_action(notify)
            alarm.add_ok_action(notify)

        self.dashboard = cloudwatch.Dashboard(
            self, "Dashboard", dashboard_name=f"Switchboard-{region}", default_interval=cdk.Duration.hours(3)
        )
        edge, routing = metrics.EDGE_NAMESPACE, metrics.ROUTING_NAMESPACE
        calls_per_second = cloudwatch.MathExpression(
            expression="started / PERIOD(started)",
            using_metrics={"started": _metric(edge, metrics.CALLS_STARTED, "Sum")},
            label="Calls/s",
            period=ONE_MINUTE,
        )
        service = {"ClusterName": edge_cluster_name, "ServiceName": edge_service_name}
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Calls per second", left=[calls_per_second], width=8),
            cloudwatch.GraphWidget(
                title="Active calls per edge task",
                left=[
                    _metric(edge, metrics.ACTIVE_CALLS, "Average", label="average"),
                    _metric(edge, metrics.ACTIVE_CALLS, "Maximum", label="busiest"),
                ],
                right=[_metric("ECS/ContainerInsights", "RunningTaskCount", "Average", service, "tasks")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Queue wait (s)",
                left=[
                    _metric(
                        routing,
                        metrics.QUEUE_WAIT_SECONDS,
                        stat,
                        {metrics.OUTCOME_DIMENSION: outcome},
                        label=f"{outcome} {stat}",
                    )
                    for outcome, stats in QUEUE_WAIT_STATISTICS.items()
                    for stat in stats
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Agents by state",
                left=[
                    # Counted once a minute by the sweep: the Maximum is that count (a Sum would
                    # double it in a minute that happened to see two sweeps).
                    _metric(routing, metrics.AGENTS, "Maximum", {metrics.AGENT_STATE_DIMENSION: state}, state)
                    for state in DASHBOARD_AGENT_STATES
                ],
                stacked=True,
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda errors",
                left=[fn.metric_errors(period=ONE_MINUTE, label=name) for name, fn in functions.items()],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration p99 (ms)",
                left=[
                    fn.metric_duration(period=ONE_MINUTE, statistic="p99", label=name)
                    for name, fn in functions.items()
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="DynamoDB throttles",
                left=[
                    _metric("AWS/DynamoDB", "ReadThrottleEvents", "Sum", table, "reads"),
                    _metric("AWS/DynamoDB", "WriteThrottleEvents", "Sum", table, "writes"),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Replication latency (ms)", left=replication, width=8),
            cloudwatch.GraphWidget(
                title="Edge targets healthy / unhealthy",
                left=[tg.metrics.healthy_host_count(period=ONE_MINUTE) for tg in target_groups],
                right=[tg.metrics.un_healthy_host_count(period=ONE_MINUTE) for tg in target_groups],
                width=8,
            ),
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=self.alarms, width=24),
        )

    def _service_alarms(
        self,
        region: str,
        stream_consumer: lambda_.IFunction,
        failed_events: sqs.IQueue,
        api: apigw.RestApi,
        edge_service: ecs.FargateService,
    ) -> list[cloudwatch.Alarm]:
        def alarm(
            construct_id: str, metric: cloudwatch.IMetric, description: str, threshold: float
        ) -> cloudwatch.Alarm:
            return cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                alarm_description=description,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                evaluation_periods=3,
                datapoints_to_alarm=2,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
            )

        iterator_age = _metric(
            "AWS/Lambda",
            "IteratorAge",
            "Maximum",
            {"FunctionName": stream_consumer.function_name},
        )
        return [
            alarm(
                "StreamIteratorAge",
                iterator_age,
                f"Agent events read seat changes late in {region}: freed agents wait for calls",
                STREAM_ITERATOR_AGE_ALARM_MS,
            ),
            alarm(
                "FailedSeatEvents",
                failed_events.metric_approximate_number_of_messages_visible(
                    period=ONE_MINUTE, statistic="Maximum"
                ),
                f"Seat changes gave up on after retries in {region}: inspect and replay the queue",
                1,
            ),
            alarm(
                "Api5xx",
                api.metric_server_error(period=ONE_MINUTE, statistic="Sum"),
                f"HTTP API answering 5xx in {region}",
                5,
            ),
            alarm(
                "EdgeCpu",
                edge_service.metric_cpu_utilization(period=ONE_MINUTE, statistic="Average"),
                f"SIP edge CPU high in {region}: scaling is not keeping up",
                EDGE_UTILIZATION_ALARM_PERCENT,
            ),
            alarm(
                "EdgeMemory",
                edge_service.metric_memory_utilization(period=ONE_MINUTE, statistic="Average"),
                f"SIP edge memory high in {region}",
                EDGE_UTILIZATION_ALARM_PERCENT,
            ),
        ]
