"""A bounded SIP fuzzer for a live edge: mutated requests over UDP, every answer checked.

Messages are built from templates of every method the edge may see (and the RFC 4475 torture
messages), then mutated: headers dropped, repeated or given hostile values (overlarge numbers,
empty, huge tokens, NULs, unbalanced quotes and brackets), start lines and CSeqs mismatched,
bodies and Content-Lengths that disagree, bytes flipped. Each message is sent from one UDP socket
on 127.0.0.1, so the edge's answers come back to it (they go to the packet's source).

Verdicts, per message the fuzzer itself can parse as a request: no 5xx except those that say
"try later" (500/503/504 with Retry-After) or "not supported" (501, 505, 513). The edge must
also answer a plain OPTIONS every few seconds (it is alive and not wedged). Crashes of a handler
show in the edge's log ("request handler failed", "failed to process", tracebacks): the caller
checks the log.

Run it against the whole local stack, inside a network namespace of its own so that no mutated
address can ever leave the machine (see ``main``):

    unshare -n sh -c 'ip link set lo up && .venv/bin/python -m tests.support.sip_fuzz --minutes 10'
"""

from __future__ import annotations

import argparse
import random
import re
import socket
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sip_edge.sip.message import Request, SipParseError
from sip_edge.sip.parsing import parse_message

