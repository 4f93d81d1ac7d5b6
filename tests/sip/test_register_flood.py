"""A flood of bad digests from one address while 20 good phones register from the same address.

An office NAT: every phone below sends from 127.0.0.1. The edge runs the contact-centre policy in
process on real loopback UDP, with credentials in memory; the limiter is the one the edge builds
(its defaults), so the numbers here are the production ones.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from sip_edge.app.abuse import FailedAuthLimiter
from sip_edge.config import EdgeConfig
from sip_edge.main import EdgePorts, EdgeTask, build
from sip_edge.sip.digest import compute_ha1, compute_response
from sip_edge.sip.message import Response
from sip_edge.sip.parsing import parse_message
from tests.sip.b2bua_support import NoBindings

HOST = "127.0.0.1"
DOMAIN = "office.test"
GOOD_PHONES = 20
DEFAULTS = FailedAuthLimiter()
# Past the address's limit once 20 users have succeeded from it, in guesses of fewer than
# max_failures per name (a scanner over many accounts, not a guesser of one).
GUESSED_NAMES = 80
GUESSES = DEFAULTS.max_source_failures + DEFAULTS.per_good_user * GOOD_PHONES + 40


class Passwords:
    def __init__(self, passwords: Mapping[str, str]) -> None:
        self.passwords = dict(passwords)

    def ha1s_many(self, usernames: Sequence[str]) -> dict[str, Mapping[str, str] | None]:
        return {username: self.ha1s(username) for username in usernames}

    def ha1s(self, username: str) -> Mapping[str, str] | None:
        password = self.passwords.get(username)
        if password is None:
            return None
        return {alg: compute_ha1(username, DOMAIN, password, alg) for alg in ("MD5", "SHA-256")}


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if data.strip():  # not the edge's CRLF keep-alive
            self.queue.put_nowait(data)


class UdpPhone:
    """A phone that registers with digest auth (MD5), one transaction at a time."""

    def __init__(self, transport: asyncio.DatagramTransport, inbox: _Inbox, edge: tuple[str, int]) -> None:
        self.transport = transport
        self.inbox = inbox
        self.edge = edge
        self.call_id = secrets.token_hex(8)
        self.cseq = 0
        self.port = transport.get_extra_info("sockname")[1]

    @classmethod
    async def open(cls, edge: tuple[str, int]) -> UdpPhone:
        transport, inbox = await asyncio.get_running_loop().create_datagram_endpoint(
            _Inbox, local_addr=(HOST, 0)
        )
        return cls(transport, inbox, edge)

    async def _exchange(self, user: str, authorization: str | None) -> Response | None:
        self.cseq += 1
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        self.transport.sendto(
            (
                f"REGISTER sip:{DOMAIN} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK{secrets.token_hex(8)};rport\r\n"
                "Max-Forwards: 70\r\n"
                f"From: <sip:{user}@{DOMAIN}>;tag={secrets.token_hex(4)}\r\n"
                f"To: <sip:{user}@{DOMAIN}>\r\n"
                f"Call-ID: {self.call_id}\r\n"
                f"CSeq: {self.cseq} REGISTER\r\n"
                f"Contact: <sip:{user}@{HOST}:{self.port}>\r\n"
                "Expires: 600\r\n"
                "User-Agent: sipp\r\n"  # a client offered MD5 alone
                f"{auth}Content-Length: 0\r\n\r\n"
            ).encode(),
            self.edge,
        )
        try:
            data = await asyncio.wait_for(self.inbox.queue.get(), 2.0)
        except TimeoutError:
            return None
        response = parse_message(data)
        assert isinstance(response, Response)
        return response

    async def register(self, user: str, password: str) -> int | None:
        """The final status of a registration (challenge, then credentials); None: no answer."""
        challenge = await self._exchange(user, None)
        if challenge is None or challenge.status != 401:
            return None if challenge is None else challenge.status
        header = challenge.headers.get("WWW-Authenticate") or ""
        nonce = re.search(r'nonce="([^"]+)"', header).group(1)  # type: ignore[union-attr]
        uri = f"sip:{DOMAIN}"
        response = compute_response(
            compute_ha1(user, DOMAIN, password, "MD5"),
            nonce=nonce,
            method="REGISTER",
            uri=uri,
            algorithm="MD5",
            qop="auth",
            nc="00000001",
            cnonce="0a4f113b",
        )
        final = await self._exchange(
            user,
            f'Digest username="{user}", realm="{DOMAIN}", nonce="{nonce}", uri="{uri}", '
            f'response="{response}", algorithm=MD5, qop=auth, nc=00000001, cnonce="0a4f113b"',
        )
        return None if final is None else final.status

    def close(self) -> None:
        self.transport.close()


class RunningEdge:
    def __init__(self, task: EdgeTask) -> None:
        self.task = task
        self.edge = task.edge
        self.policy = task.policy
        self.address = task.edge.address("UDP")


async def start_edge(passwords: Mapping[str, str]) -> RunningEdge:
    config = EdgeConfig(host=HOST, port=0, task_id="edge-flood", nonce_key="k" * 16, sip_domain=DOMAIN)
    task = build(config, EdgePorts(credentials=Passwords(passwords), bindings=NoBindings()))
    await task.start()
    return RunningEdge(task)


async def flood(phone: UdpPhone, done: asyncio.Event) -> list[int | None]:
    """Bad digests across many names, each below the per-user limit."""
    statuses = []
    for index in range(GUESSES):
        statuses.append(await phone.register(f"guess{index % GUESSED_NAMES}", "wrong password"))
    done.set()
    return statuses


async def keep_registering(
    phone: UdpPhone, user: str, password: str, done: asyncio.Event
) -> list[int | None]:
    statuses = [await phone.register(user, password)]
    while not done.is_set():
        await asyncio.sleep(0.2)  # a phone re-registers now and then, not in a tight loop
        statuses.append(await phone.register(user, password))
    statuses.append(await phone.register(user, password))  # and once more after the flood
    return statuses


def run(coroutine: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def test_good_phones_behind_the_flooding_address_keep_registering() -> None:
    async def scenario() -> None:
        passwords = {f"seat{index:02d}": secrets.token_urlsafe(12) for index in range(GOOD_PHONES)}
        passwords["newcomer"] = secrets.token_urlsafe(12)
        running = await start_edge(passwords)
        phones = [await UdpPhone.open(running.address) for _ in range(GOOD_PHONES + 2)]
        try:
            seats = sorted(u for u in passwords if u.startswith("seat"))
            # Given 20 phones registered from the office address,
            first = await asyncio.gather(
                *(p.register(u, passwords[u]) for p, u in zip(phones[:GOOD_PHONES], seats, strict=True))
            )
            assert first == [200] * GOOD_PHONES

            # When one device there sends bad digests across many names while they re-register,
            done = asyncio.Event()
            attacker = phones[-1]
            results = await asyncio.gather(
                flood(attacker, done),
                *(
                    keep_registering(p, u, passwords[u], done)
                    for p, u in zip(phones[:GOOD_PHONES], seats, strict=True)
                ),
            )
            guesses, good = results[0], results[1:]

            # Then the address was locked: guesses ended up refused with 503 (answered, never
            # silence), and a user never seen there is told when to come back,
            limiter = running.policy.registrar.limiter
            assert limiter.lockouts >= 1
            assert None not in guesses
            assert set(guesses) <= {403, 503} and guesses[-1] == 503
            newcomer = await phones[-2].register("newcomer", passwords["newcomer"])
            assert newcomer == 503

            # while every registration of the 20 good phones succeeded, during and after the flood.
            rounds = [len(statuses) for statuses in good]
            assert all(statuses == [200] * len(statuses) for statuses in good), good
            assert min(rounds) >= 3, rounds
            print(f"\n{GUESSES} bad digests; good phones registered {sum(rounds)} times, all 200")
        finally:
            for phone in phones:
                phone.close()
            await running.task.close()

    run(scenario())
