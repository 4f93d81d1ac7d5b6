"""Random bytes for tags, branches and nonce salts, read from the OS in blocks.

Every response to a REGISTER needs a To tag and every challenge a nonce salt; one ``getrandom``
system call each costs more than the rest of building the value. The bytes come from
``os.urandom`` (the OS CSPRNG) as ever, 4 KiB at a time, each byte handed out once. A forked
child drops the block it inherited, so parent and child never hand out the same bytes.
"""

from __future__ import annotations

import os
import threading

__all__ = ["token_bytes", "token_hex"]

_BLOCK = 4096

_pool = b""
_used = 0
# Threads (the SDK's workers) may ask too; no two callers may get the same bytes.
_lock = threading.Lock()


def token_bytes(count: int) -> bytes:
    """``count`` random bytes."""
    global _pool, _used
    with _lock:
        end = _used + count
        if end > len(_pool):
            _pool = os.urandom(max(_BLOCK, count))
            _used, end = 0, count
        chunk = _pool[_used:end]
        _used = end
        return chunk


def token_hex(count: int) -> str:
    """``count`` random bytes as ``2 * count`` lower-case hex digits."""
    return token_bytes(count).hex()


def _forget_after_fork() -> None:
    global _pool, _used
    _pool, _used = b"", 0


os.register_at_fork(after_in_child=_forget_after_fork)
