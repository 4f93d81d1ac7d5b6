"""EventBridge rules from the schedules contract (``contracts.schedules``): one per schedule."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from contact_center.contracts.schedules import Schedule


def scheduled_rule(scope: Construct, schedule: Schedule, target: lambda_.IFunction) -> events.Rule:
    """An EventBridge rule invoking ``target`` (a function or its alias) on ``schedule``."""
    return events.Rule(
        scope,
        f"Every{schedule.every_seconds}s{schedule.function.title()}",
        description=f"Switchboard: {dict(schedule.event)} to the {schedule.function} function",
        schedule=events.Schedule.rate(cdk.Duration.seconds(schedule.every_seconds)),
        targets=[
            targets.LambdaFunction(
                target,
                event=events.RuleTargetInput.from_object(dict(schedule.event)),
                retry_attempts=0,  # the next run comes a minute later and does the same
            )
        ],
    )
