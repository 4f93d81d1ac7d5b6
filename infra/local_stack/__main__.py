"""``python -m local_stack`` (what ``make run`` starts): the whole of Switchboard on 127.0.0.1.

Starts a local DynamoDB (moto's server, AWS DynamoDB Local, or an endpoint you give), creates the
table, then the local Lambda service (Invoke API + stream pollers), the HTTP API and the SIP edge.
Stays in the foreground; Ctrl-C or SIGTERM stops every child and leaves nothing listening.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import sys
import time
import urllib.request
from types import FrameType

from contact_center.contracts import settings as contract
from local_stack import dynamodb_local
from local_stack.processes import Child, port_or_free, tcp_open, wait_until


class Stopping(Exception):
    pass


def _raise_stopping(signum: int, frame: FrameType | None) -> None:
    raise Stopping(signal.Signals(signum).name)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="make run", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--dynamodb",
        choices=["moto", "dynamodb-local"],
        default="moto",
        help="which local DynamoDB to start (default: moto's server)",
    )
    parser.add_argument("--dynamodb-endpoint", help="use this DynamoDB endpoint instead of starting one")
    parser.add_argument("--table", default=os.environ.get(contract.TABLE.name, "switchboard"))
    return parser.parse_args(argv)


def dynamodb_child(kind: str, port: int, env: dict[str, str]) -> Child:
    if kind == "moto":
        return Child(
            "dynamodb (moto)",
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            env,
            quiet=True,
        )
    jars = dynamodb_local.jar_dir()
    if jars is None:
        raise SystemExit(dynamodb_local.MISSING)
    return Child("dynamodb (DynamoDB Local)", dynamodb_local.command(port), env, quiet=True, cwd=str(jars))


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    sip_port = port_or_free(os.environ.get("SIP_PORT"), 5060)
    api_port = port_or_free(os.environ.get("API_PORT"), 8000)
    lambda_port = port_or_free(os.environ.get("LAMBDA_PORT"), 0)
    admin_key = os.environ.get(contract.ADMIN_KEY.name) or "sb_admin_" + secrets.token_urlsafe(24)
    sip_domain = os.environ.get(contract.SIP_DOMAIN.name, "127.0.0.1")

    env = dict(os.environ)
    env.update(
        {
            "AWS_ACCESS_KEY_ID": env.get("AWS_ACCESS_KEY_ID", "local"),
            "AWS_SECRET_ACCESS_KEY": env.get("AWS_SECRET_ACCESS_KEY", "local"),
            "AWS_REGION": env.get("AWS_REGION", "us-east-1"),
            "AWS_DEFAULT_REGION": env.get("AWS_REGION", "us-east-1"),
            # Every runtime setting by its contract name (contact_center.contracts.settings).
            contract.TABLE.name: args.table,
            contract.ADMIN_KEY.name: admin_key,
            contract.SIP_DOMAIN.name: sip_domain,
            # Shared by every edge started with this environment, so any of them verifies any nonce.
            contract.SIP_NONCE_KEY.name: env.get(contract.SIP_NONCE_KEY.name) or secrets.token_urlsafe(32),
            contract.SIP_REGISTRAR.name: f"127.0.0.1:{sip_port}",
            contract.SIP_HOST.name: "127.0.0.1",
            contract.SIP_PORT.name: str(sip_port),
            "API_PORT": str(api_port),
            contract.ROUTING_FUNCTION_NAME.name: env.get(contract.ROUTING_FUNCTION_NAME.name, "routing"),
            "AWS_ENDPOINT_URL_LAMBDA": f"http://127.0.0.1:{lambda_port}",
            "PYTHONUNBUFFERED": "1",
        }
    )
    children: list[Child] = []
    try:
        if args.dynamodb_endpoint:
            endpoint = args.dynamodb_endpoint
        else:
            db_port = port_or_free(os.environ.get("DYNAMODB_PORT"), 0)
            endpoint = f"http://127.0.0.1:{db_port}"
            db = dynamodb_child(args.dynamodb, db_port, env)
            children.append(db)
            db.start()
            wait_until(lambda: tcp_open(db_port), "DynamoDB", db)
        env["AWS_ENDPOINT_URL_DYNAMODB"] = endpoint
        env["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] = endpoint
        create_table(endpoint, args.table, env)

        lambdas = Child(
            "lambda", [sys.executable, "-m", "local_stack.lambda_endpoint", "--port", str(lambda_port)], env
        )
        api = Child("api", [sys.executable, "-m", "local_stack.api_server", "--port", str(api_port)], env)
        edge = Child(
            "sip edge",
            [
                sys.executable,
                "-m",
                "sip_edge",
                "--host",
                "127.0.0.1",
                "--port",
                str(sip_port),
                "--task-id",
                "local-edge-1",
            ],
            env,
        )
        for child in (lambdas, api, edge):
            children.append(child)
            child.start()
        wait_until(lambda: http_ok(f"http://127.0.0.1:{lambda_port}/"), "the Lambda API", lambdas)
        wait_until(lambda: http_ok(f"http://127.0.0.1:{api_port}/health"), "the HTTP API", api)
        wait_until(lambda: tcp_open(sip_port), "the SIP edge", edge)
        print_banner(
            api_port, sip_port, lambda_port, endpoint, admin_key, sip_domain, time.monotonic() - started
        )
        while True:
            for child in children:
                code = child.exited()
                if code is not None:
                    print(
                        f"switchboard: {child.name} exited with code {code}; stopping the stack", flush=True
                    )
                    return 1
            time.sleep(0.5)
    except Stopping as stop:
        print(f"\nswitchboard: {stop} received, stopping", flush=True)
        return 0
    except (RuntimeError, TimeoutError) as failure:
        print(f"switchboard: could not start: {failure}", flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for child in reversed(children):
            child.stop()
        print("switchboard: stopped", flush=True)


def create_table(endpoint: str, table_name: str, env: dict[str, str]) -> None:
    os.environ.update({k: v for k, v in env.items() if k.startswith("AWS_")})
    from contact_center.data import table

    table.bind(table_name=table_name, host=endpoint)
    table.create_table(table_name)


def print_banner(
    api_port: int, sip_port: int, lambda_port: int, dynamodb: str, admin_key: str, domain: str, took: float
) -> None:
    print(
        f"""
Switchboard is up on 127.0.0.1 (started in {took:.1f} s). Ctrl-C stops everything.

  HTTP API       http://127.0.0.1:{api_port}        (GET /health, GET /openapi.json)
  SIP edge       sip:127.0.0.1:{sip_port}           (UDP and TCP)
  Lambda API     http://127.0.0.1:{lambda_port}     (AWS_ENDPOINT_URL_LAMBDA for boto3)
  DynamoDB       {dynamodb}
  Admin key      {admin_key}

Try it:
  curl -s -X POST http://127.0.0.1:{api_port}/merchants -H 'Authorization: Bearer {admin_key}' \\
       -H 'Content-Type: application/json' -d '{{"name": "Acme", "seat_licenses": 5, "contact_email": "ops@acme.test"}}'
  Then create a seat with the merchant's api_key (POST /merchants/<id>/seats) and point any softphone at
  registrar 127.0.0.1:{sip_port}, domain {domain}, with the seat's SIP username and password.
  sipp -sn uac 127.0.0.1:{sip_port} -m 1    # or any SIP OPTIONS ping
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
