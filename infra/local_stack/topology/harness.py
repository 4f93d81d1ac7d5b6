"""The processes of the topology: AWS stand-ins, edge tasks behind the balancer, phones and carriers.

`Harness` builds the network (`network.build`), starts DynamoDB Local, a local Secrets Manager
(moto's server, which also stands in for CloudWatch), the local Lambda service and the HTTP API in the
``aws`` namespace, one ``python -m sip_edge`` per task namespace on the task's own address (which it
also advertises, as an awsvpc task's private IP), and the balancer in front of them (SIP on 5060 UDP
and TCP, and TLS passthrough on the template's TLS port). Every process's environment comes from
`local_stack.environment.environment`, fed by one `SettingsSource`: by default the synthesized
region template (`local_stack.deployed_settings`), deployed here as CloudFormation and an operator
would: its secrets created from their specs, then the admin key's hash and a self-signed
certificate for the SIP domain put in them. A `LocalSettings` may be given instead.

When the edge's settings name a relay registry (the template's do), a media relay instance boots in
the ``media`` namespace as the media fleet's user data boots one (`relay_instance`): its metadata
service, ``agent.py configure`` writing rtpengine's configuration, rtpengine, and ``agent.py run``
beating the relay's item into the table, where the edge tasks find it.

Used as a context manager, it always tears everything down: processes (by PID), then namespaces
(their interfaces, iptables rules and conntrack entries go with them).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from contact_center.contracts import settings as contract
from contact_center.contracts.values import EDGE_HEALTH_PATH
from local_stack import dynamodb_local
from local_stack.deployed_settings import LocalSecretsManager, TemplateSettings, region_template
from local_stack.environment import Endpoints, LocalSettings, SettingsSource, Site, environment
from local_stack.processes import Child, tcp_open
from local_stack.template_settings import Template
from local_stack.topology import netns
from local_stack.topology.balancer import Balancer, Listener
from local_stack.topology.certificates import self_signed
from local_stack.topology.network import (
    AWS,
    CARRIER,
    HEALTH_PORT,
    PHONES,
    SIP_PORT,
    VIP,
    Layout,
    build,
    teardown,
)
from local_stack.topology.relay_instance import relay_instance
from local_stack.topology.runs import CarrierRun, PhoneProcess, SippResult

__all__ = ["CarrierRun", "Harness", "PhoneProcess", "SippResult", "topology"]

log = logging.getLogger("topology")

DOMAIN = "sip.switchboard.test"
TABLE = "switchboard"
DYNAMODB_PORT = 8000
LAMBDA_PORT = 9001
API_PORT = 8081
SECRETS_PORT = 4566
SIPP = shutil.which("sipp") or "sipp"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"


def default_settings() -> LocalSettings:
    return LocalSettings(
        table=TABLE,
        sip_domain=DOMAIN,
        admin_key="sb_admin_" + secrets.token_urlsafe(18),
        nonce_key=secrets.token_urlsafe(32),
        registrar=f"{VIP}:{SIP_PORT}",
    )


# Where the AWS services listen, in the aws namespace (moto's server is Secrets Manager and CloudWatch).
ENDPOINTS = Endpoints(
    dynamodb=f"http://{AWS}:{DYNAMODB_PORT}",
    lambda_=f"http://{AWS}:{LAMBDA_PORT}",
    secretsmanager=f"http://{AWS}:{SECRETS_PORT}",
    cloudwatch=f"http://{AWS}:{SECRETS_PORT}",
)


class _BeforeDeploy:
    """The settings of the processes started before the template is deployed (they read none)."""

    def settings(self, component: str) -> dict[str, str]:
        if component != "dynamodb":
            raise RuntimeError(f"{component} started before the template was deployed")
        return {}


@dataclass
class Harness:
    layout: Layout
    workdir: Path
    # None: every process's settings from the synthesized region template (the deployed shape).
    settings: SettingsSource | None = None
    children: dict[str, Child] = field(default_factory=dict)
    balancer: Balancer | None = None
    # The platform admin key: its hash is what the template's secret holds.
    _admin_key: str = field(default_factory=lambda: "sb_admin_" + secrets.token_urlsafe(18))
    # Set once this harness may have created namespaces: only then does `stop` remove them (never
    # those of another harness that happens to use the same prefix).
    _owns_network: bool = False

    @property
    def site(self) -> Site:
        return Site(self.settings or _BeforeDeploy(), ENDPOINTS)

    @property
    def admin_key(self) -> str:
        if isinstance(self.settings, LocalSettings):
            return self.settings.admin_key
        return self._admin_key

    @property
    def tls_port(self) -> int | None:
        """The port the template has the edge serve TLS on (None: no TLS)."""
        port = self.site.settings.settings("edge").get(contract.SIP_TLS_PORT.name)
        return int(port) if port else None

    @property
    def ca_file(self) -> Path:
        """The certificate phones trust for the SIP domain (self-signed, put in the TLS secret)."""
        return self.workdir / "sip-ca.pem"

    @property
    def api_url(self) -> str:
        return f"http://{AWS}:{API_PORT}"

    def edge_address(self, index: int) -> str:
        return self.layout.task_address(index)

    # --- lifecycle --------------------------------------------------------------------------------

    def __enter__(self) -> Harness:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self, timeout: float = 90.0) -> None:
        started = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        taken = [name for name in self.layout.namespaces() if netns.exists(name)]
        if taken:
            raise RuntimeError(
                f"namespaces {', '.join(taken)} exist: another harness runs with prefix "
                f"{self.layout.prefix!r}, or a killed one left them (python -m local_stack.topology down "
                f"--prefix {self.layout.prefix})"
            )
        self._owns_network = True
        build(self.layout)
        aws = self.layout.aws
        jars = dynamodb_local.jar_dir()
        if jars is None:
            raise RuntimeError(dynamodb_local.MISSING)
        self._start(
            "dynamodb",
            aws,
            dynamodb_local.command(DYNAMODB_PORT, quick_start=True),
            environment("dynamodb", self.site),
            cwd=str(jars),
        )
        python = sys.executable
        if self.settings is None:
            self._start(
                "secretsmanager",
                aws,
                [python, "-m", "moto.server", "-H", AWS, "-p", str(SECRETS_PORT)],
                environment("dynamodb", self.site),
            )
            template = region_template(DOMAIN)  # synthesized once per process
            self._wait(
                lambda: netns.call_in(aws, lambda: tcp_open(SECRETS_PORT, AWS)), "Secrets Manager", timeout
            )
            operator = environment("dynamodb", self.site)
            self.settings = netns.call_in(
                aws, lambda: deploy(template, operator, self._admin_key, self.ca_file)
            )
        self._wait(lambda: netns.call_in(aws, lambda: tcp_open(DYNAMODB_PORT, AWS)), "DynamoDB", timeout)
        netns.call_in(aws, lambda: create_table(environment("api", self.site)))
        relay = relay_instance(self.site.settings.settings("edge"), self.layout.media, self.workdir)
        if relay is not None:  # the edges read a relay registry: without a relay, calls go unanchored
            relay.boot(self._start, self._wait, environment("dynamodb", self.site), ENDPOINTS.cloudwatch)
        self._start(
            "lambda",
            aws,
            [python, "-m", "local_stack.lambda_endpoint", "--host", AWS, "--port", str(LAMBDA_PORT)],
            environment("lambda", self.site),
        )
        self._start(
            "api",
            aws,
            [python, "-m", "local_stack.api_server", "--host", AWS, "--port", str(API_PORT)],
            environment("api", self.site),
        )
        if relay is not None:
            # Before the edges: their first read of the registry finds the relay.
            table = _client("dynamodb", environment("api", self.site), "AWS_ENDPOINT_URL_DYNAMODB")
            self._wait(
                lambda: netns.call_in(aws, lambda: relay.registered(table)),
                "the media relay's first beat",
                timeout,
            )
        for index in self.layout.tasks:
            self.start_edge(index)
        listeners = [Listener("udp", SIP_PORT), Listener("tcp", SIP_PORT)]
        if self.tls_port is not None:
            listeners.append(Listener("tcp", self.tls_port))  # passthrough: the edge ends TLS
        self.balancer = Balancer(
            self.layout.region,
            VIP,
            listeners,
            [self.edge_address(index) for index in self.layout.tasks],
            HEALTH_PORT,
            health_path=EDGE_HEALTH_PATH,  # the edge's deep check, as the NLB's target groups use it
        )
        self.balancer.install()
        self.balancer.start()
        self._wait(lambda: self.http("GET", "/health")[0] == 200, "the HTTP API", timeout)
        self._wait(
            lambda: netns.call_in(aws, lambda: tcp_open(LAMBDA_PORT, AWS)), "the Lambda service", timeout
        )
        if not self.balancer.wait_healthy(len(self.layout.tasks), timeout):
            raise TimeoutError(f"edge tasks not healthy: {self.balancer.healthy}\n{self.logs()}")
        log.info("topology up in %.1f s", time.monotonic() - started)

    def start_edge(self, index: int) -> Child:
        # The task's own address and id are what ECS gives each task; all else is the settings'.
        argv = [
            sys.executable,
            "-m",
            "sip_edge",
            "--host",
            self.edge_address(index),
            "--task-id",
            f"task-{index}",
            # Under the home NAT's UDP timeout, as a deployment sets it under its phones' NATs.
            "--nat-keepalive",
            str(self.layout.keepalive_seconds),
        ]
        if isinstance(self.settings, LocalSettings):
            argv += ["--port", str(SIP_PORT), "--health-port", str(HEALTH_PORT)]
        return self._start(f"edge{index}", self.layout.task(index), argv, environment("edge", self.site))

    def kill_edge(self, index: int) -> None:
        """SIGKILL, as a task lost with its host: no goodbye, no flush."""
        child = self.children[f"edge{index}"]
        assert child.proc is not None
        child.proc.send_signal(signal.SIGKILL)
        child.proc.wait(10)

    def restart_edge(self, index: int, timeout: float = 30.0) -> None:
        """Start task ``index`` again and wait until the balancer has it back in the rotation."""
        self.start_edge(index)
        assert self.balancer is not None
        if not self.balancer.wait_healthy(len(self.layout.tasks), timeout):
            raise TimeoutError(f"task {index} did not come back:\n{self.logs()}")

    def stop(self) -> None:
        try:
            if self.balancer is not None:
                self.balancer.stop()
            for child in reversed(list(self.children.values())):
                child.stop()
        finally:
            if self._owns_network:
                teardown(self.layout)

    def _start(
        self, name: str, namespace: str, argv: Sequence[str], env: dict[str, str], cwd: str | None = None
    ) -> Child:
        child = Child(
            name, netns.inside(namespace, argv), env, cwd=cwd, log_path=self.workdir / f"{name}.log"
        )
        self.children[name] = child
        child.start()
        return child

    def _wait(self, ready: Callable[[], bool], what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ready():
            for child in self.children.values():
                if child.exited() is not None and child.name.startswith(
                    ("dynamodb", "secretsmanager", "lambda", "api", "relay")
                ):
                    raise RuntimeError(f"{child.name} exited before {what} was ready:\n{self.logs()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} was not ready after {timeout:.0f} s:\n{self.logs()}")
            time.sleep(0.2)

    def logs(self, tail: int = 1500) -> str:
        parts = []
        for child in self.children.values():
            if child.log_path is not None and child.log_path.exists():
                text = child.log_path.read_text(errors="replace")[-tail:]
                parts.append(f"--- {child.name} ---\n{text}")
        return "\n".join(parts)

    # --- clients ----------------------------------------------------------------------------------

    def http(self, method: str, path: str, body: Any = None, key: str | None = None) -> tuple[int, Any]:
        """A call to the HTTP API (from the aws namespace, where it listens)."""
        url, bearer = self.api_url + path, key or self.admin_key
        return netns.call_in(self.layout.aws, lambda: api_request(method, url, body, bearer))

    def phone(
        self,
        name: str,
        seats: Sequence[tuple[str, str]],
        *,
        transport: str = "udp",
        port: int = 5070,
        expires: int = 300,
        refresh: float = 0.0,
        rtp_port: int = 40000,
    ) -> PhoneProcess:
        registrar = f"{VIP}:{self.tls_port if transport == 'tls' else SIP_PORT}"
        argv = [
            sys.executable, "-m", "local_stack.topology.phone", "--transport", transport,
            "--bind", f"{PHONES}:{port}", "--registrar", registrar, "--domain", DOMAIN,
            "--expires", str(expires), "--refresh", str(refresh), "--rtp-port", str(rtp_port), *(arg for user, password in seats for arg in ("--seat", f"{user}:{password}")),
            *(["--ca", str(self.ca_file)] if transport == "tls" else []),
        ]  # fmt: skip
        child = self._start(name, self.layout.phones, argv, environment("dynamodb", self.site))
        return PhoneProcess(child)

    def carrier(
        self,
        number: str,
        calls: int,
        *,
        transport: str = "udp",
        rate: int = 10,
        limit: int = 4,
        talk_ms: int = 200,
        timeout: float = 120.0,
        name: str = "carrier",
        trace: bool = False,
    ) -> SippResult:
        """``calls`` carrier calls to ``number`` through the VIP, each from a new source port (a new
        flow, so the balancer spreads them over the tasks), each talking ``talk_ms``; sipp's own
        statistics say how they went, and with ``trace`` every message is in
        ``<workdir>/<name>_messages.log``."""
        run = self.start_carrier(
            number, calls, transport=transport, rate=rate, limit=limit, talk_ms=talk_ms, timeout=timeout,
            name=name, trace=trace,
        )  # fmt: skip
        return run.wait(timeout + 30)

    def start_carrier(
        self,
        number: str,
        calls: int,
        *,
        transport: str = "udp",
        rate: int = 10,
        limit: int = 4,
        talk_ms: int = 200,
        timeout: float = 120.0,
        name: str = "carrier",
        trace: bool = False,
        port: int | None = None,
        rtp_port: int | None = None,
    ) -> CarrierRun:
        """`carrier`, without waiting for the calls to end. With ``port`` (UDP), every call leaves
        from that one port: one flow, whose task `Balancer.target_of` tells. With ``rtp_port``, one
        call offering RTP there; `CarrierRun.answered_media` says where to send it."""
        stats = self.workdir / f"{name}_stats.csv"
        errors = self.workdir / f"{name}_errors.log"
        messages = self.workdir / f"{name}_messages.log" if trace else None
        answer = self.workdir / f"{name}_answer.txt" if rtp_port is not None else None
        media = {"rtp_port": str(rtp_port), "answer_file": str(answer)} if answer is not None else None
        argv = carrier_argv(
            number, calls, transport, rate, limit, talk_ms, timeout, stats, errors, messages, port, media
        )
        proc = subprocess.Popen(
            netns.inside(self.layout.carrier, argv),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=self.workdir,
        )
        return CarrierRun(proc, stats, errors, time.monotonic(), answer)


def carrier_argv(
    number: str, calls: int, transport: str, rate: int, limit: int, talk_ms: int, timeout: float,
    stats: Path, errors: Path, messages: Path | None, port: int | None, media: dict[str, str] | None = None,
) -> list[str]:  # fmt: skip
    """sipp as the carrier: ``calls`` calls to ``number`` through the VIP, statistics in ``stats``;
    with ``media``, the scenario with RTP (its ``-key`` values)."""
    scenario = "carrier_media_call.xml" if media else "carrier_call.xml"
    return [
        SIPP, f"{VIP}:{SIP_PORT}", "-sf", str(SCENARIOS / scenario), "-s", number,
        "-t", ("u1" if port else "un") if transport == "udp" else "tn", *(["-p", str(port)] if port else []), "-m", str(calls), "-r", str(rate), "-l", str(limit),
        "-d", str(talk_ms), "-i", CARRIER, "-timeout", f"{int(timeout)}s", "-timeout_error",
        "-recv_timeout", "15000", "-trace_err", "-error_file", str(errors),
        "-trace_stat", "-stf", str(stats), "-fd", "1", "-buff_size", "4194304", "-max_socket", "1000",
        "-nostdin", "-nd",
        *(["-trace_msg", "-message_file", str(messages)] if messages else []),
        *(arg for key, value in (media or {}).items() for arg in ("-key", key, value)),
    ]  # fmt: skip


def api_request(method: str, url: str, body: Any, key: str) -> tuple[int, Any]:
    """(status, decoded JSON body) of one API call; (0, None) when the API does not answer."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {key}"}
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, json.loads(raw) if raw else None
    except OSError:
        return 0, None


