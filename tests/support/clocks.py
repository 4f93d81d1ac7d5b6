"""A clock for rules that wait: ``sleep`` moves it on instead of waiting, and remembers each wait."""

from __future__ import annotations

T0 = 1_790_000_000_000


class SleepingClock:
    def __init__(self, now_ms: int = T0) -> None:
        self.now = now_ms
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += round(seconds * 1000)
