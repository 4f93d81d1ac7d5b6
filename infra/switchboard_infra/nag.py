"""cdk-nag's AwsSolutions pack on every synth, and the one way to acknowledge a finding: with a reason."""

from __future__ import annotations

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks
from constructs import IConstruct

_PREFIX = "AwsSolutions::"


def apply_checks(app: cdk.App) -> None:
    # Findings fail the synth (and Template.from_stack in tests), so nothing ships unreviewed.
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: IConstruct, rule: str, reason: str) -> None:
    """Accept ``rule`` (``AwsSolutions-XX`` or ``AwsSolutions-XX[finding]``) on ``scope`` and below."""
    if len(reason) < 40:
        raise ValueError(f"acknowledging {rule} needs a specific reason, not {reason!r}")
    cdk.Validations.of(scope).acknowledge(cdk.Acknowledgment(id=_PREFIX + rule, reason=reason))


def acknowledge_index_wildcard(scope: IConstruct, table_name: str, uses: str) -> None:
    """The ``<table>/index/*`` resource a table grant adds for GSI queries, with what they serve."""
    stack = cdk.Stack.of(scope)
    # cdk-nag names the finding by the resolved ARN, with the partition left as a placeholder.
    arn = f"arn:<AWS::Partition>:dynamodb:{stack.region}:{stack.account}:table/{table_name}/index/*"
    acknowledge(
        scope,
        f"AwsSolutions-IAM5[Resource::{arn}]",
        f"Queries the table's GSIs ({uses}); an index ARN is the table ARN plus /index/<name>, "
        "so the grant covers exactly this table's indexes",
    )