TORTURE = Path(__file__).resolve().parents[1] / "unit" / "sip" / "rfc4475"
METHODS = (
    "OPTIONS",
    "REGISTER",
    "INVITE",
    "ACK",
    "BYE",
    "CANCEL",
    "INFO",
    "UPDATE",
    "PRACK",
    "MESSAGE",
    "SUBSCRIBE",
    "NOTIFY",
    "REFER",
    "PUBLISH",
)
NASTY = (
    "",
    " ",
    "0",
    "-1",
    "4294967296",
    "9" * 40,
    "1e9",
    "0x10",
    "a" * 3000,
    "\x00",
    "é✓€",
    '"unbalanced',
    "<sip:",
    "<>",
    ";;;,,,",
    "*",
    "sip:@",
    "<sip:user@127.0.0.1;lr;flow=udp~127.0.0.1~1>",
    "sips:[::1]:99999",
    "%00%ff%zz",
    "[" * 500,
    "Digest " + ",".join(["x=y"] * 200),
    'Digest username="u", realm="r", nonce="n", uri="sip:x", response="00"',
    "application/sdp; charset=\x7f",
)
HEADERS = (
    "Expires",
    "Session-Expires",
    "Min-SE",
    "RSeq",
    "RAck",
    "Contact",
    "Record-Route",
    "Route",
    "Authorization",
    "Proxy-Authorization",
    "Content-Type",
    "Require",
    "Supported",
    "Event",
    "Max-Forwards",
    "Timestamp",
    "Reason",
    "Refer-To",
    "Call-ID",
    "From",
    "To",
    "CSeq",
    "Via",
)
SDP = "v=0\r\no=f 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
_STATUS = re.compile(rb"^SIP/2\.0 (\d{3})")
_CALL_ID = re.compile(rb"^(?:Call-ID|i)[ \t]*:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
_RETRY_AFTER = re.compile(rb"^Retry-After[ \t]*:", re.IGNORECASE | re.MULTILINE)
ALLOWED_5XX = {501, 505, 513}
TRY_LATER_5XX = {500, 503, 504}


@dataclass
class Report:
    sent: int = 0
    parseable_requests: int = 0
    answers: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    probes: int = 0
    probes_failed: int = 0

    def summary(self) -> str:
        top = ", ".join(f"{code}: {count}" for code, count in sorted(self.statuses.items()))
        return (
            f"sent {self.sent} messages ({self.parseable_requests} parseable requests), "
            f"{self.answers} answers [{top}]; 5xx violations: {len(self.violations)}; "
            f"liveness probes {self.probes - self.probes_failed}/{self.probes} answered"
        )


def _request(method: str, port: int, rnd: random.Random) -> tuple[str, list[tuple[str, str]], str]:
    call_id = f"fz{rnd.getrandbits(64):x}"
    to_tag = f";tag={rnd.getrandbits(32):x}" if rnd.random() < 0.3 or method in ("BYE", "ACK") else ""
    user = rnd.choice(("edge", "+14155550100", "seat1", "k" + "0" * 30, "%41lice"))
    headers = [
        ("Via", f"SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{rnd.getrandbits(64):x};rport"),
        ("Max-Forwards", "70"),
        ("From", f"<sip:fuzzer@127.0.0.1>;tag={rnd.getrandbits(32):x}"),
        ("To", f"<sip:{user}@127.0.0.1>{to_tag}"),
        ("Call-ID", call_id),
        ("CSeq", f"{rnd.randint(1, 2**31 - 1)} {method}"),
        ("Contact", f"<sip:fuzzer@127.0.0.1:{port}>"),
    ]
    if method == "REGISTER" and rnd.random() < 0.5:
        headers.append(("Expires", str(rnd.choice((0, 60, 3600, 10**12)))))
    body = SDP if method in ("INVITE", "UPDATE", "ACK") and rnd.random() < 0.7 else ""
    if body:
        headers.append(("Content-Type", "application/sdp"))
    return f"{method} sip:{user}@127.0.0.1 SIP/2.0", headers, body


def _mutate(start: str, headers: list[tuple[str, str]], body: str, rnd: random.Random) -> bytes:
    for _ in range(rnd.randint(0, 3)):
        action = rnd.randrange(7)
        if action == 0 and headers:
            del headers[rnd.randrange(len(headers))]
        elif action == 1 and headers:
            headers.insert(rnd.randrange(len(headers) + 1), rnd.choice(headers))
        elif action == 2 and headers:
            index = rnd.randrange(len(headers))
            headers[index] = (headers[index][0], rnd.choice(NASTY))
        elif action == 3:
            headers.append((rnd.choice(HEADERS), rnd.choice(NASTY)))
        elif action == 4:
            start = start.replace(start.split(" ", 1)[0], rnd.choice(METHODS), 1)
        elif action == 5:
            body = rnd.choice(("", "x" * rnd.randint(1, 4000), SDP + "a=" + "b" * 1000))
        else:
            start = rnd.choice((start + " ", start.replace(" ", "  ", 1), start.lower(), start[:-1] + "1"))
    length = len(body.encode())
    if rnd.random() < 0.1:
        length += rnd.choice((-5, 3, 10**6))
    newline = "\n" if rnd.random() < 0.05 else "\r\n"
    text = newline.join([start, *(f"{n}: {v}" for n, v in headers), f"Content-Length: {max(length, 0)}"])
    data = (text + newline + newline + body).encode("utf-8", "surrogateescape")
    if rnd.random() < 0.15:
        buffer = bytearray(data)
        for _ in range(rnd.randint(1, 6)):
            position = rnd.randrange(len(buffer))
            buffer[position] = rnd.choice(b'\r\n \t:;,<>"\\@=%[]/0129\x00\xff')
        data = bytes(buffer)
    return data


def messages(port: int, seed: int) -> Iterator[bytes]:
    rnd = random.Random(seed)
    seeds = [path.read_bytes() for path in sorted(TORTURE.glob("*.dat"))]
    while True:
        if rnd.random() < 0.1:
            data = bytearray(rnd.choice(seeds))
            for _ in range(rnd.randint(0, 6)):
                if data:
                    data[rnd.randrange(len(data))] = rnd.randrange(256)
            yield bytes(data)
            continue
        start, headers, body = _request(rnd.choice(METHODS), port, rnd)
        yield _mutate(start, headers, body, rnd)


def _parseable_request(data: bytes) -> bool:
    try:
        message = parse_message(data)
    except SipParseError:
        return False
    return isinstance(message, Request) and message.method != "ACK"


def _probe(target: tuple[str, int]) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3.0)
        port = sock.getsockname()[1]
        call_id = f"probe{time.monotonic_ns()}"
        sock.sendto(
            (
                "OPTIONS sip:edge@127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{call_id};rport\r\n"
                "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:edge@127.0.0.1>\r\n"
                f"Call-ID: {call_id}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
            ).encode(),
            target,
        )
        try:
            return sock.recv(65535).startswith(b"SIP/2.0 200 ")
        except TimeoutError:
            return False


