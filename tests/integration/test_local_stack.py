"""The one-command local stack: everything comes up on loopback, and SIGTERM leaves nothing behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import boto3

from tests.support.ports import free_port
from tests.support.stack import RunningStack, http_json, running_stack


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (read from /proc, so no extra dependency)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def options(call_id: str, port: int, transport: str) -> bytes:
    return (
        f"OPTIONS sip:127.0.0.1:{port} SIP/2.0\r\n"
        f"Via: SIP/2.0/{transport} 127.0.0.1:5999;rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
        "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:127.0.0.1>\r\n"
        f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    ).encode()


def sip_over_udp(stack: RunningStack) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(options("udp-probe", stack.sip_port, "UDP"), ("127.0.0.1", stack.sip_port))
        return s.recv(65535)


def sip_over_tcp(stack: RunningStack) -> bytes:
    with socket.create_connection(("127.0.0.1", stack.sip_port), timeout=5) as s:
        s.sendall(options("tcp-probe", stack.sip_port, "TCP"))
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65535)
            if not chunk:
                break
            data += chunk
        return data


def port_is_free(port: int, kind: int) -> bool:
    """Nothing listens on it (SO_REUSEADDR: closed connections lingering in TIME_WAIT do not count)."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_local_stack_serves_everything_and_stops_cleanly(tmp_path: Path) -> None:
    with running_stack(tmp_path) as stack:
        # Given the stack is up, the HTTP API answers its health check,
        status, body = http_json("GET", f"{stack.api_url}/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        # the SIP edge answers OPTIONS over UDP and TCP,
        assert sip_over_udp(stack).startswith(b"SIP/2.0 200")
        assert sip_over_tcp(stack).startswith(b"SIP/2.0 200")
        # the table exists in the local DynamoDB, and the admin key was printed for the newcomer.
        ddb = boto3.client("dynamodb", endpoint_url=stack.dynamodb_endpoint, region_name="us-east-1")
        assert "switchboard" in ddb.list_tables()["TableNames"]
        assert stack.admin_key in stack.log()
        # The Lambda API lists the functions it serves through the SDK's endpoint.
        status, body = http_json("GET", f"{stack.lambda_url}/")
        assert status == 200
        children = descendants(stack.proc.pid)
        assert len(children) >= 4  # dynamodb, lambda, api, edge
        ports = [
            int(u.rsplit(":", 1)[1]) for u in (stack.api_url, stack.lambda_url, stack.dynamodb_endpoint or "")
        ]
        # When it is told to stop,
        stack.proc.terminate()
        assert stack.proc.wait(30) == 0
    # then no child process and no port remains.
    assert [pid for pid in children if alive(pid)] == []
    for port in [*ports, stack.sip_port]:
        assert port_is_free(port, socket.SOCK_STREAM), f"TCP {port} still in use"
    assert port_is_free(stack.sip_port, socket.SOCK_DGRAM)
    assert "switchboard: stopped" in stack.log()


def test_lambda_endpoint_serves_the_invoke_api_to_boto3(tmp_path: Path) -> None:
    """The edge calls handlers with the same boto3 ``lambda.invoke`` locally as in AWS."""
    functions = tmp_path / "functions"
    (functions / "echo").mkdir(parents=True)
    (functions / "echo" / "handler.py").write_text(
        "import os\n"
        "def handler(event, context):\n"
        "    if event.get('fail'):\n"
        "        raise ValueError('asked to fail')\n"
        "    return {'echo': event, 'function': context.function_name, 'pid': os.getpid()}\n"
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "local_stack.lambda_endpoint",
            "--port",
            str(port),
            "--functions-dir",
            str(functions),
            "--no-streams",
        ]
    )
    try:
        client = boto3.client("lambda", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
        deadline = time.monotonic() + 20
        while True:
            try:
                response = client.invoke(FunctionName="echo", Payload=json.dumps({"n": 1}).encode())
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        result = json.loads(response["Payload"].read())
        assert result["echo"] == {"n": 1} and result["function"] == "echo"
        assert result["pid"] != os.getpid()  # the handler ran in the Lambda process, not the caller's
        failed = client.invoke(
            FunctionName="arn:aws:lambda:us-east-1:000000000000:function:echo:$LATEST",
            Payload=b'{"fail": true}',
        )
        assert failed["FunctionError"] == "Unhandled"
        assert json.loads(failed["Payload"].read())["errorType"] == "ValueError"
        queued = client.invoke(FunctionName="echo", InvocationType="Event", Payload=b"{}")
        assert queued["StatusCode"] == 202
        try:
            client.invoke(FunctionName="missing", Payload=b"{}")
            raise AssertionError("expected ResourceNotFoundException")
        except client.exceptions.ResourceNotFoundException:
            pass
    finally:
        proc.terminate()
        proc.wait(10)


def test_stream_poller_feeds_filtered_table_changes_to_handlers(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    (functions / "watcher").mkdir(parents=True)
    seen = tmp_path / "seen.jsonl"
    (functions / "watcher" / "handler.py").write_text(
        "import json\n"
        "def handler(event, context):\n"
        f"    with open({str(seen)!r}, 'a') as out:\n"
        "        for record in event['Records']:\n"
        "            out.write(json.dumps(record['dynamodb']['Keys']) + '\\n')\n"
    )
    (functions / "watcher" / "function.json").write_text(
        json.dumps({"events": [{"type": "dynamodb-stream", "filter": {"entity": ["seat"]}}]})
    )
    db_port, port = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{db_port}"
    env = dict(
        os.environ,
        AWS_ENDPOINT_URL_DYNAMODB=endpoint,
        AWS_ENDPOINT_URL_DYNAMODB_STREAMS=endpoint,
        SWITCHBOARD_TABLE="stream-test",
    )
    db = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(db_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    proc = None
    try:
        from contact_center.data import schema
        from tests.support.dynamodb import wait_for_dynamodb

        wait_for_dynamodb(endpoint, db)
        ddb = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        ddb.create_table(**schema.TABLE.create_table_kwargs("stream-test"))
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "local_stack.lambda_endpoint",
                "--port",
                str(port),
                "--functions-dir",
                str(functions),
            ],
            env=env,
        )
        # The service answers once its poller holds a position in the stream (it reads from the end).
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the Lambda service never answered"
                assert proc.poll() is None, "the Lambda service exited"
                time.sleep(0.1)
        for entity, key in (("queue", "q1"), ("seat", "s1")):
            ddb.put_item(
                TableName="stream-test",
                Item={"pk": {"S": "MERCHANT#m"}, "sk": {"S": key}, "entity": {"S": entity}},
            )
        deadline = time.monotonic() + 15
        while not (seen.exists() and seen.read_text()):
            assert time.monotonic() < deadline, "the stream change never reached the handler"
            time.sleep(0.1)
        time.sleep(0.5)
        delivered = [json.loads(line) for line in seen.read_text().splitlines()]
        assert delivered == [
            {"pk": {"S": "MERCHANT#m"}, "sk": {"S": "s1"}}
        ]  # the queue item was filtered out
    finally:
        for p in (proc, db):
            if p is not None:
                p.terminate()
                p.wait(10)
