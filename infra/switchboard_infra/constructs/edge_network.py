"""The network of one region's SIP edge: the VPC, its endpoints for AWS APIs, and the two security
groups (the NLB's, open to the world on the SIP ports only, and the tasks').

Built into the edge construct's own scope, so the resources keep their place (and logical ids) in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from switchboard_infra import nag
from switchboard_infra.config import EdgeConfig

SIP_PORT = 5060
SIP_TLS_PORT = 5061
HEALTH_PORT = 8080

INTERFACE_ENDPOINTS = {
    "Lambda": ec2.InterfaceVpcEndpointAwsService.LAMBDA_,
    "Logs": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS,
    "EcrApi": ec2.InterfaceVpcEndpointAwsService.ECR,
    "EcrDocker": ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER,
    "SecretsManager": ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER,
    "CloudWatch": ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_MONITORING,
}


@dataclass(frozen=True)
class EdgeNetwork:
    vpc: ec2.Vpc
    nlb_security_group: ec2.SecurityGroup
    task_security_group: ec2.SecurityGroup
    # The AWS API endpoints' group: HTTPS from the tasks, and from whatever else runs in the VPC.
    endpoint_security_group: ec2.SecurityGroup

    @classmethod
    def build(
        cls, scope: Construct, config: EdgeConfig, tls: bool, log_retention: logs.RetentionDays
    ) -> EdgeNetwork:
        flow_logs = logs.LogGroup(scope, "FlowLogs", retention=log_retention)
        vpc = ec2.Vpc(
            scope,
            "Vpc",
            # Two AZs: one can fail whole and the other still carries every call.
            max_azs=2,
            nat_gateways=config.nat_gateways,
            subnet_configuration=[
                ec2.SubnetConfiguration(name="public", subnet_type=ec2.SubnetType.PUBLIC, cidr_mask=24),
                ec2.SubnetConfiguration(
                    name="edge", subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS, cidr_mask=20
                ),
            ],
            # DynamoDB traffic, the busiest, bypasses the NAT gateways (cheaper, one less hop to fail).
            gateway_endpoints={
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
                # Image layers come from S3 when a task pulls from ECR.
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
            },
            flow_logs={
                "All": ec2.FlowLogOptions(
                    destination=ec2.FlowLogDestination.to_cloud_watch_logs(flow_logs),
                    traffic_type=ec2.FlowLogTrafficType.ALL,
                )
            },
            restrict_default_security_group=False,
        )
        # Clients reach the NLB on the SIP ports only; tasks accept nothing but what the NLB forwards.
        nlb_security_group = ec2.SecurityGroup(
            scope, "NlbSecurityGroup", vpc=vpc, description="SIP from carriers and softphones to the NLB"
        )
        sip_ports = [ec2.Port.udp(SIP_PORT), ec2.Port.tcp(SIP_PORT)]
        if tls:
            sip_ports.append(ec2.Port.tcp(SIP_TLS_PORT))
        for port in sip_ports:
            nlb_security_group.add_ingress_rule(ec2.Peer.any_ipv4(), port, f"SIP {port.to_string()}")
        nag.acknowledge(
            nlb_security_group,
            "AwsSolutions-EC23",
            "Carriers' SIP trunks and agents' softphones connect from any internet address; the group "
            "opens only SIP (UDP/TCP 5060, TCP 5061 with TLS) and the tasks accept only the NLB's group "
            "and each other",
        )
        task_security_group = ec2.SecurityGroup(
            scope,
            "TaskSecurityGroup",
            vpc=vpc,
            description="SIP edge tasks: SIP and the health port from the NLB, SIP from each other",
            # Outbound legs go to agents' softphones and carrier trunks anywhere, plus AWS APIs.
            allow_all_outbound=True,
        )
        for port in [*sip_ports, ec2.Port.tcp(HEALTH_PORT)]:
            task_security_group.add_ingress_rule(nlb_security_group, port, f"{port.to_string()} from the NLB")
        endpoint_security_group = cls._endpoints(scope, vpc, task_security_group)
        # A call for an agent whose flow another task owns is relayed through that task.
        for port in sip_ports:
            task_security_group.add_ingress_rule(
                task_security_group, port, f"{port.to_string()} from other edge tasks (flow-owner relay)"
            )
        return cls(vpc, nlb_security_group, task_security_group, endpoint_security_group)

    @staticmethod
    def _endpoints(
        scope: Construct, vpc: ec2.Vpc, task_security_group: ec2.SecurityGroup
    ) -> ec2.SecurityGroup:
        """Every AWS API the tasks call in a call's path or at start stays inside the VPC (routing
        invokes, logs, image pulls, secrets, metrics); the NAT gateways carry only SIP to the world."""
        group = ec2.SecurityGroup(
            scope,
            "EndpointSecurityGroup",
            vpc=vpc,
            description="AWS API endpoints: HTTPS from the edge tasks only",
            allow_all_outbound=False,
        )
        group.add_ingress_rule(task_security_group, ec2.Port.tcp(443), "HTTPS from the edge tasks")
        for name, service in INTERFACE_ENDPOINTS.items():
            vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS),
                private_dns_enabled=True,
                security_groups=[group],
                open=False,
            )
        return group