def _client(service: str, env: dict[str, str], endpoint: str) -> Any:
    import boto3

    return boto3.client(
        service,
        region_name=env["AWS_REGION"],
        endpoint_url=env[endpoint],
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    )


def deploy(template: Template, env: dict[str, str], admin_key: str, ca_file: Path) -> TemplateSettings:
    """What `cdk deploy` and the operator do (README, Deploy): the template's secrets created from
    their specs, then the admin key's hash and a certificate for the SIP domain put (run in ``aws``)."""
    manager = LocalSecretsManager(_client("secretsmanager", env, "AWS_ENDPOINT_URL_SECRETS_MANAGER"))
    manager.deploy(template)
    settings = TemplateSettings(template, manager)
    operator = {contract.ADMIN_KEY_SHA256_SECRET_ARN: hashlib.sha256(admin_key.encode()).hexdigest()}
    if contract.SIP_TLS_CERT_PEM.name in settings.container().secrets:
        certificate, key = self_signed(DOMAIN)
        ca_file.write_text(certificate)
        operator |= {contract.SIP_TLS_CERT_PEM: certificate, contract.SIP_TLS_KEY_PEM: key}
    settings.put(operator)
    for component in ("lambda", "api", "edge"):
        settings.settings(component)  # read here, where the local Secrets Manager is reachable
    return settings


def create_table(env: dict[str, str]) -> None:
    from contact_center.data import table

    table.create_table(env["SWITCHBOARD_TABLE"], client=_client("dynamodb", env, "AWS_ENDPOINT_URL_DYNAMODB"))


@contextmanager
def topology(workdir: Path, edges: int = 3, prefix: str = "") -> Iterator[Harness]:
    with Harness(Layout(edges=edges, prefix=prefix), workdir) as harness:
        yield harness
