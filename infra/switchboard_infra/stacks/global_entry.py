"""The global entry: Global Accelerator's two static anycast IPs in front of both regions' NLBs; and
what else spans both regions once both exist: the prompts buckets' replication into each other
(``constructs.prompt_replication``).

Carriers and softphones are configured once with these addresses (or the SIP domain that points
at them). Global Accelerator sends each caller to the nearest region whose endpoint is healthy and
moves a region's share to the other one, with the same IPs, when it is not. For an NLB endpoint it
follows the NLB's own target health (the endpoint group's health settings apply to EC2 and EIP
endpoints only; they are set to the same check here so that the template says one thing): the
edge's deep health, ``GET /health`` on port 8080 (``constructs.sip_edge``). Moving traffic is
Global Accelerator's own data-plane decision: no API call, no deploy, nothing of the failed region.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_elasticloadbalancingv2 as elbv2
from aws_cdk import aws_globalaccelerator as ga
from aws_cdk import aws_globalaccelerator_endpoints as endpoints
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as targets
from constructs import Construct

from contact_center.contracts.values import EDGE_HEALTH_PATH
from switchboard_infra.config import Config
from switchboard_infra.constructs.edge_network import HEALTH_PORT, SIP_PORT, SIP_TLS_PORT
from switchboard_infra.constructs.prompt_bucket import prompt_bucket_name
from switchboard_infra.constructs.prompt_replication import PromptReplication
from switchboard_infra.constructs.sip_edge import HEALTH_CHECK_INTERVAL, UNHEALTHY_THRESHOLD


class GlobalEntryStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: Config,
        load_balancers: Mapping[str, elbv2.INetworkLoadBalancer],
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.prompt_replication = PromptReplication(
            self,
            "PromptReplication",
            buckets={
                region: prompt_bucket_name(config.table_name, config.account, region)
                for region in config.regions
            },
        )
        self.accelerator = ga.Accelerator(self, "Accelerator", accelerator_name="switchboard-sip")
        # Client addresses are preserved end to end: the NLBs behind have only TCP/UDP listeners
        # (TLS passes through to the edge), which is what client-IP preservation to an NLB requires.
        last_tcp_port = SIP_TLS_PORT if config.edge_tls else SIP_PORT
        listeners = {
            # SIP over TCP (and TLS); affinity keeps one softphone's connections on one edge region.
            "Tcp": self.accelerator.add_listener(
                "Tcp",
                port_ranges=[ga.PortRange(from_port=SIP_PORT, to_port=last_tcp_port)],
                protocol=ga.ConnectionProtocol.TCP,
                client_affinity=ga.ClientAffinity.SOURCE_IP,
            ),
            "Udp": self.accelerator.add_listener(
                "Udp",
                port_ranges=[ga.PortRange(from_port=SIP_PORT, to_port=SIP_PORT)],
                protocol=ga.ConnectionProtocol.UDP,
                client_affinity=ga.ClientAffinity.SOURCE_IP,
            ),
        }
        for name, listener in listeners.items():
            for region, nlb in load_balancers.items():
                listener.add_endpoint_group(
                    f"{name}{region.replace('-', '')}",
                    region=region,
                    endpoints=[endpoints.NetworkLoadBalancerEndpoint(nlb, preserve_client_ip=True)],
                    traffic_dial_percentage=config.traffic_dial_for(region),
                    # For NLB endpoints the accelerator follows the NLB's target health; these
                    # settings state the same deep check the NLB's target groups make.
                    health_check_port=HEALTH_PORT,
                    health_check_protocol=ga.HealthCheckProtocol.HTTP,
                    health_check_path=EDGE_HEALTH_PATH,
                    health_check_interval=HEALTH_CHECK_INTERVAL,
                    health_check_threshold=UNHEALTHY_THRESHOLD,
                )
        cdk.CfnOutput(self, "AcceleratorDns", value=self.accelerator.dns_name)
        cdk.CfnOutput(
            self,
            "AcceleratorIps",
            value=cdk.Fn.join(",", self.accelerator.ipv4_addresses or []),
            description="Static anycast IPs: point carrier trunks and softphones here",
        )
        if config.hosted_zone:
            self._dns(config)

    def _dns(self, config: Config) -> None:
        assert config.hosted_zone is not None
        zone = route53.PublicHostedZone.from_hosted_zone_attributes(
            self, "Zone", hosted_zone_id=config.hosted_zone.zone_id, zone_name=config.hosted_zone.zone_name
        )
        domain = config.sip_domain
        route53.ARecord(
            self,
            "SipDomain",
            zone=zone,
            record_name=domain + ".",
            target=route53.RecordTarget.from_alias(targets.GlobalAcceleratorTarget(self.accelerator)),
        )
        # RFC 3263 lookups: SIP clients that resolve SRV find every transport on the one name.
        records = [("_sip._udp", SIP_PORT), ("_sip._tcp", SIP_PORT)]
        if config.edge_tls:
            records.append(("_sips._tcp", SIP_TLS_PORT))
        for name, port in records:
            route53.SrvRecord(
                self,
                name.replace("_", "").replace(".", "").title(),
                zone=zone,
                record_name=f"{name}.{domain}.",
                values=[route53.SrvRecordValue(host_name=domain, port=port, priority=10, weight=10)],
                ttl=cdk.Duration.minutes(5),
            )
