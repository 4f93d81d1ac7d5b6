"""Local DynamoDB engines for tests: moto in-process, AWS DynamoDB Local as a Java process."""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import boto3

from contact_center.data import table
from local_stack import dynamodb_local as local_engine
from tests.support.ports import free_port


@contextmanager
def dynamodb_local() -> Iterator[str]:
    """AWS DynamoDB Local, in memory, on a free loopback port; yields its endpoint URL."""
    jar_dir = local_engine.jar_dir()
    if jar_dir is None:
        raise RuntimeError(local_engine.MISSING)
    port = free_port()
    proc = subprocess.Popen(
        local_engine.command(port, heap_mb=256),
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
