"""The layout of the topology: namespaces, addresses, cables and packet filters.

::

    phones 192.168.77.2 --- 192.168.77.1 home (MASQUERADE) 10.77.3.2 ---+
    carrier 10.77.2.2 ----------------------------------------------------+--- region (router + balancer)
    aws 10.77.9.2 (DynamoDB, Lambda, API) --------------------------------+     VIP 10.77.0.10:5060 udp/tcp
    media 10.77.4.2, public 10.77.5.2 (rtpengine, relay agent) ----------+     bridge 10.77.1.1/24
                                 task1 10.77.1.11, task2 10.77.1.12, ... -+

- ``region`` routes between everything and balances new flows to the VIP over the tasks (see
  `balancer`). The tasks' subnet is private as in a VPC: from outside only the VIP reaches it; a task's
  own new connections to the outside leave through a NAT gateway address (``NAT_GATEWAY``), so a
  task that bypassed the flow owner would reach nobody behind a home NAT, as in AWS.
- ``home`` is the agents' home router: MASQUERADE, and UDP mappings that expire after
  ``udp_mapping_seconds`` of silence (consumer routers: 30 to 180 s), so only traffic (the edge's
  keep-alives) keeps a phone reachable.
- ``aws`` holds the services the tasks call; tasks reach it through the region router.
- ``media`` is a media relay instance as the media fleet runs it (EC2 in a public subnet): bound to its
  private address, reached from outside at its public one, which the region maps 1:1 to it as an
  internet gateway does. Its security group: RTP from anywhere, the ng control port from the tasks
  only. Its metadata service (IMDS) answers on the link-local address inside it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from contact_center.contracts import media_relays
from local_stack.topology import netns

VIP = "10.77.0.10"
NAT_GATEWAY = "10.77.0.20"
TASKS_SUBNET = "10.77.1.0/24"
TASKS_GATEWAY = "10.77.1.1"
CARRIER = "10.77.2.2"
HOME_PUBLIC = "10.77.3.2"
PHONES = "192.168.77.2"
AWS = "10.77.9.2"
RELAY_PRIVATE = "10.77.4.2"
RELAY_PUBLIC = "10.77.5.2"
INSTANCE_METADATA = "169.254.169.254"
SIP_PORT = 5060
HEALTH_PORT = 8080


@dataclass(frozen=True)
class Layout:
    """Names and addresses of one topology. ``prefix`` keeps two of them on one machine apart."""

    edges: int = 3
    prefix: str = ""
    # Short, so a test can outwait it: consumer routers keep a silent mapping 30 to 180 s.
    udp_mapping_seconds: int = 12

    @property
    def keepalive_seconds(self) -> int:
        """The edge's keep-alive interval: three to a mapping's lifetime, so one lost ping is harmless."""
        return max(1, self.udp_mapping_seconds // 3)

    def __post_init__(self) -> None:
        if not 1 <= self.edges <= 50:
            raise ValueError("edges must be between 1 and 50")
        if not self.prefix:
            object.__setattr__(self, "prefix", f"sb{os.getpid() % 100000}")

    def ns(self, place: str) -> str:
        return f"{self.prefix}-{place}"

    @property
    def region(self) -> str:
        return self.ns("region")

    @property
    def aws(self) -> str:
        return self.ns("aws")

    @property
    def media(self) -> str:
        return self.ns("media")

    @property
    def carrier(self) -> str:
        return self.ns("carrier")

    @property
    def home(self) -> str:
        return self.ns("home")

    @property
    def phones(self) -> str:
        return self.ns("phones")

    def task(self, index: int) -> str:
        return self.ns(f"task{index}")

    def task_address(self, index: int) -> str:
        return f"10.77.1.{10 + index}"

    @property
    def tasks(self) -> list[int]:
        return list(range(1, self.edges + 1))

    def namespaces(self) -> list[str]:
        return [
            self.region,
            self.aws,
            self.media,
            self.carrier,
            self.home,
            self.phones,
            *map(self.task, self.tasks),
        ]


def build(layout: Layout) -> None:
    """Create every namespace, cable and rule of ``layout`` (the balancer's rotation excepted)."""
    for name in layout.namespaces():
        netns.add(name)
    region = layout.region
    netns.sysctl(region, "net.ipv4.ip_forward", 1)
    netns.bridge(region, "br-tasks")
    netns.address(region, "br-tasks", f"{TASKS_GATEWAY}/24")
    for index in layout.tasks:
        task = layout.task(index)
        netns.veth(region, f"t{index}", task, "eth0")
        netns.attach(region, f"t{index}", "br-tasks")
        netns.address(task, "eth0", f"{layout.task_address(index)}/24")
        netns.default_route(task, TASKS_GATEWAY)
    _link(region, "to-aws", "10.77.9.1", layout.aws, AWS)
    _link(region, "to-media", "10.77.4.1", layout.media, RELAY_PRIVATE)
    _relay_instance(layout)
    _link(region, "to-carrier", "10.77.2.1", layout.carrier, CARRIER)
    _link(region, "to-home", "10.77.3.1", layout.home, HOME_PUBLIC, their_if="wan")
    home = layout.home
    netns.sysctl(home, "net.ipv4.ip_forward", 1)
    netns.veth(home, "lan", layout.phones, "eth0")
    netns.address(home, "lan", "192.168.77.1/24")
    netns.address(layout.phones, "eth0", f"{PHONES}/24")
    netns.default_route(layout.phones, "192.168.77.1")
    netns.sh(home, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-o", "wan", "-j", "MASQUERADE"])
    for key in ("nf_conntrack_udp_timeout", "nf_conntrack_udp_timeout_stream"):
        netns.sysctl(home, f"net.netfilter.{key}", layout.udp_mapping_seconds)
    for outside in ("to-carrier", "to-home"):
        # Private subnets: from outside, only flows the balancer translated reach a task or AWS.
        for private in (TASKS_SUBNET, "10.77.9.0/24", "10.77.4.0/24"):
            netns.sh(
                region,
                [
                    "iptables",
                    "-A",
                    "FORWARD",
                    "-i",
                    outside,
                    "-d",
                    private,
                    "-m",
                    "conntrack",
                    "--ctstate",
                    "NEW",
                    "-m",
                    "conntrack",
                    "!",
                    "--ctstate",
                    "DNAT",
                    "-j",
                    "DROP",
                ],
            )
        netns.sh(
            region,
            [
                "iptables",
                "-t",
                "nat",
                "-A",
                "POSTROUTING",
                "-s",
                TASKS_SUBNET,
                "-o",
                outside,
                "-j",
                "SNAT",
                "--to-source",
                NAT_GATEWAY,
            ],
        )


def _relay_instance(layout: Layout) -> None:
    """The relay's public address (1:1 NAT, as the internet gateway gives an instance its public IPv4),
    its security group (`switchboard_infra.constructs.media_fleet`) and its metadata address."""
    region, media = layout.region, layout.media
    netns.sh(region, ["iptables", "-t", "nat", "-A", "PREROUTING", "-d", RELAY_PUBLIC, "-j", "DNAT",
                      "--to-destination", RELAY_PRIVATE])  # fmt: skip
    for outside in ("to-carrier", "to-home"):
        netns.sh(region, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", RELAY_PRIVATE, "-o", outside,
                          "-j", "SNAT", "--to-source", RELAY_PUBLIC])  # fmt: skip
    ng = str(media_relays.NG_PORT)
    netns.sh(media, ["iptables", "-A", "INPUT", "-i", "eth0", "-p", "udp", "--dport", ng, "!", "-s",
                     TASKS_SUBNET, "-j", "DROP"])  # fmt: skip
    netns.address(media, "lo", f"{INSTANCE_METADATA}/32")


def _link(
    region: str, region_if: str, region_ip: str, other: str, other_ip: str, their_if: str = "eth0"
) -> None:
    netns.veth(region, region_if, other, their_if)
    netns.address(region, region_if, f"{region_ip}/24")
    netns.address(other, their_if, f"{other_ip}/24")
    netns.default_route(other, region_ip)


def teardown(layout: Layout) -> None:
    """Delete every namespace of ``layout`` (with their interfaces, rules and conntrack entries)."""
    for name in reversed(layout.namespaces()):
        netns.delete(name)
