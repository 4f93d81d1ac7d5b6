"""Identifiers the platform hands out: random, so they reveal neither counts nor order."""

from __future__ import annotations

import secrets


def new_id(prefix: str) -> str:
    # 80 random bits: collisions are negligible, and the stores refuse a reused id anyway.
    return f"{prefix}_{secrets.token_hex(10)}"
