"""``python -m local_stack`` (what ``make run`` starts): the whole of Switchboard on 127.0.0.1.

Starts a local DynamoDB (AWS DynamoDB Local, moto's server, or an endpoint you give), creates the
table, then the local Lambda service (Invoke API + stream pollers), the HTTP API, the event socket
(API Gateway's WebSocket protocol, ``socket_server``), the web pages
(``web/``, with the API under ``/api``), the media relay
(rtpengine; ``--no-media`` leaves calls' media unanchored) and one or more SIP edge tasks. Stays in the foreground and keeps every child running: one that dies is started again
(with backoff) and the console says so. Ctrl-C or SIGTERM stops every child and leaves nothing
listening.

DynamoDB Local keeps its data in ``.local/dynamodb`` by default, so merchants, seats and the admin key
survive both a crash of the database and the next ``make run``; ``--fresh`` starts empty,
``--in-memory`` keeps nothing. moto's server always keeps its data in memory.
"""

from __future__ import annotations

import argparse
import functools
import os
import secrets
import shutil
import signal
import sys
import time
import urllib.request
from pathlib import Path
from types import FrameType

from contact_center.contracts import settings as contract
from local_stack import dynamodb_local, media_relay
from local_stack.environment import Endpoints, LocalSettings, Site, environment
from local_stack.functions import REPO_ROOT
from local_stack.processes import Child, Supervised, Supervisor, port_or_free, tcp_open, wait_until

OPTIONS_PING = REPO_ROOT / "infra" / "local_stack" / "options_ping.xml"
PROMPTS = REPO_ROOT / "build" / "prompts"
# RTP ports of the local relay: below the test suite's port slices and the kernel's ephemeral range.
MEDIA_PORTS = (8000, 9999)
MAX_EDGES = 9


class Stopping(Exception):
    pass


def _raise_stopping(signum: int, frame: FrameType | None) -> None:
    raise Stopping(signal.Signals(signum).name)


def say(message: str) -> None:
    print(f"switchboard: {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dynamodb",
        choices=["dynamodb-local", "moto"],
        default="dynamodb-local",
        help="which local DynamoDB to start (default: AWS DynamoDB Local)",
    )
    parser.add_argument("--dynamodb-endpoint", help="use this DynamoDB endpoint instead of starting one")
    parser.add_argument("--table", default=os.environ.get(contract.TABLE.name, "switchboard"))
    parser.add_argument(
        "--edges",
        type=int,
        default=1,
        help=f"SIP edge tasks to run (1-{MAX_EDGES}); more than one listen on 127.0.0.11, .12, ...",
    )
    parser.add_argument(
        "--data",
        type=Path,
        default=REPO_ROOT / ".local",
        help="where kept data lives (default: .local/ in the repository)",
    )
    parser.add_argument(
        "--no-media",
        action="store_true",
        help="no media relay: SDP passes through, queued callers hear nothing",
    )
    keep = parser.add_mutually_exclusive_group()
    keep.add_argument("--in-memory", action="store_true", help="keep no data across restarts")
    keep.add_argument("--fresh", action="store_true", help="delete the kept data, then keep the new")
    args = parser.parse_args(argv)
    if not 1 <= args.edges <= MAX_EDGES:
        parser.error(f"--edges must be between 1 and {MAX_EDGES}")
    return args


def edge_hosts(count: int) -> list[str]:
    """One edge on 127.0.0.1; several on their own loopback addresses, as tasks have their own IPs."""
    return ["127.0.0.1"] if count == 1 else [f"127.0.0.{11 + index}" for index in range(count)]


def keeps_data(args: argparse.Namespace) -> bool:
    return args.dynamodb == "dynamodb-local" and not args.dynamodb_endpoint and not args.in_memory


