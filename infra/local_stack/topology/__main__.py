"""``python -m local_stack.topology`` (``make topology``): the production shape on this machine, by hand.

``up`` synthesizes the region template (every process's settings come from it), builds the
namespaces, starts DynamoDB Local, a local Secrets Manager, the Lambda service, the API, a media relay
instance, N edge tasks and the balancer, prints how to reach each place, and stays up until Ctrl-C, then removes everything.
``down --prefix P`` removes what a killed ``up`` left behind. Needs root.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import tempfile
import threading
from pathlib import Path
from types import FrameType

from local_stack.logs import NOISY
from local_stack.topology import netns
from local_stack.topology.harness import API_PORT, DOMAIN, Harness
from local_stack.topology.network import (
    AWS,
    CARRIER,
    PHONES,
    RELAY_PRIVATE,
    RELAY_PUBLIC,
    SIP_PORT,
    VIP,
    Layout,
    teardown,
)  # fmt: skip


def banner(harness: Harness) -> str:
    layout = harness.layout
    tasks = "\n".join(
        f"  task {index}         {layout.task_address(index)}:{SIP_PORT}  (netns {layout.task(index)})"
        for index in layout.tasks
    )
    here = Path(__file__).resolve().parent
    tls = f", {VIP}:{harness.tls_port} tls (CA {harness.ca_file})" if harness.tls_port else ""
    return f"""
The topology is up (namespaces {layout.prefix}-*). Ctrl-C removes everything.

  SIP VIP        {VIP}:{SIP_PORT} udp/tcp{tls}  (balancer in netns {layout.region})
{tasks}
  HTTP API       http://{AWS}:{API_PORT}  (netns {layout.aws})   admin key {harness.admin_key}
  SIP domain     {DOMAIN}
  media relay    {RELAY_PUBLIC} (private {RELAY_PRIVATE}; netns {layout.media})
  phones         {PHONES} behind the home NAT (netns {layout.phones})
  carrier        {CARRIER}  (netns {layout.carrier}; add a trunk for {CARRIER}/32)
  logs           {harness.workdir}

Try it:
  ip netns exec {layout.aws} curl -s http://{AWS}:{API_PORT}/health
  ip netns exec {layout.carrier} sipp {VIP}:{SIP_PORT} -sf {here / "scenarios" / "carrier_call.xml"} -s <number> -m 1
  ip netns exec {layout.phones} {sys.executable} -m local_stack.topology.phone --registrar {VIP}:{SIP_PORT} \\
      --domain {DOMAIN} --seat <username>:<password>     # or --transport tls --ca {harness.ca_file} --registrar {VIP}:{harness.tls_port}
  ip netns exec {layout.region} iptables -t nat -S SB_LB     # the rotation
  ip netns exec {layout.region} conntrack -L                # pinned flows
"""


def up(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="switchboard-topology-"))
    stopped = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopped.set()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    with Harness(Layout(edges=args.edges, prefix=args.prefix), workdir) as harness:
        print(banner(harness), flush=True)
        stopped.wait()
        print("stopping", flush=True)
    return 0


def down(args: argparse.Namespace) -> int:
    layout = Layout(edges=args.edges, prefix=args.prefix)
    teardown(layout)
    left = [name for name in layout.namespaces() if netns.exists(name)]
    print("removed" if not left else f"still there: {left}")
    return 0 if not left else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.topology", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    start = commands.add_parser("up", help="build and start the topology, stay up until Ctrl-C")
    start.add_argument("--edges", type=int, default=3)
    start.add_argument("--prefix", default="sb", help="namespace name prefix (default sb)")
    start.add_argument("--workdir", help="where the processes' logs go (default: a new temporary folder)")
    stop = commands.add_parser("down", help="remove the namespaces a killed `up` left")
    stop.add_argument("--edges", type=int, default=50, help="the highest task number to look for")
    stop.add_argument("--prefix", default="sb")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in NOISY:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return up(args) if args.command == "up" else down(args)


if __name__ == "__main__":
    sys.exit(main())
