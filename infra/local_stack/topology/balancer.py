"""An L4 load balancer made of iptables DNAT and conntrack, behaving as a Network Load Balancer does.

- A new flow (UDP 5-tuple or TCP connection) to the virtual address is DNATed to one healthy target,
  picked at random (``-m statistic``: rule i of k takes 1/(k-i) of what reaches it, so each target
  gets 1/k); conntrack pins every later packet of the flow, both ways, to that target.
- The client's address is preserved (no SNAT): the targets see the phone's or carrier's own address,
  and their answers go back through the balancer, which rewrites the source to the virtual address.
- A health checker probes each target's health port (with ``health_path``, an HTTP GET that must be
  answered 200, as an NLB HTTP health check; without, a TCP connect); after ``unhealthy_after`` failures in a row
  the target leaves the rotation (no new flows) and its flows are removed from conntrack, as NLB's
  connection termination for unhealthy targets does, so a client's next packet picks a healthy one.
  ``healthy_after`` successes bring it back.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from local_stack.topology import netns

log = logging.getLogger("topology.balancer")

CHAIN = "SB_LB"


@dataclass(frozen=True)
class Listener:
    protocol: str  # "udp" or "tcp"
    port: int


def rotation_rules(targets: Sequence[str]) -> str:
    """The ``iptables-restore --noflush`` input that replaces the rotation with ``targets``.

    Declaring the chain flushes it, so the swap is one atomic commit: no packet sees a half-written
    rotation. No target: an empty chain, and new flows go nowhere (as NLB with no healthy target)."""
    lines = ["*nat", f":{CHAIN} - [0:0]"]
    for index, target in enumerate(targets):
        remaining = len(targets) - index
        pick = f"-m statistic --mode random --probability {1 / remaining:.8f} " if remaining > 1 else ""
        lines.append(f"-A {CHAIN} {pick}-j DNAT --to-destination {target}")
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def entry_rules(vip: str, listeners: Sequence[Listener]) -> list[list[str]]:
    """The PREROUTING rules that send new flows to the virtual address through the rotation."""
    return [
        [
            "-t",
            "nat",
            "-A",
            "PREROUTING",
            "-d",
            vip,
            "-p",
            listener.protocol,
            "--dport",
            str(listener.port),
            "-j",
            CHAIN,
        ]
        for listener in listeners
    ]


class Balancer:
    """The balancer of one namespace: its rules, and the health checker that keeps them current."""

    def __init__(
        self,
        namespace: str,
        vip: str,
        listeners: Sequence[Listener],
        targets: Sequence[str],
        health_port: int,
        *,
        interval: float = 0.5,
        unhealthy_after: int = 2,
        healthy_after: int = 2,
        on_change: Callable[[str, bool], None] | None = None,
        health_path: str | None = None,
    ) -> None:
        self.namespace = namespace
        self.vip = vip
        self.listeners = tuple(listeners)
        self.targets = tuple(targets)
        self.health_port = health_port
        self.interval = interval
        self.unhealthy_after = unhealthy_after
        self.healthy_after = healthy_after
        self.on_change = on_change
        self.health_path = health_path
        # Targets start out of rotation, as NLB's do until they pass their checks.
        self.healthy: dict[str, bool] = dict.fromkeys(self.targets, False)
        self._streak: dict[str, int] = dict.fromkeys(self.targets, 0)
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def install(self) -> None:
        netns.sh(self.namespace, ["iptables", "-t", "nat", "-N", CHAIN])
        for rule in entry_rules(self.vip, self.listeners):
            netns.sh(self.namespace, ["iptables", *rule])
        self._apply(self.in_rotation())

    def in_rotation(self) -> list[str]:
        with self._lock:
            return [target for target in self.targets if self.healthy[target]]

    def rules(self) -> str:
        """The rotation as the kernel holds it (``iptables -t nat -S``), for tests and people."""
        return netns.sh(self.namespace, ["iptables", "-t", "nat", "-S", CHAIN])

    def target_of(self, protocol: str, client: str, client_port: int) -> str | None:
        """Which target conntrack pinned the flow from ``client:client_port`` to."""
        out = netns.sh(
            self.namespace,
            [
                "conntrack",
                "-L",
                "-p",
                protocol,
                "--orig-src",
                client,
                "--orig-port-src",
                str(client_port),
                "--orig-dst",
                self.vip,
            ],
            check=False,
        )
        for line in out.splitlines():
            fields = line.split()
            # The reply direction's source is the second src= on the line: the target.
            sources = [f.split("=", 1)[1] for f in fields if f.startswith("src=")]
            if len(sources) >= 2:
                return sources[1]
        return None

    def targets_of(self, protocol: str, client: str) -> Counter[str]:
        """How many of the flows conntrack holds from ``client`` went to each target."""
        out = netns.sh(
            self.namespace,
            ["conntrack", "-L", "-p", protocol, "--orig-src", client, "--orig-dst", self.vip],
            check=False,
        )
        found: Counter[str] = Counter()
        for line in out.splitlines():
            sources = [f.split("=", 1)[1] for f in line.split() if f.startswith("src=")]
            if len(sources) >= 2:
                found[sources[1]] += 1
        return found

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="balancer-health", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._thread.join(5)

    def wait_healthy(self, count: int, timeout: float = 60.0) -> bool:
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while not deadline.is_set():
                if len(self.in_rotation()) >= count:
                    return True
                deadline.wait(0.1)
            return False
        finally:
            timer.cancel()

    def _run(self) -> None:
        netns.enter(self.namespace)  # this thread's probes leave from the balancer's namespace
        while not self._stopped.is_set():
            for target in self.targets:
                self._observe(target, self._probe(target))
            self._stopped.wait(self.interval)

    def _probe(self, target: str) -> bool:
        try:
            with socket.create_connection((target, self.health_port), timeout=self.interval) as check:
                if self.health_path is None:
                    return True
                check.sendall(f"GET {self.health_path} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
                status = check.recv(64).split(b" ", 2)
                return len(status) > 1 and status[0].startswith(b"HTTP/") and status[1] == b"200"
        except OSError:
            return False

    def _observe(self, target: str, ok: bool) -> None:
        with self._lock:
            if ok == self.healthy[target]:
                self._streak[target] = 0
                return
            self._streak[target] += 1
            if self._streak[target] < (self.healthy_after if ok else self.unhealthy_after):
                return
            self._streak[target] = 0
            # The kernel's rotation changes first: whoever sees the new state sees it in force.
            self._apply([t for t in self.targets if (ok if t == target else self.healthy[t])])
            self.healthy[target] = ok
        log.info("target %s is %s", target, "healthy" if ok else "unhealthy")
        if not ok:
            self._terminate_flows(target)
        if self.on_change is not None:
            self.on_change(target, ok)

    def _apply(self, rotation: Sequence[str]) -> None:
        netns.sh(self.namespace, ["iptables-restore", "--noflush"], input=rotation_rules(rotation))

    def _terminate_flows(self, target: str) -> None:
        for listener in self.listeners:
            netns.sh(
                self.namespace,
                ["conntrack", "-D", "-p", listener.protocol, "--reply-src", target],
                check=False,
            )