def fuzz(target: tuple[str, int], *, seconds: float, rate: float, seed: int = 1) -> Report:
    """Send mutated messages to `target` at `rate` per second for `seconds`; check the answers."""
    report = Report()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    parseable: dict[bytes, bytes] = {}  # Call-ID -> the request, for what a 5xx answered
    lock = threading.Lock()
    stop = threading.Event()

    def receive() -> None:
        while not stop.is_set():
            try:
                data = sock.recv(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            status = _STATUS.match(data)
            if status is None:
                continue
            code = int(status.group(1))
            found = _CALL_ID.search(data)
            with lock:
                report.answers += 1
                report.statuses[code] += 1
                request = parseable.get(found.group(1)) if found else None
            if request is None or code < 500 or code in ALLOWED_5XX:
                continue
            if code in TRY_LATER_5XX and _RETRY_AFTER.search(data):
                continue
            with lock:
                report.violations.append(f"{data[:300]!r} answering {request[:600]!r}")

    receiver = threading.Thread(target=receive, daemon=True)
    receiver.start()
    port = sock.getsockname()[1]
    generator = messages(port, seed)
    started = time.monotonic()
    next_probe = started + 5
    try:
        while (now := time.monotonic()) - started < seconds:
            data = next(generator)
            if _parseable_request(data):
                found = _CALL_ID.search(data)
                if found:
                    with lock:
                        parseable[found.group(1)] = data
                report.parseable_requests += 1
            sock.sendto(data, target)
            report.sent += 1
            if now >= next_probe:
                report.probes += 1
                report.probes_failed += 0 if _probe(target) else 1
                next_probe = time.monotonic() + 5
            time.sleep(max(0.0, started + report.sent / rate - time.monotonic()))
        time.sleep(2)  # the last answers (an INVITE's final may take a moment)
        report.probes += 1
        report.probes_failed += 0 if _probe(target) else 1
    finally:
        stop.set()
        receiver.join(2)
        sock.close()
    return report


def handler_failures(log: str) -> list[str]:
    """Each "request handler failed" / "failed to process" entry of an edge log, traceback included."""
    failures: list[list[str]] = []
    current: list[str] | None = None
    for line in log.splitlines():
        if "request handler failed" in line or "failed to process a message" in line:
            current = [line]
            failures.append(current)
        elif current is not None and not re.match(r"\d{4}-\d\d-\d\d ", line):
            current.append(line)
        else:
            current = None
    return ["\n".join(lines) for lines in failures]


def main() -> int:
    """The long run: the whole local stack (`make run`'s) in this process's network namespace."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=150)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    from tests.support.stack import running_stack

    with tempfile.TemporaryDirectory() as tmp, running_stack(Path(tmp)) as stack:
        report = fuzz(
            ("127.0.0.1", stack.sip_port), seconds=args.minutes * 60, rate=args.rate, seed=args.seed
        )
        crashes = handler_failures(stack.log())
        alive = stack.proc.poll() is None
    print(report.summary())
    print(f"stack alive at the end: {alive}; handler failures in the log: {len(crashes)}")
    for text in [*report.violations[:10], *crashes[:10]]:
        print("  ", text[:3000])
    return 0 if alive and not report.violations and not crashes and not report.probes_failed else 1


if __name__ == "__main__":
    sys.exit(main())
