"""A minimal agent phone for the topology: registers seats over one UDP socket, TCP or TLS connection
and answers every call (180, 200 with SDP; BYE and CANCEL answered), printing one JSON event per line.

Why not sipp: sipp cannot keep a TCP registration open and answer calls on that same connection,
which is what a phone behind NAT does. ``python -m local_stack.topology.phone --help``.

Over TLS the phone checks the edge's certificate against ``--ca`` for the SIP domain, and only the
receiving thread touches the connection (an OpenSSL connection is not shared between threads): the
re-registration thread hands its messages to that thread through an outbox.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import queue
import re
import secrets
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field

CRLF = "\r\n"
_CHALLENGE = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]+))')
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


@dataclass
class Message:
    start: str
    headers: list[tuple[str, str]]
    body: bytes = b""

    @property
    def is_request(self) -> bool:
        return not self.start.startswith("SIP/2.0")

    @property
    def method(self) -> str:
        return self.start.split(" ", 1)[0]

    @property
    def status(self) -> int:
        return int(self.start.split(" ", 2)[1])

    def get(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name.lower()), None)

    def all(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def cseq_method(self) -> str:
        return (self.get("CSeq") or "0 X").split()[1]


_COMPACT = {"v": "Via", "f": "From", "t": "To", "i": "Call-ID", "m": "Contact", "l": "Content-Length"}


def parse(data: bytes) -> Message:
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = _COMPACT.get(name.strip(), name.strip())
        headers.append((name, value.strip()))
    return Message(lines[0], headers, body)


def digest_authorization(
    challenge: str, method: str, uri: str, user: str, password: str, nc: int = 1
) -> str | None:
    """The Authorization value answering one ``Digest ...`` challenge (RFC 7616, qop=auth), or None
    when its algorithm is not one we speak."""
    params = {k.lower(): (a if a else b) for k, a, b in _CHALLENGE.findall(challenge.split(" ", 1)[1])}
    algorithm = params.get("algorithm", "MD5")
    hash_ = _HASHES.get(algorithm)
    if hash_ is None:
        return None

    def h(text: str) -> str:
        return hash_(text.encode()).hexdigest()

    realm, nonce = params["realm"], params["nonce"]
    ha1, ha2 = h(f"{user}:{realm}:{password}"), h(f"{method}:{uri}")
    cnonce, count = secrets.token_hex(8), f"{nc:08x}"
    if "auth" in params.get("qop", "").split(","):
        response = h(f"{ha1}:{nonce}:{count}:{cnonce}:auth:{ha2}")
        qop = f', qop=auth, nc={count}, cnonce="{cnonce}"'
    else:
        response, qop = h(f"{ha1}:{nonce}:{ha2}"), ""
    opaque = f', opaque="{params["opaque"]}"' if "opaque" in params else ""
    return (
        f'Digest username="{user}", realm="{realm}", nonce="{nonce}", uri="{uri}", '
        f'response="{response}", algorithm={algorithm}{qop}{opaque}'
    )


def answer_challenges(response: Message, method: str, uri: str, user: str, password: str) -> str | None:
    for challenge in response.all("WWW-Authenticate"):
        authorization = digest_authorization(challenge, method, uri, user, password)
        if authorization is not None:
            return authorization
    return None


@dataclass
class Phone:
    transport: str
    local: tuple[str, int]
    registrar: tuple[str, int]
    domain: str
    seats: list[tuple[str, str]]
    expires: int = 300
    # Seconds between re-registrations (default: half of ``expires``).
    refresh: float = 0.0
    # TLS: the CA file the edge's certificate must chain to (its name must be ``domain``).
    ca: str | None = None
    # The port its answers name for RTP (a test's RTP endpoint binds it beside the phone).
    rtp_port: int = 40000
    sock: socket.socket = field(init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _outbox: queue.SimpleQueue[bytes] = field(default_factory=queue.SimpleQueue)
    _reader: int | None = None
    _cseq: int = 0
    _buffer: bytes = b""

    def open(self) -> None:
        if self.transport == "udp":
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self.sock.bind(self.local)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.sock.bind(self.local)
            self.sock.connect(self.registrar)
            if self.transport == "tls":
                context = ssl.create_default_context(cafile=self.ca)
                self.sock = context.wrap_socket(self.sock, server_hostname=self.domain)
                # Short reads let the receiving thread send what waits in the outbox.
                self.sock.settimeout(0.1)
        self.local = self.sock.getsockname()

    def send(self, text: str) -> None:
        data = text.encode()
        if self.transport == "tls" and self._reader not in (None, threading.get_ident()):
            self._outbox.put(data)
            return
        with self._lock:
            if self.transport == "udp":
                self.sock.sendto(data, self.registrar)
            else:
                self.sock.sendall(data)

    def receive(self) -> Message | None:
        if self.transport == "udp":
            data, _ = self.sock.recvfrom(65535)
            return parse(data) if data.strip() else None
        while True:
            self._buffer = self._buffer.lstrip(b"\r\n")
            head_end = self._buffer.find(b"\r\n\r\n")
            if head_end >= 0:
                message = parse(self._buffer[: head_end + 4])
                length = int(message.get("Content-Length") or 0)
                total = head_end + 4 + length
                if len(self._buffer) >= total:
                    message.body = self._buffer[head_end + 4 : total]
                    self._buffer = self._buffer[total:]
                    return message
            if self.transport == "tls":
                self._reader = threading.get_ident()
                while not self._outbox.empty():
                    self.sock.sendall(self._outbox.get())
                try:
                    chunk = self.sock.recv(65535)
                except TimeoutError:
                    continue
            else:
                chunk = self.sock.recv(65535)
            if not chunk:
                raise ConnectionError("the edge closed the connection")
            self._buffer += chunk

    def register(self, user: str, authorization: str | None = None, call_id: str | None = None) -> str:
        self._cseq += 1
        call_id = call_id or f"reg-{user}-{secrets.token_hex(4)}"
        host, port = self.local
        via = f"SIP/2.0/{self.transport.upper()} {host}:{port};branch=z9hG4bK{secrets.token_hex(8)};rport"
        lines = [
            f"REGISTER sip:{self.domain} SIP/2.0",
            f"Via: {via}",
            f"From: <sip:{user}@{self.domain}>;tag={secrets.token_hex(4)}",
            f"To: <sip:{user}@{self.domain}>",
            f"Call-ID: {call_id}",
            f"CSeq: {self._cseq} REGISTER",
            f"Contact: <sip:{user}@{host}:{port};transport={self.transport}>",
            f"Expires: {self.expires}",
            "Max-Forwards: 70",
            "User-Agent: switchboard-topology-phone",
        ]
        if authorization:
            lines.append(f"Authorization: {authorization}")
        self.send(CRLF.join([*lines, "Content-Length: 0", "", ""]))
        return call_id

    def reply(self, request: Message, status: int, reason: str, *, tag: str = "", sdp: str = "") -> None:
        lines = [f"SIP/2.0 {status} {reason}"]
        lines += [f"Via: {via}" for via in request.all("Via")]
        to = request.get("To") or ""
        if tag and ";tag=" not in to:
            to += f";tag={tag}"
        host, port = self.local
        lines += [
            f"From: {request.get('From')}",
            f"To: {to}",
            f"Call-ID: {request.get('Call-ID')}",
            f"CSeq: {request.get('CSeq')}",
        ]
        if request.method == "INVITE" and status < 300:
            lines.append(f"Contact: <sip:agent@{host}:{port};transport={self.transport}>")
        if sdp:
            lines.append("Content-Type: application/sdp")
        body = sdp.encode()
        self.send(CRLF.join([*lines, f"Content-Length: {len(body)}", "", ""]) + sdp)


def sdp(host: str, rtp_port: int) -> str:
    """The answer of a phone behind NAT: its own (private) address, where its RTP leaves from."""
    return CRLF.join(
        [
            "v=0",
            f"o=agent 1 1 IN IP4 {host}",
            "s=-",
            f"c=IN IP4 {host}",
            "t=0 0",
            f"m=audio {rtp_port} RTP/AVP 0",
            "a=rtpmap:0 PCMU/8000",
            "",
        ]
    )


def media_address(body: bytes) -> str:
    """host:port of an SDP's connection address and first audio stream ("" without SDP)."""
    host = port = ""
    for line in body.decode(errors="replace").splitlines():
        if line.startswith("c=IN IP4 "):
            host = line.split()[-1]
        elif line.startswith("m=audio ") and not port:
            port = line.split()[1]
    return f"{host}:{port}" if host and port else ""


