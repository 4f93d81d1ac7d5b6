"""STUN binding requests on the SIP UDP port (RFC 5389 §7, as RFC 5626 §4.4.2 keep-alives use them).

A SIP message always starts with a letter, a STUN message with two zero bits, so the first byte
demultiplexes the two protocols on one socket (RFC 7983 §7 uses the same test).
"""

from __future__ import annotations

import ipaddress
import struct
import zlib

__all__ = [
    "BINDING_REQUEST",
    "BINDING_SUCCESS",
    "MAGIC_COOKIE",
    "build_binding_request",
    "handle_binding_request",
    "is_stun",
    "parse_xor_mapped_address",
]

MAGIC_COOKIE = 0x2112A442
BINDING_REQUEST = 0x0001
BINDING_SUCCESS = 0x0101
ATTR_MAPPED_ADDRESS = 0x0001
ATTR_XOR_MAPPED_ADDRESS = 0x0020
ATTR_FINGERPRINT = 0x8028
FINGERPRINT_XOR = 0x5354554E
_COOKIE_BYTES = MAGIC_COOKIE.to_bytes(4, "big")
_HEADER = struct.Struct("!HHI12s")


def is_stun(data: bytes) -> bool:
    return len(data) >= 20 and data[0] < 0x04


def _address_value(host: str, port: int, transaction_id: bytes, xor: bool) -> bytes:
    address = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    raw = address.packed
    family = 0x01 if address.version == 4 else 0x02
    if xor:
        port ^= MAGIC_COOKIE >> 16
        mask = _COOKIE_BYTES + transaction_id
        raw = bytes(a ^ b for a, b in zip(raw, mask, strict=False))
    return struct.pack("!BBH", 0, family, port) + raw


def handle_binding_request(data: bytes, source: tuple[str, int]) -> bytes | None:
    """The Binding success response for a well-formed Binding request, else None (drop it)."""
    if len(data) < 20:
        return None
    message_type, length, cookie, transaction_id = _HEADER.unpack_from(data)
    if message_type != BINDING_REQUEST or length != len(data) - 20 or length % 4:
        return None
    host, port = source[0], source[1]
    if cookie == MAGIC_COOKIE:
        value = _address_value(host, port, transaction_id, xor=True)
        attributes = struct.pack("!HH", ATTR_XOR_MAPPED_ADDRESS, len(value)) + value
        # FINGERPRINT lets the peer tell our answer from SIP on the same port (RFC 5389 §15.5);
        # its CRC covers the message with a length that already counts the fingerprint.
        header = _HEADER.pack(BINDING_SUCCESS, len(attributes) + 8, cookie, transaction_id)
        crc = (zlib.crc32(header + attributes) ^ FINGERPRINT_XOR) & 0xFFFFFFFF
        return header + attributes + struct.pack("!HHI", ATTR_FINGERPRINT, 4, crc)
    # RFC 3489 clients (no magic cookie) only understand the plain MAPPED-ADDRESS.
    value = _address_value(host, port, transaction_id, xor=False)
    attributes = struct.pack("!HH", ATTR_MAPPED_ADDRESS, len(value)) + value
    return _HEADER.pack(BINDING_SUCCESS, len(attributes), cookie, transaction_id) + attributes


def build_binding_request(transaction_id: bytes) -> bytes:
    if len(transaction_id) != 12:
        raise ValueError("a STUN transaction id is 12 bytes")
    return _HEADER.pack(BINDING_REQUEST, 0, MAGIC_COOKIE, transaction_id)


def parse_xor_mapped_address(data: bytes) -> tuple[str, int] | None:
    """The XOR-MAPPED-ADDRESS of a Binding success response (for clients and tests)."""
    if len(data) < 20:
        return None
    message_type, length, cookie, transaction_id = _HEADER.unpack_from(data)
    if message_type != BINDING_SUCCESS or cookie != MAGIC_COOKIE:
        return None
    offset, end = 20, min(len(data), 20 + length)
    while offset + 4 <= end:
        attr_type, attr_len = struct.unpack_from("!HH", data, offset)
        value = data[offset + 4 : offset + 4 + attr_len]
        if attr_type == ATTR_XOR_MAPPED_ADDRESS and len(value) >= 8:
            family, xport = value[1], struct.unpack_from("!H", value, 2)[0]
            mask = _COOKIE_BYTES + transaction_id
            raw = bytes(a ^ b for a, b in zip(value[4:], mask, strict=False))
            host = str(ipaddress.ip_address(raw[:4] if family == 0x01 else raw[:16]))
            return host, xport ^ (MAGIC_COOKIE >> 16)
        offset += 4 + ((attr_len + 3) & ~3)
    return None
