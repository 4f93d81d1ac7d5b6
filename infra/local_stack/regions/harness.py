"""Two regions as processes on one machine: per region, DynamoDB Local, the Lambda service (routing
and seat-stream functions) on its own loopback address, and the failover controller; the replicator
between the two databases runs in the harness's process (each half dies with its region).

A witness (``witness.py``) on 127.0.3.1, in neither region, gives the controllers a third view.

Loopback addresses: east's Lambda service on 127.0.1.1, west's on 127.0.2.1 (DynamoDB Local binds
every interface: each engine has its own port instead). No network namespaces: the drill kills
processes, not links, so addresses are enough to keep the regions apart.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import boto3

from contact_center.data import table
from local_stack import dynamodb_local
from local_stack.processes import Child, free_port
from local_stack.regions.replicator import Replicator

TABLE = "switchboard"
ADDRESSES = {"east": "127.0.1.1", "west": "127.0.2.1"}
WITNESS_ADDRESS = "127.0.3.1"
PEER = {"east": "west", "west": "east"}
# Shared by both regions' routing functions and the drill's edge tasks, which check the signature of
# what a router sends them (``contracts.offer_push``).
FLEET_KEY = secrets.token_urlsafe(32)


def edges_of(region: str) -> list[str]:
    return [f"edge-{region}-1"]


@dataclass
class Region:
    name: str
    log_dir: Path
    handoff_ms: int
    # A long drill's engines run for throughput (full JIT, a larger heap); short runs start quickly.
    throughput: bool = False
    dynamodb_port: int = field(default_factory=free_port)
    lambda_port: int = field(default_factory=free_port)
    children: list[Child] = field(default_factory=list)

    @property
    def dynamodb_url(self) -> str:
        return f"http://127.0.0.1:{self.dynamodb_port}"

    @property
    def lambda_url(self) -> str:
        return f"http://{ADDRESSES[self.name]}:{self.lambda_port}"

    def environment(self, lambda_urls: dict[str, str]) -> dict[str, str]:
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_DYNAMODB": self.dynamodb_url,
            "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": self.dynamodb_url,
            "SWITCHBOARD_TABLE": TABLE,
            "SWITCHBOARD_REGION": self.name,
            "SWITCHBOARD_REGION_ENDPOINTS": ",".join(f"{k}={v}" for k, v in lambda_urls.items()),
            "SWITCHBOARD_HANDOFF_MS": str(self.handoff_ms),
            "SIP_DOMAIN": "sip.drill",
            "SIP_NONCE_KEY": FLEET_KEY,
            "LOG_LEVEL": "WARNING",
        }

    def start_database(self) -> None:
        jar_dir = dynamodb_local.jar_dir()
        if jar_dir is None:
            raise RuntimeError(dynamodb_local.MISSING)
        child = Child(
            f"{self.name}-dynamodb",
            # Streams are kept in memory: at 384 MB the engine spent a sixth of a drill collecting
            # garbage (40 full collections in 13 minutes), and every reader timed out meanwhile.
            dynamodb_local.command(
                self.dynamodb_port, heap_mb=2048 if self.throughput else 1024, quick_start=not self.throughput
            ),
            dict(os.environ),
            cwd=str(jar_dir),
            log_path=self.log_dir / f"{self.name}-dynamodb.log",
        )
        child.start()
        self.children.append(child)
        client = boto3.client("dynamodb", endpoint_url=self.dynamodb_url, region_name="us-east-1")
        deadline = time.monotonic() + 60
        while True:
            try:
                client.list_tables()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        table.create_table(TABLE, client=client)

    def start_services(self, lambda_urls: dict[str, str], peer: Region, witness_url: str = "") -> None:
        env = self.environment(lambda_urls)
        witness = ("--witness", witness_url) if witness_url else ()
        for name, argv in (
            (
                "lambda",
                [
                    *(sys.executable, "-m", "local_stack.lambda_endpoint", "--host", ADDRESSES[self.name]),
                    *("--port", str(self.lambda_port), "--table", TABLE),
                ],
            ),
            (
                "controller",
                [
                    *(sys.executable, "-m", "local_stack.regions.controller", "--peer", peer.name),
                    *("--peer-lambda", peer.lambda_url, "--peer-dynamodb", peer.dynamodb_url),
                    *("--peer-edges", ",".join(edges_of(peer.name)), "--table", TABLE),
                    *witness,
                ],
            ),
        ):
            child = Child(f"{self.name}-{name}", argv, env, log_path=self.log_dir / f"{self.name}-{name}.log")
            child.start()
            self.children.append(child)
        deadline = time.monotonic() + 60
        while not self.healthy():
            if time.monotonic() > deadline:
                raise RuntimeError(f"region {self.name} did not start; see {self.log_dir}")
            time.sleep(0.2)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.lambda_url, timeout=0.5) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def kill(self) -> None:
        """Outright: SIGKILL to every process of the region (and the JVM's whole group), no goodbye."""
        for child in self.children:
            if child.proc is not None and child.proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(child.proc.pid, 9)
                child.proc.wait()
        self.children.clear()

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop(grace=3.0)
        self.children.clear()


class TwoRegions:
    def __init__(
        self,
        log_dir: Path,
        lag: float = 1.0,
        handoff_ms: int = 3_000,
        witness: bool = True,
        throughput: bool = False,
    ) -> None:
        self.log_dir = log_dir
        self.regions = {name: Region(name, log_dir, handoff_ms, throughput) for name in ("east", "west")}
        self.lag = lag
        self.replicator: Replicator | None = None
        # The third vantage point the controllers ask before failing a peer over (``witness.py``); on
        # its own address, in neither region, so it outlives a killed one.
        self.witness_port = free_port() if witness else None
        self._witness: Child | None = None

    @property
    def witness_url(self) -> str:
        return "" if self.witness_port is None else f"http://{WITNESS_ADDRESS}:{self.witness_port}"

    def start_witness(self) -> None:
        """(Re)start the witness over the regions' current endpoints (a returning region has new ones)."""
        if self.witness_port is None:
            return
        if self._witness is not None:
            self._witness.stop(grace=2.0)
        argv = [sys.executable, "-m", "local_stack.regions.witness", "--host", WITNESS_ADDRESS]
        argv += ["--port", str(self.witness_port), "--table", TABLE]
        for name, region in self.regions.items():
            argv += ["--region", f"{name}={region.lambda_url},{region.dynamodb_url}"]
        env = self.regions["east"].environment(self.lambda_urls)
        self._witness = Child("witness", argv, env, log_path=self.log_dir / "witness.log")
        self._witness.start()
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{self.witness_url}/regions/east", timeout=1.0):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the witness did not start; see {self.log_dir}") from None
                time.sleep(0.2)

    @property
    def lambda_urls(self) -> dict[str, str]:
        return {name: region.lambda_url for name, region in self.regions.items()}

    def start_databases(self) -> None:
        for region in self.regions.values():
            region.start_database()

    def start_replication(self, seeded_in: str) -> int:
        """Copy the seeded region into the other (as a new replica is filled) and replicate both ways."""
        self.replicator = Replicator(
            {n: r.dynamodb_url for n, r in self.regions.items()}, TABLE, lag=self.lag
        )
        copied = self.replicator.copy_all(seeded_in, PEER[seeded_in])
        self.replicator.start()
        time.sleep(1.0)  # the stream readers start at the streams' ends
        return copied

    def start_services(self) -> None:
        self.start_witness()
        for name, region in self.regions.items():
            region.start_services(self.lambda_urls, self.regions[PEER[name]], self.witness_url)

    def kill(self, name: str) -> int:
        """Kill a region outright; the writes it had not replicated yet (the RPO, in items)."""
        assert self.replicator is not None
        self.regions[name].kill()
        return self.replicator.stop_region(name)

    def restart(self, name: str) -> int:
        """The region comes back empty: a new engine, a full copy from the other, then its services."""
        assert self.replicator is not None
        region = self.regions[name]
        region.dynamodb_port = free_port()
        region.start_database()
        copied = self.replicator.restart_region(name, region.dynamodb_url, PEER[name])
        self.start_witness()
        region.start_services(self.lambda_urls, self.regions[PEER[name]], self.witness_url)
        return copied

    def stop(self) -> None:
        if self.replicator is not None:
            self.replicator.stop()
        if self._witness is not None:
            self._witness.stop(grace=2.0)
            self._witness = None
        for region in self.regions.values():
            region.stop()