def admin_key(args: argparse.Namespace) -> str:
    """The admin key: from the environment, else the kept one (it must match the kept data's
    users' expectations across runs), else a new one."""
    given = os.environ.get("SWITCHBOARD_ADMIN_KEY")
    if given:
        return given
    if not keeps_data(args):
        return "sb_admin_" + secrets.token_urlsafe(24)
    path = args.data / "admin-key"
    if path.exists():
        return str(path.read_text().strip())
    key = "sb_admin_" + secrets.token_urlsafe(24)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(key + "\n")
    return key


def dynamodb_child(args: argparse.Namespace, port: int, env: dict[str, str]) -> Child:
    if args.dynamodb == "moto":
        return Child(
            "dynamodb (moto)",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env,
            quiet=True,
        )
    jars = dynamodb_local.jar_dir()
    if jars is None:
        raise SystemExit(dynamodb_local.MISSING)
    data_dir = None
    if keeps_data(args):
        data_dir = (args.data / "dynamodb").resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
    command = dynamodb_local.command(port, data_dir=data_dir, quick_start=True)
    return Child("dynamodb (DynamoDB Local)", command, env, quiet=True, cwd=str(jars))


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    if args.fresh:
        shutil.rmtree(args.data / "dynamodb", ignore_errors=True)
        shutil.rmtree(args.data / "merchant-prompts", ignore_errors=True)  # the table's prompts went
        (args.data / "admin-key").unlink(missing_ok=True)
    sip_port = port_or_free(os.environ.get("SIP_PORT"), 5060)
    api_port = port_or_free(os.environ.get("API_PORT"), 8000)
    web_port = port_or_free(os.environ.get("WEB_PORT"), 8080)
    ws_port = port_or_free(os.environ.get("WS_PORT"), 8081)
    ws_management_port = port_or_free(os.environ.get("WS_MANAGEMENT_PORT"), 0)
    lambda_port = port_or_free(os.environ.get("LAMBDA_PORT"), 0)
    db_port = port_or_free(os.environ.get("DYNAMODB_PORT"), 0)
    hosts = edge_hosts(args.edges)
    relay, agent_port = None, 0
    if not args.no_media:
        if media_relay.installed():
            ng_port = port_or_free(os.environ.get("MEDIA_NG_PORT"), 0)
            relay = media_relay.RelayPorts("127.0.0.1", ng_port, *MEDIA_PORTS)
            agent_port = port_or_free(os.environ.get("MEDIA_AGENT_PORT"), 0)
        else:
            say("rtpengine is not installed (make setup installs it): calls' media is not anchored")
    endpoint = args.dynamodb_endpoint or f"http://127.0.0.1:{db_port}"
    # Recorded calls: rtpengine's spool (pcaps and metadata), and the WAV files per merchant.
    recordings, spool = args.data / "recordings", args.data / "recording-spool"
    spool.mkdir(parents=True, exist_ok=True)
    region = os.environ.get("AWS_REGION", "us-east-1")
    settings = LocalSettings(
        table=args.table,
        sip_domain=os.environ.get("SIP_DOMAIN", "127.0.0.1"),
        admin_key=admin_key(args),
        # Shared by every edge task, so any of them verifies a nonce another issued.
        nonce_key=os.environ.get("SIP_NONCE_KEY") or secrets.token_urlsafe(32),
        registrar=f"{hosts[0]}:{sip_port}",
        routing_function=os.environ.get("ROUTING_FUNCTION_NAME", "routing"),
        region=region,
        media_relays=relay.ng if relay else "",
        media_prompts=str(PROMPTS) if relay else "",
        media_agents=f"{relay.host}:{agent_port}" if relay else "",
        events_socket_endpoint=f"http://127.0.0.1:{ws_management_port}",
        recordings_dir=str(recordings.resolve()),
        recordings_link_base=f"http://127.0.0.1:{web_port}/recordings",
        prompts_directory=str((args.data / "merchant-prompts").resolve()),
    )
    site = Site(settings, Endpoints(dynamodb=endpoint, lambda_=f"http://127.0.0.1:{lambda_port}"), region)
    supervisor = Supervisor(say)
    try:
        if not args.dynamodb_endpoint:
            db = dynamodb_child(args, db_port, environment("dynamodb", site))
            supervisor.add(
                Supervised(
                    db,
                    ready=lambda: tcp_open(db_port),
                    after_restart=lambda: create_table(endpoint, site),
                    # The stream pollers hold shard iterators of the database that died.
                    dependents=("lambda",),
                )
            )
            supervisor.start(db.name)
            wait_until(lambda: tcp_open(db_port), "DynamoDB", db)
        create_table(endpoint, site)

        python = sys.executable
        lambdas = Child(
            "lambda",
            [python, "-m", "local_stack.lambda_endpoint", "--port", str(lambda_port)],
            environment("lambda", site),
        )
        api = Child(
            "api", [python, "-m", "local_stack.api_server", "--port", str(api_port)], environment("api", site)
        )
        web = Child(
            "web",
            [
                python, "-m", "local_stack.web_server",
                "--port", str(web_port), "--api", f"http://127.0.0.1:{api_port}",
                "--ws", f"ws://127.0.0.1:{ws_port}",
            ],
            environment("api", site),
        )  # fmt: skip
        socket = Child(
            "event socket",
            [
                python, "-m", "local_stack.socket_server",
                "--port", str(ws_port), "--management-port", str(ws_management_port),
            ],
            environment("dynamodb", site),
        )  # fmt: skip
        supervisor.add(Supervised(lambdas, ready=lambda: http_ok(f"http://127.0.0.1:{lambda_port}/")))
        supervisor.add(Supervised(api, ready=lambda: http_ok(f"http://127.0.0.1:{api_port}/health")))
        supervisor.add(Supervised(web, ready=lambda: http_ok(f"http://127.0.0.1:{web_port}/config.json")))
        supervisor.add(Supervised(socket, ready=functools.partial(tcp_open, ws_port)))
        relay_child = collector = relay_agent = None
        # rtpengine 10.5 reports key presses to one address only: the first edge task's. Calls set up
        # on the other tasks hear keys sent as SIP INFO only (docs/media.md).
        dtmf = (hosts[0], port_or_free(os.environ.get("MEDIA_DTMF_PORT"), 0))
        if relay is not None:
            ports = relay
            relay_child = Child(
                "media relay",
                media_relay.rtpengine_argv(ports, dtmf, recording_dir=spool.resolve()),
                environment("dynamodb", site),
            )
            supervisor.add(
                Supervised(relay_child, ready=lambda: media_relay.ng_answers(ports.host, ports.ng_port))
            )
            collector = Child(
                "recordings",
                [python, "-m", "sip_edge.app.media.recorder", "--spool", str(spool.resolve())],
                environment("dynamodb", site, {contract.RECORDINGS_DIR.name: str(recordings.resolve())}),
            )
            supervisor.add(Supervised(collector, ready=lambda: True))
            relay_agent = Child(
                "relay agent",
                media_relay.agent_argv(
                    PROMPTS.resolve(), ports.host, agent_port, (args.data / "merchant-prompts").resolve()
                ),
                environment("dynamodb", site),
            )
            supervisor.add(
                Supervised(
                    relay_agent,
                    ready=lambda: media_relay.ng_answers(ports.host, agent_port, as_json=True),
                )
            )
        edges = []
        for index, host in enumerate(hosts, start=1):
            task_id = f"local-edge-{index}"
            keys = ["--media-dtmf", f"{dtmf[0]}:{dtmf[1]}"] if relay is not None and index == 1 else []
            edge = Child(
                "sip edge" if len(hosts) == 1 else f"sip edge {index}",
                [
                    python,
                    "-m",
                    "sip_edge",
                    "--host",
                    host,
                    "--port",
                    str(sip_port),
                    "--task-id",
                    task_id,
                    *keys,
                ],
                environment("edge", site),
            )
            supervisor.add(Supervised(edge, ready=functools.partial(tcp_open, sip_port, host)))
            edges.append((edge, host))
        for child in (
            lambdas,
            api,
            web,
            socket,
            *([relay_child] if relay_child else []),
            *([collector] if collector else []),
            *([relay_agent] if relay_agent else []),
            *(edge for edge, _ in edges),
        ):
            supervisor.start(child.name)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{lambda_port}/"), "the Lambda API", lambdas)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{api_port}/health"), "the HTTP API", api)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{web_port}/config.json"), "the web pages", web)
        wait_until(functools.partial(tcp_open, ws_port), "the event socket", socket)
        for edge, host in edges:
            wait_until(functools.partial(tcp_open, sip_port, host), f"the SIP edge on {host}", edge)
        if relay is not None and relay_child is not None:
            ports = relay
            wait_until(
                lambda: media_relay.ng_answers(ports.host, ports.ng_port), "the media relay", relay_child
            )
        print_banner(
            api_port,
            web_port,
            ws_port,
            [f"{host}:{sip_port}" for host in hosts],
            lambda_port,
            relay,
            endpoint,
            settings,
            args.data / "dynamodb" if keeps_data(args) else None,
            time.monotonic() - started,
        )
        while True:
            supervisor.poll()
            time.sleep(0.5)
    except Stopping as stop:
        print(f"\nswitchboard: {stop} received, stopping", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as failure:
        say(f"could not start: {failure}")
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        supervisor.stop_all()
        say("stopped")


def create_table(endpoint: str, site: Site) -> None:
    os.environ.update({k: v for k, v in environment("api", site).items() if k.startswith("AWS_")})
    from contact_center.data import table

    name = site.settings.settings("api")["SWITCHBOARD_TABLE"]
    table.bind(table_name=name, host=endpoint)
    table.create_table(name)


def print_banner(
    api_port: int,
    web_port: int,
    ws_port: int,
    edges: list[str],
    lambda_port: int,
    relay: media_relay.RelayPorts | None,
    dynamodb: str,
    settings: LocalSettings,
    kept_in: Path | None,
    took: float,
) -> None:
    registrar = edges[0]
    edge_lines = "\n".join(
        f"  {'SIP edge' if len(edges) == 1 else f'SIP edge {index}':<15}sip:{edge}           (UDP and TCP)"
        for index, edge in enumerate(edges, start=1)
    )
    storage = f"data kept in {kept_in}; --fresh empties it" if kept_in else "in memory"
    media = (
        f"rtpengine, ng {relay.ng}, RTP {relay.media_min}-{relay.media_max}; recordings in "
        f"{settings.recordings_dir}"
        if relay
        else "none: SDP passes through, nothing is recorded"
    )
    ping = OPTIONS_PING.relative_to(REPO_ROOT)
    print(
        f"""
Switchboard is up on 127.0.0.1 (started in {took:.1f} s). Ctrl-C stops everything.

  HTTP API       http://127.0.0.1:{api_port}        (GET /health, GET /openapi.json)
  Web pages      http://127.0.0.1:{web_port}/       (the API under /api, as CloudFront serves it)
  Event socket   ws://127.0.0.1:{ws_port}/?token=…  (API Gateway's WebSocket protocol; the agent desk's events)
{edge_lines}
  Lambda API     http://127.0.0.1:{lambda_port}     (AWS_ENDPOINT_URL_LAMBDA for boto3)
  Media relay    {media}
  DynamoDB       {dynamodb}  ({storage})
  Admin key      {settings.admin_key}

Try it:
  curl -s -X POST http://127.0.0.1:{api_port}/merchants -H 'Authorization: Bearer {settings.admin_key}' \\
       -H 'Content-Type: application/json' -d '{{"name": "Acme", "seat_licenses": 5, "contact_email": "ops@acme.test"}}'
  Then create a seat with the merchant's api_key (POST /merchants/<id>/seats) and point any softphone at
  registrar {registrar}, domain {settings.sip_domain}, with the seat's SIP username and password.
  sipp {registrar} -sf {ping} -m 1    # a SIP OPTIONS ping
""",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_stopping)
    signal.signal(signal.SIGINT, _raise_stopping)
    sys.exit(run(args))


if __name__ == "__main__":
    main()
