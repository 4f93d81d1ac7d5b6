"""The routers' way to the edge tasks: the functions that claim offers for queued callers (routing,
agent events) push each offer to the task holding the caller, at the task's private address
(``contact_center/contracts/offer_push.py``: a signed SIP MESSAGE over UDP to the task's SIP port).

So these functions run in the edge's VPC, in its private subnets, under a security group of their
own. The tasks' group admits SIP over UDP from it (nothing else: the push is the only thing a
function sends a task), and the VPC endpoints' group admits HTTPS from it, since private DNS sends
the functions' calls to Secrets Manager (the fleet key) and Lambda there. Everything else they
reach (DynamoDB through its gateway endpoint, another region's routing function, X-Ray) leaves as the
tasks' traffic does.

The functions are built before the edge's network (the edge needs the routing alias), so their VPC
configuration is set on the CloudFormation resource afterwards.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from switchboard_infra.constructs.edge_network import SIP_PORT
from switchboard_infra.constructs.functions import ObservedFunction

# What Lambda needs of a function's role to give it network interfaces in a VPC (the actions of
# AWS's managed AWSLambdaVPCAccessExecutionRole, which none of the project's roles attaches).
ENI_ACTIONS = (
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)


def reach_edge_tasks(
    scope: Construct,
    functions: Sequence[ObservedFunction],
    *,
    vpc: ec2.IVpc,
    task_security_group: ec2.SecurityGroup,
    endpoint_security_group: ec2.SecurityGroup,
) -> ec2.SecurityGroup:
    """Put ``functions`` in the edge's private subnets, allowed to push offers to the tasks."""
    group = ec2.SecurityGroup(
        scope,
        "RouterSecurityGroup",
        vpc=vpc,
        description="Routing functions: push offers to edge tasks (SIP over UDP), AWS APIs",
        allow_all_outbound=True,
    )
    task_security_group.add_ingress_rule(
        group, ec2.Port.udp(SIP_PORT), "offer pushes from the routing functions"
    )
    endpoint_security_group.add_ingress_rule(group, ec2.Port.tcp(443), "HTTPS from the routing functions")
    subnets = vpc.select_subnets(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS).subnet_ids
    for observed in functions:
        observed.role.add_to_policy(iam.PolicyStatement(actions=list(ENI_ACTIONS), resources=["*"]))
        function = observed.function.node.default_child
        assert isinstance(function, lambda_.CfnFunction)
        function.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
            security_group_ids=[group.security_group_id], subnet_ids=subnets
        )
    return group