def event(name: str, **fields: object) -> None:
    print(json.dumps({"event": name, "at": round(time.time(), 3), **fields}), flush=True)


def serve(phone: Phone) -> None:
    passwords = dict(phone.seats)
    pending: dict[str, str] = {}  # REGISTER Call-ID -> user
    invites: dict[str, Message] = {}

    def start_registering(user: str) -> None:
        # Known before it is sent: the answer may come back before `register` returns.
        call_id = f"reg-{user}-{secrets.token_hex(4)}"
        pending[call_id] = user
        phone.register(user, call_id=call_id)

    def refresh() -> None:
        while True:
            for user, _ in phone.seats:
                start_registering(user)
            time.sleep(phone.refresh or max(1.0, phone.expires / 2))

    phone._reader = threading.get_ident()  # the one thread that touches a TLS connection
    threading.Thread(target=refresh, daemon=True).start()
    while True:
        try:
            message = phone.receive()
        except (ConnectionError, OSError) as lost:
            if phone.transport == "udp":
                raise
            # As a phone does when its connection drops: a new one, and register again over it.
            event("reconnecting", reason=str(lost))
            time.sleep(0.5)
            phone.local = (phone.local[0], 0)
            phone._buffer = b""
            try:
                phone.open()
            except OSError:
                continue
            for user, _ in phone.seats:
                start_registering(user)
            continue
        if message is None:
            continue
        call_id = message.get("Call-ID") or ""
        if not message.is_request:
            registering = pending.get(call_id)
            if registering is None or message.cseq_method != "REGISTER":
                continue
            user = registering
            if message.status in (401, 407):
                event("challenged", user=user, status=message.status)
                authorization = answer_challenges(
                    message, "REGISTER", f"sip:{phone.domain}", user, passwords[user]
                )
                if authorization is None:
                    event("register_failed", user=user, status=message.status)
                    continue
                phone.register(user, authorization, call_id)
            else:
                pending.pop(call_id, None)
                event(
                    "registered" if message.status == 200 else "register_failed",
                    user=user,
                    status=message.status,
                )
            continue
        method = message.method
        if method == "INVITE":
            invites[call_id] = message
            tag = hashlib.sha256(call_id.encode()).hexdigest()[:10]
            # Where the offer says to send RTP: a test's RTP endpoint beside the phone sends there.
            event("invite", call_id=call_id, media=media_address(message.body))
            phone.reply(message, 180, "Ringing", tag=tag)
            phone.reply(message, 200, "OK", tag=tag, sdp=sdp(phone.local[0], phone.rtp_port))
        elif method == "BYE":
            phone.reply(message, 200, "OK")
            invites.pop(call_id, None)
            event("bye", call_id=call_id)
        elif method == "CANCEL":
            phone.reply(message, 200, "OK")
            invite = invites.pop(call_id, None)
            if invite is not None:
                phone.reply(invite, 487, "Request Terminated", tag="cancelled")
            event("cancel", call_id=call_id)
        elif method in ("OPTIONS", "UPDATE", "INFO"):
            phone.reply(message, 200, "OK")
        elif method != "ACK":
            phone.reply(message, 501, "Not Implemented")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--transport", choices=["udp", "tcp", "tls"], default="udp")
    parser.add_argument("--ca", help="TLS: CA file the edge's certificate must chain to")
    parser.add_argument("--bind", default="0.0.0.0:0", help="local address:port")
    parser.add_argument("--registrar", required=True, help="address:port of the registrar")
    parser.add_argument("--domain", required=True)
    parser.add_argument("--seat", action="append", required=True, help="username:password (repeatable)")
    parser.add_argument("--expires", type=int, default=300, help="registration lifetime asked for")
    parser.add_argument("--refresh", type=float, default=0.0, help="seconds between re-registrations")
    parser.add_argument("--rtp-port", type=int, default=40000, help="the RTP port its SDP answers name")
    args = parser.parse_args(argv)
    host, _, port = args.bind.rpartition(":")
    registrar_host, _, registrar_port = args.registrar.rpartition(":")
    phone = Phone(
        args.transport,
        (host, int(port)),
        (registrar_host, int(registrar_port)),
        args.domain,
        [(seat.partition(":")[0], seat.partition(":")[2]) for seat in args.seat],
        args.expires,
        args.refresh,
        args.ca,
        args.rtp_port,
    )
    phone.open()
    event("started", local=f"{phone.local[0]}:{phone.local[1]}", transport=args.transport)
    try:
        serve(phone)
    except (ConnectionError, KeyboardInterrupt) as stop:
        event("stopped", reason=str(stop))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
