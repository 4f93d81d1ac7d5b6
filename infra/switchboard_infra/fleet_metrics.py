"""The custom metrics a fleet's members publish (edge tasks, media relays): the grant to put them and
the per-member average their scaling tracks."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam


def grant_put_metrics(role: iam.IRole, namespace: str) -> None:
    """PutMetricData has no resource ARN (``*``, for cdk-nag to acknowledge at the caller), and no
    ``grant_*`` method scopes it: the condition keeps ``role`` to its own ``namespace``."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["cloudwatch:PutMetricData"],
            resources=["*"],
            conditions={"StringEquals": {"cloudwatch:namespace": namespace}},
        )
    )


def member_average(namespace: str, metric_name: str) -> cloudwatch.Metric:
    """Every member puts the dimension-less metric each minute, so its Average is the figure per member
    (calls per task, sessions per relay): what target tracking needs."""
    return cloudwatch.Metric(
        namespace=namespace,
        metric_name=metric_name,
        statistic=cloudwatch.Stats.AVERAGE,
        period=cdk.Duration.minutes(1),
    )
